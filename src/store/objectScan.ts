import fs from 'node:fs';
import path from 'node:path';
import { isLayerKey } from './objectPath.js';
import type { StoreDir } from './types.js';

/** One entry found under objects/. */
export interface ScannedFile {
  /** The layer key when the entry is a regular file at its right place, else null (a stray). */
  key: string | null;
  path: string;
  size: number;
  mtimeMs: number;
  /** What the entry is when it is not an object: "directory", "symlink", "misplaced", "bad name", ... */
  stray?: string;
}

const SHARD_RE = /^[0-9a-f]{2}$/;

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFile()) return 'file';
  return 'special file';
}

/**
 * Every entry under objects/: layer objects (`<k0k1>/<key>`, regular files)
 * and strays (anything else: temp leftovers from an old layout, files under
 * the wrong shard, symlinks, ...). Only two levels are read; a stray
 * directory is reported as one entry, its contents are not listed.
 */
export function scanObjects(store: StoreDir): ScannedFile[] {
  const out: ScannedFile[] = [];
  let shards: string[];
  try {
    shards = fs.readdirSync(store.paths.objects);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  for (const shard of shards.sort()) {
    const sp = path.join(store.paths.objects, shard);
    const sst = fs.lstatSync(sp, { throwIfNoEntry: false });
    if (!sst) continue;
    if (!SHARD_RE.test(shard) || !sst.isDirectory()) {
      out.push({ key: null, path: sp, size: sst.isFile() ? sst.size : 0, mtimeMs: sst.mtimeMs, stray: sst.isDirectory() ? 'directory' : kindOf(sst) });
      continue;
    }
    for (const name of fs.readdirSync(sp).sort()) {
      const p = path.join(sp, name);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue; // removed meanwhile
      const size = st.isFile() ? st.size : 0;
      if (!st.isFile()) out.push({ key: null, path: p, size, mtimeMs: st.mtimeMs, stray: kindOf(st) });
      else if (!isLayerKey(name)) out.push({ key: null, path: p, size, mtimeMs: st.mtimeMs, stray: 'not a layer key' });
      else if (name.slice(0, 2) !== shard) out.push({ key: null, path: p, size, mtimeMs: st.mtimeMs, stray: 'in the wrong shard' });
      else out.push({ key: name, path: p, size, mtimeMs: st.mtimeMs });
    }
  }
  return out;
}
