#!/usr/bin/env node
import '../dist/src/cli/rapidoStore.js';
