import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fsyncDir } from '../fsyncDir.js';
import { uniqueSuffix } from '../uniqueSuffix.js';
import { CacheFault, type CacheBackend } from './cacheBackend.js';

/** A cache path must stay under the root: no absolute names, no `..`. */
export function assertCachePath(p: string): void {
  if (p.startsWith('/') || p.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new Error(`bad cache path ${JSON.stringify(p)}`);
}

function fault(display: string, e: unknown, what: string): CacheFault {
  const code = (e as NodeJS.ErrnoException).code;
  const kind = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'denied' : 'unreachable';
  return new CacheFault(display, kind, `${what}: ${code ?? (e as Error).message}`, { cause: e });
}

/**
 * `file:///DIR`: a directory, local or mounted (NFS). Writes go to a temp
 * file in the destination directory (same filesystem), fsynced, then renamed:
 * a reader, nginx serving the directory included, sees all of a file or none,
 * and two pushers of the same path both rename complete, identical bytes.
 */
export function openFileBackend(url: URL, display: string): CacheBackend {
  const root = fileURLToPath(url);
  const full = (p: string) => {
    assertCachePath(p);
    return path.join(root, p);
  };
  return {
    display,
    writable: true,
    async get(p, signal) {
      signal.throwIfAborted();
      try {
        return await fs.promises.readFile(full(p), { signal });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        if ((e as Error).name === 'AbortError') throw new CacheFault(display, 'timeout', `reading ${p} timed out`, { cause: e });
        throw fault(display, e, `reading ${p}`);
      }
    },
    async exists(p, signal) {
      signal.throwIfAborted();
      try {
        return (await fs.promises.stat(full(p))).isFile();
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return false;
        throw fault(display, e, `looking up ${p}`);
      }
    },
    async put(p, body, signal) {
      signal.throwIfAborted();
      const dest = full(p);
      const dir = path.dirname(dest);
      // A dot name nobody asks for; the pid tells a dead pusher's leftover (SIGKILL) from a live one's.
      const tmp = path.join(dir, `.${path.basename(dest)}.${process.pid}.${uniqueSuffix()}.tmp`);
      try {
        await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
        const fh = await fs.promises.open(tmp, 'wx', 0o644);
        try {
          await fh.writeFile(body);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fs.promises.rename(tmp, dest);
        fsyncDir(dir);
      } catch (e) {
        await fs.promises.rm(tmp, { force: true }).catch(() => {});
        throw fault(display, e, `writing ${p}`);
      }
    },
  };
}
