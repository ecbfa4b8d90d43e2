import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TreeSnapshot } from '../derivations/treeSnapshot.js';

/**
 * Tree snapshots (derivations/treeSnapshot.ts) live beside the stamp, not in
 * it: the no-op check reads the stamp on every run and needs none of them.
 * Each is trusted only when its random id is the one the stamp's layer memo
 * recorded, so a sidecar from another cut (or one whose stamp was never
 * written) is simply not used. A cache, like the stamp.
 */
function sidecarPath(out: string): string {
  return join(dirname(out), `.${basename(out)}.rapido.tree.json`);
}

/** What the stamp records for a snapshot. */
export function snapshotKey(s: TreeSnapshot): string {
  return s.id;
}

/** Bumped when a snapshot's shape changes: a file of another version is not read. */
const SNAPSHOT_VERSION = 1;

export function readTreeSnapshots(out: string): Record<string, TreeSnapshot> {
  try {
    const file = JSON.parse(readFileSync(sidecarPath(out), 'utf8')) as { version?: number; trees?: Record<string, TreeSnapshot> };
    return file?.version === SNAPSHOT_VERSION && file.trees && typeof file.trees === 'object' ? file.trees : {};
  } catch {
    return {};
  }
}

/** Written before the stamp that vouches for it; none at all removes the file. */
export function writeTreeSnapshots(out: string, snaps: Record<string, TreeSnapshot>): void {
  const path = sidecarPath(out);
  if (Object.keys(snaps).length === 0) {
    rmSync(path, { force: true });
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify({ version: SNAPSHOT_VERSION, trees: snaps }));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
