// Bundles the compiled CLI into dist/bin/:
// - rapido.js, rapido-store.js: ES modules with code splitting, one module to
//   load instead of dozens (ESM resolution and compilation per file cost
//   ~15 ms); dynamic imports stay separate chunks, so each command loads only
//   what it uses.
// - fast.cjs: the warm no-op cut as CommonJS, which Node starts faster than
//   an ES module entry (bin/rapido.js tries it first).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/bin', { recursive: true, force: true });
const common = { bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' };
await build({
  ...common,
  entryPoints: { rapido: 'dist/src/cli/rapido.js', 'rapido-store': 'dist/src/cli/rapidoStore.js' },
  outdir: 'dist/bin',
  splitting: true,
  format: 'esm',
});
await build({
  ...common,
  entryPoints: ['dist/src/cli/fastEntry.js'],
  outfile: 'dist/bin/fast.cjs',
  format: 'cjs',
  // import.meta.url (used to find the shipped recipes) from the CommonJS file's own path.
  define: { 'import.meta.url': '__rapidoModuleUrl' },
  banner: { js: 'const __rapidoModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
