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

export function getLayer(store: Store, key: string): LayerRecord | undefined {
  return store.db.layers.get(key);
}

export function putLayer(store: Store, record: LayerRecord, opts: PutLayerOptions = {}): void {
  storeTransaction(store, () => {
    store.db.layers.putSync(record.key, record);
    if (opts.manifestKey !== undefined) {
      recordManifest(store, opts.manifestKey, record.closure ?? [], record.key);
    }
  });
}

/** Marks layers as used by a cut (for LRU garbage collection); unknown keys are skipped. */
export function touchLayers(store: Store, keys: Iterable<string>, now: number = Date.now()): void {
  storeTransaction(store, () => {
    for (const key of new Set(keys)) {
      const rec = store.db.layers.get(key);
      if (rec && rec.lastUsedAt < now) store.db.layers.putSync(key, { ...rec, lastUsedAt: now });
    }
  });
}

export function listLayers(store: Store): LayerRecord[] {
  return [...store.db.layers.getRange()].map((e) => e.value);
}

/**
 * Drops a layer: object first, then record, so a crash in between leaves a
 * record whose object is missing (a cache miss) rather than an orphan file.
 */
export function removeLayer(store: Store, key: string): void {
  const p = objectPath(store, key);
  storeTransaction(store, () => {
    fs.rmSync(p, { force: true });
    store.db.layers.removeSync(key);
  });
}
