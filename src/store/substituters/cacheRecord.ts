import crypto from 'node:crypto';
import { canonicalJson } from '../../derivations/canonicalJson.js';
import { createDigest } from '../digest.js';
import { derivationMismatch } from '../exportManifest.js';
import { MAX_MANIFEST_VARIANTS } from '../manifests.js';
import { isLayerKey } from '../objectPath.js';
import { signBytes, type SecretKey } from '../signingKeys.js';
import { judgeSignature } from '../trustedKeys.js';
import type { StoreDir } from '../storeDir.js';
import type { ClosureEntry, LayerRecord, ManifestVariant } from '../types.js';

/**
 * The layout of a remote layer cache (store-layout.md, "Substituters"):
 *   rapido-cache.json            { format: "rapido-cache", version: 1 }
 *   objects/KEY                  the object's exact bytes
 *   records/KEY.json             the signed record (below); written after its object
 *   manifests/FIRSTKEY.json      dracut's first key → variants { closure, key }, newest first
 */
const CACHE_FORMAT = 'rapido-cache';
const CACHE_VERSION = 1;
export const VERSION_PATH = 'rapido-cache.json';
export const objectPathIn = (key: string) => `objects/${key}`;
export const recordPathIn = (key: string) => `records/${key}.json`;
export const manifestPathIn = (firstKey: string) => `manifests/${firstKey}.json`;

/** What a record vouches for, and what its signature covers (as canonical JSON, UTF-8). */
export interface RecordBody {
  key: string;
  size: number;
  sha256: string;
  /** xxh64, as in the local store's records. */
  digest: string;
  builder: string;
  layerName: string;
  derivation: unknown;
  closure?: ClosureEntry[];
}

interface CacheRecord {
  format: 'rapido-cache-record';
  version: number;
  body: RecordBody;
  /** Ed25519 over canonicalJson(body); absent only on a record pushed without a key (never by rapido-store push). */
  signature?: { algorithm: 'ed25519'; keyName: string; publicKey: string; signature: string };
}

export function versionFile(): Buffer {
  return Buffer.from(JSON.stringify({ format: CACHE_FORMAT, version: CACHE_VERSION }) + '\n');
}

/** Why a version file is not one this rapido reads, or null. */
export function versionMismatch(bytes: Buffer): string | null {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as { format?: unknown; version?: unknown };
    if (v.format !== CACHE_FORMAT) return `${VERSION_PATH} is not a rapido cache's`;
    return v.version === CACHE_VERSION ? null : `cache format version ${String(v.version)}, this rapido reads version ${CACHE_VERSION}`;
  } catch {
    return `${VERSION_PATH} is not JSON`;
  }
}

export function signedRecord(rec: LayerRecord, sha256: string, signer: SecretKey): Buffer {
  const body: RecordBody = {
    key: rec.key, size: rec.size, sha256, digest: rec.digest, builder: rec.builder, layerName: rec.layerName, derivation: rec.derivation,
    ...(rec.closure ? { closure: rec.closure } : {}),
  };
  const record: CacheRecord = { format: 'rapido-cache-record', version: CACHE_VERSION, body, signature: signBytes(signer, Buffer.from(canonicalJson(body))) };
  return Buffer.from(JSON.stringify(record) + '\n');
}

/** A record or object that must not be used: the message says why, for the one warning line. */
export class RejectedLayer extends Error {
  constructor(readonly why: 'bad-record' | 'untrusted' | 'bad-signature' | 'tampered', message: string) {
    super(message);
    this.name = 'RejectedLayer';
  }
}

const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Checks a downloaded record as import checks a manifest entry: its shape,
 * its signature by a key in trusted-keys/ (unless the substituter was given
 * `?trust=any`), and that its derivation hashes to the key asked for.
 */
