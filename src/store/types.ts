import type { Database, RootDatabase } from 'lmdb';

// The store's types, in one module that imports nothing of the store: every
// store module can name Store without importing openStore.ts (which ingests
// the journal, which writes layers and cuts: an import cycle otherwise).

export interface StorePaths {
  root: string;
  objects: string;
  tmp: string;
  locks: string;
  db: string;
  /** Records written by cuts that did not open LMDB; ingested by the next process that does. */
  journal: string;
}

export interface StoreDir {
  readonly dir: string;
  readonly readOnly: boolean;
  readonly paths: StorePaths;
}

export interface StoreDbs {
  meta: Database<unknown, string>;
  layers: Database<LayerRecord, string>;
  manifests: Database<ManifestVariant[], string>;
  statcache: Database<StatCacheValue, string>;
  cuts: Database<CutRecord, string>;
  hosts: Database<unknown, string>;
  /**
   * When each layer was last used (ms), apart from its record: marking the
   * layers of a cut used then writes a number per layer instead of
   * re-encoding each record's derivation. Absent when a read-only open finds
   * a store that no rapido with it has written.
   */
  used?: Database<number, string>;
}

export interface Store extends StoreDir {
  readonly env: RootDatabase;
  readonly db: StoreDbs;
  /** What a reading open had to give up (opened read-only, journal not ingested), for the command to show. */
  readonly notes: string[];
  /** Flushes pending stat-cache entries, then closes LMDB. Idempotent. */
  close(): Promise<void>;
}

export interface LayerRecord {
  key: string;
  builder: string;
  layerName: string;
  /** Object size in bytes. */
  size: number;
  /** xxh64 hex of the object bytes. */
  digest: string;
  /** The canonical inputs the key was hashed from (any JSON). */
  derivation: unknown;
  createdAt: number;
  lastUsedAt: number;
  /** Input files only known after building (two-level layers). */
  closure?: ClosureEntry[];
}

export interface CutLayer {
  name: string;
  key: string;
  /** True when the layer came from the store, false when it was built for this cut. */
  hit: boolean;
}

export interface CutRecord {
  recipe: string;
  /** ms since the epoch. */
  at: number;
  layers: CutLayer[];
  /** Per layer name: the derivation its key was hashed from (lets `rapido why` diff two cuts). */
  inputs: Record<string, unknown>;
  outPath: string;
}

/** One input file of a layer, discovered while building it. */
export interface ClosureEntry {
  path: string;
  digest: string;
}

/** A closure that once produced `key` from the same first-level key. */
export interface ManifestVariant {
  closure: ClosureEntry[];
  key: string;
}

/**
 * A stat-cache entry: `dev:ino:size:mtimeNs:ctimeNs:digest`, the stat fields
 * in decimal, the digest 16 hex chars (one string packs far faster than an
 * object); or a StatEntry written by a rapido from before that.
 */
export type StatCacheValue = string | StatEntry;

/** What a file looked like when it was hashed, as stat-cache entries were first written. 64-bit stat fields are decimal strings. */
export interface StatEntry {
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  digest: string;
}
