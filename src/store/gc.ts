import { cleanTmp } from './cleanTmp.js';
import { listLayers } from './layerIndex.js';
import { scanObjects } from './objectScan.js';
import type { Store } from './types.js';
import { completePendingRemoval, pendingRemoval, removeLayers } from './removeLayers.js';
import { collectRoots, type RootKind, type Roots } from './roots.js';

export interface GcOptions {
  /** The last N cuts of each recipe are roots. */
  keepLast: number;
  /** Never remove an object written, recorded or used less than this long ago (ms). */
  graceMs: number;
  /** Remove unrooted layers least recently used first, only until the objects total at most this many bytes. */
  maxSize?: number;
  /** Only remove what was last used (orphans: written) longer ago than this (ms). */
  olderThanMs?: number;
  dryRun?: boolean;
  now?: number;
  /** Test hook: called after each object is unlinked. */
  afterUnlink?: (key: string, done: number) => void;
  /** Test hook: called once the victims are chosen, before anything is removed. */
  beforeRemove?: () => void;
}

/** Something gc removes (or would). */
export interface GcItem {
  /** `layer`: object and record; `record`: a record whose object was already gone; `orphan`: an object file without record; `stray`: a file under objects/ that is no object. */
  what: 'layer' | 'record' | 'orphan' | 'stray';
  key: string | null;
  path: string;
  size: number;
  layerName?: string;
  builder?: string;
  lastUsedAt?: number;
}

interface Tally {
  layers: number;
  bytes: number;
}

interface RootTally extends Tally {
  /** Image paths, recipe names, pin names. */
  roots: string[];
}

export interface GcReport {
  dryRun: boolean;
  removed: Tally & { records: number; orphans: number; items: GcItem[] };
  kept: {
    /** Held by at least one root. */
    rooted: Tally & { byKind: Record<RootKind, RootTally> };
    /** Unrooted, but younger than the grace period. */
    young: Tally;
    /** Unrooted, but used within --older-than. */
    recentlyUsed: Tally;
    /** Unrooted, but not needed to get under --max-size. */
    underMaxSize: Tally;
  };
  /** Bytes of everything under objects/ before and after. */
  sizeBefore: number;
  sizeAfter: number;
  maxSize?: number;
  /** A removal that a killed gc left half done, completed first (or, in a dry run, still pending). */
  pendingKeys: number;
  /** Temp files and locks of dead processes removed. */
  tmpRemoved: number;
}

function tally(): Tally {
  return { layers: 0, bytes: 0 };
}

function count(t: Tally, bytes: number): void {
  t.layers++;
  t.bytes += bytes;
}

function rootTallies(roots: Roots): Record<RootKind, RootTally> {
  return {
    image: { ...tally(), roots: roots.images.map((i) => i.path) },
    recent: { ...tally(), roots: roots.recipes.filter((r) => r.cuts > 0).map((r) => r.recipe) },
    pin: { ...tally(), roots: roots.pins },
  };
}

/**
 * Garbage collection. The caller holds the gc lock (acquireGcLock) unless this
 * is a dry run, and opened the store after taking it, so that every journal
 * record of finished cuts is in the database.
 */
export function runGc(store: Store, opts: GcOptions): GcReport {
  const now = opts.now ?? Date.now();
  const dryRun = opts.dryRun === true;
  let pendingKeys = pendingRemoval(store)?.keys.length ?? 0;
  let tmpRemoved = 0;
  if (!dryRun) {
    pendingKeys = completePendingRemoval(store).keys;
    tmpRemoved = cleanTmp(store).length;
  }

  const roots = collectRoots(store, { keepLast: opts.keepLast });
  const files = scanObjects(store);
  const fileOf = new Map(files.filter((f) => f.key).map((f) => [f.key!, f]));
  const records = listLayers(store);
  const recorded = new Set(records.map((r) => r.key));
  const sizeBefore = files.reduce((n, f) => n + f.size, 0);

  const byKind = rootTallies(roots);
  const kept = { rooted: { ...tally(), byKind }, young: tally(), recentlyUsed: tally(), underMaxSize: tally() };
  const keepRooted = (key: string, bytes: number) => {
    count(kept.rooted, bytes);
    for (const kind of new Set(roots.byKey.get(key)!.map((r) => r.kind))) count(byKind[kind], bytes);
  };
  const always: GcItem[] = [];
  const lru: GcItem[] = [];
  const old = (t: number) => opts.olderThanMs === undefined || now - t >= opts.olderThanMs;

  for (const rec of records) {
    const file = fileOf.get(rec.key);
    if (roots.byKey.has(rec.key)) {
      if (file) keepRooted(rec.key, file.size);
      continue; // a rooted record without its object is still history worth keeping (rapido-store why)
    }
    const item: GcItem = { what: 'layer', key: rec.key, path: file?.path ?? '', size: file?.size ?? 0, layerName: rec.layerName, builder: rec.builder, lastUsedAt: rec.lastUsedAt };
    if (!file) {
      always.push({ ...item, what: 'record' });
      continue;
    }
    // A cut that adopted an old object records it now: its record's times count as much as the file's.
    if (now - Math.max(file.mtimeMs, rec.createdAt, rec.lastUsedAt) < opts.graceMs) count(kept.young, file.size);
    else if (!old(rec.lastUsedAt)) count(kept.recentlyUsed, file.size);
    else lru.push(item);
  }
  for (const f of files) {
    if (f.key && recorded.has(f.key)) continue;
    if (f.key && roots.byKey.has(f.key)) {
      keepRooted(f.key, f.size);
      continue;
    }
    if (now - f.mtimeMs < opts.graceMs) count(kept.young, f.size);
    else if (!old(f.mtimeMs)) count(kept.recentlyUsed, f.size);
    else always.push({ what: f.key ? 'orphan' : 'stray', key: f.key, path: f.path, size: f.size, lastUsedAt: f.mtimeMs });
  }

  // Orphans and dangling records go whatever the size; layers least recently used first.
  const victims = [...always];
  let size = sizeBefore - always.reduce((n, i) => n + i.size, 0);
  lru.sort((a, b) => a.lastUsedAt! - b.lastUsedAt! || (a.key! < b.key! ? -1 : 1));
  for (const item of lru) {
    if (opts.maxSize !== undefined && size <= opts.maxSize) count(kept.underMaxSize, item.size);
    else {
      victims.push(item);
      size -= item.size;
    }
  }

  if (!dryRun) {
    opts.beforeRemove?.();
    const keys = victims.filter((v) => v.what === 'layer' || v.what === 'record').map((v) => v.key!);
    const extra = victims.filter((v) => v.what === 'orphan' || v.what === 'stray').map((v) => v.path);
    removeLayers(store, keys, extra, { afterUnlink: opts.afterUnlink });
  }
  const removed = { ...tally(), records: 0, orphans: 0, items: victims };
  for (const v of victims) {
    if (v.what === 'layer') count(removed, v.size);
    else if (v.what === 'record') removed.records++;
    else {
      removed.orphans++;
      removed.bytes += v.size;
    }
  }
  return { dryRun, removed, kept, sizeBefore, sizeAfter: size, maxSize: opts.maxSize, pendingKeys, tmpRemoved };
}
