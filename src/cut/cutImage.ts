import { closeSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { vmPidDir } from '../config/loadConfig.js';
import type { RapidoError } from '../errors.js';
import { canonicalJson } from '../derivations/canonicalJson.js';
import { writeNewcSync, type NewcOptions } from '../derivations/cpio/writeNewc.js';
import { newcMembers } from '../derivations/cpio/readNewc.js';
import { builderName, cutContext, deriveDracutFirstKey, deriveNativeLayers, deriveNativeLayersOrUnkeyed, derivePart, entryDigester, keyFingerprint, layerRequest, type NativePart, type UnkeyedPart } from '../derivations/deriveLayerKey.js';
import { HostInputs, sigSize } from '../derivations/hostInputs.js';
import { planLayers, type LayerPlan } from '../derivations/layerPlan.js';
import { LayerMemo } from '../derivations/layerMemo.js';
import { toSnapshot, type TreeShape, type TreeSnapshot } from '../derivations/treeSnapshot.js';
import { checkSourceDigests } from '../derivations/nativeDerivation.js';
import { totalWeight } from '../derivations/treeChunks.js';
import { readTreeSnapshots, snapshotKey, writeTreeSnapshots } from '../image/treeSnapshotFile.js';
import { racyInputs, treeDelta, type DeltaPart } from './treeDelta.js';
import { distributeInputs } from './chunkInputs.js';
import {
  changedInputs, layerInputsUnchanged, RACY_WINDOW_MS, readStamp, STAMP_VERSION, storeIdentity, writeStamp, type ImageLayout, type Stamp, type StampInput,
  type StampLayer,
} from '../image/stamp.js';
import type { CutContext } from '../derivations/builders/context.js';
import type { CpioEntry } from '../derivations/cpio/cpioEntry.js';
import { createDigest, digestBuffer, hashString, initHasher } from '../store/digest.js';
import { objectPath } from '../store/objectPath.js';
import { discardObject, placeObject, stageHashedObject, writeHashedObject, writeObject } from '../store/writeObject.js';
import { withCutGuard } from '../store/cutGuard.js';
import { recipeVmResources } from '../image/vmResources.js';
import { composeImage, CorruptObjectError, imageWriteError, prepareImageDir } from '../image/composeImage.js';
import { readImageLayer } from '../image/imageLayer.js';
import { CutStore } from './cutStore.js';
import type { CutRequest } from './cutRequest.js';
import type { LayerOutcome, Progress } from './progress.js';
import type { CutSubstitution, Fetched } from '../store/substituters/substitute.js';

export interface CutOutcome {
  layers: LayerOutcome[];
  /** Layers downloaded, per substituter (display name → count). */
  fetchedFrom: Map<string, number>;
  imageBytes: number;
  written: number;
  /** Image bytes that share their store objects' blocks instead of being written (composeImage.ts, cloneRanges.ts). */
  cloned: number;
  stamp: Stamp;
}

interface LayerResult {
  /** The plan's name, or a chunk's (`tree:/fstests#2`) when a big tree is several layers. */
  name: string;
  key: string;
  size: number;
  digest: string;
  source: LayerOutcome['source'];
  inputs: StampInput[];
  /** An input changed within the racy window: the next cut must re-derive this layer. */
  racy: boolean;
  memo?: LayerMemo | StampLayer['memo'];
  /** On a tree's first layer: its entries for the next cut's delta (cut/treeDelta.ts); `kept`: the last cut's, still beside the stamp. */
  snapshot?: TreeSnapshot | 'kept';
}

/** The slow path: some input changed (or there is no stamp). Only layers whose inputs changed are re-derived. */
export async function cutImage(
  req: CutRequest,
  progress: Progress,
  prev = readStamp(req.out),
  unchanged = new Set((prev?.layers ?? []).filter(layerInputsUnchanged).map((l) => l.name)),
  opts: { substitute?: boolean } = {},
  changed?: Map<string, string[]>,
): Promise<CutOutcome> {
  // DRACUT_OUT must take files before minutes go into building layers; a killed cut's temp images go.
  prepareImageDir(req.out);
  await initHasher();
  const store = new CutStore(req.store, prev, { say: progress.say });
  try {
    // Without a stamp most files are new to this cut: the stat cache may know them from other cuts.
    if (!prev) await store.open();
    // A gc must not delete what this cut is about to use: the two exclude each other (store/cutGuard.ts).
    const subst = substitution(req, store, progress, opts.substitute !== false);
    return await withCutGuard(store.dir, () => cutWithStore(req, prev, unchanged, changed, store, progress, subst), {
      onWait: (gc) => progress.say(`waiting for rapido-store gc${gc ? ` (pid ${gc.pid})` : ''} to finish`),
    });
  } finally {
    await store.close();
  }
}

/** The cut's substituters, loaded on the first local miss only: a cut that builds nothing new never loads the HTTP or cache code. */
/** `configured`: some substituter is set, so every layer needs its key before it is built (to ask for it). */
type Substitution = (() => Promise<CutSubstitution | null>) & { configured: boolean };

function substitution(req: CutRequest, store: CutStore, progress: Progress, enabled: boolean): Substitution {
  const value = enabled ? (req.conf.get('RAPIDO_SUBSTITUTERS') ?? '').trim() : '';
  let loaded: Promise<CutSubstitution | null> | undefined;
  const load = () =>
    (loaded ??= value
      ? Promise.all([import('../store/substituters/substitute.js'), import('../store/substituters/substituterUrl.js')]).then(
          ([{ CutSubstitution }, { parseSubstituterList }]) =>
            new CutSubstitution(store.dir, parseSubstituterList(value, (e) => progress.say(`warning: ${e.message}; ignoring it`)), progress.say, { fetching: (d, t, b) => progress.fetching(d, t, b) }),
        )
      : Promise.resolve(null));
  return Object.assign(load, { configured: value !== '' });
}

async function cutWithStore(
  req: CutRequest, prev: Stamp | undefined, unchanged: Set<string>, changed: Map<string, string[]> | undefined, store: CutStore, progress: Progress,
  subst: Substitution,
): Promise<CutOutcome> {
  // Notices (a skipped try-bin) are for a person at a terminal; in scripts and logs they would be noise.
  const notices: string[] = [];
  const ctx: CutContext = { ...cutContext(req), notice: (m) => notices.push(m) };
  const flushNotices = () => {
    for (const m of notices.splice(0)) progress.notice(`${req.recipe.name}: ${m}`);
  };
  const cutStartMs = Date.now();

  const plans = planLayers(req.recipe);
  /** Per plan, its layers: one, or a big tree's chunks. */
  const results: LayerResult[][] = [];
  const outcomes: LayerOutcome[][] = [];
  const requests = plans.map((plan) => layerRequest(plan, req));
  let snaps: Record<string, TreeSnapshot> | undefined;
  /** The last cut's snapshot of a tree plan and its shape, if the stamp vouches for them. */
  const prevSnapshot = (plan: LayerPlan, olds: StampLayer[]): { snap: TreeSnapshot; shape: TreeShape } | undefined => {
    const memo = olds[0]?.memo?.snapshot;
    const shape = memo?.value as TreeShape | undefined;
    if (plan.kind !== 'tree' || !memo?.key || !Array.isArray(shape?.chunks) || !Array.isArray(shape?.racy) || shape?.keys !== keyFingerprint()) return undefined;
    const snap = (snaps ??= readTreeSnapshots(req.out))[plan.name];
    return snap && snapshotKey(snap) === memo.key ? { snap, shape: shape! } : undefined;
  };
  const cutPlan = async (i: number, reuseStamp: boolean): Promise<LayerResult[]> => {
    const plan = plans[i];
    const olds = prev?.layers.filter((l) => (l.plan ?? l.name) === plan.name) ?? [];
    // A chunked tree is reused from the stamp only whole: its memo (and racy mark) rides on its first chunk.
    const reusable = reuseStamp && olds.length > 0 && olds.every((old) => old.digest && !old.racy && old.request === requests[i] && unchanged.has(old.name));
    if (reusable && (await everyAsync(olds, (old) => store.lookup(old.key)))) {
      // Its snapshot (if any) stays as it is: read only if another tree's changes make the file be written again.
      const snapshot = plan.kind === 'tree' && olds[0].memo?.snapshot ? ('kept' as const) : undefined;
      return olds.map((old, j) => ({
        name: old.name, key: old.key, size: old.size, digest: old.digest, source: 'stamp', inputs: old.inputs, racy: false, memo: old.memo, snapshot: j === 0 ? snapshot : undefined,
      }));
    }
    const memo = new LayerMemo(olds[0]?.memo);
    if (plan.kind === 'dracut') return [await dracutLayer(plan, ctx, req, store, cutStartMs, subst)];
    // A big tree with a few files edited: patch the last cut's entries rather than walk it all again.
    const last = reuseStamp && olds.length > 0 && olds.every((old) => old.digest && old.request === requests[i]) ? prevSnapshot(plan, olds) : undefined;
    if (last) {
      const changedHere = olds.flatMap((old) => (changed ? (changed.get(old.name) ?? []) : changedInputs(old)));
      const delta = treeDelta(plan, ctx, store, last.snap, last.shape, olds, changedHere, cutStartMs);
      if (delta) {
        memo.set('snapshot', snapshotKey(last.snap), delta.shape);
        return nativeLayers(plan, ctx, store, cutStartMs, memo, subst, { ...delta, image: { out: req.out, layout: prev?.current } });
      }
    }
    return nativeLayers(plan, ctx, store, cutStartMs, memo, subst);
  };
  const outcomesOf = (plan: LayerPlan, rs: LayerResult[], ms: number): LayerOutcome[] =>
    rs.map((r) => ({ name: r.name, builder: builderName(plan), key: r.key, size: r.size, source: r.source, ms: ms / rs.length }));
  // The plans run side by side: while one waits for a substituter's downloads, the next derives its
  // keys or builds (the work itself is synchronous, so only waits overlap). Results are taken in order.
  const started = plans.map((_, i) => {
    const t0 = Date.now();
    const p = cutPlan(i, true).then((rs) => ({ rs, ms: Date.now() - t0 }));
    p.catch(() => {}); // awaited below; a failure after an earlier one must not go unhandled
    return p;
  });
  try {
    for (const [i, plan] of plans.entries()) {
      progress.start(plan.name, builderName(plan));
      const { rs, ms } = await started[i];
      results.push(rs);
      const os = outcomesOf(plan, rs, ms);
      for (const o of os) progress.done(o);
      flushNotices();
      outcomes.push(os);
    }
  } catch (e) {
    // Nothing may still write to the store once the cut's guard and LMDB go.
    await Promise.allSettled(started);
    throw e;
  }

  let composed: ReturnType<typeof composeImage> | undefined;
  for (let attempt = 0; !composed; attempt++) {
    try {
      composed = composeImage(
        req.out,
        // Objects this cut just wrote were hashed as they were written: check only the others.
        results.flat().map((r) => ({ key: r.key, path: objectPath(store.dir, r.key), size: r.size, digest: r.source === 'built' ? undefined : r.digest })),
        { current: prev?.current, spare: prev?.spare },
        vmPidDir(req.conf, req.out),
      );
    } catch (e) {
      // A corrupt object is never booted: drop it, rebuild its layer, compose again.
      const i = e instanceof CorruptObjectError ? results.findIndex((rs) => rs.some((r) => r.key === e.key)) : -1;
      if (i < 0 || attempt >= results.flat().length) throw e;
      const bad = results[i].find((r) => r.key === (e as CorruptObjectError).key)!;
      progress.say(`layer ${bad.name}: ${(e as Error).message}; rebuilding it`);
      store.discard(bad.key);
      const t0 = Date.now();
      results[i] = await cutPlan(i, false);
      outcomes[i] = outcomesOf(plans[i], results[i], Date.now() - t0);
      flushNotices();
    }
  }
  // The snapshots first: the stamp written next names each by its id.
  const nextSnaps: Record<string, TreeSnapshot> = {};
  const firsts = plans.map((plan, i) => [plan, results[i][0]] as const);
  // Only unchanged trees (or none at all, and no file): nothing to write.
  const rewrite = firsts.some(([, r]) => r?.snapshot && r.snapshot !== 'kept') || !firsts.some(([, r]) => r?.snapshot);
  for (const [plan, r] of firsts) {
    const s = r?.snapshot === 'kept' ? (rewrite ? prevSnapshot(plan, prev!.layers.filter((l) => (l.plan ?? l.name) === plan.name))?.snap : undefined) : r?.snapshot;
    if (s) nextSnaps[plan.name] = s;
  }
  try {
    if (rewrite) writeTreeSnapshots(req.out, nextSnaps);
  } catch (e) {
    throw imageWriteError(e, req.out);
  }
  const stampLayers: StampLayer[] = plans.flatMap((plan, i) =>
    results[i].map((r) => {
      const memo = r.memo instanceof LayerMemo ? r.memo.toJSON() : r.memo;
      // The object as composed: the next no-op check notices it removed (gc, a wiped store) or replaced.
      const obj = objectPath(store.dir, r.key);
      const object: StampLayer['object'] = [obj, store.objectSig(r.key)];
      const layer: StampLayer = { name: r.name, key: r.key, size: r.size, digest: r.digest, request: requests[i], inputs: r.inputs, racy: r.racy, memo, object };
      return r.name === plan.name ? layer : { ...layer, plan: plan.name };
    }),
  );
  const stamp: Stamp = {
    version: STAMP_VERSION,
    request: req.key,
    recipe: req.recipe.name,
    layers: stampLayers,
    store: { path: store.dir.dir, id: storeIdentity(store.dir.dir) ?? 'missing' },
    current: composed.current,
    spare: composed.spare,
    vm: recipeVmResources(req.recipe),
    kernel: { release: req.kernel.release, image: req.kernel.image },
  };
  try {
    writeStamp(req.out, stamp, prev);
  } catch (e) {
    throw imageWriteError(e, req.out);
  }
  const at = Date.now();
  await store.finish(
    {
      recipe: req.recipe.name,
      at,
      outPath: req.out,
      layers: outcomes.flat().map((o) => ({ name: o.name, key: o.key, hit: o.source !== 'built' })),
      // The derivations themselves live in the layer records, found by key.
      inputs: Object.fromEntries(outcomes.flat().map((o) => [o.name, { key: o.key }])),
    },
    outcomes.flat().map((o) => o.key),
  );
  const fetchedFrom = (await subst())?.fetchedFrom ?? new Map<string, number>();
  return { layers: outcomes.flat(), fetchedFrom, imageBytes: composed.current.size, written: composed.written, cloned: composed.cloned, stamp };
}

/** The stamp's record of a layer's inputs; digests of files touched within the racy window are not kept. */
function stampInputs(inputs: HostInputs, cutStartMs: number): { inputs: StampInput[]; racy: boolean } {
  const trusted = cutStartMs - RACY_WINDOW_MS;
  const list: StampInput[] = [...inputs.sigs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, sig]) => {
      const d = inputs.digests.get(path);
      return d && sig && (inputs.mtimes.get(path) ?? Infinity) <= trusted ? [path, sig, d] : [path, sig];
    });
  return { inputs: list, racy: inputs.newestMtimeMs > trusted };
}

