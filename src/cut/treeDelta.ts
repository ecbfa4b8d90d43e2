import { closeSync, openSync, readdirSync, readSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { skippedInTree } from '../derivations/builders/treeLayer.js';
import type { CutContext } from '../derivations/builders/context.js';
import { typeOfModeBits, type CpioEntry } from '../derivations/cpio/cpioEntry.js';
import { derivePart, partName, type FileDigests, type NativePart } from '../derivations/deriveLayerKey.js';
import { lstatOrNull, sigMtimeMs, sigSize, statSig } from '../derivations/hostInputs.js';
import type { LayerPlan } from '../derivations/layerPlan.js';
import { rechunkCounts, totalWeight } from '../derivations/treeChunks.js';
import { BadSnapshot, snapshotEntry, type TreeShape, type TreeSnapshot } from '../derivations/treeSnapshot.js';
import { ChunkedInputs, distributeInputs } from './chunkInputs.js';
import { RACY_WINDOW_MS, type StampInput, type StampLayer } from '../image/stamp.js';

/**
 * A chunk after a delta: re-derived (`derivation` set), or the last cut's
 * layer unchanged (`reused`, its entries built only if asked: its object
 * may have to be written again; undefined if the snapshot no longer gives
 * them). A re-derived chunk that holds the same
 * entries as the last cut's (`prior`) can be written from that object,
 * reading only its changed entries' files (`dirty`: positions in the chunk).
 */
export type DeltaPart = { name: string; key: string } & (
  | { derivation: NativePart['derivation']; entries: CpioEntry[]; prior?: { layer: StampLayer; dirty: Set<number> } }
  | { reused: StampLayer; entriesOf: () => CpioEntry[] | undefined }
);

/** A snapshot entry whose size the stamp does not know: the tree is walked instead. */
class UnknownSize extends Error {}

/**
 * A tree plan re-derived from the last cut's snapshot when the stamp says
 * which inputs changed: only files whose content changed (in place or
 * replaced by a rename-save) and directories whose listing is the same.
 * Their entries get their new size, the chunks are cut again over the same
 * entries (boundaries are a pure function of them), and only a chunk that
 * holds a changed entry, or whose bounds moved, gets a new key. Anything
 * else (a file added, removed or renamed, a mode or type change, an ELF
 * file, an input outside the trees such as a system library or
 * ld.so.conf) returns undefined: the caller walks the tree as before. The
 * result equals a fresh derivation's, which the tests check.
 *
 * The work grows with the edit, not the tree: entries are built only for
 * the chunks an edit touches (and any the re-chunking scans), and sizes and
 * signatures are looked up in the chunks' own input lists.
 *
 * Racy inputs of the last cut (changed within a second of it, git's rule)
 * are re-checked though their signature holds: a file is re-hashed (the
 * stamp kept no digest for it), a directory re-read.
 */
export function treeDelta(
  plan: LayerPlan, ctx: CutContext, store: FileDigests, snap: TreeSnapshot, shape: TreeShape, olds: StampLayer[], changed: string[], cutStartMs: number,
): { parts: DeltaPart[]; inputs: StampInput[][]; racy: boolean; shape: TreeShape } | undefined {
  const n = snap.count;
  if (olds.length !== shape.chunks.length || shape.chunks.reduce((a, c) => a + c, 0) !== n) return undefined;
  const recorded = new ChunkedInputs(olds.map((o) => o.inputs));
  /** Inputs whose signature this cut takes anew: what they had, and what they have now. */
  const touched = new Map<string, Stats>();
  const sigBefore = new Map<string, string>();
  const sigNow = new Map<string, string>();
  const sigOf = (path: string) => sigNow.get(path) ?? recorded.sig(path);
  const elf = new Set(snap.elf);

  const files: string[] = [];
  for (const path of new Set([...changed, ...shape.racy])) {
    const old = recorded.sig(path);
    if (!old || old.startsWith('kind:')) return undefined;
    const tree = snap.trees.find((t) => path === t.hostDir || path.startsWith(t.hostDir.endsWith('/') ? t.hostDir : t.hostDir + '/'));
    if (!tree) return undefined;
    const oldMode = Number(old.slice(old.lastIndexOf(':') + 1));
    const st = lstatOrNull(path);
    if (!st || Number(st.mode) !== oldMode) return undefined;
    if (typeOfModeBits(oldMode) === 'dir') {
      // A directory the walk left out (.git) holds no inputs; a walked one must list the same names.
      if (path === tree.hostDir || !skippedInTree(basename(path), true, tree.all)) {
        const now = readdirSync(path).sort();
        const before = recorded.children(path).sort();
        if (now.length !== before.length || now.some((name, i) => name !== before[i])) return undefined;
      }
    } else if (typeOfModeBits(oldMode) === 'file') {
      // The library closure reads ELF files: a change there may change what it finds.
      if (elf.has(path) || startsWithElfMagic(path)) return undefined;
      files.push(path);
    } else {
      return undefined;
    }
    touched.set(path, st);
    sigBefore.set(path, old);
    sigNow.set(path, statSig(st));
  }

  // Entries are built only where asked: the changed chunks and what the re-chunking scans.
  const built: (CpioEntry | undefined)[] = new Array(n);
  const sizeOf = (source: string) => {
    const sig = sigOf(source);
    return sig && !sig.startsWith('kind:') ? sigSize(sig) : undefined;
  };
  const at = (i: number): CpioEntry => {
    const e = (built[i] ??= snapshotEntry(snap, i, sizeOf));
    if (!e) throw new UnknownSize();
    return e;
  };
  const range = (from: number, to: number) => {
    const out: CpioEntry[] = [];
    for (let i = from; i < to; i++) out.push(at(i));
    return out;
  };
  try {
    // Where the changed files sit (usually one or two among thousands of entries), and what their
    // sizes did to the total weight (weight is header, name and size). A file's entry is in the chunk
    // whose stamp layer records it (chunkInputs.ts), so only that chunk's entries are read; a source
    // of several entries, or one recorded elsewhere (an older stamp), is looked for among them all.
    const dirty = new Set<number>();
    let sizeDelta = 0;
    const bounds = [0];
    for (const c of shape.chunks) bounds.push(bounds[bounds.length - 1] + c);
    const lookIn = (from: number, to: number, path: string): boolean => {
      let found = false;
      for (let i = from; i < to; i++) {
        const e = snap.entry(i);
        if (e[1] !== 'file' || e[3] !== path) continue;
        dirty.add(i);
        sizeDelta += sigSize(sigNow.get(path)!) - sigSize(sigBefore.get(path)!);
        found = true;
      }
      return found;
    };
    for (const path of files) {
      const j = snap.sharedSources ? undefined : recorded.find(path)?.[0];
      if (j === undefined || !lookIn(bounds[j], bounds[j + 1], path)) lookIn(0, n, path);
    }
    const weight = typeof shape.weight === 'number' ? shape.weight + sizeDelta : totalWeight(range(0, n));
    const counts = rechunkCounts(n, at, shape.chunks, [...dirty], weight);

    const digests = new Map<string, string>();
    const digestOf = (e: CpioEntry) => {
      const d = store.digest(e.source!, sigOf(e.source!));
      digests.set(e.source!, d);
      return d;
    };
    const sameBounds = counts.length === shape.chunks.length && counts.every((c, j) => c === shape.chunks[j]);
    const parts: DeltaPart[] = [];
    let start = 0;
    for (const [j, count] of counts.entries()) {
      const name = partName(plan, j, counts.length);
      const old = olds[j];
      const sameRange = old !== undefined && old.name === name && sameBounds;
      const end = start + count;
      let clean = sameRange;
      for (const i of dirty) if (i >= start && i < end) clean = false;
      if (clean) {
        const [from, to] = [start, end];
        parts.push({ name, key: old.key, reused: old, entriesOf: () => lazily(() => range(from, to)) });
      } else {
        const part = derivePart(plan, ctx, name, range(start, end), digestOf);
        const dirtyHere = new Set([...dirty].filter((i) => i >= start && i < end).map((i) => i - start));
        parts.push(sameRange && part.key !== old.key ? { ...part, prior: { layer: old, dirty: dirtyHere } } : part);
      }
      start = end;
    }

    // The stamp's inputs, as a walk would record them: the touched ones taken anew, each list
    // still in path order, and each file on its chunk's list.
    const trusted = cutStartMs - RACY_WINDOW_MS;
    const renew = (input: StampInput): StampInput => {
      const st = touched.get(input[0]);
      if (!st) return input;
      const d = digests.get(input[0]);
      return d && st.mtimeMs <= trusted ? [input[0], statSig(st), d] : [input[0], statSig(st)];
    };
    let inputs: StampInput[][];
    if (sameBounds) {
      const lists = new Set([...touched.keys()].map((path) => recorded.find(path)![0]));
      inputs = recorded.lists.map((list, j) => (lists.has(j) ? list.map(renew) : list));
    } else {
      // Bounds moved (an edit crossed a chunk's limits): files move between chunks' lists.
      const chunkOfSource = new Map<string, number>();
      let j = 0;
      let end = counts[0];
      for (let i = 0; i < n; i++) {
        while (i >= end) end += counts[++j];
        const e = snap.entry(i);
        if (e[1] === 'file' && !chunkOfSource.has(e[3])) chunkOfSource.set(e[3], j);
      }
      const all = recorded.all().map(renew).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      inputs = distributeInputs(all, (path) => chunkOfSource.get(path), counts.length);
    }
    // Which inputs are racy now: only those that were racy at the last cut or were touched. Any
    // other input's mtime was already outside the last cut's window, and the window only moves on.
    const racyNow: string[] = [];
    for (const path of [...sigBefore.keys(), ...shape.racy.filter((p) => !sigBefore.has(p))].sort()) {
      const sig = sigOf(path);
      if (sig && !sig.startsWith('kind:') && sigMtimeMs(sig) > trusted) racyNow.push(path);
    }
    return { parts, inputs, racy: racyNow.length > 0, shape: { chunks: counts, weight, keys: shape.keys, racy: racyNow } };
  } catch (e) {
    if (e instanceof UnknownSize || e instanceof BadSnapshot) return undefined;
    throw e;
  }
}

/** Undefined where the snapshot no longer gives the entries (a block that does not read back). */
function lazily(f: () => CpioEntry[]): CpioEntry[] | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof UnknownSize || e instanceof BadSnapshot) return undefined;
    throw e;
  }
}

function startsWithElfMagic(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return true; // unreadable now: let the full walk say what it is
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The inputs a cut records as racy for the next one (see TreeSnapshot.racy). */
export function racyInputs(list: StampInput[], trusted: number): string[] {
  const out: string[] = [];
  for (const [path, sig] of list) {
    if (sig && !sig.startsWith('kind:') && sigMtimeMs(sig) > trusted) out.push(path);
  }
  return out;
}
