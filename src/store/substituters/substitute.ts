import fs from 'node:fs';
import type { StoreDir } from '../storeDir.js';
import type { LayerRecord, ManifestVariant } from '../types.js';
import { writeObject } from '../writeObject.js';
import { CacheFault, type CacheBackend } from './cacheBackend.js';
import {
  checkObject, checkRecord, manifestPathIn, objectPathIn, parseCacheManifest, recordPathIn, RejectedLayer, VERSION_PATH, versionMismatch, type RecordBody,
} from './cacheRecord.js';
import { NegativeCache } from './negativeCache.js';
import { openBackend } from './openBackend.js';
import type { SubstituterSpec } from './substituterUrl.js';

/** Downloads at once: enough to fill a LAN link with 1-8 MiB objects, few enough for a small server. */
export const FETCH_POOL = 4;

export interface Fetched {
  record: LayerRecord;
  /** The substituter's display name. */
  from: string;
}

/** Download progress, for a TTY's progress line. */
export interface FetchProgress {
  fetching(done: number, total: number, bytes: number, from: string): void;
}

interface Cache {
  spec: SubstituterSpec;
  backend?: CacheBackend;
  /** Off for the rest of this cut: it failed (anything but a 404), or holds no cache. */
  off: boolean;
  /** null until the version file was read once. */
  checked: Promise<boolean> | null;
  misses: NegativeCache;
}

/** Runs fn over xs with at most `limit` at once; results in order. */
export async function pool<T, R>(xs: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, xs.length) }, worker));
  return out;
}

/**
 * The substituters of one cut. A layer missing locally is asked of each
 * cache in order; a hit is checked (record signature and key, then the
 * object's size and SHA-256) and only then written into the store with
 * writeObject, the same atomic write as any object: nothing unverified
 * reaches the store. A cache that fails in any way but "not there" gets one
 * warning line and is not asked again in this cut; its layers are built.
 */
export class CutSubstitution {
  private readonly caches: Cache[];
  readonly fetchedFrom = new Map<string, number>();
  private done = 0;
  private total = 0;
  private bytes = 0;

  constructor(
    private readonly store: StoreDir,
    specs: SubstituterSpec[],
    private readonly warn: (line: string) => void,
    private readonly progress?: FetchProgress,
    now = Date.now(),
  ) {
    this.caches = specs.map((spec) => ({ spec, off: false, checked: null, misses: new NegativeCache(store, spec.display, now) }));
  }

  private fail(c: Cache, e: unknown): void {
    if (c.off) return;
    c.off = true;
    const what = e instanceof CacheFault || e instanceof RejectedLayer ? e.message : String((e as Error)?.message ?? e);
    this.warn(`warning: substituter ${c.spec.display}: ${what}; building locally, not asking it again in this cut`);
  }

  private signal(): AbortSignal {
    // The backends bound each request themselves (connect and idle timeouts); this only caps a pathological one.
    return AbortSignal.timeout(10 * 60_000);
  }

  /** Opens the engine and reads the version file, once per cut; false: skip this cache. */
  private ready(c: Cache): Promise<boolean> {
    c.checked ??= (async () => {
      try {
        c.backend = openBackend(c.spec);
        const v = await c.backend.get(VERSION_PATH, this.signal());
        if (v === null) {
          c.off = true; // nothing was ever pushed there: every lookup would miss
          return false;
        }
        const why = versionMismatch(v);
        if (why) throw new CacheFault(c.spec.display, 'protocol', why);
        return true;
      } catch (e) {
        this.fail(c, e);
        return false;
      }
    })();
    return c.checked;
  }

