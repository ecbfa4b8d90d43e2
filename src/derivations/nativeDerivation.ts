import { RapidoError } from '../errors.js';
import type { CpioEntry } from './cpio/cpioEntry.js';
import type { LayerPlan } from './layerPlan.js';
import { NATIVE_BUILDER_VERSION, type CutContext } from './builders/context.js';
import { canonicalJson } from './canonicalJson.js';
import { shownVars } from './recipe/secrets.js';

/** An entry as its derivation records it: path, type, mode, and content digest / link target / device numbers, plus where it came from. */
export type EntryRecord = [path: string, type: string, mode: number, content: string, source?: string];

export interface NativeDerivation {
  builder: string;
  version: number;
  layer: string;
  directives: string[][];
  kernelRelease?: string;
  vars?: Record<string, string>;
  post?: unknown[];
  epoch: number;
  entries: EntryRecord[];
}

/**
 * Everything that determines a native layer's bytes. Its canonical JSON is
 * hashed into the layer key: same derivation, same bytes, on any machine.
 */
export function nativeDerivation(
  plan: LayerPlan,
  ctx: CutContext,
  entries: CpioEntry[],
  digestOf: (entry: CpioEntry) => string,
): NativeDerivation {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    builder: `native-${plan.kind}`,
    version: NATIVE_BUILDER_VERSION,
    layer: plan.name,
    directives: plan.directives.map((d) => [d.kind, ...d.args]),
    kernelRelease: plan.kind === 'kmods' || plan.kind === 'kmod-index' || plan.kind === 'kconfig' ? ctx.kernel.release : undefined,
    vars: plan.kind === 'overlay' ? shownVars(ctx.recipe.vars, ctx.recipe.secrets) : undefined,
    post: plan.kind === 'overlay' ? ctx.post : undefined,
    epoch: ctx.epoch,
    entries: sorted.map((e) => {
      const content =
        e.type === 'file' ? digestOf(e) : e.type === 'symlink' ? e.target! : e.type === 'char' || e.type === 'block' ? `${e.rdevMajor}:${e.rdevMinor}` : '';
      return e.source ? [e.path, e.type, e.mode, content, e.source] : [e.path, e.type, e.mode, content];
    }),
  };
}

/**
 * writeNewcSync's `sourceDigest` for the archive of `d`'s entries: every file
 * read from the host must still hold the contents whose digest the key was
 * computed from. A file rewritten between the digest and the write (same
 * size, so the writer's size check passes) would otherwise put other bytes
 * under that key, and a later cut of the old contents would boot them.
 */
export function checkSourceDigests(d: NativeDerivation): (e: CpioEntry, digest: string) => void {
  return (e, digest) => {
    const want = recordOf(d.entries, e.path);
    if (want?.[1] === 'file' && want[3] === digest) return;
    throw new RapidoError('CPIO_SOURCE_CHANGED', `${e.path}: ${e.source} changed while its layer was being written (its contents no longer have the digest the layer's key was computed from)`, {
      hint: 'a host file was written during the cut; nothing was stored under that key; run the cut again',
    });
  };
}

/** The record of `path` in a derivation's entries (sorted by path, as nativeDerivation sorts them). */
function recordOf(entries: EntryRecord[], path: string): EntryRecord | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = entries[mid][0];
    if (p === path) return entries[mid];
    if (p < path) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/**
 * The text a native layer's key is hashed from: what decides the layer's
 * bytes and nothing about where its inputs sit on the host. The newc writer's
 * output is a function of the entries (image path, type, mode, content digest
 * or link target or device numbers; builders set no uid/gid/mtime/links, see
 * entryRecord), the epoch and the builder version, so those are the key; the
 * entries' host paths (`source`), the directives (which name host paths:
 * `tree`'s directory, `file`'s source, net-conf, the Ceph files) and the path
 * of a `-f` script leave it. Two checkouts, or two copies of a suite, give the
 * same keys, so a store or a shared cache hits across machines. The record
 * keeps all of it, for `rapido-store why` and `info`.
 */
export function derivationKeyText(d: NativeDerivation): string {
  if (!Array.isArray(d?.entries)) return canonicalJson(d);
  const { directives: _explanation, ...rest } = d;
  return canonicalJson({
    ...rest,
    post: Array.isArray(d.post) ? d.post.map((p) => (isFileStep(p) ? { kind: 'file' } : p)) : d.post,
    entries: d.entries.map((e) => e.slice(0, 4)),
  });
}

function isFileStep(p: unknown): boolean {
  return typeof p === 'object' && p !== null && (p as { kind?: unknown }).kind === 'file';
}
