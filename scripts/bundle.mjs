// Bundles the compiled CLI entry points into dist/bin/: one module to load
// instead of dozens on every `rapido cut` (ESM resolution, reading and
// compiling each file costs ~15 ms of the warm path). Dynamic imports stay
// separate chunks, so each command still loads only what it uses.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/bin', { recursive: true, force: true });
await build({
  entryPoints: { rapido: 'dist/src/cli/rapido.js', 'rapido-store': 'dist/src/cli/rapidoStore.js' },
  outdir: 'dist/bin',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
