import fs from 'node:fs';
import path from 'node:path';
import { RapidoError } from '../errors.js';
import type { StorePaths, StoreDir } from './types.js';
export type { StorePaths, StoreDir } from './types.js';

/**
 * The file half of the store: directories, objects, temp files, locks and
 * the journal. Free of LMDB, so the warm cut path can write objects without
 * loading the database (LMDB costs ~50 ms of start-up).
 */

export function storePaths(dir: string): StorePaths {
  const root = path.resolve(dir);
  return {
    root,
    objects: path.join(root, 'objects'),
    tmp: path.join(root, 'tmp'),
    locks: path.join(root, 'locks'),
    db: path.join(root, 'db'),
    journal: path.join(root, 'journal'),
  };
}

export function unwritable(dir: string, cause: unknown): RapidoError {
  const why = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
  return new RapidoError('STORE_UNWRITABLE', `store directory ${dir} is not a writable directory (${why})`, {
    hint: 'set RAPIDO_STORE to a writable directory, or fix the permissions of this one',
    cause,
  });
}

function ensureDirs(p: StorePaths): void {
  try {
    for (const d of [p.root, p.objects, p.tmp, p.locks, p.db, p.journal]) fs.mkdirSync(d, { recursive: true });
    // mkdir succeeds on an existing read-only dir; root may bypass modes but EROFS still shows here.
    fs.accessSync(p.root, fs.constants.W_OK);
    fs.accessSync(p.tmp, fs.constants.W_OK);
  } catch (e) {
    throw unwritable(p.root, e);
  }
}

/**
 * Creates the directories if needed and checks the store is writable.
 * `reading`: a caller that only reads takes an existing store it cannot
 * write (a read-only mount, another user's) as read-only instead.
 */
export function openStoreDir(dir: string, opts: { readOnly?: boolean; reading?: boolean } = {}): StoreDir {
  const paths = storePaths(dir);
  let readOnly = opts.readOnly === true;
  if (!readOnly) {
    try {
      ensureDirs(paths);
    } catch (e) {
      if (!opts.reading || !fs.existsSync(path.join(paths.db, 'data.mdb'))) throw e;
      readOnly = true;
    }
  }
  return { dir: paths.root, readOnly, paths };
}

export function assertWritable(store: StoreDir, what: string): void {
  if (store.readOnly) {
    throw new RapidoError('STORE_READONLY', `cannot ${what}: the store at ${store.dir} was opened read-only`);
  }
}
