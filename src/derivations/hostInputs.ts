import { lstatSync, type BigIntStats } from 'node:fs';

/**
 * Records every host path a layer's content depends on, with a stat
 * signature. The same signatures let the next cut decide "nothing changed"
 * from lstat alone (src/runner/stamp.ts) before any hashing or database.
 */
export type StatSig = string;

export function statSig(st: BigIntStats): StatSig {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.mode}`;
}

export function lstatOrNull(path: string): BigIntStats | null {
  try {
    return lstatSync(path, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

export class HostInputs {
  /** path → signature, or null for "must stay absent" (a try-bin that was not found). */
  readonly sigs = new Map<string, StatSig | null>();
  /** Latest mtime seen (ns), for the racy-clean check of the stamp (mtime only, as git does: writes move it). */
  newestMtimeNs = 0n;

  lstat(path: string): BigIntStats | null {
    const st = lstatOrNull(path);
    this.record(path, st);
    return st;
  }

  record(path: string, st: BigIntStats | null): void {
    this.sigs.set(path, st ? statSig(st) : null);
    if (st && st.mtimeNs > this.newestMtimeNs) this.newestMtimeNs = st.mtimeNs;
  }

  /** Sorted [path, sig] pairs, the stamp's serialisation. */
  toList(): [string, StatSig | null][] {
    return [...this.sigs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
