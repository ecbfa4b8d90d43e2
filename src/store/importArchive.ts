import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tar from 'tar-stream';
import { RapidoError, isRapidoError } from '../errors.js';
import { createDigest, digestFileSync } from './digest.js';
import {
  MANIFEST_NAME, MAX_MANIFEST_BYTES, OBJECTS_PREFIX, SIG_NAME, parseExportManifest, type ExportEntry, type ExportManifest,
} from './exportManifest.js';
import { fsyncDir } from './fsyncDir.js';
import { getLayer, putLayer } from './layerIndex.js';
import { recordManifest } from './manifests.js';
import { isLayerKey, objectPath } from './objectPath.js';
import type { Store } from './types.js';
import { assertPinName, getPin, putPin } from './pins.js';
import { storeTransaction } from './storeTransaction.js';
import { judgeSignature } from './trustedKeys.js';
import { tmpObjectName } from './writeObject.js';

export interface ImportOptions {
  /** Refuse archives not signed by a trusted key (default). False only on the user's explicit request. */
  verifySignature: boolean;
  /** Also pin every imported layer under this name, so gc keeps them until a cut roots them. */
  pin?: string;
  /** Where the archive came from, for the pin. */
  source?: string;
  now?: number;
  /** Called as each object has been checked. */
  onEntry?: (e: ExportEntry, outcome: ImportOutcome) => void;
}

/**
 * - added: new to this store;
 * - present: this store already had the identical layer;
 * - replaced: this store's copy was missing or corrupt, the archive's took its place;
 * - conflict: this store has an intact layer under the same key with other bytes: ours is kept.
 */
export type ImportOutcome = 'added' | 'present' | 'replaced' | 'conflict';

export interface ImportResult {
  entries: { entry: ExportEntry; outcome: ImportOutcome }[];
  /** The trusted key that signed the manifest, or null (unsigned, or not checked). */
  signedBy: { name: string; fingerprint: string } | null;
  signatureChecked: boolean;
  bytes: number;
}

interface Staged {
  entry: ExportEntry;
  outcome: ImportOutcome;
  /** Temp file holding the verified bytes, when they are to be installed. */
  tmp?: string;
}

function refuse(name: string, why: string): never {
  throw new RapidoError('IMPORT_BAD_ENTRY', `archive member ${JSON.stringify(name)}: ${why}; nothing was imported`, {
    hint: 'only archives written by rapido-store export can be imported',
  });
}

function tampered(name: string, why: string): never {
  throw new RapidoError('IMPORT_TAMPERED', `${name}: ${why}; nothing was imported`, {
    hint: 'the archive was damaged or modified after export: export it again from the source store',
  });
}

/** Only plain files with exactly the names an export writes; anything else is refused by name. */
function checkMember(h: tar.Header): void {
  const name = h.name;
  if (name.startsWith('/')) refuse(name, 'absolute path');
  if (name.split('/').includes('..')) refuse(name, 'path traversal ("..")');
  if (h.type !== 'file') refuse(name, `${h.type ?? 'unknown'} entries are not allowed, only regular files`);
  if (name !== MANIFEST_NAME && name !== SIG_NAME && !(name.startsWith(OBJECTS_PREFIX) && isLayerKey(name.slice(OBJECTS_PREFIX.length)))) {
    refuse(name, 'unexpected name');
  }
}

type Entry = AsyncIterable<Buffer> & { header: tar.Header };

