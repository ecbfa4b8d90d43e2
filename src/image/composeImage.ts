import {
  closeSync, fdatasyncSync, fstatSync, ftruncateSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync,
  readlinkSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { RapidoError } from '../errors.js';
import { createDigest } from '../store/digest.js';
import { diskFullError, isDiskFull } from '../store/diskFull.js';
import { isProcessAlive } from '../store/processAlive.js';
import { layoutHolds, type ImageLayout } from './stamp.js';
import { currentBootId } from './bootId.js';
import { statSig } from '../derivations/hostInputs.js';
import { canCloneWith, cloneBlockSize, cloneRanges, type CloneRange } from './cloneRanges.js';

export interface ComposeLayer {
  key: string;
  path: string;
  size: number;
  /** Expected xxh64 of the object: the bytes are checked as they are copied. */
  digest?: string;
}

/** A store object whose bytes do not match its record: the cut rebuilds that layer instead of booting it. */
export class CorruptObjectError extends RapidoError {
  constructor(readonly key: string, what: string) {
    super('STORE_CORRUPT', `store object ${key} is corrupt (${what})`, { hint: 'the layer is rebuilt; rapido-store verify checks the whole store' });
  }
}

export interface ComposeResult {
  current: ImageLayout;
  spare?: ImageLayout;
  /** Bytes actually written: the changed slots (with their padding), or the whole image. */
  written: number;
  /** Bytes of those slots shared with their store objects instead (cloneRanges.ts): not written. */
  cloned: number;
}

const CHUNK = 1 << 20;
/**
 * Each layer but the last sits in a slot of its size rounded up to SLOT
 * bytes, NUL padded: the kernel skips NULs between concatenated archives (an
 * archive must start 4-byte aligned, init/initramfs.c). A layer whose size
 * changes within its slot (a one-line edit) leaves every later offset alone,
 * so an edit rewrites that slot, not the rest of the image.
 */
export const SLOT = 64 << 10;

/** Where each layer starts, and the image's size: a pure function of the layers' sizes. */
export function slotOffsets(sizes: number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let at = 0;
  sizes.forEach((size, i) => {
    offsets.push(at);
    at += i === sizes.length - 1 ? size : Math.ceil(size / SLOT) * SLOT;
  });
  return { offsets, total: at };
}

const ZEROS = Buffer.alloc(SLOT);

/**
 * Writes the image: the layer objects, each in its slot (slotOffsets). The
 * kernel unpacks the archives in order, later entries overriding.
 *
 * The image is never modified in place: a VM may be starting from it. We
 * keep the previous image as a spare (`.NAME.spare`), rewrite in it only the
 * slots whose layer differs from the new layout at the same offset, and
 * swap it in with rename(2) (durability: syncUnlessBootKnown). A 500 MB image with one chunk of its
 * tree changed thus costs that chunk's slot in writes, not a 500 MB copy.
 * The bytes are the same as a fresh compose's: reused slots hold the same
 * object (same key) at the same offset, rewritten ones are written whole
 * with their padding.
 */
export function composeImage(
  out: string,
  layers: ComposeLayer[],
  prev: { current?: ImageLayout; spare?: ImageLayout },
  vmPidDir?: string,
): ComposeResult {
  const keys = layers.map((l) => l.key);
  const sizes = layers.map((l) => l.size);
  const { offsets, total } = slotOffsets(sizes);
  const outSt = lstatOrUndef(out);
  // The image is trusted only if it is the very file the stamp describes, unwritten since: a flipped byte moves its mtime/ctime.
  const currentValid = prev.current !== undefined && outSt !== undefined && matches(prev.current, out);

  if (currentValid && sameKeys(prev.current!.keys, keys)) {
    return { current: prev.current!, spare: prev.spare, written: 0, cloned: 0 };
  }

  const sparePath = join(dirname(out), `.${basename(out)}.spare`);
  let target: string;
  let written = 0;
  let cloned = 0;
  const spareUsable = prev.spare !== undefined && matches(prev.spare, sparePath) && !openByVm(sparePath, vmPidDir);
  const kept = spareUsable ? sameSlots(prev.spare!, keys, offsets) : new Set<number>();
  const writeSlots = (fd: number, path: string, skip: Set<number>) => {
    const shared = cloneSlots(fd, path, layers, offsets, total, skip);
    for (const [i, l] of layers.entries()) {
      const end = i === layers.length - 1 ? offsets[i] + l.size : offsets[i] + Math.ceil(l.size / SLOT) * SLOT;
      if (skip.has(i)) continue;
      const from = shared.get(i) ?? 0;
      cloned += from;
      written += appendFile(fd, l, offsets[i], from);
      written += writeZeros(fd, offsets[i] + l.size, end);
    }
  };
  if (kept.size > 0) {
    target = sparePath;
    const fd = openSync(sparePath, 'r+');
    try {
      writeSlots(fd, sparePath, kept);
      // A kept layer that was the spare's last is unpadded there; its padding lies past the spare's end, read as zeros once extended.
      ftruncateSync(fd, total);
      syncUnlessBootKnown(fd);
    } catch (e) {
      closeSync(fd);
      try { unlinkSync(sparePath); } catch { /* gone */ } // half-rewritten: its recorded layout no longer holds
      throw imageWriteError(e, out);
    }
    closeSync(fd);
  } else {
    target = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
    let fd: number;
    try {
      fd = openSync(target, 'w', 0o644);
    } catch (e) {
      throw imageWriteError(e, out);
    }
    try {
      writeSlots(fd, target, new Set());
      syncUnlessBootKnown(fd);
    } catch (e) {
      closeSync(fd);
      try { unlinkSync(target); } catch { /* already gone */ }
      throw imageWriteError(e, out);
    }
    closeSync(fd);
  }

  // Swap: the old image becomes the spare; `out` always names a complete image.
  let newSpare: ImageLayout | undefined;
  try {
    if (outSt) {
      const hold = join(dirname(out), `.${basename(out)}.${process.pid}.old`);
      try { unlinkSync(hold); } catch { /* none */ }
      linkSync(out, hold);
      renameSync(target, out);
      renameSync(hold, sparePath);
      // An image that was not what its stamp said (written to behind our back) is kept as the spare but never trusted.
      // Its signature is taken now: link and rename moved its ctime.
      newSpare = currentValid ? layoutOf(sparePath, prev.current!.keys, prev.current!.sizes, prev.current!.size, prev.current!.boot) : undefined;
    } else {
      renameSync(target, out);
    }
  } catch (e) {
    throw imageWriteError(e, out);
  }
  return { current: layoutOf(out, keys, sizes, total, currentBootId()), spare: newSpare, written, cloned };
}

/** Below this, one xfs_io process costs more than writing the bytes (about 2 ms against 1 GB/s). */
const MIN_CLONE_BYTES = 8 << 20;

/**
 * Shares the whole blocks of each slot to be written with its store object,
 * where the image's filesystem can (cloneRanges.ts): returns, per layer
 * index, how many leading bytes of its slot now hold the object's bytes, so
 * only its tail and padding are written. Objects on another filesystem are
 * copied. The bytes are those a copy gives; a reused object's digest is still
 * checked by reading it (appendFile).
 */
function cloneSlots(fd: number, path: string, layers: ComposeLayer[], offsets: number[], total: number, skip: Set<number>): Map<number, number> {
  const none = new Map<number, number>();
  const bs = cloneBlockSize(dirname(path));
  if (bs === undefined || SLOT % bs !== 0) return none;
  const st = fstatSync(fd, { bigint: true });
  const ranges: (CloneRange & { i: number })[] = [];
  for (const [i, l] of layers.entries()) {
    const length = l.size - (l.size % bs);
    if (skip.has(i) || length === 0) continue;
    const src = resolve(l.path);
    if (!canCloneWith(src) || lstatOrUndef(src)?.dev !== st.dev) continue; // FICLONERANGE works within one filesystem
    ranges.push({ i, src, srcOffset: 0, destOffset: offsets[i], length });
  }
  if (ranges.reduce((n, r) => n + r.length, 0) < MIN_CLONE_BYTES) return none;
  if (st.size < BigInt(total)) ftruncateSync(fd, total);
  return cloneRanges(resolve(path), ranges) ? new Map(ranges.map((r) => [r.i, r.length])) : none;
}

/** Indices of the new layers that the spare already holds: the same key at the same offset. */
function sameSlots(spare: ImageLayout, keys: string[], offsets: number[]): Set<number> {
  const kept = new Set<number>();
  if (!Array.isArray(spare.sizes) || spare.sizes.length !== spare.keys.length) return kept;
  const at = new Map<number, string>();
  slotOffsets(spare.sizes).offsets.forEach((o, j) => at.set(o, spare.keys[j]));
  keys.forEach((k, i) => {
    if (at.get(offsets[i]) === k) kept.add(i);
  });
  return kept;
}

function writeZeros(fd: number, from: number, to: number): number {
  for (let at = from; at < to; ) at += writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, to - at), at);
  return Math.max(0, to - from);
}

