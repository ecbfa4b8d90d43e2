import { readlinkSync, type Stats } from 'node:fs';
import { dirname, posix } from 'node:path';
import { RapidoError } from '../../errors.js';
import { pathGlobToRegExp } from '../../glob.js';
import type { CpioEntry } from '../cpio/cpioEntry.js';
import type { HostInputs } from '../hostInputs.js';

const MAX_SYMLINK_DEPTH = 40;

/** Archive path ('usr/bin/bash') of an absolute image path ('/usr/bin/bash'). */
function archivePath(imagePath: string): string {
  return posix.normalize(imagePath).replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * The entries of one layer, keyed by archive path. Parent directories are
 * added implicitly, and image paths follow the host's directory symlinks: on
 * a merged-/usr host, a module installed at /lib/modules/... lands in
 * usr/lib/modules/... with a `lib -> usr/lib` symlink. Every layer agreeing
 * on these symlinks matters: when the kernel unpacks a later archive whose
 * entry has another type than the existing path, it removes the existing
 * one, so a plain `lib` directory in one layer would delete the `lib`
 * symlink of another (and with it the dynamic loader's path).
 */
export class EntrySet {
  private readonly map = new Map<string, CpioEntry>();
  /** Host path → its lstat (null: absent), recorded as a kind-only input; shared by resolve() and mirrorHostPath(). */
  private readonly hostStats = new Map<string, Stats | null>();

  constructor(private readonly inputs: HostInputs) {}

  has(imagePath: string): boolean {
    return this.map.has(archivePath(this.resolve(imagePath, false)));
  }

  addDir(imagePath: string, mode = 0o755): void {
    const p = archivePath(this.resolve(imagePath, true));
    if (p === '' || p === '.') return;
    const existing = this.map.get(p);
    if (existing?.type === 'dir' || existing?.type === 'symlink') return;
    this.addParents(p);
    this.map.set(p, { path: p, type: 'dir', mode: mode & 0o7777 });
  }

  addData(imagePath: string, data: Buffer, mode = 0o644): void {
    const p = archivePath(this.resolve(imagePath, false));
    this.addParents(p);
    this.map.set(p, { path: p, type: 'file', mode: mode & 0o7777, data, size: data.length });
  }

  /** Makes derivations record DIGEST for the data entry at imagePath instead of its data's (a secret's stand-in). */
  recordDigest(imagePath: string, digest: string): void {
    const e = this.map.get(archivePath(this.resolve(imagePath, false)));
    if (e) e.recordedDigest = digest;
  }

  addHostFile(imagePath: string, hostPath: string, st: Stats, mode = Number(st.mode)): void {
    const p = archivePath(this.resolve(imagePath, false));
    this.addParents(p);
    this.map.set(p, { path: p, type: 'file', mode: mode & 0o7777, source: hostPath, size: Number(st.size) });
  }

  addSymlink(imagePath: string, target: string): void {
    this.putSymlink(archivePath(this.resolve(imagePath, false)), target);
  }

  addNode(imagePath: string, type: 'char' | 'block' | 'fifo', mode: number, major = 0, minor = 0): void {
    const p = archivePath(this.resolve(imagePath, false));
    this.addParents(p);
    this.map.set(p, { path: p, type, mode: mode & 0o7777, rdevMajor: major, rdevMinor: minor });
  }

  /**
   * Copies host `hostPath` to the same path in the image, following the host's
   * symlinks component by component and recreating each one. Returns the
   * host's real path and its stat, or null when it does not exist.
   */
  mirrorHostPath(hostPath: string, depth = 0): { realPath: string; st: Stats } | null {
    if (depth > MAX_SYMLINK_DEPTH) {
      throw new RapidoError('HOST_SYMLINK_LOOP', `too many levels of symbolic links resolving ${hostPath}`);
    }
    const parts = posix.normalize(hostPath).split('/').filter(Boolean);
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      cur += '/' + parts[i];
      const last = i === parts.length - 1;
      // Only the file itself has content; for the directories above it, what they are is enough.
      const st = last ? this.inputs.lstat(cur) : this.hostKind(cur);
      if (!st) return null;
      if (st.isSymbolicLink()) {
        const target = readlinkSync(cur);
        this.addSymlink(cur, target);
        const resolved = posix.resolve(dirname(cur), target, ...parts.slice(i + 1));
        return this.mirrorHostPath(resolved, depth + 1);
      }
      if (st.isDirectory()) {
        this.addDir(cur, Number(st.mode));
        if (last) return { realPath: cur, st };
      } else if (last && st.isFile()) {
        this.addHostFile(cur, cur, st);
        return { realPath: cur, st };
      } else {
        return null;
      }
    }
    return null;
  }

  /** Drops every entry matching one of the `filter` globs, and everything under a match. */
  applyFilters(globs: string[]): void {
    if (globs.length === 0) return;
    const res = globs.map((g) => pathGlobToRegExp(archivePath(g)));
    for (const p of [...this.map.keys()]) {
      if (res.some((re) => re.test(p))) this.map.delete(p);
    }
  }

  entries(): CpioEntry[] {
    return [...this.map.values()];
  }

  private putSymlink(p: string, target: string): void {
    this.addParents(p);
    this.map.set(p, { path: p, type: 'symlink', mode: 0o777, target });
  }

  private hostKind(abs: string): Stats | null {
    let st = this.hostStats.get(abs);
    if (st === undefined) {
      st = this.inputs.lstatKind(abs);
      this.hostStats.set(abs, st);
    }
    return st;
  }

  /**
   * Maps an image path through the host's symlinked directories (recording
   * each symlink as an entry). `withLast`: the last component is followed too
   * (for directories). Components below one the host lacks are not looked up.
   */
  private resolve(imagePath: string, withLast: boolean, depth = 0): string {
    if (depth > MAX_SYMLINK_DEPTH) throw new RapidoError('HOST_SYMLINK_LOOP', `too many levels of symbolic links resolving ${imagePath}`);
    const parts = posix.normalize('/' + imagePath).split('/').filter(Boolean);
    const stop = withLast ? parts.length : parts.length - 1;
    let cur = '';
    for (let i = 0; i < stop; i++) {
      cur += '/' + parts[i];
      const st = this.hostKind(cur);
      if (!st) break; // absent on the host: nothing below it can be a host symlink
      if (!st.isSymbolicLink()) continue;
      const target = readlinkSync(cur);
      this.putSymlink(archivePath(cur), target);
      return this.resolve(posix.resolve(posix.dirname(cur), target, ...parts.slice(i + 1)), withLast, depth + 1);
    }
    return '/' + parts.join('/');
  }

  private addParents(p: string): void {
    const parts = p.split('/');
    let cur = '';
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur ? `${cur}/${parts[i]}` : parts[i];
      if (!this.map.has(cur)) this.map.set(cur, { path: cur, type: 'dir', mode: 0o755 });
    }
  }
}
