import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from './fsyncDir.js';
import { removeLayerRecord } from './layerIndex.js';
import { hasObject, objectPath } from './objectPath.js';
import type { Store } from './types.js';
import { storeTransaction } from './storeTransaction.js';

/** `meta` key holding the removal in progress (see store-layout.md, "Removing layers"). */
const PENDING_REMOVAL_KEY = 'gcPending';

export interface PendingRemoval {
  pid: number;
  /** ms since the epoch. */
  at: number;
  keys: string[];
}

export function pendingRemoval(store: Store): PendingRemoval | undefined {
  const p = store.db.meta.get(PENDING_REMOVAL_KEY) as PendingRemoval | undefined;
  return p && Array.isArray(p.keys) ? p : undefined;
}

/** Drops manifest variants (dracut's second level) whose final key has no layer record any more. */
function pruneManifests(store: Store): number {
  let pruned = 0;
  for (const { key: first, value } of store.db.manifests.getRange()) {
    const kept = value.filter((v) => store.db.layers.doesExist(v.key));
    if (kept.length === value.length) continue;
    pruned += value.length - kept.length;
    if (kept.length) store.db.manifests.putSync(first, kept);
    else store.db.manifests.removeSync(first);
  }
  return pruned;
}

/**
 * Second half of a removal: drops the records of the pending keys whose
 * object is gone (a key rebuilt since keeps its new record), prunes the
 * manifests and clears the intent, in one transaction.
 */
function finishRemoval(store: Store, keys: Iterable<string>): { records: number; manifests: number } {
  return storeTransaction(store, () => {
    let records = 0;
    for (const key of keys) {
      if (hasObject(store, key) || !store.db.layers.doesExist(key)) continue;
      removeLayerRecord(store, key);
      records++;
    }
    const manifests = pruneManifests(store);
    store.db.meta.removeSync(PENDING_REMOVAL_KEY);
    return { records, manifests };
  });
}

/**
 * Completes a removal that a killed gc (or repair) left half done. Callers
 * hold the gc lock, so a pending intent is never a live process's.
 */
export function completePendingRemoval(store: Store): { keys: number; records: number } {
  const p = pendingRemoval(store);
  if (!p) return { keys: 0, records: 0 };
  const { records } = finishRemoval(store, p.keys);
  return { keys: p.keys.length, records };
}

export interface RemoveOptions {
  /** Called after each object is unlinked (tests use it to kill a gc midway). */
  afterUnlink?: (key: string, done: number) => void;
}

/**
 * Removes layers crash-safely, objects first, then records:
 *  1. record the keys as pending in `meta` (one transaction);
 *  2. unlink each object, then fsync the shard directories;
 *  3. remove their records, prune manifests, clear the intent (one transaction).
 * Killed after 1 or 2, the store holds records without objects (cache misses)
 * that are listed as pending: verify does not count them, and the next gc or
 * repair finishes step 3. Also removes the extra files given (orphans, strays),
 * which have no records. Returns how many records went.
 */
export function removeLayers(store: Store, keys: string[], extraFiles: string[] = [], opts: RemoveOptions = {}): number {
  const unique = [...new Set(keys)];
  if (unique.length > 0) {
    storeTransaction(store, () => {
      store.db.meta.putSync(PENDING_REMOVAL_KEY, { pid: process.pid, at: Date.now(), keys: unique } satisfies PendingRemoval);
    });
  }
  const dirs = new Set<string>();
  let done = 0;
  for (const key of unique) {
    const p = objectPath(store, key);
    fs.rmSync(p, { force: true });
    dirs.add(path.dirname(p));
    opts.afterUnlink?.(key, ++done);
  }
  for (const f of extraFiles) {
    fs.rmSync(f, { force: true, recursive: true });
    dirs.add(path.dirname(f));
  }
  for (const d of dirs) {
    try {
      fsyncDir(d);
    } catch {
      /* the shard may be gone too; nothing to make durable there */
    }
  }
  if (unique.length === 0) return 0;
  return finishRemoval(store, unique).records;
}
