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
 * either hash(path) < 2^32 * (weight(e) / AVG + 1 / AVG_ENTRIES) (so
 * boundaries come about every AVG bytes or AVG_ENTRIES entries, whichever is
 * sooner, whatever the files' sizes), or adding e would pass MAX bytes or
 * MAX_ENTRIES entries. The entry term keeps a chunk of many small files (a
 * suite's test scripts) small too: an edit re-derives and rewrites a chunk,
 * and what that costs grows with its entries as much as with its bytes.
 * Editing a file's content changes only its weight: the boundaries move only
 * if that crosses MIN or MAX (rare for a small edit), and then only nearby
 * ones (the next hash boundary resynchronises). Adding or removing a file
 * moves at most the boundaries next to it.
 *
 * Entries are split in archive order (the newc writer's sort), so every
 * directory comes before what it holds, in the same or an earlier chunk:
 * the kernel unpacks the concatenated chunks in order and finds each parent.
 */
export const CHUNK_THRESHOLD = 16 << 20;
/**
 * A kmods layer is chunked from a lower weight: its modules are few and big
 * (btrfs.ko alone is megabytes), and a rebuilt module then rewrites its own
 * chunk, not every module of the recipe.
 */
export const KMODS_CHUNK_THRESHOLD = 4 << 20;
const MIN = 64 << 10;
const AVG = 2 << 20;
const MAX = 8 << 20;
const AVG_ENTRIES = 256;
const MAX_ENTRIES = 1024;
/** Changes whenever the rule above does: chunks recorded under another rule are not patched (cut/treeDelta.ts), they are cut again. */
export const CHUNK_RULE = `v2:${MIN}:${AVG}:${MAX}:${AVG_ENTRIES}:${MAX_ENTRIES}`;

/** About what an entry takes in the archive: header, name, data. */
function weight(e: CpioEntry): number {
  const data = e.type === 'file' ? (e.data?.length ?? e.size ?? 0) : e.type === 'symlink' ? utf8Length(e.target ?? '') : 0;
  return 110 + utf8Length(e.path) + 1 + data + 6;
}

/** Buffer.byteLength without its call overhead for the usual ASCII path (this runs for every entry of a big tree). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** FNV-1a, 32 bits, over the path's UTF-8 bytes: tiny, fixed, and the same everywhere. */
function pathHash(p: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c >= 0x80) return pathHashBytes(p); // not ASCII: hash the UTF-8 bytes
    h = Math.imul(h ^ c, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function pathHashBytes(p: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(p, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * The entries split into chunks, in archive order; one chunk (all of them,
 * as given) when they weigh at most CHUNK_THRESHOLD, so small trees stay one
 * layer.
 */
export function chunkEntries(entries: CpioEntry[], threshold = CHUNK_THRESHOLD): CpioEntry[][] {
  const total = totalWeight(entries);
  if (total <= threshold) return [entries];
  const sorted = sortedEntries(entries);
  return slices(sorted, cutFrom(sorted.length, (i) => sorted[i], 0, [], undefined));
}

/** What chunkEntries compares with CHUNK_THRESHOLD. */
export function totalWeight(entries: CpioEntry[]): number {
  let n = 0;
  for (const e of entries) n += weight(e);
  return n;
}

/** The chunks of `entries` that `counts` (entries per chunk, in order) describe. */
export function slices<T>(entries: T[], counts: number[]): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (const c of counts) {
    out.push(entries.slice(start, start + c));
    start += c;
  }
  return out;
}

/**
 * chunkEntries' chunk sizes (entries per chunk) for `n` entries in archive
 * order, of which `at(i)` gives the i-th, after only the entries at
 * positions `changed` changed weight since the chunking `counts`, and
 * `total` the new total weight. The scan is a left-to-right function of the
 * weights, so it is the old one up to the chunk holding the first change;
 * from there it scans again until it cuts, past the last change, where the
 * old scan also cut: from that point on both see the same entries from the
 * same state, and the old chunks are the new ones. So `at` is asked only
 * for the entries between those two cuts (an edit's delta never builds the
 * rest of a big tree's entries).
 */
export function rechunkCounts(n: number, at: (i: number) => CpioEntry, counts: number[], changed: number[], total: number): number[] {
  if (total <= CHUNK_THRESHOLD) return [n];
  if (counts.length < 2 || counts.reduce((a, c) => a + c, 0) !== n) return cutFrom(n, at, 0, [], undefined);
  if (changed.length === 0) return counts;
  const bounds = [0];
  for (const c of counts) bounds.push(bounds[bounds.length - 1] + c);
  const first = Math.min(...changed);
  const last = Math.max(...changed);
  let j0 = 0;
  while (bounds[j0 + 1] <= first) j0++;
  return cutFrom(n, at, bounds[j0], counts.slice(0, j0), { bounds, after: last });
}

/**
 * Cuts entries [from, n) (archive order) onto `counts` (entries per chunk).
 * With `old`: stops at a cut past `old.after` that is also one of
 * `old.bounds`, and takes the old chunks from there.
 */
function cutFrom(n: number, at: (i: number) => CpioEntry, from: number, counts: number[], old: { bounds: number[]; after: number } | undefined): number[] {
  const oldCuts = old ? new Set(old.bounds) : undefined;
  let start = from;
  let bytes = 0;
  for (let i = from; i < n; i++) {
    const e = at(i);
    const w = weight(e);
    if (bytes >= MIN && (bytes + w > MAX || i - start >= MAX_ENTRIES || pathHash(e.path) < 2 ** 32 * (w / AVG + 1 / AVG_ENTRIES))) {
      counts.push(i - start);
      start = i;
      bytes = 0;
      if (old && i > old.after && oldCuts!.has(i)) {
        const k = old.bounds.indexOf(i);
        for (let j = k; j < old.bounds.length - 1; j++) counts.push(old.bounds[j + 1] - old.bounds[j]);
        return counts;
      }
    }
    bytes += w;
  }
  if (start < n) counts.push(n - start);
  return counts;
}
