import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { RapidoError } from '../errors.js';
import type { CutRecord } from './cutHistory.js';
import type { LayerRecord } from './layerIndex.js';
import type { ManifestVariant } from './manifests.js';
import type { StatEntry } from './statCache.js';
import { flushStatCache } from './statCache.js';
import { openStoreDir, unwritable, type StoreDir } from './storeDir.js';
import { ingestJournal } from './journal.js';

export { storePaths, assertWritable } from './storeDir.js';
export type { StorePaths } from './storeDir.js';

/** Bump when anything described in store-layout.md changes incompatibly. */
export const STORE_FORMAT_VERSION = 1;


export interface StoreDbs {
  meta: Database<unknown, string>;
  layers: Database<LayerRecord, string>;
  manifests: Database<ManifestVariant[], string>;
  statcache: Database<StatEntry, string>;
  cuts: Database<CutRecord, string>;
  hosts: Database<unknown, string>;
}

export interface Store extends StoreDir {
  readonly env: RootDatabase;
  readonly db: StoreDbs;
  /** Flushes pending stat-cache entries, then closes LMDB. Idempotent. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  readOnly?: boolean;
}




export function openStore(dir: string, opts: OpenStoreOptions = {}): Store {
  const readOnly = opts.readOnly === true;
  const paths = openStoreDir(dir, { readOnly }).paths;
  if (readOnly) {
    if (!fs.existsSync(path.join(paths.db, 'data.mdb'))) {
      throw new RapidoError('STORE_MISSING', `no rapido store at ${paths.root}`, {
        hint: 'run a rapido command that writes (e.g. rapido cut) first, or point RAPIDO_STORE at an existing store',
      });
    }
  }

  let env: RootDatabase;
  try {
    // Default sync settings on purpose: a record must not outlive a crash without its object.
    env = open({ path: paths.db, maxDbs: 8, readOnly });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') throw unwritable(paths.root, e);
    throw new RapidoError('STORE_OPEN', `cannot open the store database in ${paths.db}`, { cause: e });
  }

  let db: StoreDbs;
  let version: unknown;
  try {
    db = {
      meta: env.openDB('meta', {}),
      layers: env.openDB('layers', {}),
      manifests: env.openDB('manifests', {}),
      statcache: env.openDB('statcache', {}),
      cuts: env.openDB('cuts', {}),
      hosts: env.openDB('hosts', {}),
    };
    version = db.meta.get('formatVersion');
    if (version === undefined && !readOnly) {
      // Re-check inside the write txn: another process may be initialising the same store.
      version = env.transactionSync(() => {
        const v = db.meta.get('formatVersion');
        if (v !== undefined) return v;
        db.meta.putSync('formatVersion', STORE_FORMAT_VERSION);
        db.meta.putSync('createdAt', Date.now());
        return STORE_FORMAT_VERSION;
      });
    }
  } catch (e) {
    void env.close().catch(() => {});
    throw new RapidoError('STORE_OPEN', `cannot open the store database in ${paths.db}`, { cause: e });
  }
  if (version !== STORE_FORMAT_VERSION) {
    void env.close().catch(() => {});
    throw new RapidoError(
      'STORE_VERSION',
      `store ${paths.root} has format version ${String(version)}, this rapido uses ${STORE_FORMAT_VERSION}`,
      { hint: `use the rapido version that created this store, or move ${paths.root} aside (or set RAPIDO_STORE elsewhere) to start a fresh one` },
    );
  }

  let closed: Promise<void> | undefined;
  const store: Store = {
    dir: paths.root,
    readOnly,
    paths,
    env,
    db,
    close() {
      closed ??= (async () => {
        try {
          flushStatCache(store);
        } finally {
          await env.close();
        }
      })();
      return closed;
    },
  };
  if (!readOnly) {
    try {
      ingestJournal(store);
    } catch (e) {
      void env.close().catch(() => {});
      throw e;
    }
  }
  return store;
}

