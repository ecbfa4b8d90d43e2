import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../derivations/canonicalJson.js';
import type { CpioEntry } from '../derivations/cpio/cpioEntry.js';
import { readNewc } from '../derivations/cpio/readNewc.js';
import { writeNewcSync } from '../derivations/cpio/writeNewc.js';
import { HostInputs, lstatOrNull, statSig } from '../derivations/hostInputs.js';
import { planLayers, type LayerPlan } from '../derivations/layerPlan.js';
import { nativeDerivation } from '../derivations/nativeDerivation.js';
import { layerInputsUnchanged, RACY_WINDOW_NS, readStamp, writeStamp, type Stamp, type StampLayer } from '../derivations/cutStamp.js';
import type { CutContext } from '../derivations/builders/context.js';
import { collectSystemLayer } from '../derivations/builders/systemLayer.js';
import { collectTreeLayer } from '../derivations/builders/treeLayer.js';
import { collectKmodsLayer } from '../derivations/builders/kmodsLayer.js';
import { collectOverlayLayer } from '../derivations/builders/overlayLayer.js';
import { dracutRequest, dracutSelfFiles, dracutVersion, runDracut } from '../derivations/builders/dracutLayer.js';
import type { EntrySet } from '../derivations/builders/entrySet.js';
import {
  appendCut, cleanTmp, digestBuffer, getLayer, hashString, hasObject, initHasher, lookupManifest, objectPath, openStore,
  putLayer, recordManifest, statDigest, touchLayers, withBuildLock, writeObject, type Store,
} from '../store/index.js';
import { composeImage } from '../runner/composeImage.js';
import { guestInitPath } from '../runner/guestInitPath.js';
import type { CutRequest } from './cutRequest.js';
import type { Progress } from './progress.js';

export interface LayerOutcome {
  name: string;
  builder: string;
  key: string;
  size: number;
  /** 'stamp': decided from stat alone; 'store': found in the store; 'built': built now. */
  source: 'stamp' | 'store' | 'built';
  ms: number;
}

export interface CutOutcome {
  layers: LayerOutcome[];
  imageBytes: number;
  written: number;
  stamp: Stamp;
}

/** The slow path: some input changed (or there is no stamp). Only layers whose inputs changed are re-derived. */
export async function cutImage(req: CutRequest, progress: Progress): Promise<CutOutcome> {
  await initHasher();
  const store = openStore(req.store);
  try {
    cleanTmp(store);
    return await cutWithStore(req, store, progress);
  } finally {
    await store.close();
  }
}

async function cutWithStore(req: CutRequest, store: Store, progress: Progress): Promise<CutOutcome> {
  const prev = readStamp(req.out);
  const ctx = cutContext(req);
  const plans = planLayers(req.recipe);
  const outcomes: LayerOutcome[] = [];
  const stampLayers: StampLayer[] = [];
  const cutStartNs = BigInt(Date.now()) * 1_000_000n;

  for (const plan of plans) {
    const t0 = performance.now();
    progress.start(plan.name, builderName(plan));
    const request = layerRequest(plan, req);
    const old = prev?.layers.find((l) => l.name === plan.name);
    let result: { key: string; size: number; source: LayerOutcome['source']; inputs: HostInputs | StampLayer['inputs'] };
    if (old && old.request === request && layerInputsUnchanged(old) && hasObject(store, old.key, old.size)) {
      result = { key: old.key, size: old.size, source: 'stamp', inputs: old.inputs };
    } else if (plan.kind === 'dracut') {
      result = await dracutLayer(plan, ctx, req, store);
    } else {
      result = await nativeLayer(plan, ctx, store);
    }
    const ms = performance.now() - t0;
    const outcome: LayerOutcome = { name: plan.name, builder: builderName(plan), key: result.key, size: result.size, source: result.source, ms };
    progress.done(outcome);
    outcomes.push(outcome);
    const inputs = result.inputs instanceof HostInputs ? result.inputs.toList() : result.inputs;
    const racy = result.inputs instanceof HostInputs ? result.inputs.newestMtimeNs > cutStartNs - RACY_WINDOW_NS : (old?.racy ?? true);
    stampLayers.push({ name: plan.name, key: result.key, size: result.size, request, inputs, racy });
  }

  mkdirSync(dirname(req.out), { recursive: true });
  const composed = composeImage(
    req.out,
    outcomes.map((o) => ({ key: o.key, path: objectPath(store, o.key), size: o.size })),
    { current: prev?.current, spare: prev?.spare },
    req.conf.get('QEMU_PID_DIR') ? undefined : dirname(req.out),
  );
  const img = lstatOrNull(req.out)!;
  const stamp: Stamp = {
    version: prev?.version ?? 1,
    request: req.key,
    recipe: req.recipe.name,
    layers: stampLayers,
    image: statSig(img),
    current: composed.current,
    spare: composed.spare,
    vm: vmResources(req),
    kernel: { release: req.kernel.release, image: req.kernel.image },
  };
  writeStamp(req.out, stamp);
  touchLayers(store, outcomes.map((o) => o.key));
  appendCut(store, {
    recipe: req.recipe.name,
    at: Date.now(),
    outPath: req.out,
    layers: outcomes.map((o) => ({ name: o.name, key: o.key, hit: o.source !== 'built' })),
    // The derivations themselves live in the layer records, found by key.
    inputs: Object.fromEntries(outcomes.map((o) => [o.name, { key: o.key }])),
  });
  return { layers: outcomes, imageBytes: composed.current.size, written: composed.written, stamp };
}

