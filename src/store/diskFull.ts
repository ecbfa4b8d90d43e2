import fs from 'node:fs';
import { RapidoError } from '../errors.js';

// LMDB reports errno as a number: ENOSPC 28, EDQUOT 122, EIO 5 (its "short write, filesystem full?").
const FULL_CODES = new Set<unknown>(['ENOSPC', 'EDQUOT', 28, 122]);
/** Below this many free bytes a failed write is taken for a full disk. */
const NEARLY_FULL = 1 << 20;

/** Free bytes for an unprivileged writer on dir's filesystem, or undefined if unknown. */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Whether e says the disk (or quota) is full: Node's ENOSPC/EDQUOT, LMDB's
 * numeric errno, or, given the directory written to, an I/O error on a
 * filesystem with (almost) nothing left (LMDB turns a short write into EIO).
 */
export function isDiskFull(e: unknown, dir?: string): boolean {
  if (e instanceof RapidoError) return e.code === 'DISK_FULL';
  const err = e as { code?: unknown; message?: unknown } | undefined;
  if (FULL_CODES.has(err?.code)) return true;
  if (typeof err?.message === 'string' && /no space left on device|disk quota exceeded/i.test(err.message)) return true;
  if (dir !== undefined && (err?.code === 'EIO' || err?.code === 5)) return (freeBytes(dir) ?? Infinity) < NEARLY_FULL;
  return false;
}

const HINT = 'free some space on that filesystem (then rapido-store gc can remove the layers no image, recent cut or pin holds), or set RAPIDO_STORE to a store on a larger one';

/**
 * The one DISK_FULL error, whoever hit it: what was being written and
 * where. storeDir undefined: the writer only knows a path (or not even that:
 * Node's ENOSPC from write(2) carries none).
 */
export function diskFullError(cause: unknown, what?: string, storeDir?: string): RapidoError {
  if (cause instanceof RapidoError && cause.code === 'DISK_FULL') return cause;
  endLmdbErrorLine(cause);
  const path = (cause as NodeJS.ErrnoException)?.path;
  const target = what ?? path;
  const where = storeDir ? ` in ${storeDir}` : '';
  return new RapidoError('DISK_FULL', `no space left on device${target ? `: cannot write ${target}${where}` : where}`, {
    hint: HINT,
    cause,
  });
}

/**
 * LMDB prints "Write error: ..." to stderr, without a newline, when it
 * fails to write a page (lmdb-js then adds "Attempting to write page" to
 * the error): end that line, so what we print next starts on its own.
 */
export function endLmdbErrorLine(e: unknown): void {
  if (/Attempting to write page/.test(String((e as Error)?.message))) process.stderr.write('\n');
}

/** Runs fn, turning a full disk into the DISK_FULL error (other errors pass through). */
export function withDiskFull<T>(what: string, storeDir: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isDiskFull(e, storeDir)) throw diskFullError(e, what, storeDir);
    throw e;
  }
}
