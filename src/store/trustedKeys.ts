import fs from 'node:fs';
import path from 'node:path';
import { RapidoError } from '../errors.js';
import { assertKeyName, fingerprintOf, parsePublicKey, verifyBytes, type PublicKey, type SignatureFile } from './signingKeys.js';
import { assertWritable, type StoreDir } from './storeDir.js';
import { uniqueSuffix } from './uniqueSuffix.js';

/**
 * The public keys whose signatures `rapido-store import` accepts:
 * `<store>/trusted-keys/NAME.pub`, one `NAME:BASE64` line each. Plain files,
 * so an operator can inspect, copy or provision them with other tools.
 */
export function trustedKeysDir(store: StoreDir): string {
  return path.join(store.paths.root, 'trusted-keys');
}

function fileOf(store: StoreDir, name: string): string {
  assertKeyName(name);
  return path.join(trustedKeysDir(store), `${name}.pub`);
}

export function listTrustedKeys(store: StoreDir): PublicKey[] {
  let names: string[];
  try {
    names = fs.readdirSync(trustedKeysDir(store));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const keys: PublicKey[] = [];
  for (const n of names.filter((f) => f.endsWith('.pub')).sort()) {
    try {
      const k = parsePublicKey(fs.readFileSync(path.join(trustedKeysDir(store), n), 'utf8'));
      // The file name is the key's identity; a file renamed by hand must not trust under another name.
      if (`${k.name}.pub` === n) keys.push(k);
    } catch {
      /* a damaged file trusts nothing */
    }
  }
  return keys;
}

export function findTrustedKey(store: StoreDir, name: string): PublicKey | undefined {
  return listTrustedKeys(store).find((k) => k.name === name);
}

/** Adds a key; 'already' when this very key is trusted. A different key under the same name is refused. */
export function trustKey(store: StoreDir, key: PublicKey): 'added' | 'already' {
  assertWritable(store, 'trust a key');
  const existing = findTrustedKey(store, key.name);
  if (existing) {
    if (existing.raw.equals(key.raw)) return 'already';
    throw new RapidoError('KEY_NAME_TAKEN', `a different key named ${key.name} is already trusted (fingerprint ${existing.fingerprint}, new one ${key.fingerprint})`, {
      hint: `if the signer made a new key, run rapido-store untrust ${key.name} first`,
    });
  }
  const dir = trustedKeysDir(store);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${key.name}.${process.pid}.${uniqueSuffix()}`);
  fs.writeFileSync(tmp, key.line + '\n', { mode: 0o644 });
  fs.renameSync(tmp, fileOf(store, key.name));
  return 'added';
}

/** Removes a trusted key; returns it, or undefined if no key had that name. */
export function untrustKey(store: StoreDir, name: string): PublicKey | undefined {
  assertWritable(store, 'untrust a key');
  const existing = findTrustedKey(store, name);
  fs.rmSync(fileOf(store, name), { force: true });
  return existing;
}

/** What a signature is worth to this store: made by a trusted key over exactly these bytes, or why not. */
export type SignatureVerdict =
  | { ok: true; key: PublicKey }
  | { ok: false; why: 'malformed' }
  | { ok: false; why: 'untrusted'; keyName: string; fingerprint: string | null }
  | { ok: false; why: 'bad'; key: PublicKey };

/**
 * Judges a signature (import's manifest.sig, a cache record's signature)
 * against trusted-keys/: the signer's name picks the trusted key, and only
 * that key verifies; the public key the signature carries is informative.
 */
export function judgeSignature(store: StoreDir, data: Buffer, sig: unknown): SignatureVerdict {
  const s = sig as Partial<SignatureFile> | null;
  if (typeof s !== 'object' || s === null || s.algorithm !== 'ed25519' || typeof s.keyName !== 'string' || typeof s.signature !== 'string') return { ok: false, why: 'malformed' };
  const trusted = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s.keyName) ? findTrustedKey(store, s.keyName) : undefined;
  if (!trusted) {
    let fingerprint: string | null = null;
    try {
      fingerprint = fingerprintOf(parsePublicKey(String(s.publicKey)).raw);
    } catch {
      /* the name is all we can show */
    }
    return { ok: false, why: 'untrusted', keyName: s.keyName, fingerprint };
  }
  return verifyBytes(trusted, data, s.signature) ? { ok: true, key: trusted } : { ok: false, why: 'bad', key: trusted };
}
