import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * rapido's package root: the first directory with a package.json above this
 * module (dist/src/ when compiled, dist/bin/ when bundled: the bundles define
 * import.meta.url as their own path). Files tsc does not copy into dist/
 * (recipes/, the guest init script) are read from there. Undefined when no
 * package.json is found (a broken install).
 */
export function packageRoot(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
