import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RapidoError } from '../errors.js';
import { withDiskFull } from './diskFull.js';
import { acquireLock, isStaleLock, lockPath, readLock, type HeldLock, type LockOwner } from './buildLock.js';
import { isProcessAlive, processStartTime } from './processAlive.js';
import type { StoreDir } from './types.js';
import { uniqueSuffix } from './uniqueSuffix.js';
import { EXIT } from '../exitCodes.js';

/**
 * Garbage collection must not delete what a running cut is about to use, and
 * a cut may reuse any object, however old. So the two exclude each other:
 *
 *   cut: create locks/cut.<pid>.<suffix>, THEN look at locks/gc.lock;
 *        a live gc.lock → remove the marker, wait for the gc, start over.
 *   gc:  create locks/gc.lock (O_EXCL), THEN wait until no live cut marker.
 *
 * Each side writes its own file before reading the other's, so at least one
 * of them sees the other (a cut that saw no gc.lock is seen by that gc).
 * Markers and locks of dead processes count as absent. Cuts never exclude
 * each other: many markers may exist at once.
 *
 * Lightweight on purpose (no LMDB): `rapido cut` imports this.
 */
export const GC_LOCK_KEY = 'gc';
const MARKER_RE = /^cut\.(\d+)\.[0-9a-f]+$/;
// A marker is created, then written; an empty one younger than this is a cut starting.
const UNWRITTEN_GRACE_MS = 5_000;
const MIN_POLL_MS = 10;
const MAX_POLL_MS = 250;

export interface CutMarker {
  pid: number;
  startTime: string | null;
  /** ms since the epoch. */
  at: number;
  /** What holds it ("cut", "import", ...), for messages. */
  what?: string;
}

export interface CutGuardOptions {
  /** Label written into the marker, shown by a waiting gc. Default "cut". */
  what?: string;
  /** Called once if a gc holds the store and we have to wait (owner null: its lock is being written). */
  onWait?: (gc: LockOwner | null) => void;
  /** Give up with RapidoError('LOCK_TIMEOUT') after this long. Default: wait as long as the gc lives. */
  timeoutMs?: number;
}

// A process that already holds a marker must not wait for a gc that waits for it.
let held = 0;

function gcLockPath(store: StoreDir): string {
  return lockPath(store, GC_LOCK_KEY);
}

/** The live gc holding the store, null while a gc's lock is still being written, or undefined when none. */
function liveGc(store: StoreDir): LockOwner | null | undefined {
  const seen = readLock(gcLockPath(store));
  if (seen === 'gone' || isStaleLock(seen.owner, seen.mtimeMs)) return undefined;
  return seen.owner;
}

function createMarker(store: StoreDir, what: string): string {
  const file = path.join(store.paths.locks, `cut.${process.pid}.${uniqueSuffix()}`);
  const body: CutMarker = { pid: process.pid, startTime: processStartTime(), at: Date.now(), what };
  return withDiskFull('a cut marker', store.dir, () => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fs.mkdirSync(store.paths.locks, { recursive: true });
      fd = fs.openSync(file, 'wx', 0o644);
    }
    try {
      fs.writeSync(fd, JSON.stringify(body) + '\n');
    } catch (e) {
      fs.rmSync(file, { force: true }); // an empty marker would hold off gc for a few seconds for nothing
      throw e;
    } finally {
      fs.closeSync(fd);
    }
    return file;
  });
}

/**
 * Runs fn (a cut, an import: anything that reads or adds objects) so that no
 * garbage collection runs meanwhile: waits for a running gc first, and makes
 * a gc that starts later wait for fn to finish. Nesting and concurrent calls
 * within one process are fine (each holds its own marker). A read-only store
 * cannot hold markers: fn just runs.
 */
