import { posix } from 'node:path';
import type { CpioEntry } from '../../src/derivations/cpio/cpioEntry.js';
import { readNewc } from '../../src/derivations/cpio/readNewc.js';

/**
 * The file tree the guest sees after the kernel unpacks the concatenated
 * archives: later entries override earlier ones, and an entry whose type
 * differs from what is there replaces it (as init/initramfs.c does).
 * Paths are looked up following symlinks, as the guest would.
 */
export class ImageView {
  readonly entries = new Map<string, CpioEntry>();

  constructor(image: Buffer) {
    for (const e of readNewc(image)) {
      const existing = this.entries.get(e.path);
      if (existing && existing.type !== e.type) {
        for (const k of [...this.entries.keys()]) if (k === e.path || k.startsWith(e.path + '/')) this.entries.delete(k);
      }
      if (e.type === 'dir' && existing?.type === 'dir') continue;
      this.entries.set(e.path, e);
    }
  }

  /** The entry at guest path p (absolute or relative to /), following symlinks. */
  lookup(p: string, depth = 0): CpioEntry | undefined {
    if (depth > 40) return undefined;
    const parts = posix.normalize('/' + p).split('/').filter(Boolean);
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      cur = cur ? `${cur}/${parts[i]}` : parts[i];
      const e = this.entries.get(cur);
      if (!e) return undefined;
      if (e.type === 'symlink') {
        const base = posix.resolve('/' + posix.dirname(cur), e.target!);
        return this.lookup(posix.join(base, ...parts.slice(i + 1)), depth + 1);
      }
    }
    return this.entries.get(cur);
  }

  has(p: string): boolean {
    return this.lookup(p) !== undefined;
  }
}
