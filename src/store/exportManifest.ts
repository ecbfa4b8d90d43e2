import { RapidoError } from '../errors.js';
import { canonicalJson } from '../derivations/canonicalJson.js';
import { derivationKeyText, type NativeDerivation } from '../derivations/nativeDerivation.js';
import { hashString } from './digest.js';
import type { LayerRecord } from './layerIndex.js';
import type { ManifestVariant } from './manifests.js';
import { isLayerKey } from './objectPath.js';
import { STORE_FORMAT_VERSION } from './openStore.js';

/**
 * The archive `rapido-store export` writes (tar, see store-layout.md):
 *   rapido-export/manifest.json    this manifest, always the first member
 *   rapido-export/manifest.sig     Ed25519 signature of manifest.json's bytes (optional, second)
 *   rapido-export/objects/<key>    each object, in manifest order
 * The manifest carries each object's size, xxh64 and SHA-256 (the signature
 * covers content through the SHA-256: xxh64 only detects accidents).
 */
export const EXPORT_FORMAT = 'rapido-export';
export const EXPORT_VERSION = 1;
export const MANIFEST_NAME = 'rapido-export/manifest.json';
export const SIG_NAME = 'rapido-export/manifest.sig';
export const OBJECTS_PREFIX = 'rapido-export/objects/';
/** A manifest bigger than this is refused before it is read into memory. */
export const MAX_MANIFEST_BYTES = 256 << 20;

export interface ExportEntry {
  key: string;
  layerName: string;
  builder: string;
  size: number;
  /** xxh64 of the object, as in its record. */
  digest: string;
  sha256: string;
  /** The full layer record: derivation, closure, times. */
  record: LayerRecord;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: number;
  /** ISO 8601. */
  created: string;
  /** The store format of the exporting rapido. */
  storeFormat: number;
  entries: ExportEntry[];
  /** dracut's two-level lookup entries whose variants name exported keys. */
  manifests: { firstKey: string; variants: ManifestVariant[] }[];
}

const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function bad(what: string): never {
  throw new RapidoError('IMPORT_BAD_MANIFEST', `${MANIFEST_NAME}: ${what}; nothing was imported`, {
    hint: 'the archive is damaged or was not written by rapido-store export',
  });
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function checkClosure(c: unknown, where: string): void {
  if (!Array.isArray(c)) bad(`${where}: closure is not a list`);
  for (const e of c) {
    if (!isObj(e) || typeof e.path !== 'string' || typeof e.digest !== 'string' || !HEX16.test(e.digest)) bad(`${where}: bad closure entry`);
  }
}

/**
 * Why a record's derivation does not produce its key, or null when it does
 * (or the builder is not one whose rule we know). A layer key is a promise
 * about inputs; an archive must not be able to break it, signed or not.
 */
export function derivationMismatch(rec: Pick<LayerRecord, 'key' | 'builder' | 'derivation' | 'closure'>): string | null {
  if (rec.builder.startsWith('native-')) {
    const k = hashString(derivationKeyText(rec.derivation as NativeDerivation));
    if (k === rec.key) return null;
    return `its derivation hashes to ${k}`;
  }
  if (rec.builder === 'dracut') {
    // Two levels: firstKey = hash(derivation without firstKey); key = hash(firstKey + closure).
    const d = rec.derivation as Record<string, unknown> | undefined;
    if (!isObj(d) || typeof d.firstKey !== 'string') return 'its dracut derivation has no first-level key';
    const { firstKey, ...first } = d;
    const f = hashString(canonicalJson(first));
    if (f !== firstKey) return `its dracut request hashes to ${f}, not its first-level key ${firstKey}`;
    const k = hashString(firstKey + canonicalJson((rec.closure ?? []).map((e) => [e.path, e.digest])));
    return k === rec.key ? null : `its closure hashes to ${k}`;
  }
  return null;
}

/** Parses and checks a manifest completely, before any object is read. */
export function parseExportManifest(bytes: Buffer): ExportManifest {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    bad(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObj(m) || m.format !== EXPORT_FORMAT) bad('not a rapido export manifest');
  if (m.version !== EXPORT_VERSION) {
    throw new RapidoError('IMPORT_VERSION', `the archive has export format version ${String(m.version)}, this rapido reads version ${EXPORT_VERSION}; nothing was imported`, {
      hint: 'import it with the rapido version that exported it, or export again with this one',
    });
  }
  if (m.storeFormat !== STORE_FORMAT_VERSION) {
    // Keys are hashed by the store format's rule: an older archive's layers would never be found by a cut here.
    throw new RapidoError('IMPORT_VERSION', `the archive was exported from a store of format ${String(m.storeFormat)}, this rapido's layer keys follow format ${STORE_FORMAT_VERSION}; nothing was imported`, {
      hint: 'its layers would never be reused here: export again with this rapido version (or cut on this machine)',
    });
  }
  if (typeof m.created !== 'string' || !Array.isArray(m.entries) || !Array.isArray(m.manifests)) bad('missing created, entries or manifests');
  const seen = new Set<string>();
  for (const [i, e] of (m.entries as unknown[]).entries()) {
    const where = `entry ${i}`;
    if (!isObj(e) || typeof e.key !== 'string' || !isLayerKey(e.key)) bad(`${where}: bad key`);
    const at = `entry ${e.key}`;
    if (seen.has(e.key)) bad(`${at} appears twice`);
    seen.add(e.key);
    if (typeof e.layerName !== 'string' || typeof e.builder !== 'string') bad(`${at}: bad layerName or builder`);
    if (!isSize(e.size)) bad(`${at}: bad size`);
    if (typeof e.digest !== 'string' || !HEX16.test(e.digest)) bad(`${at}: bad xxh64 digest`);
    if (typeof e.sha256 !== 'string' || !HEX64.test(e.sha256)) bad(`${at}: bad sha256`);
    const r = e.record;
    if (!isObj(r)) bad(`${at}: no layer record`);
    if (r.key !== e.key || r.size !== e.size || r.digest !== e.digest || r.builder !== e.builder || r.layerName !== e.layerName) {
      bad(`${at}: its layer record disagrees with the entry (key, size, digest, builder or layer name)`);
    }
    if (typeof r.createdAt !== 'number' || typeof r.lastUsedAt !== 'number') bad(`${at}: bad record times`);
    if (r.closure !== undefined) checkClosure(r.closure, at);
    const why = derivationMismatch(r as unknown as LayerRecord);
    if (why) bad(`${at}: the layer record does not belong to its key (${why})`);
  }
  for (const x of m.manifests as unknown[]) {
    if (!isObj(x) || typeof x.firstKey !== 'string' || !HEX16.test(x.firstKey) || !Array.isArray(x.variants)) bad('bad dracut manifest');
    for (const v of x.variants as unknown[]) {
      if (!isObj(v) || typeof v.key !== 'string' || !seen.has(v.key)) bad(`dracut manifest ${x.firstKey}: variant names a key not in the archive`);
      checkClosure(v.closure, `dracut manifest ${x.firstKey}`);
    }
  }
  return m as unknown as ExportManifest;
}
