import { existsSync, statfsSync } from 'node:fs';
import { lazyChildProcess } from '../lazyBuiltins.js';

/**
 * Shares a store object's blocks with the image instead of copying them
 * (FICLONERANGE), where the filesystem can: XFS (reflink is mkfs.xfs's
 * default since xfsprogs 5.1) and btrfs. A cold cut then writes its bytes
 * once, into the store, and the image and its spare take no space of their
 * own for them. Node has no call for the ioctl, so xfs_io (xfsprogs) issues
 * it: one process for all of an image's ranges. Anything it cannot do
 * (another filesystem, reflink off, xfs_io missing, a path it cannot take)
 * means false, and the caller writes those ranges as before.
 */
export interface CloneRange {
  src: string;
  srcOffset: number;
  destOffset: number;
  length: number;
}

const XFS_SUPER_MAGIC = 0x58465342;
const BTRFS_SUPER_MAGIC = 0x9123683e;

/** The block size clones into `dir` must be aligned to, or undefined where its filesystem cannot share blocks. */
export function cloneBlockSize(dir: string): number | undefined {
  try {
    const st = statfsSync(dir);
    return st.type === XFS_SUPER_MAGIC || st.type === BTRFS_SUPER_MAGIC ? st.bsize : undefined;
  } catch {
    return undefined;
  }
}

// xfs_io splits a command on blanks and knows no quoting: a path with anything else is copied instead.
const PLAIN_PATH = /^\/[\w./@+,:=-]*$/;

/** True for an absolute path xfs_io can be given in a command (others are copied). */
export function canCloneWith(path: string): boolean {
  return PLAIN_PATH.test(path);
}

let xfsIo: string | null | undefined;
function findXfsIo(): string | null {
  // In /usr/sbin, which a non-root PATH often lacks.
  xfsIo ??= ['/usr/sbin/xfs_io', '/sbin/xfs_io', '/usr/bin/xfs_io'].find((p) => existsSync(p)) ?? null;
  return xfsIo;
}

/**
 * Clones each range of `src` into the file at `dest` (an absolute path),
 * all or nothing as far as the caller knows: true only when xfs_io did every
 * one without a word. On false some ranges may hold cloned bytes; the
 * caller overwrites them all.
 */
export function cloneRanges(dest: string, ranges: CloneRange[]): boolean {
  const tool = findXfsIo();
  if (!tool || ranges.length === 0 || !canCloneWith(dest) || !ranges.every((r) => canCloneWith(r.src))) return false;
  const commands = ranges.flatMap((r) => ['-c', `reflink -q ${r.src} ${r.srcOffset} ${r.destOffset} ${r.length}`]);
  const r = lazyChildProcess().spawnSync(tool, [...commands, dest], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // xfs_io exits 0 even when the ioctl fails (it prints the error): silence is the only success.
  return r.status === 0 && r.stdout === '' && r.stderr === '';
}