export function checkRecord(store: StoreDir, key: string, bytes: Buffer, trustAny: boolean): RecordBody {
  let r: CacheRecord;
  try {
    r = JSON.parse(bytes.toString('utf8')) as CacheRecord;
  } catch {
    throw new RejectedLayer('bad-record', `record ${key} is not JSON`);
  }
  const b = r?.body;
  if (r?.format !== 'rapido-cache-record' || r.version !== CACHE_VERSION || typeof b !== 'object' || b === null) throw new RejectedLayer('bad-record', `record ${key} is not a rapido cache record of version ${CACHE_VERSION}`);
  if (b.key !== key || !isLayerKey(b.key)) throw new RejectedLayer('bad-record', `record ${key} names key ${String(b.key)}`);
  if (!Number.isSafeInteger(b.size) || b.size < 0 || typeof b.sha256 !== 'string' || !HEX64.test(b.sha256) || typeof b.digest !== 'string' || !HEX16.test(b.digest)) {
    throw new RejectedLayer('bad-record', `record ${key}: bad size, sha256 or digest`);
  }
  if (typeof b.builder !== 'string' || typeof b.layerName !== 'string') throw new RejectedLayer('bad-record', `record ${key}: bad builder or layer name`);
  if (b.closure !== undefined && (!Array.isArray(b.closure) || !b.closure.every((e) => typeof e?.path === 'string' && typeof e?.digest === 'string' && HEX16.test(e.digest)))) {
    throw new RejectedLayer('bad-record', `record ${key}: bad closure`);
  }
  if (!trustAny) {
    if (!r.signature) throw new RejectedLayer('untrusted', `record ${key} is not signed`);
    const v = judgeSignature(store, Buffer.from(canonicalJson(b)), r.signature);
    if (!v.ok) {
      if (v.why === 'untrusted') throw new RejectedLayer('untrusted', `record ${key} is signed by key ${JSON.stringify(v.keyName)}${v.fingerprint ? ` (fingerprint ${v.fingerprint})` : ''}, which this store does not trust`);
      throw new RejectedLayer('bad-signature', `record ${key}: ${v.why === 'bad' ? `the signature does not verify with trusted key ${v.key.name}` : 'malformed signature'}`);
    }
  }
  const why = derivationMismatch(b);
  if (why) throw new RejectedLayer('bad-record', `record ${key} does not belong to its key (${why})`);
  return b;
}

/** The downloaded object against its record: size, SHA-256 (what the signature covers) and xxh64 (what the store keeps). */
export function checkObject(body: RecordBody, bytes: Buffer): void {
  if (bytes.length !== body.size) throw new RejectedLayer('tampered', `object ${body.key}: ${bytes.length} bytes, its record says ${body.size}`);
  if (crypto.createHash('sha256').update(bytes).digest('hex') !== body.sha256) throw new RejectedLayer('tampered', `object ${body.key}: content does not match its SHA-256`);
  const x = createDigest();
  x.update(bytes);
  if (x.digest() !== body.digest) throw new RejectedLayer('tampered', `object ${body.key}: content does not match its xxh64 digest`);
}

interface CacheManifest {
  format: 'rapido-cache-manifest';
  version: number;
  firstKey: string;
  variants: ManifestVariant[];
}

/** A remote dracut manifest: a hint only (the record it leads to is signed and checked), so malformed ones read as empty. */
export function parseCacheManifest(bytes: Buffer | null, firstKey: string): ManifestVariant[] {
  if (!bytes) return [];
  try {
    const m = JSON.parse(bytes.toString('utf8')) as CacheManifest;
    if (m.format !== 'rapido-cache-manifest' || m.version !== CACHE_VERSION || m.firstKey !== firstKey || !Array.isArray(m.variants)) return [];
    return m.variants.filter((v) => typeof v?.key === 'string' && isLayerKey(v.key) && Array.isArray(v.closure));
  } catch {
    return [];
  }
}

/** Ours first (newest), then the remote's that differ, at most as many as the local manifests db keeps. */
export function mergeCacheManifest(firstKey: string, ours: ManifestVariant[], theirs: ManifestVariant[]): Buffer {
  const seen = new Set(ours.map((v) => v.key));
  const variants = [...ours, ...theirs.filter((v) => !seen.has(v.key))].slice(0, MAX_MANIFEST_VARIANTS);
  const m: CacheManifest = { format: 'rapido-cache-manifest', version: CACHE_VERSION, firstKey, variants };
  return Buffer.from(JSON.stringify(m) + '\n');
}
