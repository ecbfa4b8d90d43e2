import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { StoreDir } from '../storeDir.js';

/**
 * Negative lookups (a 404 from a substituter), remembered in the store as
 * empty files `substituters/misses/<cache id>/<name>` whose mtime is when the
 * miss was seen. 10 minutes: an edit → re-cut loop against a cold cache asks
 * about each missing layer once per 10 minutes instead of once per cut,
 * while a layer a CI runner pushes meanwhile is found within 10 minutes
 * (Nix keeps negative narinfo lookups an hour; our layers change more often).
 * `rapido-store push` forgets the misses of the cache it pushed to;
 * `rapido cut --no-substitute` neither reads nor writes them.
 */
export const NEGATIVE_TTL_MS = 10 * 60_000;

function missesDir(store: StoreDir, display: string): string {
  const id = crypto.createHash('sha256').update(display).digest('hex').slice(0, 16);
  return path.join(store.paths.root, 'substituters', 'misses', id);
}

export class NegativeCache {
  private readonly dir: string;
  constructor(store: StoreDir, display: string, private readonly now = Date.now()) {
    this.dir = missesDir(store, display);
  }

  /** Whether NAME was a miss less than the TTL ago. */
  fresh(name: string): boolean {
    const st = fs.statSync(path.join(this.dir, name), { throwIfNoEntry: false });
    return st !== undefined && this.now - st.mtimeMs < NEGATIVE_TTL_MS && st.mtimeMs <= this.now + 60_000;
  }

  /** Remembers a miss; a failure to write only costs a round trip next time. */
  remember(name: string): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      // Empty: the content never matters, so a crash cannot leave a wrong one; the mtime is the datum.
      fs.writeFileSync(path.join(this.dir, name), '');
    } catch {
      /* a cache of misses, nothing more */
    }
  }
}

/** Forgets every remembered miss of one cache (after pushing to it). */
export function forgetMisses(store: StoreDir, display: string): void {
  fs.rmSync(missesDir(store, display), { recursive: true, force: true });
}
