import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GUEST_AUTORUN_DIR, GUEST_ENV_PATH, GUEST_INIT_PATH, GUEST_POST_DIR } from '../../../src/runner/guestContract.js';
import { GUEST_INIT_SCRIPT } from '../../../src/runner/guestInitPath.js';

export const BUSYBOX = '/bin/busybox';

export interface GuestImageSpec {
  /** Which shell is /bin/sh (and so runs the init). busybox applets are always there. */
  shell?: 'busybox' | 'bash' | 'dash';
  /** Autorun scripts by name (`001-x`), written with mode 0755. */
  autorun?: Record<string, string>;
  /** Post steps by name (`001`). */
  post?: Record<string, string>;
  /** /rapido.env contents. */
  env?: string;
}

/** A minimal rapido image (busybox, our init, the given steps) as one newc cpio; returns its path. */
export function buildGuestImage(dir: string, spec: GuestImageSpec = {}): string {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  const shell = spec.shell ?? 'busybox';
  if (shell === 'busybox') {
    symlinkSync('busybox', join(root, 'bin/sh'));
  } else {
    // Another shell as /bin/sh cannot run applets by name: link them all.
    const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'sh');
    for (const a of applets) if (!existsSync(join(root, 'bin', a))) symlinkSync('busybox', join(root, 'bin', a));
    const bin = `/usr/bin/${shell}`;
    copyWithLibs(bin, root, `/bin/${shell}`);
    symlinkSync(shell, join(root, 'bin/sh'));
  }
  copyFileSync(GUEST_INIT_SCRIPT, join(root, GUEST_INIT_PATH));
  chmodSync(join(root, GUEST_INIT_PATH), 0o755);
  writeSteps(join(root, GUEST_AUTORUN_DIR), spec.autorun ?? {});
  writeSteps(join(root, GUEST_POST_DIR), spec.post ?? {});
  if (spec.env !== undefined) writeFileSync(join(root, GUEST_ENV_PATH), spec.env);
  const image = join(dir, 'image.cpio');
  const files = execFileSync('find', ['.'], { cwd: root, encoding: 'utf8' });
  const cpio = execFileSync('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet'], { cwd: root, input: files, maxBuffer: 1 << 28 });
  writeFileSync(image, cpio);
  return image;
}

function writeSteps(dir: string, steps: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(steps)) {
    writeFileSync(join(dir, name), body, { mode: 0o755 });
  }
}

/** Copies a dynamically linked binary and the libraries ldd names for it. */
function copyWithLibs(bin: string, root: string, dest: string): void {
  put(bin, root, dest);
  const ldd = execFileSync('ldd', [bin], { encoding: 'utf8' });
  for (const m of ldd.matchAll(/(\/\S+)/g)) {
    const lib = m[1];
    put(lib, root, lib);
  }
}

function put(src: string, root: string, dest: string): void {
  const to = join(root, dest);
  if (existsSync(to)) return;
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(src, to); // follows symlinks: the image gets the real file under the wanted name
  chmodSync(to, 0o755);
}
