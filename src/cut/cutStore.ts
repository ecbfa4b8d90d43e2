import { rmSync } from 'node:fs';
import { statSig, type StatSig } from '../derivations/hostInputs.js';
import { lstatFile, type LstatNumbers } from '../derivations/lstatSig.js';
import type { Stamp } from '../image/stamp.js';
import { ChunkedInputs } from './chunkInputs.js';
import { cleanTmp } from '../store/cleanTmp.js';
import type { CutRecord } from '../store/cutHistory.js';
import { digestFileSync } from '../store/digest.js';
import { acquireLock, type HeldLock } from '../store/buildLock.js';
import { appendJournal } from '../store/journal.js';
import type { LayerRecord } from '../store/layerIndex.js';
import { objectPath } from '../store/objectPath.js';
import type { HashedRead } from '../store/statCache.js';
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
  private opening?: Promise<Store>;
  private readonly pending: LayerRecord[] = [];
  /** The previous stamp's inputs: where digests of unchanged files are looked up (by binary search: a map of a big tree's 14,000 would cost more than an edit's lookups). */
  private readonly known: ChunkedInputs;
  /** Records this cut put: their lastUsedAt is already this cut's, so finish() need not rewrite them (a big derivation each). */
  private readonly recorded = new Set<string>();
  /** Layer objects whose size and digest this cut knows without LMDB: the stamp's and those built now. */
  private readonly expected = new Map<string, { size: number; digest: string }>();
  /** Objects' stat signatures as lookups found them. */
  private readonly objectSigs = new Map<string, StatSig>();
  /** Build locks of layers whose records are still pending (withLayerLock). */
  private readonly held: HeldLock[] = [];

  /** `reading`: why/audit only read; a store they cannot write is opened read-only. */
  /** `say`: where a cut reports a corrupt object (its Progress); default stderr. */
  constructor(path: string, prev: Stamp | undefined, private readonly access: { reading?: boolean; say?: (line: string) => void } = {}) {
    this.dir = openStoreDir(path, access);
    cleanTmp(this.dir);
    for (const l of prev?.layers ?? []) if (l.digest) this.expected.set(l.key, { size: l.size, digest: l.digest });
    this.known = new ChunkedInputs((prev?.layers ?? []).map((l) => l.inputs).filter((inputs) => inputs.length > 0));
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  async open(): Promise<Store> {
    // One opening for all callers: a cut's plans run side by side, and two could ask at once.
    this.opening ??= import('../store/index.js').then((mod) => {
      this.mod = mod;
      this.db = mod.openStore(this.dir.dir, { ...this.access, readOnly: this.dir.readOnly });
      return this.db;
    });
    return this.opening;
  }

  /**
   * A file's digest: from the stamp if its signature is unchanged, else the
   * stat cache when LMDB is open, else `read` (taken at `sig` while the file
   * was read for another reason), else hashed now.
   */
  digest(path: string, sig: string | null | undefined, read?: HashedRead): string {
    const stamped = this.stampDigest(path, sig);
    if (stamped !== undefined) return stamped;
    if (this.db && this.mod) return this.mod.statDigest(this.db, path, undefined, read, sig ?? undefined);
    return read ? read.digest : digestFileSync(path);
  }

  /** The digest the last stamp gives `path` at the same lstat signature. */
  private stampDigest(path: string, sig: string | null | undefined): string | undefined {
    const k = this.known.input(path);
    return k?.[2] && sig && k[1] === sig ? k[2] : undefined;
  }

  /**
   * A file's digest if this cut has it without reading the file: from the
   * stamp, a read made for another reason, or the stat cache. A layer whose
   * files are not all known is written in one pass and keyed after
   * (cutImage's unkeyed parts).
   */
  knownDigest(path: string, sig: string | null | undefined, read?: HashedRead): string | undefined {
    const stamped = this.stampDigest(path, sig);
    if (stamped !== undefined) return stamped;
    if (read) return this.digest(path, sig, read);
    if (this.db && this.mod && sig) return this.mod.knownStatDigest(this.db, path, sig);
    return undefined;
  }

  /** A digest taken while a layer was written, from the stat before that read: the stat cache keeps it (racy rule applied). */
  noteRead(path: string, read: HashedRead): void {
    if (this.db && this.mod) this.mod.statDigest(this.db, path, undefined, read);
  }

  /**
   * A layer whose object is in the store, with its size and digest. Without
   * LMDB, a missing object file is a miss and a known key is checked against
   * what the stamp recorded; only an unknown key with an object present
   * (another project built it, or an edit was undone) needs its record.
   */
  async lookup(key: string): Promise<{ size: number; digest: string } | undefined> {
    // A layer this cut recorded is known by its file too: its record waits for finish().
    if (!this.db || this.recorded.has(key)) {
      const st = this.statObject(key);
      if (!st) return undefined;
      const exp = this.expected.get(key);
      if (exp) return st.size === exp.size ? this.hit(key, st, exp) : this.corrupt(key, `size ${st.size}, expected ${exp.size}`);
    }
    const db = await this.open();
    const mod = this.mod!;
    // lmdb-js reuses one read snapshot per event turn: see what other cuts committed meanwhile.
    db.env.resetReadTxn();
    const rec = mod.getLayer(db, key);
    // An object without a record (a cut killed between the two) is rebuilt: writeObject then keeps it only if its bytes check.
    if (!rec) return undefined;
    const st = this.statObject(key);
    if (!st) return undefined;
    return st.size === rec.size ? this.hit(key, st, { size: rec.size, digest: rec.digest }) : this.corrupt(key, `size ${st.size}, expected ${rec.size}`);
  }

  /** The object's lstat, if it is a regular file (through lstatSig.ts: a warm cut asks this of every layer). */
  private statObject(key: string): LstatNumbers | undefined {
    return lstatFile(objectPath(this.dir, key));
  }

  /** A lookup's answer; the object's signature is kept for the stamp (objectSig). */
  private hit<T>(key: string, st: LstatNumbers, found: T): T {
    this.objectSigs.set(key, statSig(st));
    return found;
  }

  /**
   * The stat signature the stamp records for a layer's object: the one its
   * last lookup found (objects are never changed, and gc waits for the cut),
   * else taken now (an object this cut wrote or fetched: record() forgets
   * what a lookup saw, as a write may have replaced an unrecorded file);
   * 'missing' if there is none.
   */
  objectSig(key: string): StatSig {
    const known = this.objectSigs.get(key);
    if (known) return known;
    const st = this.statObject(key);
    return st ? statSig(st) : 'missing';
  }

  /** Never boot a damaged object: say so, drop it, and let the caller rebuild the layer. */
  private corrupt(key: string, what: string): undefined {
    const line = `store object ${key} is corrupt (${what}); rebuilding it`;
    if (this.access.say) this.access.say(line);
    else process.stderr.write(`rapido: ${line}\n`);
    this.discard(key);
    return undefined;
  }

  /** Drops an object found corrupt, so the layer is rebuilt (its record, if any, then points at the new bytes). */
  discard(key: string): void {
    this.expected.delete(key);
    this.objectSigs.delete(key);
    rmSync(objectPath(this.dir, key), { force: true });
  }

  /**
   * Records a layer whose object is in place (and durable). The records of a
   * cut are written together by finish(), in one transaction with the cut's
   * (or its journal entry): one commit, not one per layer (a cold cut of a
   * 500 MiB tree built 275 layers, 0.2 s of commits). A cut that dies first
   * leaves objects without records; the next cut keeps them if their bytes
   * check (writeObject).
   */
  record(rec: LayerRecord): void {
    this.objectSigs.delete(rec.key);
    this.recorded.add(rec.key);
    this.expected.set(rec.key, { size: rec.size, digest: rec.digest });
    this.pending.push(rec);
  }

  /**
   * Runs fn (look the layer up again, build it, record it) under the
   * layer's cross-process build lock, so two cuts needing it build it once.
   * A layer recorded under it keeps the lock until its record is written
   * (commitRecords): a cut waiting for it then finds the record. While it
   * waits for a lock, this cut writes its records and lets go of the locks
   * it keeps, at every poll, not only when the wait begins: its plans run
   * side by side, so another of them may record a layer, and keep its lock,
   * during the wait. So two cuts never wait for each other.
   */
  async withLayerLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lock = await acquireLock(this.dir, key, { whileWaiting: () => this.commitRecords() });
    const before = this.recorded.size;
    try {
      return await fn();
    } finally {
      // Whatever fn recorded (a dracut layer is locked by its first key and recorded under its own).
      if (this.recorded.size > before) this.held.push(lock);
      else lock.release();
    }
  }

  /** Writes the layer records still pending, in one transaction (or a journal entry), and lets go of their locks. */
  private commitRecords(): void {
    try {
      const layers = this.pending.splice(0);
      if (!layers.length) return;
      const { db, mod } = this;
      if (db && mod) mod.storeTransaction(db, () => layers.forEach((rec) => mod.putLayer(db, rec)));
      else appendJournal(this.dir, { at: Date.now(), layers, touched: [] });
    } finally {
      for (const lock of this.held.splice(0)) lock.release();
    }
  }

  /** Records the cut (history, last use) with its layers' records and closes LMDB if it was opened. */
  async finish(cut: CutRecord, usedKeys: string[]): Promise<void> {
    const used = usedKeys.filter((k) => !this.recorded.has(k));
    try {
      if (this.db && this.mod) {
        const { db, mod } = this;
        const layers = this.pending.splice(0);
        mod.storeTransaction(db, () => {
          for (const rec of layers) mod.putLayer(db, rec);
          mod.touchLayers(db, used, cut.at);
          mod.appendCut(db, cut);
        });
      } else {
        appendJournal(this.dir, { at: cut.at, layers: this.pending.splice(0), touched: used, cut });
      }
    } finally {
      await this.close();
    }
  }

  /** Closes LMDB; a failed cut's layer records are written first, so the objects it built are found. */
  async close(): Promise<void> {
    try {
      if (!this.dir.readOnly) this.commitRecords();
    } finally {
      const db = this.db;
      this.db = undefined;
      this.opening = undefined;
      await db?.close();
    }
  }
}
