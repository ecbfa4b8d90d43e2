import { randomBytes } from 'node:crypto';
import type { CpioEntry } from './cpio/cpioEntry.js';
import { sortedEntries } from './cpio/writeNewc.js';
import type { TreeWalkInfo } from './builders/treeLayer.js';
import { totalWeight } from './treeChunks.js';

/** An entry as a snapshot keeps it: enough to write it again without walking the tree. */
type SnapEntry =
  | [path: string, type: 'file', mode: number, source: string, size: number]
  | [path: string, type: 'symlink', mode: number, target: string]
  | [path: string, type: 'dir' | 'fifo', mode: number];

/**
 * A tree plan's entries as the last cut derived them, so that the next cut,
 * told by the stamp which host files changed, patches them instead of
 * walking the whole tree, re-checking every ELF header and re-keying every
 * chunk (cut/treeDelta.ts). A cache: the same entries a walk would give.
 */
export interface TreeSnapshot extends TreeWalkInfo {
  /** Random, new with each snapshot: the stamp's layer memo names the one it goes with. */
  id: string;
  /** In archive order (sortedEntries). */
  entries: SnapEntry[];
  /** How many entries each chunk (layer) holds, in order. */
  chunks: number[];
  /** Their total weight (treeChunks.ts), which decides whether the tree is chunked at all. */
  weight: number;
  /** Inputs changed within the racy window of that cut: re-checked (a file re-hashed, a directory re-read) even if their signature holds. */
  racy: string[];
}

/** Undefined when an entry is of a kind a tree walk does not make (in-memory data, devices, hard links): no snapshot then. */
export function toSnapshot(info: TreeWalkInfo, entries: CpioEntry[], chunks: number[], racy: string[]): TreeSnapshot | undefined {
  const out: SnapEntry[] = [];
  for (const e of sortedEntries(entries)) {
    if (e.data || e.hardlinkGroup || e.recordedDigest) return undefined;
    if (e.type === 'file' && e.source !== undefined && e.size !== undefined) out.push([e.path, 'file', e.mode, e.source, e.size]);
    else if (e.type === 'symlink' && e.target !== undefined) out.push([e.path, 'symlink', e.mode, e.target]);
    else if (e.type === 'dir' || e.type === 'fifo') out.push([e.path, e.type, e.mode]);
    else return undefined;
  }
  return { id: newId(), trees: info.trees, elf: info.elf, entries: out, chunks, weight: totalWeight(entries), racy };
}

/** The entries again, as the tree builder made them, in archive order. */
export function fromSnapshot(s: TreeSnapshot): CpioEntry[] {
  return s.entries.map((e) => {
    switch (e[1]) {
      case 'file': return { path: e[0], type: 'file', mode: e[2], source: e[3], size: e[4] };
      case 'symlink': return { path: e[0], type: 'symlink', mode: e[2], target: e[3] };
      default: return { path: e[0], type: e[1], mode: e[2] };
    }
  });
}

/** Back to a snapshot after a delta changed some entries' sizes (same entries, same order). */
export function withEntries(s: TreeSnapshot, entries: CpioEntry[], chunks: number[], weight: number, racy: string[]): TreeSnapshot {
  return { ...s, id: newId(), weight, entries: entries.map((e) => (e.type === 'file' ? [e.path, 'file', e.mode, e.source!, e.size!] : e.type === 'symlink' ? [e.path, 'symlink', e.mode, e.target!] : [e.path, e.type as 'dir' | 'fifo', e.mode])), chunks, racy };
}

function newId(): string {
  return randomBytes(8).toString('hex');
}
