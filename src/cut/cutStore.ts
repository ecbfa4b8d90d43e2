import { statSync } from 'node:fs';
import type { Stamp } from '../derivations/cutStamp.js';
import { cleanTmp } from '../store/cleanTmp.js';
import type { CutRecord } from '../store/cutHistory.js';
import { digestFileSync } from '../store/digest.js';
import { appendJournal } from '../store/journal.js';
import type { LayerRecord } from '../store/layerIndex.js';
import { objectPath } from '../store/objectPath.js';
import type { Store } from '../store/openStore.js';
import { openStoreDir, type StoreDir } from '../store/storeDir.js';

type StoreModule = typeof import('../store/index.js');

/**
 * The store as a cut sees it. LMDB is opened only when needed: a cold cut
 * (no stamp: the stat cache saves re-hashing), a dracut layer (its manifests),
 * or an explicit request. A warm re-cut after a small edit takes unchanged
 * files' digests from the stamp, looks objects up by their file, and leaves
 * its records in the journal, so it never pays LMDB's start-up.
 */
export class CutStore {
  readonly dir: StoreDir;
  private db?: Store;
  private mod?: StoreModule;
  private readonly pending: LayerRecord[] = [];
  /** path → [signature, digest] from the previous stamp. */
  private readonly known = new Map<string, [string | null, string]>();

  constructor(path: string, prev: Stamp | undefined) {
    this.dir = openStoreDir(path);
    cleanTmp(this.dir);
    for (const l of prev?.layers ?? []) for (const [p, sig, d] of l.inputs) if (d) this.known.set(p, [sig, d]);
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  async open(): Promise<Store> {
    if (!this.db) {
      this.mod = await import('../store/index.js');
      this.db = this.mod.openStore(this.dir.dir);
      for (const rec of this.pending.splice(0)) this.mod.putLayer(this.db, rec);
    }
    return this.db;
  }

  /** A file's digest: from the stamp if its signature is unchanged, else the stat cache when LMDB is open, else hashed now. */
  digest(path: string, sig: string | null | undefined): string {
    const k = this.known.get(path);
    if (k && sig && k[0] === sig) return k[1];
    if (this.db && this.mod) return this.mod.statDigest(this.db, path);
    return digestFileSync(path);
  }

  /** A layer whose object is in the store, with its size. */
  lookup(key: string): { size: number } | undefined {
    if (this.db && this.mod) {
      // lmdb-js reuses one read snapshot per event turn: see what other cuts committed meanwhile.
      this.db.env.resetReadTxn();
      const rec = this.mod.getLayer(this.db, key);
      // An object without a record (a cut killed between the two) is rebuilt: writeObject then keeps it only if its bytes check.
      return rec && this.mod.hasObject(this.db, key, rec.size) ? { size: rec.size } : undefined;
    }
    // Without LMDB: objects are immutable and appear only complete (rename), so the file answers; its record is in LMDB or the journal.
    const st = statSync(objectPath(this.dir, key), { throwIfNoEntry: false });
    return st?.isFile() ? { size: st.size } : undefined;
  }

  record(rec: LayerRecord): void {
    if (this.db && this.mod) this.mod.putLayer(this.db, rec);
    else this.pending.push(rec);
  }

  /** Records the cut (history, last use) and closes LMDB if it was opened. */
  async finish(cut: CutRecord, used: string[]): Promise<void> {
    if (this.db && this.mod) {
      try {
        const { db, mod } = this;
        mod.storeTransaction(db, () => {
          mod.touchLayers(db, used, cut.at);
          mod.appendCut(db, cut);
        });
      } finally {
        await this.close();
      }
    } else {
      appendJournal(this.dir, { at: cut.at, layers: this.pending.splice(0), touched: used, cut });
    }
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    await db?.close();
  }
}
