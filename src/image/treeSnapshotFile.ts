import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BadSnapshot, SNAPSHOT_BLOCK, TreeSnapshot, type SnapEntry } from '../derivations/treeSnapshot.js';
import { byteLines } from './byteLines.js';

/**
 * Tree snapshots (derivations/treeSnapshot.ts) live beside the stamp, not in
 * it: the no-op check reads the stamp on every run and needs none of them.
 * Each is trusted only when its random id is the one the stamp's layer memo
 * recorded, so a sidecar from another cut (or one whose stamp was never
 * written) is simply not used. A cache, like the stamp.
 *
 * Laid out in lines: a header (each tree's id, walk info and entry count),
 * then each tree's entries as JSON arrays of SNAPSHOT_BLOCK, so that a cut
 * parses only the blocks it asks for, and writes a snapshot it kept by
 * copying its lines.
 */
function sidecarPath(out: string): string {
  return join(dirname(out), `.${basename(out)}.rapido.tree.json`);
}

/** What the stamp records for a snapshot. */
export function snapshotKey(s: TreeSnapshot): string {
  return s.id;
}

/** Bumped when a snapshot's shape changes: a file of another version is not read. 2: blocks on lines. */
const SNAPSHOT_VERSION = 2;

interface Header {
  version?: number;
  trees?: Record<string, { id: string; trees: TreeSnapshot['trees']; elf: string[]; count: number; sharedSources: boolean }>;
}

export function readTreeSnapshots(out: string): Record<string, TreeSnapshot> {
  try {
    const bytes = readFileSync(sidecarPath(out));
    const lines = byteLines(bytes);
    const header = JSON.parse(lines[0]?.toString('utf8') ?? '') as Header;
    if (header?.version !== SNAPSHOT_VERSION || !header.trees || typeof header.trees !== 'object') return {};
    const snaps: Record<string, TreeSnapshot> = {};
    let line = 1;
    for (const [name, t] of Object.entries(header.trees)) {
      if (typeof t?.id !== 'string' || !Array.isArray(t.trees) || !Array.isArray(t.elf) || !Number.isInteger(t.count) || t.count < 0) return {};
      const first = line;
      const snap = new TreeSnapshot(t.id, t.trees, t.elf, t.count, t.sharedSources === true, (k) => readBlock(lines[first + k], t.count, k), (k) => lines[first + k]);
      line += snap.blocks;
      snaps[name] = snap;
    }
    return line === lines.length ? snaps : {};
  } catch {
    return {};
  }
}

function readBlock(line: Buffer | undefined, count: number, k: number): SnapEntry[] {
  let block: unknown;
  try {
    block = JSON.parse(line?.toString('utf8') ?? '');
  } catch {
    throw new BadSnapshot(`snapshot block ${k} is not JSON`);
  }
  const want = Math.min(SNAPSHOT_BLOCK, count - k * SNAPSHOT_BLOCK);
  if (!Array.isArray(block) || block.length !== want || !block.every((e) => Array.isArray(e) && typeof e[0] === 'string')) {
    throw new BadSnapshot(`snapshot block ${k} does not hold ${want} entries`);
  }
  return block as SnapEntry[];
}

/** Written before the stamp that vouches for it; none at all removes the file. */
export function writeTreeSnapshots(out: string, snaps: Record<string, TreeSnapshot>): void {
  const path = sidecarPath(out);
  if (Object.keys(snaps).length === 0) {
    rmSync(path, { force: true });
    return;
  }
  const header: Header = { version: SNAPSHOT_VERSION, trees: {} };
  const parts: Buffer[] = [];
  for (const [name, s] of Object.entries(snaps)) {
    header.trees![name] = { id: s.id, trees: s.trees, elf: s.elf, count: s.count, sharedSources: s.sharedSources };
    for (let k = 0; k < s.blocks; k++) parts.push(NL, s.blockBytes(k));
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(JSON.stringify(header)), ...parts]));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

const NL = Buffer.from('\n');
