import { uniqueSuffix } from './uniqueSuffix.js';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RapidoError } from '../errors.js';
import { withDiskFull } from './diskFull.js';
import type { StoreDir } from './types.js';
import { isProcessAlive, processStartTime } from './processAlive.js';

/** Contents of `locks/<key>.lock`. */
export interface LockOwner {
  pid: number;
  /** /proc start time of pid, to tell a recycled pid apart (null without /proc). */
  startTime: string | null;
  /** Unique per acquisition: lets the owner and a stale-lock taker recognise this exact lock. */
  token: string;
  /** ms since the epoch. */
  at: number;
}

export interface BuildLockOptions {
  /** Give up with RapidoError('LOCK_TIMEOUT') after this long. Default: wait as long as the owner lives. */
  timeoutMs?: number;
  /** Called once when we have to wait (owner is null while its lock file is being written). */
  onWait?: (owner: LockOwner | null) => void;
  /** Called before every pause while we wait, the first one included (a caller lets go of what another waiter may need). */
  whileWaiting?: () => void;
}

const LOCK_NAME_RE = /^[0-9A-Za-z_-][0-9A-Za-z._-]{0,127}$/;
// The owner creates the file then writes its pid; an empty/garbled lock older
// than this means it died in between.
const UNREADABLE_GRACE_MS = 5_000;
const MIN_POLL_MS = 5;
const MAX_POLL_MS = 200;

export function lockPath(store: StoreDir, key: string): string {
  if (!LOCK_NAME_RE.test(key)) throw new RapidoError('BAD_KEY', `invalid lock key: ${JSON.stringify(key)}`);
  return path.join(store.paths.locks, `${key}.lock`);
}

export type Seen = { raw: string; owner: LockOwner | null; mtimeMs: number } | 'gone';

function parseOwner(raw: string): LockOwner | null {
  try {
    const o = JSON.parse(raw) as LockOwner;
    return Number.isInteger(o?.pid) && typeof o.token === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** What a lock file holds right now ('gone' when absent). */
export function readLock(file: string): Seen {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const mtimeMs = fs.fstatSync(fd).mtimeMs;
      const raw = fs.readFileSync(fd, 'utf8');
      return { raw, owner: parseOwner(raw), mtimeMs };
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
}

/** Stale = owner dead (or its pid recycled), or never finished writing its pid. */
export function isStaleLock(owner: LockOwner | null, mtimeMs: number, now = Date.now()): boolean {
  if (!owner) return now - mtimeMs > UNREADABLE_GRACE_MS;
  return !isProcessAlive(owner.pid, owner.startTime);
}

function tryCreate(store: StoreDir, file: string, raw: string): boolean {
  return withDiskFull('a lock file', store.dir, () => create(file, raw));
}

function create(file: string, raw: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o644); // O_CREAT|O_EXCL: exactly one creator wins
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'ENOENT') {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      return create(file, raw);
    }
    throw e;
  }
  try {
    fs.writeSync(fd, raw);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return true;
}

/**
 * Removes a stale lock without ever removing a live one: rename it aside
 * (only one taker can), then check the moved file is the one judged stale.
 * If another waiter's fresh lock got moved instead, put it back.
 */
function takeOver(file: string, judged: string): void {
  const aside = `${file}.stale.${process.pid}.${uniqueSuffix()}`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    if (fs.readFileSync(aside, 'utf8') !== judged) {
      try {
        fs.linkSync(aside, file);
      } catch {
        /* someone already holds a newer lock; the worst case is one duplicate build */
      }
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/** Removes file if it is a stale lock (same safe takeover as a waiter would do); true if removed. */
export function clearStaleLock(file: string): boolean {
  const seen = readLock(file);
  if (seen === 'gone' || !isStaleLock(seen.owner, seen.mtimeMs)) return false;
  takeOver(file, seen.raw);
  return !fs.existsSync(file);
}

function release(file: string, raw: string): void {
  const seen = readLock(file);
  if (seen !== 'gone' && seen.raw === raw) fs.rmSync(file, { force: true });
}

/** A held lock: release() removes it if it is still ours (idempotent). */
export interface HeldLock {
  readonly file: string;
  release(): void;
}

/**
 * Takes the cross-process lock `locks/<key>.lock`: O_EXCL file holding pid +
 * start time (Node has no flock), waiting while a live owner holds it and
 * taking over a dead owner's. The caller must release() it in a finally.
 */
export async function acquireLock(store: StoreDir, key: string, opts: BuildLockOptions & { what?: string } = {}): Promise<HeldLock> {
  const file = lockPath(store, key);
  const me = { pid: process.pid, startTime: processStartTime(), token: uniqueSuffix() };
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let delay = MIN_POLL_MS;
  let told = false;

  let raw: string;
  for (;;) {
    raw = JSON.stringify({ ...me, at: Date.now() } satisfies LockOwner) + '\n';
    if (tryCreate(store, file, raw)) break;
    const seen = readLock(file);
    if (seen === 'gone') continue; // released between our attempts: retry at once
    if (isStaleLock(seen.owner, seen.mtimeMs)) {
      takeOver(file, seen.raw);
      continue;
    }
    if (!told) {
      told = true;
      opts.onWait?.(seen.owner);
    }
    if (Date.now() >= deadline) {
      throw new RapidoError('LOCK_TIMEOUT', `timed out waiting for ${opts.what ?? `the build lock on ${key}`}`, {
        hint: seen.owner
          ? `process ${seen.owner.pid} holds ${file}; wait for it or stop it`
          : `remove ${file} if no rapido is running`,
      });
    }
    opts.whileWaiting?.();
    await sleep(delay);
    delay = Math.min(delay * 2, MAX_POLL_MS);
  }
  const held = raw;
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      release(file, held);
    },
  };
}

/**
 * Runs fn while holding the cross-process build lock for key, so two
 * `rapido cut`s needing the same layer build it once: the second waits, then
 * (re-checking inside fn) finds the object. A dead owner's lock is taken over.
 * Not re-entrant: nesting the same key in one call chain deadlocks.
 */
export async function withBuildLock<T>(
  store: StoreDir,
  key: string,
  fn: () => T | Promise<T>,
  opts: BuildLockOptions = {},
): Promise<T> {
  const lock = await acquireLock(store, key, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