/** The layout a file now holds, with its stat signature; the size must be what the layers' slots add up to. */
/**
 * The image can be re-derived from the store, so its bytes need to outlive
 * only this boot: its layout records the boot id, and after a reboot (the
 * only way a crash loses unsynced data) the stamp no longer vouches for it and
 * the next cut writes it again. That saves a data sync of the whole image on
 * every cold cut (seconds for a 500 MiB tree). Without a boot id: fdatasync,
 * since the stamp written next vouches for these bytes.
 */
function syncUnlessBootKnown(fd: number): void {
  if (currentBootId() === undefined) fdatasyncSync(fd);
}

function layoutOf(path: string, keys: string[], sizes: number[], total: number, boot: string | undefined): ImageLayout {
  const big = lstatSync(path, { bigint: true });
  if (Number(big.size) !== total) {
    throw new RapidoError('COMPOSE_FAILED', `composed image ${path} has ${big.size} bytes, expected ${total}`, { hint: 'run the cut again' });
  }
  const layout: ImageLayout = { ino: String(big.ino), size: total, keys, sizes, sig: statSig(lstatSync(path)) };
  if (boot !== undefined) layout.boot = boot;
  return layout;
}

/** Writes the layer's object at `offset`, except its first `cloned` bytes, which are there already; returns the bytes written. */
function appendFile(fd: number, layer: ComposeLayer, offset: number, cloned = 0): number {
  const { size } = layer;
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
  const hash = layer.digest ? createDigest() : undefined;
  let sfd: number;
  try {
    sfd = openSync(layer.path, 'r');
  } catch {
    throw new CorruptObjectError(layer.key, 'missing');
  }
  // A cloned prefix is read only to check the digest.
  let done = hash ? 0 : cloned;
  let wrote = 0;
  try {
    if (fstatSync(sfd).size !== size) throw new CorruptObjectError(layer.key, `size is not ${size}`);
    while (done < size) {
      const n = readSync(sfd, buf, 0, Math.min(buf.length, size - done), done);
      if (n === 0) throw new CorruptObjectError(layer.key, 'truncated');
      hash?.update(buf.subarray(0, n));
      let w = Math.max(0, Math.min(n, cloned - done));
      wrote += n - w;
      while (w < n) w += writeSync(fd, buf, w, n - w, offset + done + w);
      done += n;
    }
  } finally {
    closeSync(sfd);
  }
  if (hash && hash.digest() !== layer.digest) throw new CorruptObjectError(layer.key, 'digest mismatch');
  return wrote;
}

