import fs from 'node:fs';
import path from 'node:path';
import { clearStaleLock } from './buildLock.js';
import type { StoreDir } from './types.js';
import { isProcessAlive } from './processAlive.js';

// tmp/<key>.<pid>.<random> (writeObject), tmp/journal.<pid>.* (journal),
// tmp/dracut-<pid>-* (the dracut builder's work dir) and
// locks/<key>.lock.stale.<pid>.<random> (buildLock) and locks/cut.<pid>.<random>
// (cutGuard markers).
const TMP_RE = /^(?:[0-9a-f]{16}\.(\d+)\.[0-9a-f]+|journal\.(\d+)\..+|dracut-(\d+)-.+)$/;
const ASIDE_RE = /(?:\.lock\.stale\.(\d+)\.[0-9a-f]+|^cut\.(\d+)\.[0-9a-f]+)$/;

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

function removeIfDeadWriter(dir: string, name: string, re: RegExp, removed: string[]): void {
  const m = re.exec(name);
  const pid = m?.slice(1).find((g) => g !== undefined);
  if (!pid || isProcessAlive(Number(pid))) return;
  const p = path.join(dir, name);
  fs.rmSync(p, { force: true, recursive: true });
  removed.push(p);
}

/**
 * Removes what crashed or killed processes left behind: temp objects whose
 * writer pid is gone, locks whose owner is dead, and takeover leftovers.
 * Files of live processes are never touched, nor names we do not recognise.
 * Returns the removed paths. Every command that writes to the store calls it
 * first (cuts, import, gc, verify, pin, ...), so a killed writer's leftovers
 * go with the next of them.
 */
export function cleanTmp(store: StoreDir): string[] {
  const removed: string[] = [];
  // Nothing we could remove; whoever can write it cleans it.
  if (store.readOnly) return removed;
  for (const name of listDir(store.paths.tmp)) removeIfDeadWriter(store.paths.tmp, name, TMP_RE, removed);
  for (const name of listDir(store.paths.locks)) {
    if (name.endsWith('.lock')) {
      const p = path.join(store.paths.locks, name);
      if (clearStaleLock(p)) removed.push(p);
    } else {
      removeIfDeadWriter(store.paths.locks, name, ASIDE_RE, removed);
    }
  }
  return removed;
}
