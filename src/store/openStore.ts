import fs from 'node:fs';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { RapidoError, isRapidoError } from '../errors.js';
import { dataFilePath, dbCorruptError, inspectDataFile } from './dbCheck.js';
import { diskFullError, endLmdbErrorLine, freeBytes, isDiskFull } from './diskFull.js';
import { flushStatCache } from './statCache.js';
import { openStoreDir, storePaths, unwritable, type StoreDir } from './storeDir.js';
import { ingestJournal, objectsNotInJournal, readJournal } from './journal.js';
import type { StoreDbs, Store } from './types.js';
export type { StoreDbs, Store } from './types.js';

export { storePaths } from './storeDir.js';
export type { StorePaths } from './storeDir.js';

/** Bump when anything described in store-layout.md changes incompatibly. */
/**
 * 2: native layer keys no longer hold host paths (derivationKeyText). Nothing
 * on disk changed shape, so a format-1 store is upgraded in place on its first
 * writable open: its layers stay valid under their old keys, which no cut
 * derives any more, so each is rebuilt once and gc drops the old ones when no
 * root holds them.
 */
export const STORE_FORMAT_VERSION = 2;
const UPGRADABLE_FROM = new Set<unknown>([1]);

export interface OpenStoreOptions {
  readOnly?: boolean;
  /**
   * For commands that only read (ls, info, verify, ...): a store that is not
   * writable (a read-only mount, another user's) is opened read-only, and a
   * journal that a full disk keeps out of the index is left for later. Both
   * are said in store.notes instead of failing the command.
   */
  reading?: boolean;
  /** Create a fresh index even though objects/ holds layers it will not know (rebuildIndex only). */
  rebuild?: boolean;
}

/** LMDB creates its lock file by mapping it: on a full disk that is a SIGBUS, not an error. */
const MIN_FREE_TO_CREATE = 1 << 20;

function journalNote(store: StoreDir, why: string): string {
  const n = readJournal(store).entries.length;
  return n ? `${n} journal ${n === 1 ? 'entry' : 'entries'} of recent cuts ${why}: the layers and cuts ${n === 1 ? 'it records are' : 'they record are'} not in the index yet` : '';
}

export function openStore(dir: string, opts: OpenStoreOptions = {}): Store {
  if (opts.reading && !opts.readOnly) {
    try {
      return openIndex(dir, false, true, false);
    } catch (e) {
      // Not writable, but there is a store to read: a shared or read-only mounted one.
      if (!(isRapidoError(e) && e.code === 'STORE_UNWRITABLE' && fs.existsSync(path.join(storePaths(dir).db, 'data.mdb')))) throw e;
      return openIndex(dir, true, true, false);
    }
  }
  return openIndex(dir, opts.readOnly === true, opts.reading === true, opts.rebuild === true);
}

/**
 * A missing index with layer objects beside it was lost (deleted, or the
 * disk replaced): a fresh empty one would make every object an orphan for
 * gc to delete. Objects whose records wait in the journal are not lost.
 */
function assertNothingToLose(store: StoreDir): void {
  const lost = objectsNotInJournal(store);
  if (lost === 0) return;
  throw new RapidoError(
    'STORE_DB_MISSING',
    `the store index ${dataFilePath(store.paths.db)} is missing, but ${store.paths.objects} holds ${lost} layer ${lost === 1 ? 'object' : 'objects'}; run rapido-store verify --repair to rebuild the index from them`,
  );
}

function openIndex(dir: string, readOnly: boolean, reading: boolean, rebuild: boolean): Store {
  const paths = openStoreDir(dir, { readOnly }).paths;
  if (readOnly) {
    if (!fs.existsSync(path.join(paths.db, 'data.mdb'))) {
      throw new RapidoError('STORE_MISSING', `no rapido store at ${paths.root}`, {
        hint: 'run a rapido command that writes (e.g. rapido cut) first, or point RAPIDO_STORE at an existing store',
      });
    }
  }
  // Before LMDB maps anything: a damaged file would kill us with SIGBUS/SIGSEGV.
  const data = inspectDataFile(paths.db);
  if (data.state === 'corrupt') throw dbCorruptError(paths.db, data.why);
  if (data.state === 'absent' && !readOnly && !rebuild) assertNothingToLose({ dir: paths.root, readOnly, paths });
  if (!readOnly && !fs.existsSync(path.join(paths.db, 'lock.mdb')) && (freeBytes(paths.db) ?? Infinity) < MIN_FREE_TO_CREATE) {
    throw diskFullError(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }), 'the store index', paths.root);
  }

  let env: RootDatabase;
  try {
    // Default sync settings on purpose: a record must not outlive a crash without its object.
    env = open({ path: paths.db, maxDbs: 16, readOnly });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') throw unwritable(paths.root, e);
    if (isDiskFull(e, paths.root)) throw diskFullError(e, 'the store index', paths.root);
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
      used: env.openDB('used', {}) ?? undefined,
    };
    version = db.meta.get('formatVersion');
    if ((version === undefined || UPGRADABLE_FROM.has(version)) && !readOnly) {
      // Re-check inside the write txn: another process may be initialising or upgrading the same store.
      version = env.transactionSync(() => {
        const v = db.meta.get('formatVersion');
        if (v !== undefined && !UPGRADABLE_FROM.has(v)) return v;
        db.meta.putSync('formatVersion', STORE_FORMAT_VERSION);
        if (v === undefined) db.meta.putSync('createdAt', Date.now());
        else db.meta.putSync('upgradedFrom', v);
        return STORE_FORMAT_VERSION;
      });
    }
    // Read-only, an upgradable store is read as it is: its records are the same shape.
    if (readOnly && UPGRADABLE_FROM.has(version)) version = STORE_FORMAT_VERSION;
  } catch (e) {
    void env.close().catch(() => {});
    if (isDiskFull(e, paths.root)) throw diskFullError(e, 'the store index', paths.root);
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
    notes: [],
    close() {
      closed ??= (async () => {
        try {
          flushStatCache(store);
        } catch (e) {
          // The stat cache is only a cache: a full disk costs re-hashing next time, not the command.
          if (!isDiskFull(e, paths.root)) throw e;
          endLmdbErrorLine(e);
        } finally {
          await env.close();
        }
      })();
      return closed;
    },
  };
  if (readOnly && reading) {
    const pending = journalNote(store, 'cannot be ingested (the store is not writable here)');
    if (pending) store.notes.push(pending);
  }
  if (!readOnly) {
    try {
      ingestJournal(store);
    } catch (e) {
      if (reading && isDiskFull(e)) {
        const pending = journalNote(store, 'cannot be ingested (no space left on device)');
        if (pending) store.notes.push(pending);
      } else {
        void env.close().catch(() => {});
        throw e;
      }
    }
  }
  return store;
}