export async function withCutGuard<T>(store: StoreDir, fn: () => T | Promise<T>, opts: CutGuardOptions = {}): Promise<T> {
  if (store.readOnly) return await fn();
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let told = false;
  let marker = createMarker(store, opts.what ?? 'cut');
  // While this process already holds a marker no gc can be past its wait, and waiting here could deadlock it.
  while (held === 0) {
    const gc = liveGc(store);
    if (gc === undefined) break;
    fs.rmSync(marker, { force: true });
    if (!told) {
      told = true;
      opts.onWait?.(gc);
    }
    let delay = MIN_POLL_MS;
    while (liveGc(store) !== undefined) {
      if (Date.now() >= deadline) {
        throw new RapidoError('LOCK_TIMEOUT', `timed out waiting for a garbage collection of ${store.dir} to finish`, {
          hint: gc ? `process ${gc.pid} (rapido-store gc) holds ${gcLockPath(store)}; wait for it or stop it` : `remove ${gcLockPath(store)} if no rapido-store gc is running`,
        });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
    marker = createMarker(store, opts.what ?? 'cut');
  }
  held++;
  try {
    return await fn();
  } finally {
    held--;
    fs.rmSync(marker, { force: true });
  }
}

/** Live cut markers; markers of dead processes (and unwritten ones older than a few seconds) are removed. */
export function liveCutMarkers(store: StoreDir, now = Date.now()): CutMarker[] {
  let names: string[];
  try {
    names = fs.readdirSync(store.paths.locks);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const live: CutMarker[] = [];
  for (const name of names) {
    const m = MARKER_RE.exec(name);
    if (!m) continue;
    const file = path.join(store.paths.locks, name);
    let raw: string;
    let mtimeMs: number;
    try {
      raw = fs.readFileSync(file, 'utf8');
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      continue; // removed by its cut meanwhile
    }
    let marker: CutMarker | null = null;
    try {
      const o = JSON.parse(raw) as CutMarker;
      if (Number.isInteger(o?.pid)) marker = o;
    } catch {
      /* being written, or its writer died in between */
    }
    const alive = marker
      ? isProcessAlive(marker.pid, marker.startTime)
      : isProcessAlive(Number(m[1])) && now - mtimeMs <= UNWRITTEN_GRACE_MS;
    if (alive) live.push(marker ?? { pid: Number(m[1]), startTime: null, at: mtimeMs });
    else fs.rmSync(file, { force: true });
  }
  return live;
}

export interface GcLockOptions {
  /** How long to wait for another gc and for running cuts, in total. Default 10 minutes. */
  timeoutMs?: number;
  /** Called once when another gc holds the lock. */
  onWaitGc?: (owner: LockOwner | null) => void;
  /** Called once when cuts are running, with their markers. */
  onWaitCuts?: (cuts: CutMarker[]) => void;
}

export const DEFAULT_GC_WAIT_MS = 10 * 60_000;

/**
 * The gc side: takes locks/gc.lock (waiting for another gc), then waits
 * until no cut is running. From then until release() no cut or import
 * starts. If cuts are still running at the timeout, the lock is given back
 * and RapidoError('GC_BUSY') is thrown: deleting under a cut is never an option.
 */
export async function acquireGcLock(store: StoreDir, opts: GcLockOptions = {}): Promise<HeldLock> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_GC_WAIT_MS;
  const deadline = Date.now() + timeoutMs;
  const lock = await acquireLock(store, GC_LOCK_KEY, { timeoutMs, onWait: opts.onWaitGc, what: 'another rapido-store gc to finish' });
  try {
    let told = false;
    let delay = MIN_POLL_MS;
    for (;;) {
      const cuts = liveCutMarkers(store);
      if (cuts.length === 0) return lock;
      if (!told) {
        told = true;
        opts.onWaitCuts?.(cuts);
      }
      if (Date.now() >= deadline) {
        const who = cuts.map((c) => `${c.what ?? 'cut'} (pid ${c.pid})`).join(', ');
        throw new RapidoError('GC_BUSY', `still running after ${Math.round(timeoutMs / 1000)} s: ${who}; nothing was removed`, {
          hint: 'run gc again when they finish, or give it longer with --wait',
          exitCode: EXIT.TEMPFAIL,
        });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
  } catch (e) {
    lock.release();
    throw e;
  }
}

export async function withGcLock<T>(store: StoreDir, fn: () => T | Promise<T>, opts: GcLockOptions = {}): Promise<T> {
  const lock = await acquireGcLock(store, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
