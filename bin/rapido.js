#!/usr/bin/env node
import '../dist/src/cli/rapido.js';
