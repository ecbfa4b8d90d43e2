import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * QEMU must not outlive rapido, even when rapido is SIGKILLed and none of
 * its handlers run. Node cannot set PR_SET_PDEATHSIG on a child it spawns, so
 * util-linux's setpriv sets it (SIGKILL) and execs the command: the kernel
 * then kills QEMU when the thread that spawned it (Node's main thread, which
 * lives as long as the process) dies.
 *
 * Had rapido died before setpriv's prctl, the signal would never come: a
 * `/bin/sh -c` between setpriv and QEMU checks that its parent is still us
 * and gives up otherwise. Each step execs the next, so the pid Node knows
 * is QEMU's.
 */
export interface Wrapped {
  command: string;
  args: string[];
}

const GUARD = '[ "$PPID" = "$1" ] || exit 137; shift; exec "$@"';

/** `command args` wrapped to die with this process, or undefined when setpriv cannot do it here. */
export function dieWithParent(command: string, args: string[], parentPid = process.pid): Wrapped | undefined {
  const setpriv = setprivWithPdeathsig();
  if (!setpriv) return undefined;
  return {
    command: setpriv,
    args: ['--pdeathsig', 'SIGKILL', '--', '/bin/sh', '-c', GUARD, 'rapido-qemu', String(parentPid), command, ...args],
  };
}

let cached: string | null | undefined;

/** setpriv's path if it knows --pdeathsig (util-linux >= 2.33), else null; asked once per process (~2 ms). */
export function setprivWithPdeathsig(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  const bin = findInPath('setpriv');
  if (bin) {
    try {
      const help = execFileSync(bin, ['--help'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
      if (help.includes('--pdeathsig')) cached = bin;
    } catch { /* unusable: run without */ }
  }
  return cached;
}

function findInPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).filter(Boolean);
  for (const d of [...dirs, '/usr/bin', '/bin']) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}