/**
 * The last cut's layer of a chunk with the same entries, as members to copy
 * into the new one (all but the changed entries): one read instead of opening
 * every file of the chunk. Its bytes come from the last image when that
 * still vouches for them (image/imageLayer.ts), else from its store object
 * if that still has the digest the stamp recorded; each member is used only
 * at its own position and size.
 */
function priorMembers(
  store: CutStore, image: { out: string; layout?: ImageLayout }, layer: StampLayer, dirty: Set<number>, count: number,
): NewcOptions['member'] {
  let buf = readImageLayer(image.out, image.layout, layer.key, layer.size);
  if (!buf) {
    try {
      buf = readFileSync(objectPath(store.dir, layer.key));
    } catch {
      return undefined;
    }
    if (buf.length !== layer.size || digestBuffer(buf) !== layer.digest) return undefined;
  }
  const members = newcMembers(buf);
  if (members?.length !== count) return undefined;
  return (e, i) => {
    const m = members[i];
    const size = e.type === 'file' ? (e.size ?? -1) : e.type === 'symlink' ? Buffer.byteLength(e.target ?? '') : 0;
    return !dirty.has(i) && m.path === e.path && m.ino === i && m.size === size ? m.bytes : undefined;
  };
}

/** Sequential: lookups may open LMDB, and the first answer that fails ends it. */
async function everyAsync<T>(xs: T[], f: (x: T) => Promise<unknown>): Promise<boolean> {
  for (const x of xs) if (!(await f(x))) return false;
  return true;
}

