import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { RapidoError } from '../errors.js';
import type { CutRecord } from './cutHistory.js';
import type { LayerRecord } from './layerIndex.js';
import type { ManifestVariant } from './manifests.js';
import type { StatEntry } from './statCache.js';
import { flushStatCache } from './statCache.js';

/** Bump when anything described in store-layout.md changes incompatibly. */
export const STORE_FORMAT_VERSION = 1;

export interface StorePaths {
  root: string;
  objects: string;
  tmp: string;
  locks: string;
  db: string;
}

export interface StoreDbs {
  meta: Database<unknown, string>;
  layers: Database<LayerRecord, string>;
  manifests: Database<ManifestVariant[], string>;
  statcache: Database<StatEntry, string>;
  cuts: Database<CutRecord, string>;
  hosts: Database<unknown, string>;
}

export interface Store {
  readonly dir: string;
  readonly readOnly: boolean;
  readonly paths: StorePaths;
  readonly env: RootDatabase;
  readonly db: StoreDbs;
  /** Flushes pending stat-cache entries, then closes LMDB. Idempotent. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  readOnly?: boolean;
}

export function storePaths(dir: string): StorePaths {
  const root = path.resolve(dir);
  return {
    root,
    objects: path.join(root, 'objects'),
    tmp: path.join(root, 'tmp'),
    locks: path.join(root, 'locks'),
    db: path.join(root, 'db'),
  };
}

function unwritable(dir: string, cause: unknown): RapidoError {
  const why = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
  return new RapidoError('STORE_UNWRITABLE', `store directory ${dir} is not a writable directory (${why})`, {
    hint: 'set RAPIDO_STORE to a writable directory, or fix the permissions of this one',
    cause,
  });
}

function ensureDirs(p: StorePaths): void {
  try {
    for (const d of [p.root, p.objects, p.tmp, p.locks, p.db]) fs.mkdirSync(d, { recursive: true });
    // mkdir succeeds on an existing read-only dir; root may bypass modes but EROFS still shows here.
    fs.accessSync(p.root, fs.constants.W_OK);
    fs.accessSync(p.tmp, fs.constants.W_OK);
  } catch (e) {
    throw unwritable(p.root, e);
  }
}

export function openStore(dir: string, opts: OpenStoreOptions = {}): Store {
  const readOnly = opts.readOnly === true;
  const paths = storePaths(dir);
  if (readOnly) {
    if (!fs.existsSync(path.join(paths.db, 'data.mdb'))) {
      throw new RapidoError('STORE_MISSING', `no rapido store at ${paths.root}`, {
        hint: 'run a rapido command that writes (e.g. rapido cut) first, or point RAPIDO_STORE at an existing store',
      });
    }
  } else {
    ensureDirs(paths);
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
  return store;
}

export function assertWritable(store: Store, what: string): void {
  if (store.readOnly) {
    throw new RapidoError('STORE_READONLY', `cannot ${what}: the store at ${store.dir} was opened read-only`);
  }
}
