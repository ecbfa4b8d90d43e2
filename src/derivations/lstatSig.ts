import { lstatSync, type Stats } from 'node:fs';
import { typeOfModeBits } from './cpio/cpioEntry.js';

/**
 * A path's lstat as the few numbers a stat signature needs, without the
 * Stats object fs.lstatSync builds. A no-op cut lstats every input of the
 * image (4,900 for an fstests tree, 14,500 for a 500 MiB one) in a process
 * too short for V8 to optimise lstatSync's JavaScript: there it costs about
 * 6 µs a call, against 1.4 µs through Node's own fs binding, which fills one
 * shared array of numbers. That binding is not public API, so it is used
 * only after it has answered one path exactly as lstatSync does; anything
 * else (another Node, a policy that denies it, a warning it would print)
 * means lstatSync, with the same results.
 */
export interface LstatNumbers {
  dev: number;
  ino: number;
  size: number;
  mode: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** Node's stat array: dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks, then sec/nsec pairs for atime, mtime, ctime, birthtime. */
type RawLstat = ((path: string, ctx: Record<string, unknown>) => Float64Array | undefined) & { quietMissing?: boolean };

let raw: RawLstat | null | undefined;
const NO_CONTEXT = {};

/**
 * Which lstat answers (after the first call): Node's binding, or lstatSync
 * where it could not be trusted; 'binding, quiet' when the binding also
 * answers a missing path without throwing.
 */
export function lstatSource(): 'binding' | 'binding, quiet' | 'lstatSync' | undefined {
  return raw === undefined ? undefined : raw === null ? 'lstatSync' : raw.quietMissing ? 'binding, quiet' : 'binding';
}

/** lstat of `path`, undefined when it does not exist or a component is not a directory (as lstatOrNull). */
export function lstatNumbers(path: string): LstatNumbers | undefined {
  if (raw === undefined) raw = probe(path);
  if (raw?.quietMissing) {
    try {
      const a = raw(path, NO_CONTEXT);
      return a === undefined ? undefined : numbersOf(a);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      // Any other failure: lstatSync reports it as usual.
    }
  } else if (raw !== null) {
    // Without quietMissing, the fourth argument is an error context (older Nodes: an object, or the process aborts on
    // an error) or throwIfNoEntry set (it throws on ENOENT); every way, a missing path is undefined here.
    const ctx: Record<string, unknown> = {};
    try {
      const a = raw(path, ctx);
      if (a !== undefined) return numbersOf(a);
      if (ctx.code === undefined || ctx.code === 'ENOENT' || ctx.code === 'ENOTDIR') return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    }
    // Any other failure: lstatSync reports it as usual.
  }
  return numbersOfStats(lstatOrNull(path));
}

/** lstatNumbers of a regular file; undefined for anything else, or nothing. */
export function lstatFile(path: string): LstatNumbers | undefined {
  const st = lstatNumbers(path);
  return st && typeOfModeBits(st.mode) === 'file' ? st : undefined;
}

function numbersOf(a: Float64Array): LstatNumbers {
  // The same arithmetic as Node's Stats (sec * 1e3 + nsec / 1e6), so signatures match statSig's to the bit.
  return { dev: a[0], mode: a[1], ino: a[7], size: a[8], mtimeMs: a[12] * 1e3 + a[13] / 1e6, ctimeMs: a[14] * 1e3 + a[15] / 1e6 };
}

function numbersOfStats(st: Stats | null): LstatNumbers | undefined {
  return st ? { dev: st.dev, ino: st.ino, size: st.size, mode: st.mode, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } : undefined;
}

/** fs.lstatSync, null when the path does not exist or a component is not a directory. */
export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

/** Node's binding, if it answers `path` (or the Node binary, if `path` is missing) exactly as lstatSync does. */
function probe(path: string): RawLstat | null {
  // process.binding warns under --pending-deprecation: a cut must not print that.
  if (process.execArgv.includes('--pending-deprecation') || /--pending-deprecation/.test(process.env.NODE_OPTIONS ?? '') || process.env.NODE_PENDING_DEPRECATION === '1') return null;
  try {
    const binding = (process as unknown as { binding(name: string): { lstat?: unknown } }).binding('fs');
    if (typeof binding.lstat !== 'function') return null;
    const lstat = binding.lstat as (p: string, bigint: boolean, req: undefined, ctx: unknown) => unknown;
    // Missing paths are common inputs (a binary looked for along PATH), and an error thrown from the binding costs
    // several times the lstat. Where lstatSync itself passes throwIfNoEntry as the fourth argument (its source says
    // so), false makes the binding return undefined instead; elsewhere that argument is an error context.
    const quiet = /binding\.lstat\(\s*[^,]+,\s*options\.bigint,\s*undefined,\s*options\.throwIfNoEntry,?\s*\)/.test(lstatSync.toString());
    const f: RawLstat = quiet ? (p) => lstat(p, false, undefined, false) as Float64Array | undefined : (p, ctx) => lstat(p, false, undefined, ctx) as Float64Array | undefined;
    f.quietMissing = quiet;
    if (quiet && f(`${process.execPath}.rapido-missing-${process.pid}`, {}) !== undefined) return null;
    for (const p of [path, process.execPath]) {
      const want = numbersOfStats(lstatOrNull(p));
      if (!want) continue;
      const got = f(p, {});
      if (!(got instanceof Float64Array) || got.length < 16) return null;
      const n = numbersOf(got);
      return n.dev === want.dev && n.ino === want.ino && n.size === want.size && n.mode === want.mode && n.mtimeMs === want.mtimeMs && n.ctimeMs === want.ctimeMs ? f : null;
    }
  } catch {
    /* not available here: lstatSync */
  }
  return null;
}
