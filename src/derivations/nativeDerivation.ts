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

/** Builders whose entries' host paths stay out of the key: where a kernel's modules are installed is no input. */
const PATH_FREE_BUILDERS = new Set(['native-kmods', 'native-kmod-index']);

/**
 * The text a native layer's key is hashed from: its canonical derivation,
 * minus the entries' host paths for module layers, so the same modules
 * installed in another tree (a second worktree, a moved KERNEL_SRC) reuse
 * the layer. A tree layer leaves out its source directories too (the
 * entries' digests and image paths say all about its bytes): the same suite
 * built in another place reuses it. The record keeps the paths, for
 * `rapido-store why`.
 */
export function derivationKeyText(d: NativeDerivation): string {
  if (d?.builder === 'native-tree' && Array.isArray(d.entries) && Array.isArray(d.directives)) {
    return canonicalJson({
      ...d,
      // `tree [--all] /IMAGE HOST_DIR`: the host directory is its last word.
      directives: d.directives.map((x) => (x[0] === 'tree' ? x.slice(0, -1) : x)),
      entries: d.entries.map((e) => e.slice(0, 4)),
    });
  }
  if (!PATH_FREE_BUILDERS.has(d?.builder) || !Array.isArray(d.entries)) return canonicalJson(d);
  return canonicalJson({ ...d, entries: d.entries.map((e) => e.slice(0, 4)) });
}
