import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { skippedInTree } from '../derivations/builders/treeLayer.js';
import type { CutContext } from '../derivations/builders/context.js';
import type { CpioEntry } from '../derivations/cpio/cpioEntry.js';
import { derivePart, entryDigester, partName, type FileDigests, type NativePart } from '../derivations/deriveLayerKey.js';
import { HostInputs, lstatOrNull, sigMtimeMs } from '../derivations/hostInputs.js';
import type { LayerPlan } from '../derivations/layerPlan.js';
import { entryWeight, rechunk } from '../derivations/treeChunks.js';
import { fromSnapshot, withEntries, type TreeSnapshot } from '../derivations/treeSnapshot.js';
import type { StampInput, StampLayer } from '../image/stamp.js';

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
  plan: LayerPlan, ctx: CutContext, store: FileDigests, snap: TreeSnapshot, olds: StampLayer[], changed: string[],
): { parts: DeltaPart[]; inputs: HostInputs; snapshot: (racy: string[]) => TreeSnapshot } | undefined {
  const oldInputs = olds[0].inputs;
  const inputs = new HostInputs();
  const sigOf = new Map<string, string | null>();
  for (const [path, sig, digest] of oldInputs) {
    sigOf.set(path, sig);
    inputs.sigs.set(path, sig);
    if (digest) inputs.digests.set(path, digest);
    if (sig && !sig.startsWith('kind:')) {
      const mtime = sigMtimeMs(sig);
      inputs.mtimes.set(path, mtime);
      if (mtime > inputs.newestMtimeMs) inputs.newestMtimeMs = mtime;
    }
  }
  const entries = fromSnapshot(snap);
  const bySource = new Map<string, number>();
  entries.forEach((e, i) => {
    if (e.source) bySource.set(e.source, i);
  });
  const elf = new Set(snap.elf);
  const dirty = new Set<number>();
  let weight = snap.weight;
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

  for (const path of new Set([...changed, ...snap.racy])) {
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
      inputs.digests.delete(path);
      const i = bySource.get(path);
      if (i !== undefined) {
        weight -= entryWeight(entries[i]);
        entries[i].size = Number(st.size);
        weight += entryWeight(entries[i]);
        dirty.add(i);
      }
    } else {
      return undefined;
    }
    inputs.record(path, st);
  }

  const digestOf = entryDigester(store, inputs);
  const chunks = rechunk(entries, snap.chunks, [...dirty], weight);
  const parts: DeltaPart[] = [];
  let start = 0;
  let oldStart = 0;
  for (const [j, chunk] of chunks.entries()) {
    const name = partName(plan, j, chunks.length);
    const old = olds[j];
    let clean = old !== undefined && old.name === name && snap.chunks.length === chunks.length && oldStart === start && snap.chunks[j] === chunk.length;
    for (let i = start; clean && i < start + chunk.length; i++) if (dirty.has(i)) clean = false;
    const sameRange = old !== undefined && old.name === name && snap.chunks.length === chunks.length && oldStart === start && snap.chunks[j] === chunk.length;
    if (clean) parts.push({ name, key: old.key, entries: chunk, reused: old });
    else {
      const part = derivePart(plan, ctx, name, chunk, digestOf);
      const dirtyHere = new Set([...dirty].filter((i) => i >= start && i < start + chunk.length).map((i) => i - start));
      parts.push(sameRange && part.key !== old.key ? { ...part, prior: { layer: old, dirty: dirtyHere } } : part);
    }
    start += chunk.length;
    oldStart += snap.chunks[j] ?? 0;
  }
  return { parts, inputs, snapshot: (racy) => withEntries(snap, entries, chunks.map((c) => c.length), weight, racy) };
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
