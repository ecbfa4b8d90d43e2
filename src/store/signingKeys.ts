import crypto, { type KeyObject } from 'node:crypto';
import { RapidoError } from '../errors.js';

/**
 * Ed25519 keys for signing exported archives, in Nix's one-line text form:
 *   public:  NAME:BASE64(32-byte public key)
 *   secret:  NAME:BASE64(32-byte seed || 32-byte public key)
 * One line each, easy to paste into `rapido-store trust`, and the name
 * travels with the key, so a signature can say who made it.
 */
export interface PublicKey {
  name: string;
  raw: Buffer;
  key: KeyObject;
  /** `NAME:BASE64`, as written to NAME.pub. */
  line: string;
  /** First 16 hex chars of the SHA-256 of the raw key: what to compare over the phone. */
  fingerprint: string;
}

export interface SecretKey {
  name: string;
  key: KeyObject;
  publicKey: PublicKey;
}

/** What manifest.sig holds. */
export interface SignatureFile {
  algorithm: 'ed25519';
  keyName: string;
  /** The signer's public key (`NAME:BASE64`): informative; only trusted keys are used to verify. */
  publicKey: string;
  /** base64 Ed25519 signature of the exact bytes of manifest.json. */
  signature: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function assertKeyName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new RapidoError('BAD_KEY_NAME', `invalid key name ${JSON.stringify(name)}`, {
      hint: 'use letters, digits, ".", "_" and "-" (e.g. the host name: laptop-2025)',
    });
  }
}

const b64url = (b: Buffer) => b.toString('base64url');

function publicFromRaw(name: string, raw: Buffer): PublicKey {
  const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
  return { name, raw, key, line: `${name}:${raw.toString('base64')}`, fingerprint: fingerprintOf(raw) };
}

export function fingerprintOf(raw: Buffer): string {
  return crypto.createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

function splitLine(text: string, what: string): [string, Buffer] {
  const line = text.trim();
  const i = line.lastIndexOf(':');
  const name = i > 0 ? line.slice(0, i) : '';
  const b64 = i > 0 ? line.slice(i + 1) : '';
  if (!NAME_RE.test(name) || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new RapidoError('BAD_KEY', `not a rapido ${what}: expected one line NAME:BASE64`, {
      hint: what === 'public key' ? 'pass the NAME.pub file written by rapido-store keygen, or its one line' : 'pass the NAME.key file written by rapido-store keygen',
    });
  }
  return [name, Buffer.from(b64, 'base64')];
}

export function parsePublicKey(text: string): PublicKey {
  const [name, raw] = splitLine(text, 'public key');
  if (raw.length !== 32) {
    throw new RapidoError('BAD_KEY', `public key ${name} has ${raw.length} bytes, an Ed25519 public key has 32`, {
      hint: raw.length === 64 ? 'this looks like a secret key: trust the NAME.pub file, never NAME.key' : undefined,
    });
  }
  return publicFromRaw(name, raw);
}

export function parseSecretKey(text: string): SecretKey {
  const [name, raw] = splitLine(text, 'secret key');
  if (raw.length !== 64) {
    throw new RapidoError('BAD_KEY', `secret key ${name} has ${raw.length} bytes, expected 64 (seed and public key)`, {
      hint: raw.length === 32 ? 'this looks like a public key: --sign takes the NAME.key file' : undefined,
    });
  }
  const seed = raw.subarray(0, 32);
  const pub = Buffer.from(raw.subarray(32));
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(pub) }, format: 'jwk' });
  } catch (e) {
    throw new RapidoError('BAD_KEY', `secret key ${name} is damaged`, { cause: e });
  }
  // The public half is stored for convenience; it must be the seed's.
  const derived = Buffer.from(crypto.createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url');
  if (!derived.equals(pub)) throw new RapidoError('BAD_KEY', `secret key ${name} is damaged: its public half does not match its seed`);
  return { name, key, publicKey: publicFromRaw(name, pub) };
}

/** A new key pair, as the two lines to write to NAME.key and NAME.pub. */
export function generateKeyPair(name: string): { secret: string; public: string; fingerprint: string } {
  assertKeyName(name);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return {
    secret: `${name}:${Buffer.concat([seed, pub]).toString('base64')}`,
    public: `${name}:${pub.toString('base64')}`,
    fingerprint: fingerprintOf(pub),
  };
}

export function signBytes(secret: SecretKey, data: Buffer): SignatureFile {
  return {
    algorithm: 'ed25519',
    keyName: secret.name,
    publicKey: secret.publicKey.line,
    signature: crypto.sign(null, data, secret.key).toString('base64'),
  };
}

export function verifyBytes(pub: PublicKey, data: Buffer, signatureB64: string): boolean {
  const sig = Buffer.from(signatureB64, 'base64');
  if (sig.length !== 64) return false;
  return crypto.verify(null, data, pub.key, sig);
}
