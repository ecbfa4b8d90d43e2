#!/usr/bin/env node
import "../dist/bin/rapido-store.js";
