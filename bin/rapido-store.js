#!/usr/bin/env node
'use strict';
import('../dist/bin/rapido-store.js');
