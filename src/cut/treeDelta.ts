import { closeSync, openSync, readdirSync, readSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { skippedInTree } from '../derivations/builders/treeLayer.js';
import type { CutContext } from '../derivations/builders/context.js';
import type { CpioEntry } from '../derivations/cpio/cpioEntry.js';
import { derivePart, partName, type FileDigests, type NativePart } from '../derivations/deriveLayerKey.js';
import { lstatOrNull, sigMtimeMs, sigSize, statSig } from '../derivations/hostInputs.js';
import type { LayerPlan } from '../derivations/layerPlan.js';
import { rechunk, totalWeight } from '../derivations/treeChunks.js';
import { fromSnapshot, type TreeShape, type TreeSnapshot } from '../derivations/treeSnapshot.js';
import { RACY_WINDOW_MS, type StampInput, type StampLayer } from '../image/stamp.js';

/**
 * A chunk after a delta: re-derived (`derivation` set), or the last cut's
 * layer unchanged (`reused`). A re-derived chunk that holds the same
 * entries as the last cut's (`prior`) can be written from that object,
 * reading only its changed entries' files (`dirty`: positions in the chunk).
 */
export type DeltaPart = { name: string; key: string; entries: CpioEntry[] } & (
  | { derivation: NativePart['derivation']; prior?: { layer: StampLayer; dirty: Set<number> } }
  | { reused: StampLayer }
);

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

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
 * Racy inputs of the last cut (changed within a second of it, git's rule)
 * are re-checked though their signature holds: a file is re-hashed (the
 * stamp kept no digest for it), a directory re-read.
 */
export function treeDelta(
  plan: LayerPlan, ctx: CutContext, store: FileDigests, snap: TreeSnapshot, shape: TreeShape, olds: StampLayer[], changed: string[], cutStartMs: number,
): { parts: DeltaPart[]; inputs: StampInput[]; racy: boolean; shape: TreeShape } | undefined {
  const oldInputs = olds[0].inputs;
  const sigOf = new Map<string, string | null>();
  for (const [path, sig] of oldInputs) sigOf.set(path, sig);
  /** Inputs whose signature this cut takes anew, and what it records for them. */
  const touched = new Map<string, Stats>();
  const sigBefore = new Map<string, string>();
  const elf = new Set(snap.elf);
  let children: Map<string, string[]> | undefined;
  const childrenOf = (dir: string): string[] => {
    if (!children) {
      children = new Map();
      for (const [p] of oldInputs) {
        const d = dirname(p);
        const list = children.get(d);
        if (list) list.push(basename(p));
        else children.set(d, [basename(p)]);
      }
    }
    return children.get(dir) ?? [];
  };

  const files: string[] = [];
  for (const path of new Set([...changed, ...shape.racy])) {
    const old = sigOf.get(path);
    if (!old || old.startsWith('kind:')) return undefined;
    const tree = snap.trees.find((t) => path === t.hostDir || path.startsWith(t.hostDir.endsWith('/') ? t.hostDir : t.hostDir + '/'));
    if (!tree) return undefined;
    const oldMode = Number(old.slice(old.lastIndexOf(':') + 1));
    const st = lstatOrNull(path);
    if (!st || Number(st.mode) !== oldMode) return undefined;
    if ((oldMode & S_IFMT) === S_IFDIR) {
      // A directory the walk left out (.git) holds no inputs; a walked one must list the same names.
      if (path === tree.hostDir || !skippedInTree(basename(path), true, tree.all)) {
        const now = readdirSync(path).sort();
        const before = childrenOf(path).sort();
        if (now.length !== before.length || now.some((n, i) => n !== before[i])) return undefined;
      }
    } else if ((oldMode & S_IFMT) === S_IFREG) {
      // The library closure reads ELF files: a change there may change what it finds.
      if (elf.has(path) || startsWithElfMagic(path)) return undefined;
      files.push(path);
    } else {
      return undefined;
    }
    touched.set(path, st);
    sigBefore.set(path, old);
    sigOf.set(path, statSig(st));
  }

  const entries = fromSnapshot(snap, (source) => {
    const sig = sigOf.get(source);
    return sig && !sig.startsWith('kind:') ? sigSize(sig) : undefined;
  });
  if (!entries) return undefined;
  // Where the changed files sit (usually one or two among thousands of entries, so no map of them
  // all), and what their sizes did to the total weight (weight is header, name and size).
  const dirty = new Set<number>();
  let sizeDelta = 0;
  if (files.length) {
    const wanted = new Set(files);
    entries.forEach((e, i) => {
      if (e.source === undefined || !wanted.has(e.source)) return;
      dirty.add(i);
      sizeDelta += sigSize(sigOf.get(e.source)!) - sigSize(sigBefore.get(e.source)!);
    });
  }
  const weight = typeof shape.weight === 'number' ? shape.weight + sizeDelta : totalWeight(entries);

  const digests = new Map<string, string>();
  const digestOf = (e: CpioEntry) => {
    const d = store.digest(e.source!, sigOf.get(e.source!));
    digests.set(e.source!, d);
    return d;
  };
  const chunks = rechunk(entries, shape.chunks, [...dirty], weight);
  const parts: DeltaPart[] = [];
  let start = 0;
  let oldStart = 0;
  for (const [j, chunk] of chunks.entries()) {
    const name = partName(plan, j, chunks.length);
    const old = olds[j];
    const sameRange = old !== undefined && old.name === name && shape.chunks.length === chunks.length && oldStart === start && shape.chunks[j] === chunk.length;
    let clean = sameRange;
    for (let i = start; clean && i < start + chunk.length; i++) if (dirty.has(i)) clean = false;
    if (clean) parts.push({ name, key: old.key, entries: chunk, reused: old });
    else {
      const part = derivePart(plan, ctx, name, chunk, digestOf);
      const dirtyHere = new Set([...dirty].filter((i) => i >= start && i < start + chunk.length).map((i) => i - start));
      parts.push(sameRange && part.key !== old.key ? { ...part, prior: { layer: old, dirty: dirtyHere } } : part);
    }
    start += chunk.length;
    oldStart += shape.chunks[j] ?? 0;
  }

  // The stamp's inputs: the old list (sorted by path) with the touched ones taken anew, as stampInputs would record them.
  const trusted = cutStartMs - RACY_WINDOW_MS;
  const inputs: StampInput[] = touched.size === 0 ? oldInputs : oldInputs.map((input) => {
    const st = touched.get(input[0]);
    if (!st) return input;
    const d = digests.get(input[0]);
    return d && st.mtimeMs <= trusted ? [input[0], statSig(st), d] : [input[0], statSig(st)];
  });
  // Which inputs are racy now: only those that were racy at the last cut or were touched. Any
  // other input's mtime was already outside the last cut's window, and the window only moves on.
  const racyNow: string[] = [];
  for (const path of [...sigBefore.keys(), ...shape.racy.filter((p) => !sigBefore.has(p))].sort()) {
    const sig = sigOf.get(path);
    if (sig && !sig.startsWith('kind:') && sigMtimeMs(sig) > trusted) racyNow.push(path);
  }
  return { parts, inputs, racy: racyNow.length > 0, shape: { chunks: chunks.map((c) => c.length), weight, keys: shape.keys, racy: racyNow } };
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
