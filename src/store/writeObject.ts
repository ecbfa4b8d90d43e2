import fs from 'node:fs';
import path from 'node:path';
import { RapidoError } from '../errors.js';
import { digestFd, digestFileSync } from './digest.js';
import { diskFullError, isDiskFull } from './diskFull.js';
import { fsyncDir } from './fsyncDir.js';
import { uniqueSuffix } from './uniqueSuffix.js';
import { objectPath } from './objectPath.js';
import { assertWritable, type StoreDir } from './storeDir.js';

export interface WrittenObject {
  size: number;
  digest: string;
  /** True when an intact object was already in place and ours was dropped. */
  kept: boolean;
}

/** Temp names carry the writer's pid so cleanTmp can tell abandoned files from live ones. */
export function tmpObjectName(key: string): string {
  return `${key}.${process.pid}.${uniqueSuffix()}`;
}

/**
 * An object already under the final name means another writer won the race
 * (or a crash left it without a record). Keep it only if it holds exactly
 * the bytes we just built: builds are deterministic, so anything else is
 * corrupt and is replaced.
 */
function intactExisting(finalPath: string, ours: string): WrittenObject | null {
  const st = fs.statSync(finalPath, { throwIfNoEntry: false });
  if (!st || !st.isFile()) return null;
  const digest = digestFileSync(finalPath);
  return digest === ours ? { size: st.size, digest, kept: true } : null;
}

/** What a producer that hashed its bytes as it wrote them reports: how many, and their digest. */
export interface StreamedDigest {
  size: number;
  digest: string;
}

/**
 * Writes an immutable object so that its final name only ever holds complete,
 * durable bytes: temp file in <store>/tmp (same filesystem), produce() fills
 * it, digest, fsync, chmod 0444, rename into place, fsync the directory.
 * produce must have written everything when it returns (it is synchronous).
 * The object's digest comes from reading the temp file back, whatever way
 * produce wrote it.
 */
export function writeObject(store: StoreDir, key: string, produce: (fd: number) => void): WrittenObject {
  return write(store, key, (fd) => {
    produce(fd);
    return undefined;
  });
}

/**
 * writeObject for a producer that hashed every byte it wrote as it wrote it
 * (writeNewcSync's `hash`): its digest is taken instead of reading the object
 * back, once its size is checked against the file's.
 */
export function writeHashedObject(store: StoreDir, key: string, produce: (fd: number) => StreamedDigest): WrittenObject {
  return write(store, key, produce);
}

/**
 * An object written before its key is known (a layer keyed by the digests
 * of the very bytes it holds): still open, under a temp name, not yet
 * durable. placeObject gives it its key; discardObject drops it.
 */
export interface StagedObject {
  fd: number | undefined;
  tmpPath: string;
  size: number;
  digest: string;
}

/** The first half of writeHashedObject: temp file, produce(), size check; no fsync yet. `label` names the temp file (16 hex, for cleanTmp). */
export function stageHashedObject(store: StoreDir, label: string, produce: (fd: number) => StreamedDigest): StagedObject {
  return stage(store, label, produce);
}

/** The second half: fsync, chmod, rename under `key`, fsync the directory. */
export function placeObject(store: StoreDir, key: string, staged: StagedObject): WrittenObject {
  try {
    fs.fsyncSync(staged.fd!);
  } catch (e) {
    throw abandon(store, key, staged, e);
  }
  return place(store, key, staged);
}

/** Drops a staged object (its key turned out to be in the store already). */
export function discardObject(store: StoreDir, staged: StagedObject): void {
  abandon(store, 'staged', staged, undefined);
}

function write(store: StoreDir, key: string, produce: (fd: number) => StreamedDigest | undefined): WrittenObject {
  return placeObject(store, key, stage(store, key, produce));
}

/** Temp file in <store>/tmp (same filesystem), filled by produce(), size checked, digested. */
function stage(store: StoreDir, key: string, produce: (fd: number) => StreamedDigest | undefined): StagedObject {
  assertWritable(store, 'write an object');
  const tmpPath = path.join(store.paths.tmp, tmpObjectName(key));
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmpPath, 'wx+', 0o600); // read back for the digest
    const streamed = produce(fd);
    const size = fs.fstatSync(fd).size;
    // A streamed digest covers only the bytes the producer passed through its hash: any it wrote
    // another way would show as a size the file does not have. Such a producer is broken: its
    // object is not kept.
    if (streamed && streamed.size !== size) {
      throw new RapidoError('OBJECT_SIZE_MISMATCH', `layer ${key}: its builder hashed ${streamed.size} bytes but the object has ${size}`, {
        hint: 'a bug in the layer builder; nothing was stored',
      });
    }
    // Re-reading is cheap (page cache, ~4 GB/s) and works whatever way produce wrote.
    const digest = streamed ? streamed.digest : digestFd(fd);
    return { fd, tmpPath, size, digest };
  } catch (e) {
    throw abandon(store, key, { fd, tmpPath }, e);
  }
}

/** Durable bytes take the final name: chmod 0444, rename into place, fsync the directory. */
function place(store: StoreDir, key: string, staged: StagedObject): WrittenObject {
  const { tmpPath, size, digest } = staged;
  const finalPath = objectPath(store, key);
  try {
    fs.fchmodSync(staged.fd!, 0o444);
    fs.closeSync(staged.fd!);
    staged.fd = undefined;

    const shard = path.dirname(finalPath);
    const created = fs.mkdirSync(shard, { recursive: true });
    if (created !== undefined) fsyncDir(path.dirname(created));

    const existing = intactExisting(finalPath, digest);
    if (existing) {
      fs.unlinkSync(tmpPath);
      return existing;
    }
    fs.renameSync(tmpPath, finalPath); // atomic, replaces a corrupt object if there was one
    fsyncDir(shard);
    return { size, digest, kept: false };
  } catch (e) {
    throw abandon(store, key, staged, e);
  }
}

/** Closes and removes a temp object that will not be kept; returns the error to throw (disk full explained). */
function abandon(store: StoreDir, key: string, staged: { fd?: number; tmpPath: string }, e: unknown): unknown {
  if (staged.fd !== undefined) {
    try {
      fs.closeSync(staged.fd);
    } catch {
      /* already failing; the unlink below matters more */
    }
    staged.fd = undefined;
  }
  try {
    fs.rmSync(staged.tmpPath, { force: true });
  } catch {
    /* cleanTmp will get it once we are gone; report the original error */
  }
  return isDiskFull(e, store.dir) ? diskFullError(e, `layer ${key}`, store.dir) : e;
}
