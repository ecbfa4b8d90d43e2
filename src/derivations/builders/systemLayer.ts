import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RapidoError } from '../../errors.js';
import { readElfInfo, resolveElfClosure } from '../elfClosure.js';
import type { HostInputs } from '../hostInputs.js';
import type { LayerPlan } from '../layerPlan.js';
import type { CutContext } from './context.js';
import { EntrySet } from './entrySet.js';

/** What every image carries so that our init can run: a shell and mount, setsid for a job-control shell. */
export const INIT_TOOLS = { required: ['/bin/sh', 'mount'], optional: ['setsid', 'modprobe'] };

/** Host directories that a merged-/usr system turns into symlinks; mirrored so /bin/bash works in the guest. */
const TOP_LEVEL_LINKS = ['/bin', '/sbin', '/lib', '/lib64'];

/** `bin`/`try-bin`: ELF binaries with their shared-library closure and interpreter. */
export function collectSystemLayer(plan: LayerPlan, ctx: CutContext, inputs: HostInputs): EntrySet {
  const set = new EntrySet(inputs);
  const wanted: string[] = [];
  const skipped: string[] = [];
  const want = (name: string, optional: boolean, where: string, quiet = false) => {
    const found = findBinary(name, ctx.searchPath, inputs);
    if (!found) {
      if (optional) {
        if (!quiet) skipped.push(name);
        return;
      }
      throw new RapidoError('BIN_NOT_FOUND', `${where}: '${name}' not found${name.includes('/') ? '' : ' on PATH'}`, {
        hint: `install the package that provides it, give its full path, or use try-bin`,
      });
    }
    const st = inputs.lstat(found);
    if (st?.isDirectory()) wanted.push(...elfFilesUnder(found, inputs));
    else wanted.push(found);
  };
  for (const p of INIT_TOOLS.required) want(p, false, 'rapido init');
  for (const p of INIT_TOOLS.optional) want(p, true, 'rapido init', true);
  for (const d of plan.directives) {
    if (d.kind !== 'bin' && d.kind !== 'try-bin') continue;
    for (const a of d.args) want(a, d.kind === 'try-bin', `${d.file}:${d.line}`);
  }
  if (skipped.length) ctx.notice?.(`try-bin skipped, not found: ${[...new Set(skipped)].join(' ')}`);
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

/** A name with a slash is a path; otherwise the first match on PATH (earlier misses recorded, so a new binary there is noticed). */
function findBinary(name: string, searchPath: string[], inputs: HostInputs): string | null {
  if (name.includes('/')) return inputs.lstat(name) ? name : null;
  for (const dir of searchPath) {
    const p = join(dir, name);
    const st = inputs.lstat(p);
    if (st && !st.isDirectory()) return p;
  }
  return null;
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
