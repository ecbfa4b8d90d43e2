import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, type TestContext } from 'node:test';
import { canonicalJson } from '../../../src/derivations/canonicalJson.js';
import { digestFileSync, getLayer, getManifest, hashString, objectPath, putLayer, recordManifest, writeObject, type Store } from '../../../src/store/index.js';
import { generateKeyPair, parsePublicKey, parseSecretKey, signBytes, type SecretKey } from '../../../src/store/signingKeys.js';
import { trustKey } from '../../../src/store/trustedKeys.js';
import { openBackend } from '../../../src/store/substituters/openBackend.js';
import { pushLayers } from '../../../src/store/substituters/pushLayers.js';
import { CutSubstitution, FETCH_POOL } from '../../../src/store/substituters/substitute.js';
import { NEGATIVE_TTL_MS } from '../../../src/store/substituters/negativeCache.js';
import { parseSubstituter } from '../../../src/store/substituters/substituterUrl.js';
import { serveCache } from '../../helpers/cacheServer.js';
import { addDerived, tempDir, tempStore } from '../tempStore.js';

interface Fx {
  a: Store;
  b: Store;
  cache: string;
  url: string;
  keys: string[];
  signer: SecretKey;
}

async function setup(t: TestContext, trust = true): Promise<Fx> {
  const a = await tempStore(t);
  const b = await tempStore(t);
  const cache = path.join(tempDir(t), 'cache');
  const big = crypto.randomBytes(3 << 20);
  const keys = [addDerived(a, 'system', big), addDerived(a, 'overlay', Buffer.from('overlay bytes')), addDerived(a, 'empty', Buffer.alloc(0))];
  const pair = generateKeyPair('ci-box');
  const signer = parseSecretKey(pair.secret);
  if (trust) trustKey(b, parsePublicKey(pair.public));
  const url = pathToFileURL(cache).href;
  await pushLayers(a, keys, openBackend(parseSubstituter(url)), signer);
  return { a, b, cache, url, keys, signer };
}

function subst(store: Store, urls: string[], warnings: string[], now?: number) {
  return new CutSubstitution(store, urls.map(parseSubstituter), (l) => warnings.push(l), undefined, now);
}

test('substitute: layers pushed from store A are fetched into store B, verified, byte for byte', async (t) => {
  const { a, b, url, keys } = await setup(t);
  const warnings: string[] = [];
  const s = subst(b, [url], warnings);
  const got = await s.fetch(keys);
  assert.deepEqual(warnings, []);
  assert.deepEqual([...got.keys()].sort(), [...keys].sort());
  for (const k of keys) {
    assert.deepEqual(fs.readFileSync(objectPath(b, k)), fs.readFileSync(objectPath(a, k)));
    const rec = got.get(k)!.record;
    const src = getLayer(a, k)!;
    assert.deepEqual({ ...rec, createdAt: 0, lastUsedAt: 0 }, { ...src, createdAt: 0, lastUsedAt: 0 });
  }
  assert.equal(s.fetchedFrom.get(parseSubstituter(url).display), 3);
});

test('substitute: records signed by a key store B does not trust are refused: one warning, nothing stored; ?trust=any takes them', async (t) => {
  const { b, url, keys } = await setup(t, false);
  const warnings: string[] = [];
  const got = await subst(b, [url], warnings).fetch(keys);
  assert.equal(got.size, 0);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /signed by key "ci-box" \(fingerprint [0-9a-f]{16}\), which this store does not trust; building locally, not asking it again in this cut/);
  for (const k of keys) assert.equal(fs.existsSync(objectPath(b, k)), false);
  assert.deepEqual(fs.readdirSync(b.paths.tmp), []);
  const any = await subst(b, [url + '?trust=any'], warnings).fetch(keys);
  assert.equal(any.size, 3);
});

test('substitute: a tampered object on the cache is detected and never stored', async (t) => {
  const { b, cache, url, keys } = await setup(t);
  const obj = path.join(cache, 'objects', keys[0]!);
  const bytes = fs.readFileSync(obj);
  bytes[1000] ^= 1; // same size, other content
  fs.writeFileSync(obj, bytes);
  const warnings: string[] = [];
  const got = await subst(b, [url], warnings).fetch([keys[0]!]);
  assert.equal(got.size, 0);
  assert.match(warnings[0]!, /object [0-9a-f]{16}: content does not match its SHA-256/);
  assert.equal(fs.existsSync(objectPath(b, keys[0]!)), false);
  assert.deepEqual(fs.readdirSync(b.paths.tmp), []);
});

test('substitute: a record re-signed by a trusted key with a wrong SHA-256 is caught at the object', async (t) => {
  const { b, cache, url, keys, signer } = await setup(t);
  const rp = path.join(cache, 'records', `${keys[1]}.json`);
  const r = JSON.parse(fs.readFileSync(rp, 'utf8'));
  r.body.sha256 = crypto.createHash('sha256').update('something else').digest('hex');
  r.signature = signBytes(signer, Buffer.from(canonicalJson(r.body)));
  fs.writeFileSync(rp, JSON.stringify(r));
  const warnings: string[] = [];
  assert.equal((await subst(b, [url], warnings).fetch([keys[1]!])).size, 0);
  assert.match(warnings[0]!, /does not match its SHA-256/);
  assert.equal(fs.existsSync(objectPath(b, keys[1]!)), false);
});