const WHY: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'its directory is missing or cannot hold files (e.g. under /proc)',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'a file is in the way of its directory',
  EINVAL: 'the filesystem refuses it',
  EXDEV: 'the filesystem refuses it',
};

/** A failure to write the image or its stamp, as one line: a full disk, or DRACUT_OUT where no file can be written. */
export function imageWriteError(e: unknown, out: string): unknown {
  if (e instanceof RapidoError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (isDiskFull(e)) return diskFullError(e, `the image ${out}`);
  if (code && code in WHY) {
    return new RapidoError('OUT_UNWRITABLE', `cannot write the image ${out}: ${WHY[code]} (${code})`, {
      hint: 'set DRACUT_OUT in rapido.conf to a path on a writable filesystem',
      cause: e,
    });
  }
  return e;
}

/**
 * Before any layer is built: the image's directory exists and takes files
 * (a read-only mount, or a path under /proc or /sys, fails here in one line
 * rather than after minutes of building), and temp images a killed cut left
 * there are removed.
 */
export function prepareImageDir(out: string): string[] {
  const dir = dirname(out);
  const probe = join(dir, `.${basename(out)}.${process.pid}.tmp`); // the name compose writes: cleaned like it if we die here
  if (lstatOrUndef(out)?.isDirectory()) {
    throw new RapidoError('OUT_UNWRITABLE', `cannot write the image ${out}: it is a directory`, { hint: 'set DRACUT_OUT to a file path, e.g. initrds/myinitrd' });
  }
  try {
    makeDirs(dir);
    // A real create, not access(2): /proc and /sys pass W_OK for root and still refuse files.
    closeSync(openSync(probe, 'w', 0o644));
    unlinkSync(probe);
  } catch (e) {
    throw imageWriteError(e, out);
  }
  return removeAbandonedTemps(out);
}

/** mkdir -p, one level at a time: Node's recursive mkdir spins forever on a missing dir under /proc (ENOENT from mkdir). */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const st = lstatOrUndef(d);
    if (st?.isDirectory() || (st?.isSymbolicLink() && isDirFollowing(d))) break;
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      // Another cut made it meanwhile; EEXIST for a file in the way, ENOENT, EROFS... go to the caller.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && isDirFollowing(d)) continue;
      throw e;
    }
  }
}

