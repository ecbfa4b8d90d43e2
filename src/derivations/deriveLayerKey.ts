import type { CutRequest } from '../cut/cutRequest.js';
import { guestInitPath } from '../runner/guestInitPath.js';
import { digestBuffer, hashString } from '../store/digest.js';
import type { HashedRead } from '../store/statCache.js';
import { NATIVE_BUILDER_VERSION, type CutContext } from './builders/context.js';
import type { EntrySet } from './builders/entrySet.js';
import { canonicalJson } from './canonicalJson.js';
import type { CpioEntry } from './cpio/cpioEntry.js';
import { HostInputs } from './hostInputs.js';
import { LayerMemo } from './layerMemo.js';
import type { LayerPlan } from './layerPlan.js';
import { derivationKeyText, nativeDerivation, type NativeDerivation } from './nativeDerivation.js';
import { CHUNK_RULE, chunkEntries, KMODS_CHUNK_THRESHOLD } from './treeChunks.js';
import type { TreeWalkInfo } from './builders/treeLayer.js';
import { shownVars } from './recipe/secrets.js';

/**
 * A layer's key from its inputs, without building it: what `rapido cut`,
 * `rapido-store why` and `rapido-store audit` all compute, so they agree.
 */

/** Where deriving gets a host file's digest: the stamp, the stat cache or hashing it now (CutStore). */
export interface FileDigests {
  /** `read`: a digest already taken at signature `sig` (HostInputs.hashedRead), used instead of reading the file again. */
  digest(path: string, sig: string | null | undefined, read?: HashedRead): string;
}

export function cutContext(req: CutRequest): CutContext {
  return { recipe: req.recipe, kernel: req.kernel, post: req.post, epoch: req.epoch, searchPath: req.searchPath, guestInit: guestInitPath() };
}

export function builderName(plan: LayerPlan): string {
  return plan.kind === 'dracut' ? 'dracut' : `native-${plan.kind}`;
}

/** What decides a layer besides its files: compared with the stamp to skip re-deriving it. */
export function layerRequest(plan: LayerPlan, req: CutRequest): string {
  return canonicalJson({
    version: NATIVE_BUILDER_VERSION,
    directives: plan.directives.map((d) => [d.kind, ...d.args]),
    kernel: plan.kind === 'kmods' || plan.kind === 'kmod-index' || plan.kind === 'kconfig' ? req.kernel : undefined,
    vars: plan.kind === 'overlay' ? shownVars(req.recipe.vars, req.recipe.secrets) : undefined,
    post: plan.kind === 'overlay' ? req.post : undefined,
    dracutExtra: plan.kind === 'dracut' ? req.conf.get('DRACUT_EXTRA_ARGS') ?? '' : undefined,
    searchPath: plan.kind === 'system' ? req.searchPath : undefined,
    epoch: req.epoch,
  });
}

/** Builders load on demand: a re-cut after an autorun edit needs only the overlay's (and no ELF or modules.dep parser). */
async function collect(plan: LayerPlan, ctx: CutContext, inputs: HostInputs, memo: LayerMemo, info?: TreeWalkInfo): Promise<EntrySet> {
  switch (plan.kind) {
    case 'system': return (await import('./builders/systemLayer.js')).collectSystemLayer(plan, ctx, inputs);
    case 'tree': return (await import('./builders/treeLayer.js')).collectTreeLayer(plan, inputs, info);
    case 'kconfig': return (await import('./builders/kconfigLayer.js')).collectKconfigLayer(plan, ctx, inputs);
    case 'kmod-index': return (await import('./builders/kmodsLayer.js')).collectKmodIndexLayer(plan, ctx, inputs);
    case 'kmods': return (await import('./builders/kmodsLayer.js')).collectKmodsLayer(plan, ctx, inputs, memo);
    case 'net': return (await import('./builders/netLayer.js')).collectNetLayer(plan, inputs);
    case 'overlay': return (await import('./builders/overlayLayer.js')).collectOverlayLayer(plan, ctx, inputs);
    default: throw new Error(`no native builder for ${plan.kind}`);
  }
}

/** One layer of a plan: the plan's only one, or a chunk of a big tree (`tree:/fstests#2`). */
export interface NativePart {
  name: string;
  key: string;
  derivation: NativeDerivation;
  entries: CpioEntry[];
}

/** The layer name of chunk `i` of `n` (a plan that is one layer keeps its own name). */
export function partName(plan: LayerPlan, i: number, n: number): string {
  return n === 1 ? plan.name : `${plan.name}#${i + 1}`;
}

/** A host file's digest as a derivation records it, noted in `inputs` for the stamp. */
export function entryDigester(store: FileDigests, inputs: HostInputs): (e: CpioEntry) => string {
  return (e) => {
    if (!e.source) return e.recordedDigest ?? digestBuffer(e.data ?? Buffer.alloc(0));
    const d = store.digest(e.source, inputs.sigs.get(e.source), inputs.hashedRead(e.source));
    inputs.digests.set(e.source, d);
    return d;
  };
}

/**
 * The key this build gives a fixed sample derivation: a fingerprint of how
 * keys are hashed. A tree delta keeps the last cut's keys for the chunks it
 * did not touch, so it is only taken when the build that recorded them
 * hashed keys the same way (another rapido may have changed what a key
 * covers without changing the entries).
 */
