import type { BigIntStats, Stats } from 'node:fs';
import type { HashedRead } from '../store/statCache.js';
import { typeOfModeBits } from './cpio/cpioEntry.js';
import { lstatFile, lstatNumbers, lstatOrNull, type LstatNumbers } from './lstatSig.js';

export { lstatOrNull };

/**
 * Records every host path a layer's content depends on, with a stat
 * signature. The same signatures let the next cut decide "nothing changed"
 * from lstat alone (src/image/stamp.ts) before any hashing or
 * database. Plain (not bigint) stats: half the cost over thousands of files,
 * and microsecond timestamps are plenty for a signature.
 */
export type StatSig = string;

export function statSig(st: LstatNumbers): StatSig {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}`;
}

/** statSig of a bigint stat: Node's plain Stats derive their ms the same way (sec * 1e3 + nsec / 1e6). */
export function statSigBig(st: BigIntStats): StatSig {
  const ms = (ns: bigint) => Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;
  return `${st.dev}:${st.ino}:${st.size}:${ms(st.mtimeNs)}:${ms(st.ctimeNs)}:${st.mode}`;
}

/** The mtime (ms) in a full signature, without splitting it (run for every input of a big tree). */
export function sigMtimeMs(sig: StatSig): number {
  return sigField(sig, 3);
}

/** The size in a full signature. */
export function sigSize(sig: StatSig): number {
  return sigField(sig, 2);
}

function sigField(sig: StatSig, n: number): number {
  let i = -1;
  for (let k = 0; k < n; k++) i = sig.indexOf(':', i + 1);
  return Number(sig.slice(i + 1, sig.indexOf(':', i + 1)));
}

/**
 * For paths whose contents do not matter, only what they are: a directory
 * the image mirrors (/tmp, /usr/bin) changes mtime all day, which must not
 * invalidate a layer. Symlinks keep a full signature: their target matters.
 */
function kindSig(st: LstatNumbers | null | undefined): StatSig | null {
  if (!st) return null;
  const type = typeOfModeBits(st.mode);
  return type === 'symlink' ? statSig(st) : type === 'dir' ? 'kind:dir' : 'kind:other';
}

/** The full signature of the regular file at `path`; null when it is missing or not a regular file. */
export function fileSig(path: string): StatSig | null {
  const st = lstatFile(path);
  return st ? statSig(st) : null;
}

/** The current signature of a path, of the same sort as `recorded` (a no-op cut asks this of every input: lstatSig.ts). */
export function currentSig(path: string, recorded: StatSig | null): StatSig | null {
  const st = lstatNumbers(path);
  return recorded?.startsWith('kind:') ? kindSig(st) : st ? statSig(st) : null;
}

export class HostInputs {
  /** path → signature, or null for "must stay absent" (a try-bin that was not found). */
  readonly sigs = new Map<string, StatSig | null>();
  /** Content digests of the regular files among them, as the derivation used them. */
  readonly digests = new Map<string, string>();
  /** Digests taken while a file was read for another reason (the ELF check), with the signature they belong to. */
  readonly hashedReads = new Map<string, HashedRead & { sig: StatSig }>();
  /** Latest mtime seen (ms), for the racy-clean check of the stamp (mtime only, as git does: writes move it). */
  newestMtimeMs = 0;
  /** Each path's mtime (ms): the stamp keeps no digest for a file changed within the racy window. */
  readonly mtimes = new Map<string, number>();

  lstat(path: string): Stats | null {
    const st = lstatOrNull(path);
    this.record(path, st);
    return st;
  }

  /** lstat, recording only the kind of path unless it is a symlink (see kindSig). */
  lstatKind(path: string): Stats | null {
    const st = lstatOrNull(path);
    const had = this.sigs.get(path);
    // Never weaken a full signature recorded for another reason (a `bin DIR` walk needs the dir's mtime).
    if (had === undefined || had === null || had.startsWith('kind:')) this.sigs.set(path, kindSig(st));
    return st;
  }

  /**
   * Keeps a digest taken while `path` was read, when the stat before that read
   * is exactly the signature recorded for it: then it is the digest of that
   * signature's contents. Otherwise (changed since the walk's lstat) it is dropped
   * and the file is hashed as any other.
   */
  noteHashedRead(path: string, read: HashedRead): void {
    const sig = this.sigs.get(path);
    if (sig && sig === statSigBig(read.st)) this.hashedReads.set(path, { ...read, sig });
  }

  /** The digest noted for `path`, if the signature recorded for it is still the one it was checked against. */
  hashedRead(path: string): HashedRead | undefined {
    const r = this.hashedReads.get(path);
    return r && r.sig === this.sigs.get(path) ? r : undefined;
  }

  record(path: string, st: Stats | null): void {
    this.sigs.set(path, st ? statSig(st) : null);
    if (!st) return;
    this.mtimes.set(path, st.mtimeMs);
    if (st.mtimeMs > this.newestMtimeMs) this.newestMtimeMs = st.mtimeMs;
  }
}