/** A layer of the plan as built or found, before its stamp inputs are attached. */
type BuiltLayer = Pick<LayerResult, 'name' | 'key' | 'size' | 'digest' | 'source'>;

/**
 * A native plan's layers: one, or a big tree's chunks (deriveNativeLayers).
 * Each is looked up by its own key, so an edit in one chunk builds that chunk
 * alone. Each chunk's layer records the inputs of its own files, the first
 * one the rest and the plan's memo (chunkInputs.ts): the next cut
 * re-derives the plan when any of them changed, a tree from its snapshot
 * when only file contents changed (`delta`, cut/treeDelta.ts).
 */
async function nativeLayers(
  plan: LayerPlan, ctx: CutContext, store: CutStore, cutStartMs: number, memo: LayerMemo, subst: Substitution,
  delta?: { parts: DeltaPart[]; inputs: StampInput[][]; racy: boolean; image: { out: string; layout?: ImageLayout } },
  retried = false,
): Promise<LayerResult[]> {
  let parts: (NativePart | DeltaPart | UnkeyedPart)[];
  /** Each part's inputs (chunkInputs.ts), whether the plan's are racy, and a tree's snapshot: from the delta, or from the walk once its layers are written (an unkeyed layer's digests are taken by its write). */
  let stampedOf: () => { inputs: StampInput[][]; racy: boolean; snap: TreeSnapshot | 'kept' | undefined };
  /** The walk's host inputs, for unkeyed layers' digests. */
  let walkInputs: HostInputs | undefined;
  if (delta) {
    parts = delta.parts;
    stampedOf = () => ({ inputs: delta.inputs, racy: delta.racy, snap: 'kept' });
  } else {
    // Without substituters, a tree's layers whose files are not all known by digest are written before they are keyed.
    const derived = plan.kind === 'tree' && !subst.configured ? await deriveNativeLayersOrUnkeyed(plan, ctx, store, memo) : await deriveNativeLayers(plan, ctx, store, memo);
    const walked = derived.parts;
    parts = walked;
    walkInputs = derived.inputs;
    stampedOf = () => {
      const { inputs, racy } = stampInputs(derived.inputs, cutStartMs);
      const chunkOf = new Map<string, number>();
      if (walked.length > 1) for (const [j, p] of walked.entries()) for (const e of p.entries) if (e.source !== undefined && !chunkOf.has(e.source)) chunkOf.set(e.source, j);
      const sigs = derived.inputs.sigs;
      const snap = derived.tree && toSnapshot(derived.tree, walked.flatMap((p) => p.entries), (source) => {
        const sig = sigs.get(source);
        return sig && !sig.startsWith('kind:') ? sigSize(sig) : undefined;
      });
      if (snap) memo.set('snapshot', snapshotKey(snap), {
        chunks: walked.map((p) => p.entries.length),
        weight: totalWeight(walked.flatMap((p) => p.entries)),
        keys: keyFingerprint(),
        racy: racyInputs(inputs, cutStartMs - RACY_WINDOW_MS),
      } satisfies TreeShape);
      return { inputs: distributeInputs(inputs, (path) => chunkOf.get(path), walked.length), racy, snap };
    };
  }
  const out: BuiltLayer[] = [];
  const keyed = parts.filter((p): p is NativePart | DeltaPart => !('unkeyed' in p));
  const local = new Map<string, { size: number; digest: string }>();
  for (const { key } of keyed) {
    const found = await store.lookup(key);
    if (found) local.set(key, found);
  }
  // What is missing here is asked of the substituters before anything is built, all of the plan's chunks at once.
  const missing = keyed.map((p) => p.key).filter((k) => !local.has(k));
  const s = missing.length ? await subst() : null;
  const fetched = s ? await s.fetch(missing) : new Map<string, Fetched>();
  for (const f of fetched.values()) store.record(f.record);
  // A reused chunk whose object is gone is written again from its entries: if the snapshot no longer
  // gives them, the tree is walked instead.
  const lost = new Map<string, CpioEntry[]>();
  for (const part of keyed) {
    if (!('reused' in part) || local.has(part.key) || fetched.has(part.key)) continue;
    const entries = part.entriesOf();
    if (!entries) return nativeLayers(plan, ctx, store, cutStartMs, memo, subst, undefined, retried);
    lost.set(part.key, entries);
  }
  async function buildPart(part: NativePart | DeltaPart | UnkeyedPart): Promise<BuiltLayer> {
    const { name } = part;
    if ('unkeyed' in part) return writeUnkeyed(plan, ctx, store, part, walkInputs!);
    const { key } = part;
    const found = local.get(key);
    // A chunk the delta left as it was: its object was checked as the stamp's are.
    if (found && 'reused' in part) return { name, key, size: part.reused.size, digest: part.reused.digest, source: 'stamp' };
    if (found) return { name, key, ...found, source: 'store' };
    const f = fetched.get(key);
    if (f) return { name, key, size: f.record.size, digest: f.record.digest, source: 'fetched' };
    // A reused chunk whose object vanished (gc, a wiped store) is built again: its derivation first, for its record.
    const { derivation, entries } = 'derivation' in part ? part : derivePart(plan, ctx, name, lost.get(key)!, entryDigester(store, new HostInputs()));
    return store.withLayerLock(key, async () => {
      const again = await store.lookup(key); // another cut may have built it while we waited
      if (again) return { name, key, ...again, source: 'store' as const };
      const member = 'prior' in part && part.prior && delta ? priorMembers(store, delta.image, part.prior.layer, part.prior.dirty, entries.length) : undefined;
      const { size, digest } = writeHashedObject(store.dir, key, (fd) => {
        // Hashed as written: writeObject need not read the archive back.
        const hash = createDigest();
        const size = writeNewcSync(fd, entries, { epoch: ctx.epoch, member, hash, sourceDigest: checkSourceDigests(derivation) });
        return { size, digest: hash.digest() };
      });
      const now = Date.now();
      store.record({ key, builder: derivation.builder, layerName: name, size, digest, derivation, createdAt: now, lastUsedAt: now });
      return { name, key, size, digest, source: 'built' as const };
    });
  }
  try {
    for (const part of parts) out.push(await buildPart(part));
  } catch (e) {
    // A host file written during the cut (an editor's save): nothing was stored under the stale key.
    // The plan is derived once more from fresh lstats and digests; a file that keeps changing fails the cut.
    if (retried || (e as RapidoError).code !== 'CPIO_SOURCE_CHANGED') throw e;
    return nativeLayers(plan, ctx, store, cutStartMs, memo, subst, undefined, true);
  }
  const { inputs, racy, snap } = stampedOf();
  return out.map((r, j) => ({ ...r, ...(j === 0 ? { inputs: inputs[0], racy, memo, snapshot: snap } : { inputs: inputs[j], racy: false }) }));
}

