import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../packageRoot.js';

/**
 * Host path of the guest init script (src/runner/guest/rapido-init.sh) that
 * the overlay puts at GUEST_INIT_PATH. tsc does not copy .sh files into
 * dist/, so we use the source copy under the package root (packageRoot.ts).
 * A copy placed next to the compiled module (guest/rapido-init.sh) wins if
 * present.
 */
export const GUEST_INIT_SCRIPT: string = locate();

function locate(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'guest', 'rapido-init.sh');
  if (existsSync(beside)) return beside;
  const root = packageRoot();
  return root ? join(root, 'src', 'runner', 'guest', 'rapido-init.sh') : beside; // no package root: report the obvious place
}

/** Same as GUEST_INIT_SCRIPT, for callers that prefer a function. */
export function guestInitPath(): string {
  return GUEST_INIT_SCRIPT;
}
