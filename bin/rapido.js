#!/usr/bin/env node
// CommonJS on purpose (bin/package.json): `rapido cut -B`, the edit -> re-cut
// loop, runs from CommonJS bundles without Node's ES module loader (a no-op
// from the small dist/bin/fast.cjs alone); everything else goes to the full CLI.
'use strict';
const argv = process.argv.slice(2);
const { fastCheck, requireWithCodeCache } = require('../dist/bin/fast.cjs');
const fast = fastCheck(argv);
if (fast === undefined) import('../dist/bin/rapido.js');
else if (fast.done) process.exitCode = fast.code;
else {
  globalThis.__rapidoImportEsm = (specifier) => import(specifier); // see src/importEsm.ts
  // The code cache is written by a warm re-cut, the loop it is for (src/cli/codeCache.ts).
  let warm = false;
  requireWithCodeCache(require.resolve('../dist/bin/cut.cjs'), () => warm).runCut(fast.args, fast.check).then((r) => {
    warm = r.warm;
    process.exitCode = r.code;
  });
}