/**
 * A layer with files no cache knows by digest, in one pass: its archive is
 * written to a temp object while each host file is hashed, then its
 * derivation and key come from those digests (of the very bytes written, so
 * a file saved meanwhile cannot put other bytes under the key); the object
 * is kept under the key, or dropped if the store has it already. The
 * digests go to the stamp (`inputs`) and to the stat cache.
 */
async function writeUnkeyed(
  plan: LayerPlan, ctx: CutContext, store: CutStore, part: UnkeyedPart, inputs: HostInputs,
): Promise<BuiltLayer> {
  const { name, entries } = part;
  const read = new Map<string, string>();
  const staged = stageHashedObject(store.dir, hashString(`${plan.name}\0${name}`), (fd) => {
    const hash = createDigest();
    const size = writeNewcSync(fd, entries, {
      epoch: ctx.epoch, hash, sourceStat: true,
      sourceDigest: (e, digest, at) => {
        read.set(e.source!, digest);
        if (at) store.noteRead(e.source!, { st: at.st, digest, atNs: at.atNs });
      },
    });
    return { size, digest: hash.digest() };
  });
  let kept = false;
  try {
    const digestOf = entryDigester(store, inputs);
    const { derivation, key } = derivePart(plan, ctx, name, entries, (e) => {
      const d = e.source === undefined ? undefined : read.get(e.source);
      if (d === undefined) return digestOf(e); // in-memory data, or a hard link whose data another name carried
      inputs.digests.set(e.source!, d);
      return d;
    });
    return await store.withLayerLock(key, async () => {
      const found = await store.lookup(key);
      if (found) return { name, key, ...found, source: 'store' as const };
      kept = true;
      const { size, digest } = placeObject(store.dir, key, staged);
      const now = Date.now();
      store.record({ key, builder: derivation.builder, layerName: name, size, digest, derivation, createdAt: now, lastUsedAt: now });
      return { name, key, size, digest, source: 'built' as const };
    });
  } finally {
    if (!kept) discardObject(store.dir, staged);
  }
}

