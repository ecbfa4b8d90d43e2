import { uniqueSuffix } from '../store/uniqueSuffix.js';
import type { CpioEntry } from './cpio/cpioEntry.js';
import { sortedEntries } from './cpio/writeNewc.js';
import type { TreeWalkInfo } from './builders/treeLayer.js';

/** An entry as a snapshot keeps it: enough to write it again without walking the tree (a file's size is in its source's stat signature). */
export type SnapEntry =
  | [path: string, type: 'file', mode: number, source: string]
  | [path: string, type: 'symlink', mode: number, target: string]
  | [path: string, type: 'dir' | 'fifo', mode: number];

/** Entries per block: the unit a snapshot is stored and parsed in (image/treeSnapshotFile.ts). */
export const SNAPSHOT_BLOCK = 256;

/**
 * A tree plan's entries as the last walk found them, so that a later cut,
 * told by the stamp which host files changed, patches them instead of
 * walking the whole tree, re-checking every ELF header and re-keying every
 * chunk (cut/treeDelta.ts). A cache: the same entries a walk would give.
 * It does not change when files change content only (sizes come from the
 * stamp's signatures, the rest from TreeShape), so such a cut leaves it as
 * it is.
 *
 * Entries come in blocks of SNAPSHOT_BLOCK, each read only when asked for:
 * an edit of a big tree looks at the blocks of the chunks it touches.
 */
export class TreeSnapshot implements TreeWalkInfo {
  private readonly loaded: (SnapEntry[] | undefined)[] = [];

  constructor(
    /** Random, new with each snapshot: the stamp's layer memo names the one it goes with. */
    readonly id: string,
    readonly trees: TreeWalkInfo['trees'],
    readonly elf: string[],
    /** How many entries, in archive order (sortedEntries). */
    readonly count: number,
    /** Some host file is the source of more than one entry: its entries are found by scanning them all. */
    readonly sharedSources: boolean,
    /** Block k's entries (may throw BadSnapshot). */
    private readonly readBlock: (k: number) => SnapEntry[],
    /** Block k as stored, when read from a file: written again as it is. */
    private readonly storedBlock?: (k: number) => Buffer,
  ) {}

  entry(i: number): SnapEntry {
    const k = Math.floor(i / SNAPSHOT_BLOCK);
    return (this.loaded[k] ??= this.readBlock(k))[i - k * SNAPSHOT_BLOCK];
  }

  get blocks(): number {
    return Math.ceil(this.count / SNAPSHOT_BLOCK);
  }

  /** Block k as a line of JSON. */
  blockBytes(k: number): Buffer {
    return this.storedBlock?.(k) ?? Buffer.from(JSON.stringify(this.loaded[k] ?? this.readBlock(k)));
  }
}

/** A snapshot whose stored blocks do not read back: the tree is walked instead. */
export class BadSnapshot extends Error {}

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
  const sources = new Set<string>();
  let shared = false;
  for (const e of sortedEntries(entries)) {
    if (e.data || e.hardlinkGroup || e.recordedDigest) return undefined;
    if (e.type === 'file' && e.source !== undefined && e.size !== undefined && sizeOf(e.source) === e.size) {
      out.push([e.path, 'file', e.mode, e.source]);
      if (sources.has(e.source)) shared = true;
      sources.add(e.source);
    } else if (e.type === 'symlink' && e.target !== undefined) out.push([e.path, 'symlink', e.mode, e.target]);
    else if (e.type === 'dir' || e.type === 'fifo') out.push([e.path, e.type, e.mode]);
    else return undefined;
  }
  return new TreeSnapshot(newId(), info.trees, info.elf, out.length, shared, (k) => out.slice(k * SNAPSHOT_BLOCK, (k + 1) * SNAPSHOT_BLOCK));
}

/** Entry `i` again, as the tree builder made it; undefined if its file's size is unknown (`sizeOf`, from the stamp's signatures). */
export function snapshotEntry(s: TreeSnapshot, i: number, sizeOf: (source: string) => number | undefined): CpioEntry | undefined {
  const e = s.entry(i);
  if (e[1] === 'symlink') return { path: e[0], type: 'symlink', mode: e[2], target: e[3] };
  if (e[1] !== 'file') return { path: e[0], type: e[1], mode: e[2] };
  const size = sizeOf(e[3]);
  return size === undefined ? undefined : { path: e[0], type: 'file', mode: e[2], source: e[3], size };
}

/** Unique per cut, not secret: the pid and a time-based suffix (node:crypto would cost the warm cut its load). */
function newId(): string {
  return process.pid.toString(16) + uniqueSuffix();
}
