import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { generateKeyPair, parseSecretKey } from '../../../src/store/signingKeys.js';
import { openBackend } from '../../../src/store/substituters/openBackend.js';
import { pushLayers } from '../../../src/store/substituters/pushLayers.js';
import { parseSubstituter } from '../../../src/store/substituters/substituterUrl.js';
import { addDerived, tempDir, tempStore } from '../tempStore.js';

/** Every record in the cache points at a complete object with the record's SHA-256. */
function assertConsistent(cache: string): number {
  const recs = fs.readdirSync(path.join(cache, 'records')).filter((f) => f.endsWith('.json'));
  for (const f of recs) {
    const r = JSON.parse(fs.readFileSync(path.join(cache, 'records', f), 'utf8'));
    const obj = fs.readFileSync(path.join(cache, 'objects', r.body.key));
    assert.equal(crypto.createHash('sha256').update(obj).digest('hex'), r.body.sha256, f);
  }
  return recs.length;
}

test('push: object first, signed record last; a second push skips what is there', async (t) => {
  const a = await tempStore(t);
  const keys = Array.from({ length: 6 }, (_, i) => addDerived(a, `l${i}`, crypto.randomBytes(100_000 + i)));
  const signer = parseSecretKey(generateKeyPair('ci').secret);
  const cache = path.join(tempDir(t), 'cache');
  const backend = openBackend(parseSubstituter(pathToFileURL(cache).href));
  const r1 = await pushLayers(a, keys, backend, signer);
  assert.equal(r1.pushed.length, 6);
  assert.equal(assertConsistent(cache), 6);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(cache, 'rapido-cache.json'), 'utf8')), { format: 'rapido-cache', version: 1 });
  const r2 = await pushLayers(a, keys, backend, signer);
  assert.deepEqual([r2.pushed.length, r2.skipped.length], [0, 6]);
});

test('push: two pushers of the same layers at once leave a consistent cache', async (t) => {
  const a = await tempStore(t);
  const keys = Array.from({ length: 8 }, (_, i) => addDerived(a, `l${i}`, crypto.randomBytes(500_000)));
  const cache = path.join(tempDir(t), 'cache');
  const url = pathToFileURL(cache).href;
  const [x, y] = await Promise.all([
    pushLayers(a, keys, openBackend(parseSubstituter(url)), parseSecretKey(generateKeyPair('one').secret)),
    pushLayers(a, keys, openBackend(parseSubstituter(url)), parseSecretKey(generateKeyPair('two').secret)),
  ]);
  assert.equal(x.pushed.length + x.skipped.length, 8);
  assert.equal(y.pushed.length + y.skipped.length, 8);
  assert.equal(assertConsistent(cache), 8);
  assert.deepEqual(fs.readdirSync(path.join(cache, 'objects')).filter((f) => f.startsWith('.')), [], 'no temp files');
});

test('push: a cache of another format version is refused', async (t) => {
  const a = await tempStore(t);
  const k = addDerived(a, 'x', Buffer.from('x'));
  const cache = tempDir(t);
  fs.writeFileSync(path.join(cache, 'rapido-cache.json'), JSON.stringify({ format: 'rapido-cache', version: 99 }));
  await assert.rejects(pushLayers(a, [k], openBackend(parseSubstituter(pathToFileURL(cache).href)), parseSecretKey(generateKeyPair('ci').secret)), {
    code: 'PUSH_FAILED', message: /cache format version 99, this rapido reads version 1/,
  });
  assert.equal(fs.existsSync(path.join(cache, 'records')), false);
});
