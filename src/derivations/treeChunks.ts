import type { CpioEntry } from './cpio/cpioEntry.js';
import { sortedEntries } from './cpio/writeNewc.js';

/**
 * A big `tree` becomes several layers ("chunks") so that editing one file
 * rebuilds, and rewrites in the image, one chunk rather than the whole tree.
 *
 * Boundaries are content-defined over the sorted entries, as in rsync or
 * restic, but on each entry's *path* (FNV-1a), not its bytes: the same
 * entries give the same chunks on any machine, whatever the edit history.
 * A cut falls before entry e when the chunk holds at least MIN bytes and
 * either hash(path) < 2^32 * weight(e) / AVG (so boundaries come about every
 * AVG bytes, whatever the files' sizes) or adding e would pass MAX. Editing a
 * file's content changes only its weight: the boundaries move only if that
 * crosses MIN or MAX (rare for a small edit), and then only nearby ones
 * (the next hash boundary resynchronises). Adding or removing a file moves at
 * most the boundaries next to it.
 *
 * Entries are split in archive order (the newc writer's sort), so every
 * directory comes before what it holds, in the same or an earlier chunk:
 * the kernel unpacks the concatenated chunks in order and finds each parent.
 */
export const CHUNK_THRESHOLD = 16 << 20;
const MIN = 512 << 10;
const AVG = 2 << 20;
const MAX = 8 << 20;

/** About what an entry takes in the archive: header, name, data. */
function weight(e: CpioEntry): number {
  const data = e.type === 'file' ? (e.data?.length ?? e.size ?? 0) : e.type === 'symlink' ? Buffer.byteLength(e.target ?? '') : 0;
  return 110 + Buffer.byteLength(e.path) + 1 + data + 6;
}

/** FNV-1a, 32 bits, over the path's UTF-8 bytes: tiny, fixed, and the same everywhere. */
function pathHash(p: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(p, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The entries split into chunks, in archive order; one chunk (all of them,
 * as given) when they weigh at most CHUNK_THRESHOLD, so small trees stay one
 * layer.
 */
export function chunkEntries(entries: CpioEntry[], sorted = false): CpioEntry[][] {
  const total = entries.reduce((n, e) => n + weight(e), 0);
  if (total <= CHUNK_THRESHOLD) return [entries];
  const chunks: CpioEntry[][] = [];
  let cur: CpioEntry[] = [];
  let bytes = 0;
  // `sorted`: already in archive order (a snapshot of an earlier cut's entries): sorting again changes nothing.
  for (const e of sorted ? entries : sortedEntries(entries)) {
    const w = weight(e);
    if (bytes >= MIN && (bytes + w > MAX || pathHash(e.path) < (2 ** 32 * w) / AVG)) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += w;
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}
