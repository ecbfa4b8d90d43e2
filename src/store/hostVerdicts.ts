import type { Store } from './types.js';
import { storeTransaction } from './storeTransaction.js';

/** Remembered facts about this host (e.g. "kvm" → { usable: false, reason }), free-form JSON. */
export function getHostVerdict<T = unknown>(store: Store, key: string): T | undefined {
  return store.db.hosts.get(key) as T | undefined;
}

export function putHostVerdict(store: Store, key: string, verdict: unknown): void {
  storeTransaction(store, () => store.db.hosts.putSync(key, verdict));
}