  /** Fetches one layer from one cache: the record, then the object; null on a miss. Throws on a fault. */
  private async fetchFrom(c: Cache, key: string, accept?: (b: RecordBody) => boolean): Promise<LayerRecord | null> {
    const b = c.backend!;
    const recBytes = await b.get(recordPathIn(key), this.signal());
    if (!recBytes) {
      c.misses.remember(key);
      return null;
    }
    const body = checkRecord(this.store, key, recBytes, c.spec.trustAny);
    if (accept && !accept(body)) return null;
    const obj = await b.get(objectPathIn(key), this.signal());
    // A record without its object breaks the cache's own rule (object first): a fault, not a miss.
    if (!obj) throw new CacheFault(c.spec.display, 'protocol', `record ${key} is there but its object is missing`);
    checkObject(body, obj);
    const w = writeObject(this.store, key, (fd) => {
      let off = 0;
      while (off < obj.length) off += fs.writeSync(fd, obj, off, obj.length - off);
    });
    if (w.digest !== body.digest || w.size !== body.size) throw new RejectedLayer('tampered', `object ${key} changed while being stored`);
    this.bytes += obj.length;
    const now = Date.now();
    return {
      key, builder: body.builder, layerName: body.layerName, size: body.size, digest: body.digest, derivation: body.derivation,
      ...(body.closure ? { closure: body.closure } : {}), createdAt: now, lastUsedAt: now,
    };
  }

  private async one(key: string, accept?: (b: RecordBody) => boolean): Promise<Fetched | null> {
    for (const c of this.caches) {
      if (c.off || c.misses.fresh(key) || !(await this.ready(c)) || c.off) continue;
      try {
        const rec = await this.fetchFrom(c, key, accept);
        if (rec) {
          this.fetchedFrom.set(c.spec.display, (this.fetchedFrom.get(c.spec.display) ?? 0) + 1);
          return { record: rec, from: c.spec.display };
        }
      } catch (e) {
        if (!(e instanceof CacheFault || e instanceof RejectedLayer)) throw e; // ours (a full disk): the cut must stop
        this.fail(c, e);
      }
    }
    return null;
  }

  /** Fetches what it can of KEYS, FETCH_POOL at a time; the map holds the layers now in the store. */
  async fetch(keys: string[]): Promise<Map<string, Fetched>> {
    const out = new Map<string, Fetched>();
    if (this.caches.every((c) => c.off) || keys.length === 0) return out;
    this.total += keys.length;
    await pool(keys, FETCH_POOL, async (key) => {
      const f = await this.one(key);
      this.done++;
      if (f) out.set(key, f);
      this.progress?.fetching(this.done, this.total, this.bytes, f?.from ?? '');
    });
    return out;
  }

  /**
   * dracut's two-level lookup, remotely: the cache's manifest for FIRSTKEY
   * lists variants (closure → key); the newest whose closure files all have
   * their recorded digest here is fetched, and its signed record must say the
   * same closure (the manifest itself is only a hint).
   */
  async fetchDracut(firstKey: string, currentDigest: (path: string) => string | null): Promise<(Fetched & { variant: ManifestVariant }) | null> {
    const matches = (closure: { path: string; digest: string }[]) => closure.every((e) => currentDigest(e.path) === e.digest);
    for (const c of this.caches) {
      const name = `manifest-${firstKey}`;
      if (c.off || c.misses.fresh(name) || !(await this.ready(c)) || c.off) continue;
      let variants: ManifestVariant[];
      try {
        const bytes = await c.backend!.get(manifestPathIn(firstKey), this.signal());
        if (!bytes) c.misses.remember(name);
        variants = parseCacheManifest(bytes, firstKey);
      } catch (e) {
        if (!(e instanceof CacheFault)) throw e;
        this.fail(c, e);
        continue;
      }
      const v = variants.find((x) => matches(x.closure));
      if (!v) continue;
      try {
        const accept = (b: RecordBody) => (b.derivation as { firstKey?: unknown })?.firstKey === firstKey && matches(b.closure ?? []);
        const rec = await this.fetchFrom(c, v.key, accept);
        if (rec) {
          this.fetchedFrom.set(c.spec.display, (this.fetchedFrom.get(c.spec.display) ?? 0) + 1);
          return { record: rec, from: c.spec.display, variant: { closure: rec.closure ?? [], key: rec.key } };
        }
      } catch (e) {
        if (!(e instanceof CacheFault || e instanceof RejectedLayer)) throw e;
        this.fail(c, e);
      }
    }
    return null;
  }
}
