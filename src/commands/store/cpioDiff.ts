import fs from 'node:fs';
import type { CpioEntry } from '../../derivations/cpio/cpioEntry.js';
import { readNewc } from '../../derivations/cpio/readNewc.js';

/** A field of an archive entry that two builds disagree on. */
export type EntryField = 'type' | 'mode' | 'uid' | 'gid' | 'mtime' | 'nlink' | 'size' | 'content';

export interface CpioDiff {
  /** Entries on both sides that differ, with what differs. */
  changed: { path: string; fields: EntryField[] }[];
  onlyStored: string[];
  onlyRebuilt: string[];
  /** Set when the entries agree but the bytes do not (order, inode numbers, padding). */
  note?: string;
  /** Set when an archive could not be parsed. */
  error?: string;
}

function sizeOf(e: CpioEntry): number {
  if (e.type === 'file') return e.data?.length ?? e.size ?? 0;
  if (e.type === 'symlink') return Buffer.byteLength(e.target ?? '');
  return 0;
}

function sameContent(a: CpioEntry, b: CpioEntry): boolean {
  if (a.type === 'file') return (a.data ?? Buffer.alloc(0)).equals(b.data ?? Buffer.alloc(0));
  if (a.type === 'symlink') return a.target === b.target;
  if (a.type === 'char' || a.type === 'block') return a.rdevMajor === b.rdevMajor && a.rdevMinor === b.rdevMinor;
  return true;
}

function fieldsOf(a: CpioEntry, b: CpioEntry): EntryField[] {
  if (a.type !== b.type) return ['type'];
  const f: EntryField[] = [];
  if (a.mode !== b.mode) f.push('mode');
  if ((a.uid ?? 0) !== (b.uid ?? 0)) f.push('uid');
  if ((a.gid ?? 0) !== (b.gid ?? 0)) f.push('gid');
  if (a.mtime !== b.mtime) f.push('mtime');
  if ((a.nlink ?? 1) !== (b.nlink ?? 1) && a.type === 'file') f.push('nlink');
  if (sizeOf(a) !== sizeOf(b)) f.push('size');
  if (!sameContent(a, b)) f.push('content');
  return f;
}

/** Entry-level differences between two newc archives (a layer as stored, and as rebuilt). */
export function diffCpio(stored: Buffer, rebuilt: Buffer): CpioDiff {
  let a: CpioEntry[];
  let b: CpioEntry[];
  try {
    a = readNewc(stored);
  } catch (e) {
    return { changed: [], onlyStored: [], onlyRebuilt: [], error: `the stored object is not a readable cpio archive: ${(e as Error).message}` };
  }
  try {
    b = readNewc(rebuilt);
  } catch (e) {
    return { changed: [], onlyStored: [], onlyRebuilt: [], error: `the rebuilt layer is not a readable cpio archive: ${(e as Error).message}` };
  }
  const mb = new Map(b.map((e) => [e.path, e]));
  const ma = new Map(a.map((e) => [e.path, e]));
  const diff: CpioDiff = { changed: [], onlyStored: [], onlyRebuilt: [] };
  for (const e of a) {
    const o = mb.get(e.path);
    if (!o) diff.onlyStored.push(e.path);
    else {
      const fields = fieldsOf(e, o);
      if (fields.length) diff.changed.push({ path: e.path, fields });
    }
  }
  for (const e of b) if (!ma.has(e.path)) diff.onlyRebuilt.push(e.path);
  if (!diff.changed.length && !diff.onlyStored.length && !diff.onlyRebuilt.length) {
    const order = a.length === b.length && a.every((e, i) => e.path === b[i]!.path);
    diff.note = order
      ? 'every entry is the same, but the archive bytes differ (inode numbers, hardlink layout or padding)'
      : 'the same entries, in a different order';
  }
  return diff;
}

/** Byte offset where two files first differ, or -1 when identical. Streams: objects may be large. */
export function firstDifference(p1: string, p2: string): number {
  const s1 = fs.statSync(p1).size;
  const s2 = fs.statSync(p2).size;
  const f1 = fs.openSync(p1, 'r');
  const f2 = fs.openSync(p2, 'r');
  try {
    const b1 = Buffer.allocUnsafe(1 << 20);
    const b2 = Buffer.allocUnsafe(1 << 20);
    for (let pos = 0; pos < Math.min(s1, s2); ) {
      const n1 = fs.readSync(f1, b1, 0, b1.length, pos);
      const n2 = fs.readSync(f2, b2, 0, b2.length, pos);
      const n = Math.min(n1, n2);
      if (n === 0) break;
      if (b1.subarray(0, n).compare(b2.subarray(0, n)) !== 0) {
        for (let i = 0; i < n; i++) if (b1[i] !== b2[i]) return pos + i;
      }
      pos += n;
    }
    return s1 === s2 ? -1 : Math.min(s1, s2);
  } finally {
    fs.closeSync(f1);
    fs.closeSync(f2);
  }
}