test('substitute: a record edited after signing fails its signature', async (t) => {
  const { b, cache, url, keys } = await setup(t);
  const rp = path.join(cache, 'records', `${keys[1]}.json`);
  const r = JSON.parse(fs.readFileSync(rp, 'utf8'));
  r.body.layerName = 'evil';
  fs.writeFileSync(rp, JSON.stringify(r));
  const warnings: string[] = [];
  assert.equal((await subst(b, [url], warnings).fetch([keys[1]!])).size, 0);
  assert.match(warnings[0]!, /the signature does not verify with trusted key ci-box/);
});

test('substitute: a cache that fails is asked once per cut, and the next cache in order serves the layers', async (t) => {
  const { b, cache, url, keys } = await setup(t);
  const s = await serveCache(cache);
  t.after(() => s.close());
  s.misbehave({ match: /^\/records\//, status: 500 });
  const warnings: string[] = [];
  const cut = subst(b, [s.url, url], warnings);
  const got = await cut.fetch(keys);
  assert.equal(got.size, 3, 'all from the file:// cache');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /substituter http:\/\/127\.0\.0\.1:\d+: GET records\/[0-9a-f]{16}\.json: HTTP 500/);
  // Lookups already in flight (the pool) may finish; nothing after the fault asks it again.
  const before = s.requests.length;
  assert.ok(before <= 1 + FETCH_POOL, s.requests.join('\n'));
  await cut.fetch(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
  assert.equal(s.requests.length, before, 'asked again after failing');
  assert.equal(warnings.length, 1);
});

test('substitute: a 404 is remembered for the TTL, then asked again', async (t) => {
  const { b, cache, keys } = await setup(t);
  const s = await serveCache(cache);
  t.after(() => s.close());
  const absent = 'ffffffffffffffff';
  const now = Date.now();
  const w: string[] = [];
  assert.equal((await subst(b, [s.url], w, now).fetch([absent, keys[1]!])).size, 1);
  const asked = () => s.requests.filter((r) => r === `GET /records/${absent}.json`).length;
  assert.equal(asked(), 1);
  await subst(b, [s.url], w, now + 60_000).fetch([absent]);
  assert.equal(asked(), 1, 'a minute later: remembered, not asked');
  await subst(b, [s.url], w, Date.now() + NEGATIVE_TTL_MS + 1000).fetch([absent]);
  assert.equal(asked(), 2, 'after the TTL: asked again');
  assert.deepEqual(w, []);
});

test('substitute: a cache nothing was pushed to costs one request per cut, not one per layer', async (t) => {
  const b = await tempStore(t);
  const empty = tempDir(t);
  const s = await serveCache(empty);
  t.after(() => s.close());
  const w: string[] = [];
  assert.equal((await subst(b, [s.url], w).fetch(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc'])).size, 0);
  assert.deepEqual(s.requests, ['GET /rapido-cache.json']);
  assert.deepEqual(w, []);
});

test('substitute: dracut\'s two-level lookup works remotely: first key → manifest → the variant whose closure matches here', async (t) => {
  const a = await tempStore(t);
  const b = await tempStore(t);
  const files = tempDir(t);
  const f1 = path.join(files, 'libx.so');
  fs.writeFileSync(f1, 'library one');
  const first = { builder: 'dracut', version: 1, request: { modules: ['base'] } };
  const firstKey = hashString(canonicalJson(first));
  const closure = [{ path: f1, digest: digestFileSync(f1) }];
  const key = hashString(firstKey + canonicalJson(closure.map((e) => [e.path, e.digest])));
  const w = writeObject(a, key, (fd) => fs.writeSync(fd, Buffer.from('dracut image')));
  putLayer(a, { key, builder: 'dracut', layerName: 'dracut', size: w.size, digest: w.digest, derivation: { ...first, firstKey }, closure, createdAt: 1, lastUsedAt: 1 }, { manifestKey: firstKey });
  const pair = generateKeyPair('ci-box');
  trustKey(b, parsePublicKey(pair.public));
  const url = pathToFileURL(path.join(tempDir(t), 'cache')).href;
  await pushLayers(a, [key], openBackend(parseSubstituter(url)), parseSecretKey(pair.secret));
  const warnings: string[] = [];
  const hit = await subst(b, [url], warnings).fetchDracut(firstKey, (p) => (fs.existsSync(p) ? digestFileSync(p) : null));
  assert.equal(hit?.record.key, key);
  assert.deepEqual(fs.readFileSync(objectPath(b, key)), Buffer.from('dracut image'));
  recordManifest(b, firstKey, hit!.variant.closure, key);
  assert.equal(getManifest(b, firstKey)[0]!.key, key);
  // The host file changed: the remote variant no longer applies.
  fs.writeFileSync(f1, 'library two');
  const miss = await subst(b, [url], warnings).fetchDracut(firstKey, (p) => digestFileSync(p));
  assert.equal(miss, null);
  assert.deepEqual(warnings, []);
});