export function cutContext(req: CutRequest): CutContext {
  return { recipe: req.recipe, kernel: req.kernel, post: req.post, epoch: req.epoch, searchPath: req.searchPath, guestInit: guestInitPath() };
}

export function builderName(plan: LayerPlan): string {
  return plan.kind === 'dracut' ? 'dracut' : `native-${plan.kind}`;
}

/** What decides a layer besides its files: compared with the stamp to skip re-deriving it. */
function layerRequest(plan: LayerPlan, req: CutRequest): string {
  return canonicalJson({
    directives: plan.directives.map((d) => [d.kind, ...d.args]),
    kernel: plan.kind === 'kmods' ? req.kernel : undefined,
    vars: plan.kind === 'overlay' ? req.recipe.vars : undefined,
    post: plan.kind === 'overlay' ? req.post : undefined,
    dracutExtra: plan.kind === 'dracut' ? req.conf.get('DRACUT_EXTRA_ARGS') ?? '' : undefined,
    searchPath: plan.kind === 'system' ? req.searchPath : undefined,
    epoch: req.epoch,
  });
}

function collect(plan: LayerPlan, ctx: CutContext, inputs: HostInputs): EntrySet {
  switch (plan.kind) {
    case 'system': return collectSystemLayer(plan, ctx, inputs);
    case 'tree': return collectTreeLayer(plan, inputs);
    case 'kmods': return collectKmodsLayer(plan, ctx, inputs);
    case 'overlay': return collectOverlayLayer(plan, ctx, inputs);
    default: throw new Error(`no native builder for ${plan.kind}`);
  }
}

/** Collects a native layer's entries and hashes its derivation into its key, without building anything. */
export function deriveNativeLayer(plan: LayerPlan, ctx: CutContext, store: Store) {
  const inputs = new HostInputs();
  const entries = collect(plan, ctx, inputs).entries();
  const digestOf = (e: CpioEntry) => (e.source ? statDigest(store, e.source) : digestBuffer(e.data ?? Buffer.alloc(0)));
  const derivation = nativeDerivation(plan, ctx, entries, digestOf);
  return { key: hashString(canonicalJson(derivation)), derivation, entries, inputs };
}

async function nativeLayer(plan: LayerPlan, ctx: CutContext, store: Store) {
  const { key, derivation, entries, inputs } = deriveNativeLayer(plan, ctx, store);
  const found = usable(store, key);
  if (found) return { key, size: found.size, source: 'store' as const, inputs };
  return withBuildLock(store, key, () => {
    const again = usable(store, key); // another cut may have built it while we waited
    if (again) return { key, size: again.size, source: 'store' as const, inputs };
    const { size, digest } = writeObject(store, key, (fd) => {
      writeNewcSync(fd, entries, { epoch: ctx.epoch });
    });
    putLayer(store, { key, builder: derivation.builder, layerName: plan.name, size, digest, derivation, createdAt: Date.now(), lastUsedAt: Date.now() });
    return { key, size, source: 'built' as const, inputs };
  });
}

