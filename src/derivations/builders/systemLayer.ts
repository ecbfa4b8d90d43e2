import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RapidoError } from '../../errors.js';
import { readElfInfo, resolveElfClosure } from '../elfClosure.js';
import type { HostInputs } from '../hostInputs.js';
import type { LayerPlan } from '../layerPlan.js';
import type { Directive } from '../recipe/directives.js';
import { pathKeysHint } from '../recipe/pathKeysHint.js';
import type { CutContext } from './context.js';
import { EntrySet } from './entrySet.js';

/**
 * What every image carries so that our init can run: a shell and mount;
 * setsid for a job-control shell, modprobe for module coldplug, ln for
 * /dev/fd, mkdir/chmod for its helpers under /run, sleep for hotplug polling.
 */
const INIT_TOOLS = { required: ['/bin/sh', 'mount'], optional: ['setsid', 'modprobe', 'ln', 'mkdir', 'chmod', 'sleep'] };

/**
 * Where a `bin NAME` may come from as found: a script anywhere else on PATH is
 * taken for a shim (pyenv's, rbenv's...), which only works on the host.
 */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * The users and groups the test suites expect (fstests' fsgqa, fsgqa2 and
 * 123456-fsgqa; nobody/nogroup), fixed text so the layer stays reproducible.
 * A recipe's own `file /etc/passwd` lands in the overlay, later, and wins.
 */
const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'fsgqa:x:1000:1000:fsgqa user:/home/fsgqa:/bin/bash',
  'fsgqa2:x:1001:1001:fsgqa2 user:/home/fsgqa2:/bin/bash',
  '123456-fsgqa:x:2000:2000:numeric fsgqa user:/home/123456-fsgqa:/bin/bash',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
];
const GROUP = ['root:x:0:', 'tty:x:5:', 'disk:x:6:', 'users:x:100:', 'fsgqa:x:1000:', 'fsgqa2:x:1001:', '123456-fsgqa:x:2000:', 'nogroup:x:65534:'];

/** Terminal descriptions for the console (`linux`, the kernel's TERM for init) and common terminals, from the host's ncurses. */
const TERMINFO_DIRS = ['/etc/terminfo', '/lib/terminfo', '/usr/share/terminfo'];
const TERMINFO_NAMES = ['l/linux', 'v/vt100', 'v/vt220', 'x/xterm', 'x/xterm-256color'];

/** Host directories that a merged-/usr system turns into symlinks; mirrored so /bin/bash works in the guest. */
const TOP_LEVEL_LINKS = ['/bin', '/sbin', '/lib', '/lib64'];

/** `bin`/`try-bin`: ELF binaries with their shared-library closure and interpreter. */
export function collectSystemLayer(plan: LayerPlan, ctx: CutContext, inputs: HostInputs): EntrySet {
  const set = new EntrySet(inputs);
  const wanted: string[] = [];
  const skipped: string[] = [];
  const want = (name: string, optional: boolean, where: string, quiet = false, d?: Directive) => {
    const found = resolveBinary(name, ctx.searchPath, inputs, (m) => ctx.notice?.(`${where}: ${m}`));
    if (found && 'shim' in found) {
      const what = `'${name}' resolves to ${found.shim}, a script outside the system directories (a shim, useless in the guest), and no ${SYSTEM_DIRS.join(', ')} has one`;
      if (optional) {
        ctx.notice?.(`${where}: try-bin skipped ${what}`);
        return;
      }
      throw new RapidoError('BIN_SHIM', `${where}: ${what}`, {
        hint: `install the real ${name} (e.g. from your distribution), or write the full path (bin ${found.shim}) to take the script as it is`,
      });
    }
    if (!found) {
      if (optional) {
        if (!quiet) skipped.push(name);
        return;
      }
      throw new RapidoError('BIN_NOT_FOUND', `${where}: '${name}' not found${name.includes('/') ? '' : ' on PATH'}`, {
        hint: (d && pathKeysHint(d, ctx.recipe.path)) ?? `install the package that provides it, give its full path, or use try-bin`,
      });
    }
    const st = inputs.lstat(found.path);
    if (st?.isDirectory()) wanted.push(...elfFilesUnder(found.path, inputs));
    else wanted.push(found.path);
  };
  for (const p of INIT_TOOLS.required) want(p, false, 'rapido init');
  for (const p of INIT_TOOLS.optional) want(p, true, 'rapido init', true);
  for (const d of plan.directives) {
    if (d.kind !== 'bin' && d.kind !== 'try-bin') continue;
    for (const a of d.args) want(a, d.kind === 'try-bin', `${d.file}:${d.line}`, false, d);
  }
  if (skipped.length) ctx.notice?.(`try-bin skipped, not found: ${[...new Set(skipped)].join(' ')}`);
  set.addData('/etc/passwd', Buffer.from(PASSWD.join('\n') + '\n'));
  set.addData('/etc/group', Buffer.from(GROUP.join('\n') + '\n'));
  for (const t of TERMINFO_NAMES) {
    const dir = TERMINFO_DIRS.find((d) => inputs.lstat(join(d, t)));
    if (dir) set.mirrorHostPath(join(dir, t));
  }
  for (const dir of TOP_LEVEL_LINKS) {
    if (inputs.lstat(dir)?.isSymbolicLink()) set.mirrorHostPath(dir);
  }
  // ld.so's search path comes from here: a change must re-resolve.
  inputs.lstat('/etc/ld.so.conf');
  inputs.lstat('/etc/ld.so.conf.d');

  const closure = resolveElfClosure([...new Set(wanted)]);
  if (closure.missing.length) {
    const m = closure.missing[0];
    throw new RapidoError('BIN_LIB_MISSING', `${m.neededBy} needs ${m.lib}, which is not on the library path`, {
      hint: 'install the library package, or check ld.so.conf',
    });
  }
  for (const f of closure.files) {
    if (!set.mirrorHostPath(f)) {
      throw new RapidoError('BIN_NOT_FOUND', `${f} vanished while cutting`, { hint: 'run the cut again' });
    }
  }
  set.applyFilters(plan.directives.filter((d) => d.kind === 'filter').flatMap((d) => d.args));
  return set;
}

/**
 * A name with a slash is a path, taken as given; otherwise the first match on
 * PATH (earlier misses recorded, so a new binary there is noticed). A script
 * found outside the system directories is a shim: the same name in a system
 * directory wins (with a notice), else the shim is returned as such.
 */
export function resolveBinary(
  name: string, searchPath: string[], inputs: HostInputs, notice: (m: string) => void,
): { path: string } | { shim: string } | null {
  if (name.includes('/')) return inputs.lstat(name) ? { path: name } : null;
  const first = firstOnPath(name, searchPath, inputs);
  if (!first || SYSTEM_DIRS.includes(dirname(first)) || !isScript(first)) return first ? { path: first } : null;
  const system = firstOnPath(name, SYSTEM_DIRS, inputs);
  if (!system) return { shim: first };
  notice(`'${name}' on PATH is ${first}, a script outside the system directories (a shim?): took ${system} instead`);
  return { path: system };
}

function firstOnPath(name: string, dirs: string[], inputs: HostInputs): string | null {
  for (const dir of dirs) {
    const p = join(dir, name);
    const st = inputs.lstat(p);
    if (st && !st.isDirectory()) return p;
  }
  return null;
}

/** Starts with `#!` (following symlinks): an interpreter script, not a binary. */
function isScript(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b.toString('latin1') === '#!';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function elfFilesUnder(dir: string, inputs: HostInputs): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = inputs.lstat(p);
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readElfInfo(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}
