import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { RapidoError } from '../errors.js';
import { createDigest } from './digest.js';
import {
  EXPORT_FORMAT, EXPORT_VERSION, MANIFEST_NAME, OBJECTS_PREFIX, SIG_NAME, type ExportEntry, type ExportManifest,
} from './exportManifest.js';
import { getLayer } from './layerIndex.js';
import { objectPath } from './objectPath.js';
import { STORE_FORMAT_VERSION, type Store } from './openStore.js';
import { signBytes, type SecretKey } from './signingKeys.js';

export interface ExportOptions {
  signer?: SecretKey;
  now?: number;
  /** Called before each object is written. */
  onEntry?: (e: ExportEntry) => void;
}

export interface ExportSummary {
  entries: ExportEntry[];
  bytes: number;
  signedBy: string | null;
}

const CHUNK = 1 << 20;

/** Size, xxh64 and SHA-256 of an object, read once; the xxh64 must match its record. */
function hashObject(path: string): { size: number; digest: string; sha256: string } {
  const fd = fs.openSync(path, 'r');
  try {
    const sha = crypto.createHash('sha256');
    const xxh = createDigest();
    const buf = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, size);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      sha.update(chunk);
      xxh.update(chunk);
      size += n;
    }
    return { size, digest: xxh.digest(), sha256: sha.digest('hex') };
  } finally {
    fs.closeSync(fd);
  }
}

/** Everything the archive will say about each key, checked against the store first: nothing corrupt is ever exported. */
export function exportEntries(store: Store, keys: string[]): ExportEntry[] {
  const entries: ExportEntry[] = [];
  for (const key of [...new Set(keys)]) {
    const record = getLayer(store, key);
    if (!record) {
      throw new RapidoError('EXPORT_MISSING', `layer ${key} is not in the store`, { hint: 'rapido-store ls lists the layers; a key from another store cannot be exported from this one' });
    }
    const p = objectPath(store, key);
    let h: ReturnType<typeof hashObject>;
    try {
      h = hashObject(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      throw new RapidoError('EXPORT_MISSING', `the object of layer ${key} (${record.layerName}) is missing from the store`, {
        hint: 'rapido-store verify --repair drops its record; the next cut rebuilds it',
      });
    }
    if (h.size !== record.size || h.digest !== record.digest) {
      throw new RapidoError('EXPORT_CORRUPT', `the object of layer ${key} (${record.layerName}) is corrupt (size ${h.size}/${record.size}, digest ${h.digest}/${record.digest}); nothing was exported`, {
        hint: 'rapido-store verify --repair removes it; the next cut rebuilds it',
      });
    }
    entries.push({ key, layerName: record.layerName, builder: record.builder, size: h.size, digest: h.digest, sha256: h.sha256, record });
  }
  return entries;
}

function addBuffer(pack: tar.Pack, name: string, data: Buffer, mtime: Date): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, (e) => (e ? reject(e) : resolve()));
  });
}

async function addFile(pack: tar.Pack, name: string, path: string, size: number, mtime: Date): Promise<void> {
  let finish!: (e?: Error | null) => void;
  const done = new Promise<void>((res, rej) => (finish = (e) => (e ? rej(e) : res())));
  const entry = pack.entry({ name, size, mode: 0o444, mtime, type: 'file' }, (e) => finish(e));
  // `end` bounds the read: an object must not have grown since it was hashed (tar-stream rejects a short one).
  await pipeline(fs.createReadStream(path, { start: 0, end: size - 1, highWaterMark: CHUNK }), entry);
  await done;
}

/**
 * Writes a tar archive of the given layers to out: the manifest (records,
 * sizes, xxh64 and SHA-256 of every object, dracut manifests), its signature
 * when a signer is given, then the objects, streamed (objects may be large).
 */
export async function exportArchive(store: Store, keys: string[], out: NodeJS.WritableStream, opts: ExportOptions = {}): Promise<ExportSummary> {
  const now = opts.now ?? Date.now();
  const entries = exportEntries(store, keys);
  const wanted = new Set(entries.map((e) => e.key));
  const manifests: ExportManifest['manifests'] = [];
  for (const { key: firstKey, value } of store.db.manifests.getRange()) {
    const variants = value.filter((v) => wanted.has(v.key));
    if (variants.length) manifests.push({ firstKey, variants });
  }
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    created: new Date(now).toISOString(),
    storeFormat: STORE_FORMAT_VERSION,
    entries,
    manifests,
  };
  const bytes = Buffer.from(JSON.stringify(manifest, null, 1) + '\n');
  const mtime = new Date(now);

  const pack = tar.pack();
  const written = pipeline(pack, out);
  written.catch(() => {}); // awaited below; a failed output also fails the entry writes
  try {
    await addBuffer(pack, MANIFEST_NAME, bytes, mtime);
    if (opts.signer) await addBuffer(pack, SIG_NAME, Buffer.from(JSON.stringify(signBytes(opts.signer, bytes)) + '\n'), mtime);
    for (const e of entries) {
      opts.onEntry?.(e);
      if (e.size === 0) await addBuffer(pack, OBJECTS_PREFIX + e.key, Buffer.alloc(0), mtime);
      else await addFile(pack, OBJECTS_PREFIX + e.key, objectPath(store, e.key), e.size, mtime);
    }
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await written.catch(() => {});
    throw e;
  }
  await written;
  return { entries, bytes: entries.reduce((n, e) => n + e.size, 0), signedBy: opts.signer?.name ?? null };
}