function isDirFollowing(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A cut killed while composing (SIGINT, SIGKILL) leaves `.NAME.<pid>.tmp`
 * (up to the image's size), `.NAME.<pid>.old` or the stamp's
 * `.NAME.rapido.json.<pid>.tmp`. Those whose pid is no longer alive are
 * removed; a live cut's are left alone, as in the store's tmp/.
 */
function removeAbandonedTemps(out: string): string[] {
  const dir = dirname(out);
  const base = basename(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // The image's, the stamp's and its tree snapshots', and a boot's console log (runner/bootVm.ts).
  const re = new RegExp(`^\\.${base}(?:\\.rapido(?:\\.tree)?\\.json|(?:\\.vm\\d+)?\\.console\\.log)?\\.(\\d+)\\.(?:tmp|old)$`);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = re.exec(name);
    if (!m || isProcessAlive(Number(m[1]))) continue;
    const p = join(dir, name);
    try {
      rmSync(p, { force: true });
      removed.push(p);
    } catch { /* e.g. read-only: the cut reports that itself */ }
  }
  return removed;
}

function lstatOrUndef(p: string) {
  try {
    return lstatSync(p, { bigint: true });
  } catch {
    return undefined;
  }
}

function matches(layout: ImageLayout, path: string): boolean {
  return layoutHolds(layout, path);
}

function sameKeys(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** A VM started from this file may still be loading it: look for it among the VMs' open files. */
function openByVm(path: string, pidDir?: string): boolean {
  if (!pidDir) return false;
  let pids: string[];
  try {
    pids = readdirSync(pidDir).filter((f) => f.endsWith('.pid'));
  } catch {
    return false;
  }
  for (const f of pids) {
    const pid = readFileSync(join(pidDir, f), 'utf8').trim();
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) return true;
      } catch { /* closed meanwhile */ }
    }
  }
  return false;
}
