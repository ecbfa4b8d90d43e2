// Bundles the compiled CLI into dist/bin/:
// - rapido.js, rapido-store.js: ES modules with code splitting, one module to
//   load instead of dozens (ESM resolution and compilation per file cost
//   ~15 ms); dynamic imports stay separate chunks, so each command loads only
//   what it uses.
// - fast.cjs: the no-op check of `rapido cut -B`, small, as CommonJS, which
//   Node starts faster than an ES module entry (bin/rapido.js runs it first);
// - cut.cjs: the rest of `rapido cut -B`, one CommonJS file; without
//   splitting, esbuild keeps dynamically imported modules (builders, LMDB)
//   lazy inside it.
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
for (const [entry, out] of [['fastEntry', 'fast'], ['cutEntry', 'cut']]) {
  await build({
    ...common,
    // xxhash-wasm (11 KB, its WebAssembly inline) goes into the bundle, under
    // the V8 code cache: required from node_modules it cost every cut that
    // hashes 5-10 ms of resolution and compilation. LMDB (native) stays out.
    ...(out === 'cut' ? { packages: undefined, external: ['lmdb', 'execa', 'tar-stream', 'yargs'] } : {}),
    entryPoints: [`dist/src/cli/${entry}.js`],
    outfile: `dist/bin/${out}.cjs`,
    format: 'cjs',
    // import.meta.url (used to find the shipped recipes and the guest init) from the file's own path.
    define: { 'import.meta.url': '__rapidoModuleUrl' },
    banner: { js: 'const __rapidoModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
}
