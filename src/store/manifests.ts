import type { Store } from './types.js';
import { storeTransaction } from './storeTransaction.js';
import type { ClosureEntry, ManifestVariant } from './types.js';
export type { ClosureEntry, ManifestVariant } from './types.js';

// Like ccache's manifests: a bounded list, newest first, oldest dropped.
export const MAX_MANIFEST_VARIANTS = 16;

function canonical(closure: ClosureEntry[]): ClosureEntry[] {
  return closure
    .map(({ path, digest }) => ({ path, digest }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function sameClosure(a: ClosureEntry[], b: ClosureEntry[]): boolean {
  return a.length === b.length && a.every((e, i) => e.path === b[i]!.path && e.digest === b[i]!.digest);
}

export function getManifest(store: Store, firstKey: string): ManifestVariant[] {
  return store.db.manifests.get(firstKey) ?? [];
}

/**
 * Second level of a two-level lookup: the final key of the newest variant
 * whose every closure file still has its recorded digest, else null.
 * checkDigest returns a file's current digest, or null when it is gone.
 */
export function lookupManifest(
  store: Store,
  firstKey: string,
  checkDigest: (path: string) => string | null,
): string | null {
  const variants = getManifest(store, firstKey);
  // Variants share most files; ask about each path once.
  const seen = new Map<string, string | null>();
  const current = (p: string): string | null => {
    if (!seen.has(p)) seen.set(p, checkDigest(p));
    return seen.get(p)!;
  };
  for (const v of variants) {
    if (v.closure.every((e) => current(e.path) === e.digest)) return v.key;
  }
  return null;
}

export function recordManifest(store: Store, firstKey: string, closure: ClosureEntry[], key: string): void {
  const c = canonical(closure);
  storeTransaction(store, () => {
    // Read-modify-write inside the txn: concurrent cuts may add variants too.
    const others = getManifest(store, firstKey).filter((v) => !sameClosure(v.closure, c));
    store.db.manifests.putSync(firstKey, [{ closure: c, key }, ...others].slice(0, MAX_MANIFEST_VARIANTS));
  });
}
