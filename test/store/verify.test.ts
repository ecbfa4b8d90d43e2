import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { appendJournal, getLayer, hasObject, objectPath, writeObject } from '../../src/store/index.js';
import { repairStore, verifyStore } from '../../src/store/verify.js';
import { addLayer, age, HOUR, keyOf, recordCut } from './gcFixtures.js';
import { tempStore } from './tempStore.js';

function writable(p: string): void {
  fs.chmodSync(p, 0o644);
}

test('verify: a clean store has no problems and every object is re-hashed', async (t) => {
  const store = await tempStore(t);
  for (const n of ['a', 'b', 'c']) addLayer(store, n, n.repeat(3000));
  const r = verifyStore(store, { graceMs: 0 });
  assert.deepEqual(r.problems, []);
  assert.equal(r.checked, 3);
  assert.equal(r.bytes, 9000);
});

test('verify finds a flipped byte, a truncated object, a deleted object, an orphan and a stray; repair removes them', async (t) => {
  const store = await tempStore(t);
  const flipped = addLayer(store, 'flipped', Buffer.alloc(4096, 7));
  const truncated = addLayer(store, 'truncated', Buffer.alloc(4096, 8));
  const deleted = addLayer(store, 'deleted', 'gone soon');
  const good = addLayer(store, 'good', 'fine');
  recordCut(store, 'fstests-btrfs', [flipped, good], '/nonexistent/img');
  recordCut(store, 'simple-example', [flipped], '/nonexistent/img2');

  const fp = objectPath(store, flipped);
  writable(fp);
  const bytes = fs.readFileSync(fp);
  bytes[2000] ^= 0x01;
  fs.writeFileSync(fp, bytes);
  const tp = objectPath(store, truncated);
  writable(tp);
  fs.truncateSync(tp, 100);
  fs.rmSync(objectPath(store, deleted));
  const orphan = keyOf('orphan');
  const op = objectPath(store, orphan);
  fs.mkdirSync(path.dirname(op), { recursive: true });
  fs.writeFileSync(op, 'nobody recorded me');
  age(op, 2 * HOUR);
  const stray = path.join(store.paths.objects, 'zz-not-a-shard');
  fs.writeFileSync(stray, 'x');
  age(stray, 2 * HOUR);

  const r = verifyStore(store, { graceMs: HOUR });
  const byKey = new Map(r.problems.map((p) => [p.key ?? p.path, p]));
  assert.equal(r.problems.length, 5, JSON.stringify(r.problems, null, 1));
  assert.equal(byKey.get(flipped)!.kind, 'corrupt');
  assert.match(byKey.get(flipped)!.detail, /^digest [0-9a-f]{16}, expected [0-9a-f]{16}$/);
  assert.equal(byKey.get(flipped)!.layerName, 'flipped');
  assert.deepEqual(byKey.get(flipped)!.recipes, ['fstests-btrfs', 'simple-example']);
  assert.equal(byKey.get(truncated)!.kind, 'corrupt');
  assert.match(byKey.get(truncated)!.detail, /size 100, expected 4096/);
  assert.equal(byKey.get(deleted)!.kind, 'missing');
  assert.equal(byKey.get(orphan)!.kind, 'orphan');
  assert.equal(byKey.get(stray)!.kind, 'stray');

  const fixed = repairStore(store, r);
  assert.deepEqual(fixed, { corrupt: 2, missing: 1, orphans: 2, pending: 0 });
  for (const k of [flipped, truncated, deleted]) {
    assert.equal(getLayer(store, k), undefined, `${k} record removed`);
    assert.equal(hasObject(store, k), false, `${k} object removed`);
  }
  assert.equal(fs.existsSync(op), false);
  assert.equal(fs.existsSync(stray), false);
  assert.ok(hasObject(store, good) && getLayer(store, good), 'the intact layer stays');
  const again = verifyStore(store, { graceMs: HOUR });
  assert.deepEqual([again.problems, again.notes], [[], []]);
});

test('verify: a young orphan (a cut between its object and its record) is a note, not a problem', async (t) => {
  const store = await tempStore(t);
  const op = objectPath(store, keyOf('in-flight'));
  fs.mkdirSync(path.dirname(op), { recursive: true });
  fs.writeFileSync(op, 'being recorded');
  const r = verifyStore(store, { graceMs: HOUR });
  assert.deepEqual(r.problems, []);
  assert.equal(r.notes.length, 1);
  assert.match(r.notes[0]!.detail, /a running cut may still record it/);
  assert.equal(verifyStore(store, { graceMs: 0 }).problems.length, 1);
});

test('verify counts records still in the journal: their objects are checked, not orphans', async (t) => {
  const store = await tempStore(t);
  const key = keyOf('journaled');
  const w = writeObject(store, key, (fd) => fs.writeSync(fd, 'journaled bytes'));
  appendJournal(store, { at: 1, layers: [{ key, builder: 'native-test', layerName: 'j', size: w.size, digest: w.digest, derivation: {}, createdAt: 1, lastUsedAt: 1 }], touched: [] });
  const r = verifyStore(store, { graceMs: 0 });
  assert.deepEqual(r.problems, []);
  assert.equal(r.checked, 1);
  assert.equal(r.journalRecords, 1);
});
