import { withDiskFull } from './diskFull.js';
import type { Store } from './types.js';
import { assertWritable } from './storeDir.js';

/**
 * Runs fn in one synchronous LMDB write transaction, so several databases
 * (layer + manifest + cut) change together or not at all. The store's own
 * write helpers also use transactionSync; called inside fn they nest as
 * child transactions of this one. fn must be synchronous. A full disk
 * aborts the transaction and throws DISK_FULL.
 */
export function storeTransaction<T>(store: Store, fn: () => T): T {
  assertWritable(store, 'write to the store index');
  return withDiskFull('the store index', store.dir, () => store.env.transactionSync(fn));
}
