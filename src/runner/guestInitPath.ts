import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../packageRoot.js';

/**
 * Host paths of the guest scripts (src/runner/guest/*.sh) the cut puts in
 * the image: the init at GUEST_INIT_PATH (overlay layer) and the network
 * script at GUEST_NET_PATH (net layer). tsc does not copy .sh files into
 * dist/, so we use the source copy under the package root (packageRoot.ts).
 * A copy placed next to the compiled module (guest/NAME) wins if present.
 */
export const GUEST_INIT_SCRIPT: string = locate('rapido-init.sh');
const GUEST_NET_SCRIPT: string = locate('rapido-net.sh');

function locate(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'guest', name);
  if (existsSync(beside)) return beside;
  const root = packageRoot();
  return root ? join(root, 'src', 'runner', 'guest', name) : beside; // no package root: report the obvious place
}

/** Same as GUEST_INIT_SCRIPT, for callers that prefer a function. */
export function guestInitPath(): string {
  return GUEST_INIT_SCRIPT;
}

/** The guest's network script (src/runner/guest/rapido-net.sh). */
export function guestNetPath(): string {
  return GUEST_NET_SCRIPT;
}