async function readSmall(entry: Entry, limit: number): Promise<Buffer> {
  const size = entry.header.size ?? 0;
  if (size > limit) refuse(entry.header.name, `${size} bytes, more than the ${limit} allowed`);
  const chunks: Buffer[] = [];
  for await (const c of entry) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The trusted key that signed the manifest; throws unless allowed to pass unsigned/untrusted. */
function checkSignature(store: Store, manifest: Buffer, sigBytes: Buffer | undefined, required: boolean): ImportResult['signedBy'] {
  if (!sigBytes) {
    if (!required) return null;
    throw new RapidoError('IMPORT_UNSIGNED', 'the archive is not signed; nothing was imported', {
      hint: 'export with --sign KEYFILE (rapido-store keygen makes one) and trust its .pub here, or pass --no-verify-signature if you trust where it came from',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(sigBytes.toString('utf8'));
  } catch {
    parsed = null;
  }
  const v = judgeSignature(store, manifest, parsed);
  if (v.ok) return { name: v.key.name, fingerprint: v.key.fingerprint };
  if (!required) return null;
  if (v.why === 'malformed') {
    throw new RapidoError('IMPORT_BAD_SIGNATURE', `${SIG_NAME} is not a rapido signature; nothing was imported`, { hint: 'export the archive again' });
  }
  if (v.why === 'untrusted') {
    const fp = v.fingerprint ? ` (fingerprint ${v.fingerprint})` : '';
    throw new RapidoError('IMPORT_UNTRUSTED', `the archive is signed by key ${JSON.stringify(v.keyName)}${fp}, which this store does not trust; nothing was imported`, {
      hint: `check the fingerprint with the signer, then: rapido-store trust ${v.keyName}.pub (or --no-verify-signature)`,
    });
  }
  throw new RapidoError('IMPORT_BAD_SIGNATURE', `the signature of ${MANIFEST_NAME} does not verify with trusted key ${v.key.name} (fingerprint ${v.key.fingerprint}): the manifest was changed after signing; nothing was imported`, {
    hint: 'export the archive again from the source store',
  });
}

/** What to do with an entry, decided from this store before its bytes are read. */
function decide(store: Store, e: ExportEntry): ImportOutcome {
  const local = getLayer(store, e.key);
  if (!local) return 'added';
  const p = objectPath(store, e.key);
  const st = fs.statSync(p, { throwIfNoEntry: false });
  const intact = st?.isFile() && st.size === local.size && digestFileSync(p) === local.digest;
  if (!intact) return 'replaced';
  return local.digest === e.digest && local.size === e.size ? 'present' : 'conflict';
}

/**
 * Imports an archive written by exportArchive, all or nothing. The manifest
 * and its signature come first and are checked before any object is read;
 * each object is then streamed to a temp file in <store>/tmp while its size,
 * SHA-256 and xxh64 are checked. Only when the whole archive has been read
 * and every entry checks are the objects renamed into place and all records
 * written in one transaction. Any failure removes the temp files and throws
 * a RapidoError naming the entry. The caller holds a cut guard (no gc runs).
 */
export async function importArchive(store: Store, input: NodeJS.ReadableStream, opts: ImportOptions): Promise<ImportResult> {
  const now = opts.now ?? Date.now();
  if (opts.pin) assertPinName(opts.pin); // before reading anything, not after
  const extract = tar.extract();
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract);

  let manifestBytes: Buffer | undefined;
  let manifest: ExportManifest | undefined;
  let byKey = new Map<string, ExportEntry>();
  let sigBytes: Buffer | undefined;
  let signedBy: ImportResult['signedBy'] = null;
  const staged = new Map<string, Staged>();
  let current: string | undefined;
  let last: string | undefined;

  // Signature first, then the manifest's contents: a signed manifest that was edited is reported as such.
  const signatureGate = () => {
    if (manifest) return;
    signedBy = checkSignature(store, manifestBytes!, sigBytes, opts.verifySignature);
    manifest = parseExportManifest(manifestBytes!);
    byKey = new Map(manifest.entries.map((e) => [e.key, e]));
  };

  try {
    try {
      for await (const source of extract) {
        // tar-stream yields Buffers; its typings say unknown.
        const entry = source as unknown as Entry;
        const h = entry.header;
        current = h.name;
        checkMember(h);
        if (!manifestBytes) {
          if (h.name !== MANIFEST_NAME) refuse(h.name, `the first member must be ${MANIFEST_NAME}: not a rapido export`);
          manifestBytes = await readSmall(entry, MAX_MANIFEST_BYTES);
        } else if (h.name === MANIFEST_NAME) {
          refuse(h.name, 'appears twice');
        } else if (h.name === SIG_NAME) {
          if (sigBytes || staged.size > 0) refuse(h.name, `must directly follow ${MANIFEST_NAME}`);
          sigBytes = await readSmall(entry, 64 << 10);
        } else {
          signatureGate();
          await receiveObject(store, entry, byKey, staged);
        }
        last = current;
        current = undefined;
      }
    } catch (e) {
      if (isRapidoError(e)) throw e;
      const msg = (e as Error)?.message ?? String(e);
      if (/unexpected end/i.test(msg)) {
        const where = current ? `is truncated in ${current}` : last ? `is truncated after ${last}` : 'is empty or truncated at its start';
        throw new RapidoError('IMPORT_TRUNCATED', `the archive ${where}; nothing was imported`, {
          hint: 'the transfer was cut short: export it again',
          cause: e,
        });
      }
      throw new RapidoError('IMPORT_BAD_ARCHIVE', `not a readable tar archive ${current ? `at ${current}` : last ? `after ${last}` : ''} (${msg}); nothing was imported`, {
        hint: 'rapido-store import reads archives written by rapido-store export',
        cause: e,
      });
    }
    if (!manifestBytes) {
      throw new RapidoError('IMPORT_BAD_ARCHIVE', 'the archive is empty: no rapido export manifest; nothing was imported', {
        hint: 'rapido-store import reads archives written by rapido-store export',
      });
    }
    signatureGate();
    const missing = manifest!.entries.filter((e) => !staged.has(e.key));
    if (missing.length > 0) {
      throw new RapidoError('IMPORT_TRUNCATED', `the archive ends before ${OBJECTS_PREFIX}${missing[0]!.key} (${staged.size} of ${manifest!.entries.length} objects present); nothing was imported`, {
        hint: 'the transfer was cut short: export it again',
      });
    }
    commit(store, manifest!, staged, now, opts);
  } catch (e) {
    for (const s of staged.values()) if (s.tmp) fs.rmSync(s.tmp, { force: true });
    extract.destroy();
    (input as { destroy?: () => void }).destroy?.();
    throw e;
  }
  const entries = manifest!.entries.map((e) => ({ entry: e, outcome: staged.get(e.key)!.outcome }));
  for (const x of entries) opts.onEntry?.(x.entry, x.outcome);
  return { entries, signedBy, signatureChecked: opts.verifySignature, bytes: entries.reduce((n, x) => n + x.entry.size, 0) };
}

async function receiveObject(store: Store, entry: Entry, byKey: Map<string, ExportEntry>, staged: Map<string, Staged>): Promise<void> {
  const name = entry.header.name;
  const key = name.slice(OBJECTS_PREFIX.length);
  const e = byKey.get(key);
  if (!e) refuse(name, 'not listed in the manifest');
  if (staged.has(key)) refuse(name, 'appears twice');
  if (entry.header.size !== e.size) tampered(name, `${entry.header.size} bytes in the archive, ${e.size} in the manifest`);
  const outcome = decide(store, e);
  const s: Staged = { entry: e, outcome };
  // Registered before the first byte, so a failure midway removes the temp file.
  staged.set(key, s);
  const install = outcome === 'added' || outcome === 'replaced';
  let fd: number | undefined;
  if (install) {
    s.tmp = path.join(store.paths.tmp, tmpObjectName(key));
    fd = fs.openSync(s.tmp, 'wx', 0o600);
  }
  try {
    const sha = crypto.createHash('sha256');
    const xxh = createDigest();
    let n = 0;
    for await (const chunk of entry) {
      sha.update(chunk);
      xxh.update(chunk);
      n += chunk.length;
      if (fd !== undefined) {
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
      }
    }
    if (n !== e.size) tampered(name, `${n} bytes, ${e.size} in the manifest`);
    if (sha.digest('hex') !== e.sha256) tampered(name, 'content does not match its SHA-256 in the manifest');
    if (xxh.digest() !== e.digest) tampered(name, 'content does not match its xxh64 digest in the manifest');
    if (fd !== undefined) {
      fs.fsyncSync(fd);
      fs.fchmodSync(fd, 0o444);
    }
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Everything checked: objects into place (durable), then every record in one transaction. */
function commit(store: Store, manifest: ExportManifest, staged: Map<string, Staged>, now: number, opts: ImportOptions): void {
  const dirs = new Set<string>();
  for (const s of staged.values()) {
    if (!s.tmp) continue;
    const dest = objectPath(store, s.entry.key);
    const shard = path.dirname(dest);
    const created = fs.mkdirSync(shard, { recursive: true });
    if (created !== undefined) dirs.add(path.dirname(created));
    fs.renameSync(s.tmp, dest);
    s.tmp = undefined;
    dirs.add(shard);
  }
  for (const d of dirs) fsyncDir(d);
  if (opts.pin) getPin(store, opts.pin); // opens the pins db outside the transaction
  storeTransaction(store, () => {
    for (const s of staged.values()) {
      if (s.outcome === 'added' || s.outcome === 'replaced') putLayer(store, { ...s.entry.record, lastUsedAt: now });
    }
    // Oldest variant first: recordManifest puts each in front.
    for (const m of manifest.manifests) for (const v of [...m.variants].reverse()) recordManifest(store, m.firstKey, v.closure, v.key);
    if (opts.pin) {
      putPin(store, { name: opts.pin, at: now, source: opts.source ?? 'import', layers: manifest.entries.map((e) => ({ name: e.layerName, key: e.key })) });
    }
  });
}