/** A recorded layer whose object is present with the recorded size. */
export function usable(store: Store, key: string): { size: number } | undefined {
  const rec = getLayer(store, key);
  return rec && hasObject(store, key, rec.size) ? { size: rec.size } : undefined;
}

/**
 * dracut resolves libraries itself, so the layer's full inputs are only known
 * after building: a two-level lookup as ccache does. The first key covers
 * what we ask dracut for; its manifest lists the host files dracut copied
 * with their digests; a later cut reuses the layer only if they all still match.
 */
export function deriveDracutFirstKey(plan: LayerPlan, ctx: CutContext, req: CutRequest, store: Store) {
  const inputs = new HostInputs();
  const selfFiles = dracutSelfFiles(inputs);
  const dreq = dracutRequest(plan, ctx, req.conf.get('DRACUT_EXTRA_ARGS') ?? '');
  const firstDerivation = {
    builder: 'dracut',
    dracutVersion: dracutVersion(),
    request: dreq,
    self: selfFiles.map((f) => [f, statDigest(store, f)]),
  };
  const firstKey = hashString(canonicalJson(firstDerivation));
  const currentDigest = (path: string): string | null => {
    const st = inputs.lstat(path);
    return st?.isFile() ? statDigest(store, path) : null;
  };
  return { inputs, dreq, firstDerivation, firstKey, currentDigest };
}

async function dracutLayer(plan: LayerPlan, ctx: CutContext, req: CutRequest, store: Store) {
  const { inputs, dreq, firstDerivation, firstKey, currentDigest } = deriveDracutFirstKey(plan, ctx, req, store);
  const known = lookupManifest(store, firstKey, currentDigest);
  if (known) {
    const rec = usable(store, known);
    if (rec) return { key: known, size: rec.size, source: 'store' as const, inputs };
  }
  return withBuildLock(store, firstKey, async () => {
    const again = lookupManifest(store, firstKey, currentDigest);
    const rec = again ? usable(store, again) : undefined;
    if (again && rec) return { key: again, size: rec.size, source: 'store' as const, inputs };
    const { output, tmpDir } = await runDracut(dreq, store.paths.tmp);
    try {
      const closure = dracutClosure(output, store, inputs);
      const key = hashString(firstKey + canonicalJson(closure));
      const { size, digest } = writeObject(store, key, (fd) => copyInto(output, fd));
      putLayer(store, {
        key, builder: 'dracut', layerName: plan.name, size, digest,
        derivation: { ...firstDerivation, firstKey }, closure: closure.map(([path, d]) => ({ path, digest: d })),
        createdAt: Date.now(), lastUsedAt: Date.now(),
      });
      recordManifest(store, firstKey, closure.map(([path, d]) => ({ path, digest: d })), key);
      return { key, size, source: 'built' as const, inputs };
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  });
}

/** Every regular file dracut put in the image that it copied from the same path on the host. */
function dracutClosure(output: string, store: Store, inputs: HostInputs): [string, string][] {
  const closure: [string, string][] = [];
  for (const e of readNewc(readFileSync(output))) {
    if (e.type !== 'file') continue;
    const host = '/' + e.path;
    const st = inputs.lstat(host);
    if (!st?.isFile() || Number(st.size) !== (e.data?.length ?? -1)) {
      inputs.sigs.delete(host);
      continue;
    }
    const digest = statDigest(store, host);
    if (digest !== digestBuffer(e.data!)) {
      inputs.sigs.delete(host); // dracut rewrote it (e.g. a generated config): not an input
      continue;
    }
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

function vmResources(req: CutRequest): { cpus?: number; mem?: string } {
  let cpus: number | undefined;
  let mem: string | undefined;
  for (const d of req.recipe.directives) {
    if (d.kind === 'vm-cpus') cpus = Number(d.args[0]);
    if (d.kind === 'vm-mem') mem = d.args[0].toUpperCase();
    if (d.kind === 'file') {
      const m = /^\/rapido-rsc\/(cpu|mem)\/([^/]+)$/.exec(d.args[0]);
      if (m?.[1] === 'cpu') cpus = Number(m[2]);
      if (m?.[1] === 'mem') mem = m[2].toUpperCase();
    }
  }
  return { cpus, mem };
}
