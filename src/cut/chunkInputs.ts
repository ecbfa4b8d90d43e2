import type { StampInput } from '../image/stamp.js';

/**
 * A chunked plan (a big tree, kmods) records each input on the stamp layer
 * of the chunk that holds the entry it is the source of, and the rest
 * (directories, files outside the tree that the library closure read) on
 * the first chunk's. An edit then changes one chunk's list, and the stamp
 * rewrites that layer's text alone (stamp.ts); before, a 500 MiB tree's
 * 14,600 inputs all sat on its first layer and were written out again at
 * every edit. Each list stays in path order (its part of `inputs`).
 */
export function distributeInputs(inputs: StampInput[], chunkOf: (path: string) => number | undefined, chunks: number): StampInput[][] {
  const out = Array.from({ length: chunks }, () => [] as StampInput[]);
  for (const input of inputs) out[chunkOf(input[0]) ?? 0].push(input);
  return out;
}

/** Position of the first input whose path is not before `path` (lists are in path order, JS string order). */
function lowerBound(list: StampInput[], path: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid][0] < path) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Position of `path` in a path-ordered list, or -1. A list out of order only makes this miss. */
function findInput(list: StampInput[], path: string): number {
  const i = lowerBound(list, path);
  return i < list.length && list[i][0] === path ? i : -1;
}

/**
 * A plan's inputs as the last stamp recorded them, over its chunks' layers
 * (distributeInputs, or all on the first layer as older stamps have them),
 * looked up without a map of them all: an edit of a big tree asks about a
 * few paths and one chunk's files.
 */
export class ChunkedInputs {
  /** The list of the last hit: lookups come in runs from one chunk (its files, in order). */
  private last = 0;

  constructor(readonly lists: StampInput[][]) {}

  /** Where a path is recorded, as [list, position]. */
  find(path: string): [number, number] | undefined {
    const first = this.lists[this.last] ? findInput(this.lists[this.last], path) : -1;
    if (first >= 0) return [this.last, first];
    for (const [j, list] of this.lists.entries()) {
      if (j === this.last || list.length === 0 || path < list[0][0] || path > list[list.length - 1][0]) continue;
      const i = findInput(list, path);
      if (i >= 0) return [(this.last = j), i];
    }
    return undefined;
  }

  input(path: string): StampInput | undefined {
    const at = this.find(path);
    return at && this.lists[at[0]][at[1]];
  }

  sig(path: string): string | null | undefined {
    return this.input(path)?.[1];
  }

  /** The names recorded directly in `dir` (descendants of a path are contiguous in path order). */
  children(dir: string): string[] {
    const prefix = dir.endsWith('/') ? dir : dir + '/';
    const names: string[] = [];
    for (const list of this.lists) {
      for (let i = lowerBound(list, prefix); i < list.length && list[i][0].startsWith(prefix); i++) {
        const rest = list[i][0].slice(prefix.length);
        if (rest && !rest.includes('/')) names.push(rest);
      }
    }
    return names;
  }

  all(): StampInput[] {
    return this.lists.flat();
  }
}
