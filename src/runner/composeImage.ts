import {
  closeSync, fstatSync, fsyncSync, ftruncateSync, linkSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync,
  readSync, renameSync, unlinkSync, writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RapidoError } from '../errors.js';
import { createDigest } from '../store/digest.js';
import type { ImageLayout } from '../derivations/cutStamp.js';

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
  /** Bytes actually written: the changed tail, or the whole image. */
  written: number;
}

const CHUNK = 1 << 20;

/**
 * Writes the image as the concatenation of the layer objects (the kernel
 * unpacks concatenated cpio archives in order, later entries overriding).
 *
 * The image is never modified in place: a VM may be starting from it. We
 * keep the previous image as a spare (`.NAME.spare`), rewrite only the spare's
 * tail that differs from the new layout (layers are ordered so that edits
 * touch the tail), fsync it, and swap it in with rename(2). A 100 MB image
 * whose overlay changed thus costs a few KB of writes, not a 100 MB copy.
 */
export function composeImage(
  out: string,
  layers: ComposeLayer[],
  prev: { current?: ImageLayout; spare?: ImageLayout },
  vmPidDir?: string,
): ComposeResult {
  const keys = layers.map((l) => l.key);
  const total = layers.reduce((n, l) => n + l.size, 0);
  const outSt = lstatOrUndef(out);
  const currentValid = prev.current && outSt && matches(prev.current, outSt);

  if (currentValid && sameKeys(prev.current!.keys, keys)) {
    return { current: prev.current!, spare: prev.spare, written: 0 };
  }

  const sparePath = join(dirname(out), `.${basename(out)}.spare`);
  const spareSt = lstatOrUndef(sparePath);
  let target: string;
  let written = 0;
  const spareUsable = prev.spare && spareSt && matches(prev.spare, spareSt) && !openByVm(sparePath, vmPidDir);
  const prefix = spareUsable ? commonPrefix(prev.spare!.keys, keys) : 0;
  if (spareUsable && prefix > 0) {
    target = sparePath;
    const fd = openSync(sparePath, 'r+');
    try {
      let offset = layers.slice(0, prefix).reduce((n, l) => n + l.size, 0);
      ftruncateSync(fd, offset);
      for (const l of layers.slice(prefix)) {
        written += appendFile(fd, l, offset);
        offset += l.size;
      }
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      try { unlinkSync(sparePath); } catch { /* gone */ } // half-rewritten: its recorded layout no longer holds
      throw mapWriteError(e, out);
    }
    closeSync(fd);
  } else {
    target = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
    const fd = openSync(target, 'w', 0o644);
    try {
      let offset = 0;
      for (const l of layers) {
        written += appendFile(fd, l, offset);
        offset += l.size;
      }
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      try { unlinkSync(target); } catch { /* already gone */ }
      throw mapWriteError(e, out);
    }
    closeSync(fd);
  }

  // Swap: the old image becomes the spare; `out` always names a complete image.
  let newSpare: ImageLayout | undefined;
  if (outSt) {
    const hold = join(dirname(out), `.${basename(out)}.${process.pid}.old`);
    try { unlinkSync(hold); } catch { /* none */ }
    linkSync(out, hold);
    renameSync(target, out);
    renameSync(hold, sparePath);
    newSpare = currentValid ? prev.current : undefined;
  } else {
    renameSync(target, out);
  }
  const st = lstatSync(out, { bigint: true });
  if (Number(st.size) !== total) {
    throw new RapidoError('COMPOSE_FAILED', `composed image ${out} has ${st.size} bytes, expected ${total}`, { hint: 'run the cut again' });
  }
  return { current: { ino: String(st.ino), size: total, keys }, spare: newSpare, written };
}

function appendFile(fd: number, layer: ComposeLayer, offset: number): number {
  const { size } = layer;
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
  const hash = layer.digest ? createDigest() : undefined;
  let sfd: number;
  try {
    sfd = openSync(layer.path, 'r');
  } catch {
    throw new CorruptObjectError(layer.key, 'missing');
  }
  let done = 0;
  try {
    if (fstatSync(sfd).size !== size) throw new CorruptObjectError(layer.key, `size is not ${size}`);
    while (done < size) {
      const n = readSync(sfd, buf, 0, Math.min(buf.length, size - done), done);
      if (n === 0) throw new CorruptObjectError(layer.key, 'truncated');
      hash?.update(buf.subarray(0, n));
      let w = 0;
      while (w < n) w += writeSync(fd, buf, w, n - w, offset + done + w);
      done += n;
    }
  } finally {
    closeSync(sfd);
  }
  if (hash && hash.digest() !== layer.digest) throw new CorruptObjectError(layer.key, 'digest mismatch');
  return done;
}

function mapWriteError(e: unknown, out: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new RapidoError('DISK_FULL', `no space left writing ${out}`, { hint: 'free space, or run rapido-store gc', cause: e });
  if (code === 'EACCES' || code === 'EROFS') return new RapidoError('OUT_UNWRITABLE', `cannot write ${out}`, { hint: 'set DRACUT_OUT in rapido.conf to a writable path', cause: e });
  return e;
}

function lstatOrUndef(p: string) {
  try {
    return lstatSync(p, { bigint: true });
  } catch {
    return undefined;
  }
}

function matches(layout: ImageLayout, st: { ino: bigint; size: bigint }): boolean {
  return layout.ino === String(st.ino) && layout.size === Number(st.size);
}

function sameKeys(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

function commonPrefix(a: string[], b: string[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** A VM started from this file may still be loading it: look for it among the VMs' open files. */
function openByVm(path: string, pidDir?: string): boolean {
  if (!pidDir) return false;
  let pids: string[] = [];
  try {
    pids = readdirSync(pidDir).filter((f) => f.endsWith('.pid'));
  } catch {
    return false;
  }
  for (const f of pids) {
    const pid = readFileSync(join(pidDir, f), 'utf8').trim();
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[] = [];
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