async function dracutLayer(plan: LayerPlan, ctx: CutContext, req: CutRequest, store: CutStore, cutStartMs: number, subst: Substitution): Promise<LayerResult> {
  const db = await store.open();
  const { inputs, dreq, firstDerivation, firstKey, currentDigest } = await deriveDracutFirstKey(plan, ctx, req, store);
  const { lookupManifest, recordManifest } = await import('../store/manifests.js');
  const known = lookupManifest(db, firstKey, currentDigest);
  const rec = known ? await store.lookup(known) : undefined;
  if (known && rec) return { name: plan.name, key: known, ...rec, source: 'store', ...stampInputs(inputs, cutStartMs) };
  return store.withLayerLock(firstKey, async () => {
    db.env.resetReadTxn();
    const again = lookupManifest(db, firstKey, currentDigest);
    const hit = again ? await store.lookup(again) : undefined;
    if (again && hit) return { name: plan.name, key: again, ...hit, source: 'store' as const, ...stampInputs(inputs, cutStartMs) };
    const remote = await (await subst())?.fetchDracut(firstKey, currentDigest);
    if (remote) {
      store.record(remote.record);
      recordManifest(db, firstKey, remote.variant.closure, remote.record.key);
      const { size, digest } = remote.record;
      return { name: plan.name, key: remote.record.key, size, digest, source: 'fetched' as const, ...stampInputs(inputs, cutStartMs) };
    }
    const { runDracut } = await import('../derivations/builders/dracutLayer.js');
    const { output, tmpDir } = await runDracut(dreq, store.dir.paths.tmp);
    try {
      const closure = await dracutClosure(output, store, inputs);
      const key = hashString(firstKey + canonicalJson(closure));
      const { size, digest } = writeObject(store.dir, key, (fd) => copyInto(output, fd));
      const now = Date.now();
      const entries = closure.map(([path, d]) => ({ path, digest: d }));
      store.record({ key, builder: 'dracut', layerName: plan.name, size, digest, derivation: { ...firstDerivation, firstKey }, closure: entries, createdAt: now, lastUsedAt: now });
      recordManifest(db, firstKey, entries, key);
      return { name: plan.name, key, size, digest, source: 'built' as const, ...stampInputs(inputs, cutStartMs) };
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  });
}

/** Every regular file dracut put in the image that it copied unchanged from the same path on the host. */
async function dracutClosure(output: string, store: CutStore, inputs: HostInputs): Promise<[string, string][]> {
  const { readNewc } = await import('../derivations/cpio/readNewc.js');
  const closure: [string, string][] = [];
  for (const e of readNewc(readFileSync(output))) {
    if (e.type !== 'file') continue;
    const host = '/' + e.path;
    const st = inputs.lstat(host);
    const digest = st?.isFile() && st.size === (e.data?.length ?? -1) ? store.digest(host, inputs.sigs.get(host)) : undefined;
    if (!digest || digest !== digestBuffer(e.data!)) {
      inputs.sigs.delete(host); // generated or rewritten by dracut (e.g. a config): not an input
      continue;
    }
    inputs.digests.set(host, digest);
    closure.push([host, digest]);
  }
  return closure.sort(([a], [b]) => (a < b ? -1 : 1));
}

function copyInto(src: string, fd: number): void {
  const sfd = openSync(src, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (;;) {
      const n = readSync(sfd, buf, 0, buf.length, null);
      if (n === 0) break;
      let w = 0;
      while (w < n) w += writeSync(fd, buf, w, n - w);
    }
  } finally {
    closeSync(sfd);
  }
}