export function keyFingerprint(): string {
  // The chunking rule too: the delta re-chunks from the recorded boundaries, which must come from the same rule.
  return hashString(CHUNK_RULE + derivationKeyText({
    builder: 'native-tree', version: NATIVE_BUILDER_VERSION, layer: 'tree:/s', directives: [['tree', '/s', '/h']], epoch: 1,
    post: [{ kind: 'file', path: '/h/p' }], entries: [['s', 'dir', 0o755, ''], ['s/f', 'file', 0o644, '0123456789abcdef', '/h/f'], ['s/l', 'symlink', 0o777, 'f']],
  }));
}

/** A layer's key and derivation from its entries. */
export function derivePart(plan: LayerPlan, ctx: CutContext, name: string, entries: CpioEntry[], digestOf: (e: CpioEntry) => string): NativePart {
  const derivation = nativeDerivation(plan, ctx, entries, digestOf);
  return { name, key: hashString(derivationKeyText(derivation)), derivation, entries };
}

/**
 * Collects a native plan's entries and hashes each of its layers' derivation
 * into its key, without building anything. A tree heavier than
 * CHUNK_THRESHOLD (kmods: KMODS_CHUNK_THRESHOLD) gives several layers
 * (treeChunks.ts), each keyed by its own entries only: an edit in one chunk
 * (a rebuilt module) leaves the others' keys alone.
 */
export async function deriveNativeLayers(plan: LayerPlan, ctx: CutContext, store: FileDigests, memo = new LayerMemo()) {
  const { chunks, inputs, tree } = await collectChunks(plan, ctx, memo);
  const digestOf = entryDigester(store, inputs);
  const parts: NativePart[] = chunks.map((chunk, i) => derivePart(plan, ctx, partName(plan, i, chunks.length), chunk, digestOf));
  return { parts, inputs, tree };
}

/** A layer some of whose host files no cache knows by digest: written in one pass that hashes them, and keyed after. */
export interface UnkeyedPart {
  name: string;
  entries: CpioEntry[];
  unkeyed: true;
}

/** Where a cut asks for a digest without reading the file (CutStore.knownDigest). */
export interface KnownDigests extends FileDigests {
  knownDigest(path: string, sig: string | null | undefined, read?: HashedRead): string | undefined;
}

/**
 * deriveNativeLayers for a cut that can write a layer before knowing its
 * key: a chunk with a file whose digest is known nowhere (a cold cut, a new
 * file) is left unkeyed, so that file is read once, by the write, instead of
 * once to hash it and once more to write it.
 */
export async function deriveNativeLayersOrUnkeyed(plan: LayerPlan, ctx: CutContext, store: KnownDigests, memo = new LayerMemo()) {
  const { chunks, inputs, tree } = await collectChunks(plan, ctx, memo);
  const anyDigest = entryDigester(store, inputs);
  // The digests found while sorting the chunks out, so a keyed chunk does not ask for them twice.
  const known = new Map<string, string>();
  const unknown = (e: CpioEntry) => {
    if (e.type !== 'file' || e.source === undefined) return false;
    const d = store.knownDigest(e.source, inputs.sigs.get(e.source), inputs.hashedRead(e.source));
    if (d !== undefined) known.set(e.source, d);
    return d === undefined;
  };
  const digestOf = (e: CpioEntry) => {
    const d = e.source === undefined ? undefined : known.get(e.source);
    if (d === undefined) return anyDigest(e);
    inputs.digests.set(e.source!, d);
    return d;
  };
  const parts: (NativePart | UnkeyedPart)[] = chunks.map((chunk, i) => {
    const name = partName(plan, i, chunks.length);
    return chunk.some(unknown) ? { name, entries: chunk, unkeyed: true as const } : derivePart(plan, ctx, name, chunk, digestOf);
  });
  return { parts, inputs, tree };
}

async function collectChunks(plan: LayerPlan, ctx: CutContext, memo: LayerMemo) {
  const inputs = new HostInputs();
  const tree: TreeWalkInfo | undefined = plan.kind === 'tree' ? { trees: [], elf: [] } : undefined;
  const entries = (await collect(plan, ctx, inputs, memo, tree)).entries();
  const chunks = plan.kind === 'tree' ? chunkEntries(entries) : plan.kind === 'kmods' ? chunkEntries(entries, KMODS_CHUNK_THRESHOLD) : [entries];
  return { chunks, inputs, tree };
}

/**
 * dracut resolves libraries itself, so the layer's full inputs are only known
 * after building: a two-level lookup as ccache does. The first key covers
 * what we ask dracut for; its manifest lists the host files dracut copied
 * with their digests; a later cut reuses the layer only if they all still match.
 * The caller opens the store's index first (the manifests live there, and
 * with it open digests come from the stat cache).
 */
export async function deriveDracutFirstKey(plan: LayerPlan, ctx: CutContext, req: CutRequest, store: FileDigests) {
  const { DRACUT_BUILDER_VERSION, dracutRequest, dracutSelfFiles, dracutVersion } = await import('./builders/dracutLayer.js');
  const inputs = new HostInputs();
  const selfFiles = dracutSelfFiles(inputs);
  const dreq = dracutRequest(plan, ctx, req.conf.get('DRACUT_EXTRA_ARGS') ?? '');
  const firstDerivation = {
    builder: 'dracut',
    version: DRACUT_BUILDER_VERSION,
    dracutVersion: dracutVersion(),
    request: dreq,
    self: selfFiles.map((f) => [f, store.digest(f, inputs.sigs.get(f))]),
  };
  const firstKey = hashString(canonicalJson(firstDerivation));
  const currentDigest = (path: string): string | null => {
    const st = inputs.lstat(path);
    if (!st?.isFile()) return null;
    const d = store.digest(path, inputs.sigs.get(path));
    inputs.digests.set(path, d);
    return d;
  };
  return { inputs, dreq, firstDerivation, firstKey, currentDigest };
}
