import { storeDir, type RapidoConfig } from '../../config/loadConfig.js';
import { cleanTmp } from '../../store/cleanTmp.js';
import { withCutGuard, withGcLock, DEFAULT_GC_WAIT_MS } from '../../store/cutGuard.js';
import { openStore, type Store } from '../../store/openStore.js';
import { openStoreDir } from '../../store/storeDir.js';
import { plural } from '../../format.js';

export interface WithStoreOptions {
  /**
   * The command only reads: a store it cannot write (read-only mount,
   * another user's, a full disk keeping the journal out) is opened anyway
   * and what that gives up is printed as a note.
   */
  readOnly?: boolean;
  /**
   * 'gc': take the gc lock BEFORE opening (opening ingests the journal, which
   * must include every cut that finished), waiting for another gc and for
   * running cuts. 'cut': hold a cut marker while fn runs, so that no gc
   * removes an object fn reads or adds.
   */
  lock?: 'gc' | 'cut';
  /** Label of the cut marker (lock 'cut'), shown by a waiting gc. */
  what?: string;
  /** How long lock 'gc' waits for another gc and for running cuts. */
  waitMs?: number;
  /** First remove what killed writers left in tmp/ and locks/ (commands that write). */
  cleanTmp?: boolean;
  /** Opens the store instead of openStore (verify --repair rebuilds a lost index). */
  open?: (dir: string) => Store;
}

export const say = (s: string): void => {
  process.stderr.write(`rapido-store: ${s}\n`);
};

/** What opening the store had to give up (read-only, journal not ingested), on stderr: stdout may be JSON. */
export function printNotes(store: Store): void {
  for (const n of store.notes) process.stderr.write(`rapido-store: note: ${n}\n`);
}

/**
 * The one way a store command gets at the store: config → store dir → lock
 * (if asked) → open → fn → close, the close in a finally so LMDB is always
 * closed (no process.exit anywhere in a handler).
 */
export async function withStore<T>(conf: RapidoConfig, opts: WithStoreOptions, fn: (store: Store) => T | Promise<T>): Promise<T> {
  const dir = storeDir(conf);
  const run = async (): Promise<T> => {
    const store = opts.open ? opts.open(dir) : openStore(dir, { reading: opts.readOnly === true });
    try {
      if (opts.cleanTmp) cleanTmp(store);
      printNotes(store);
      if (opts.lock !== 'cut') return await fn(store);
      return await withCutGuard(store, () => fn(store), { what: opts.what, onWait: () => say('waiting for a running gc to finish') });
    } finally {
      await store.close();
    }
  };
  if (opts.lock !== 'gc') return run();
  return withGcLock(openStoreDir(dir), run, {
    timeoutMs: opts.waitMs ?? DEFAULT_GC_WAIT_MS,
    onWaitGc: (o) => say(`waiting for another gc${o ? ` (pid ${o.pid})` : ''} to finish`),
    onWaitCuts: (cuts) => say(`waiting for ${plural(cuts.length, 'running cut')} to finish (pid ${cuts.map((c) => c.pid).join(', ')})`),
  });
}
