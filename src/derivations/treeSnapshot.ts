import { uniqueSuffix } from '../store/uniqueSuffix.js';
import type { CpioEntry } from './cpio/cpioEntry.js';
import { sortedEntries } from './cpio/writeNewc.js';
import type { TreeWalkInfo } from './builders/treeLayer.js';

/** An entry as a snapshot keeps it: enough to write it again without walking the tree (a file's size is in its source's stat signature). */
type SnapEntry =
  | [path: string, type: 'file', mode: number, source: string]
  | [path: string, type: 'symlink', mode: number, target: string]
  | [path: string, type: 'dir' | 'fifo', mode: number];

/**
 * A tree plan's entries as the last walk found them, so that a later cut,
 * told by the stamp which host files changed, patches them instead of
 * walking the whole tree, re-checking every ELF header and re-keying every
 * chunk (cut/treeDelta.ts). A cache: the same entries a walk would give.
 * It does not change when files change content only (sizes come from the
 * stamp's signatures, the rest from TreeShape), so such a cut leaves it as
 * it is.
 */
export interface TreeSnapshot extends TreeWalkInfo {
  /** Random, new with each snapshot: the stamp's layer memo names the one it goes with. */
  id: string;
  /** In archive order (sortedEntries). */
  entries: SnapEntry[];
}

/** What each cut records of a snapshotted tree in the stamp (its first layer's memo): small, unlike the entries. */
export interface TreeShape {
  /** How many entries each chunk (layer) holds, in order. */
  chunks: number[];
  /** Their total weight (treeChunks.ts), which decides whether the tree is chunked at all; absent: computed again. */
  weight?: number;
  /** keyFingerprint() of the build that made the chunks' keys: another one re-derives them all. */
  keys?: string;
  /** Inputs changed within the racy window of that cut: re-checked (a file re-hashed, a directory re-read) even if their signature holds. */
  racy: string[];
}

/** Undefined when an entry is of a kind a tree walk does not make (in-memory data, devices, hard links): no snapshot then. */
/** `sizeOf`: the size in a source's recorded signature, which must be the entry's (the next cut takes it from there). */
export function toSnapshot(info: TreeWalkInfo, entries: CpioEntry[], sizeOf: (source: string) => number | undefined): TreeSnapshot | undefined {
  const out: SnapEntry[] = [];
  for (const e of sortedEntries(entries)) {
    if (e.data || e.hardlinkGroup || e.recordedDigest) return undefined;
    if (e.type === 'file' && e.source !== undefined && e.size !== undefined && sizeOf(e.source) === e.size) out.push([e.path, 'file', e.mode, e.source]);
    else if (e.type === 'symlink' && e.target !== undefined) out.push([e.path, 'symlink', e.mode, e.target]);
    else if (e.type === 'dir' || e.type === 'fifo') out.push([e.path, e.type, e.mode]);
    else return undefined;
  }
  return { id: newId(), trees: info.trees, elf: info.elf, entries: out };
}

/** Entry `i` again, as the tree builder made it; undefined if its file's size is unknown (`sizeOf`, from the stamp's signatures). */
export function snapshotEntry(s: TreeSnapshot, i: number, sizeOf: (source: string) => number | undefined): CpioEntry | undefined {
  const e = s.entries[i];
  if (e[1] === 'symlink') return { path: e[0], type: 'symlink', mode: e[2], target: e[3] };
  if (e[1] !== 'file') return { path: e[0], type: e[1], mode: e[2] };
  const size = sizeOf(e[3]);
  return size === undefined ? undefined : { path: e[0], type: 'file', mode: e[2], source: e[3], size };
}

/** Unique per cut, not secret: the pid and a time-based suffix (node:crypto would cost the warm cut its load). */
function newId(): string {
  return process.pid.toString(16) + uniqueSuffix();
}
