import fs from 'node:fs';
import { recordManifest } from './manifests.js';
import { objectPath } from './objectPath.js';
import type { Store } from './types.js';
import { storeTransaction } from './storeTransaction.js';
import type { LayerRecord } from './types.js';
export type { LayerRecord } from './types.js';

export interface PutLayerOptions {
  /** Also record record.closure as a manifest variant under this first-level key, atomically. */
  manifestKey?: string;
}

/** A layer's record, its lastUsedAt the later of the record's and the `used` database's. */
export function getLayer(store: Store, key: string): LayerRecord | undefined {
  const rec = store.db.layers.get(key);
  const used = rec && store.db.used?.get(key);
  return used && used > rec.lastUsedAt ? { ...rec, lastUsedAt: used } : rec;
}

export function putLayer(store: Store, record: LayerRecord, opts: PutLayerOptions = {}): void {
  storeTransaction(store, () => {
    store.db.layers.putSync(record.key, record);
    if (opts.manifestKey !== undefined) {
      recordManifest(store, opts.manifestKey, record.closure ?? [], record.key);
    }
  });
}

/** Marks layers as used by a cut (for LRU garbage collection), in the `used` database; unknown keys are skipped. */
export function touchLayers(store: Store, keys: Iterable<string>, now: number = Date.now()): void {
  const used = store.db.used;
  if (!used) return; // read-only: nothing is written anyway
  storeTransaction(store, () => {
    for (const key of new Set(keys)) {
      if ((used.get(key) ?? 0) < now && store.db.layers.doesExist(key)) used.putSync(key, now);
    }
  });
}

export function listLayers(store: Store): LayerRecord[] {
  const used = new Map<string, number>();
  for (const { key, value } of store.db.used?.getRange() ?? []) used.set(key, value);
  return [...store.db.layers.getRange()].map(({ key, value }) => {
    const u = used.get(key);
    return u && u > value.lastUsedAt ? { ...value, lastUsedAt: u } : value;
  });
}

/**
 * Drops a layer: object first, then record, so a crash in between leaves a
 * record whose object is missing (a cache miss) rather than an orphan file.
 */
export function removeLayer(store: Store, key: string): void {
  const p = objectPath(store, key);
  storeTransaction(store, () => {
    fs.rmSync(p, { force: true });
    removeLayerRecord(store, key);
  });
}

/** Removes a layer's record and its last-use time (inside the caller's transaction); the object is the caller's. */
export function removeLayerRecord(store: Store, key: string): void {
  store.db.layers.removeSync(key);
  store.db.used?.removeSync(key);
}
