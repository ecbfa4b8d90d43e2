import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RapidoError } from '../../src/errors.js';
import { generateKeyPair, parsePublicKey, parseSecretKey, signBytes, verifyBytes } from '../../src/store/signingKeys.js';
import { listTrustedKeys, trustKey, untrustKey, findTrustedKey } from '../../src/store/trustedKeys.js';
import { tempStore } from './tempStore.js';

const code = (c: string) => (e: unknown) => e instanceof RapidoError && e.code === c;

test('keys: a generated pair signs and verifies; any changed byte fails', () => {
  const pair = generateKeyPair('builder-1');
  assert.match(pair.public, /^builder-1:[A-Za-z0-9+/]{43}=$/);
  const secret = parseSecretKey(pair.secret);
  const pub = parsePublicKey(pair.public);
  assert.equal(secret.publicKey.line, pub.line);
  assert.equal(pub.fingerprint, pair.fingerprint);
  const data = Buffer.from('{"manifest":1}');
  const sig = signBytes(secret, data);
  assert.equal(sig.keyName, 'builder-1');
  assert.equal(verifyBytes(pub, data, sig.signature), true);
  const changed = Buffer.from(data);
  changed[3] ^= 1;
  assert.equal(verifyBytes(pub, changed, sig.signature), false);
  const other = parsePublicKey(generateKeyPair('builder-1').public);
  assert.equal(verifyBytes(other, data, sig.signature), false, 'another key with the same name');
  assert.equal(verifyBytes(pub, data, 'AAAA'), false, 'a short signature');
});

test('keys: bad text, swapped halves and a damaged secret are clear errors', () => {
  const pair = generateKeyPair('k');
  assert.throws(() => parsePublicKey('garbage'), code('BAD_KEY'));
  assert.throws(() => parsePublicKey(pair.secret), (e: unknown) => e instanceof RapidoError && /secret key/.test(e.hint ?? ''));
  assert.throws(() => parseSecretKey(pair.public), (e: unknown) => e instanceof RapidoError && /public key/.test(e.hint ?? ''));
  const raw = Buffer.from(pair.secret.split(':')[1]!, 'base64');
  raw[40] ^= 1; // the stored public half no longer matches the seed
  assert.throws(() => parseSecretKey(`k:${raw.toString('base64')}`), /does not match its seed/);
  assert.throws(() => generateKeyPair('../evil'), code('BAD_KEY_NAME'));
});

test('trusted keys: trust, re-trust, refuse a different key under the same name, untrust', async (t) => {
  const store = await tempStore(t);
  const a = parsePublicKey(generateKeyPair('alice').public);
  assert.equal(trustKey(store, a), 'added');
  assert.equal(trustKey(store, a), 'already');
  assert.throws(() => trustKey(store, parsePublicKey(generateKeyPair('alice').public)), code('KEY_NAME_TAKEN'));
  assert.equal(findTrustedKey(store, 'alice')!.fingerprint, a.fingerprint);
  assert.deepEqual(listTrustedKeys(store).map((k) => k.name), ['alice']);
  assert.equal(untrustKey(store, 'alice')!.name, 'alice');
  assert.equal(untrustKey(store, 'alice'), undefined);
  assert.deepEqual(listTrustedKeys(store), []);
});
