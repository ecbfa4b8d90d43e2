#!/usr/bin/env node
// CommonJS on purpose (bin/package.json): the warm no-op cut is answered from
// dist/bin/fast.cjs without Node's ES module loader; everything else goes to
// the full CLI.
'use strict';
const code = require('../dist/bin/fast.cjs').fastCut(process.argv.slice(2));
if (code === undefined) import('../dist/bin/rapido.js');
else process.exitCode = code;
