import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { getLayer, getManifest, hasObject, objectPath, recordManifest } from '../../src/store/index.js';
import { runGc } from '../../src/store/gc.js';
import { putPin } from '../../src/store/pins.js';
import { completePendingRemoval, pendingRemoval, removeLayers } from '../../src/store/removeLayers.js';
import { collectRoots } from '../../src/store/roots.js';
import { verifyStore } from '../../src/store/verify.js';
import { addLayer, ageObject, HOUR, keyOf, recordCut, writeImage } from './gcFixtures.js';
import { tempDir, tempStore } from './tempStore.js';

const GC = { keepLast: 3, graceMs: 0 };

test('gc: unrooted layers go, each root kind keeps its layers, and the report says which', async (t) => {
  const store = await tempStore(t);
  const dir = tempDir(t);
  const img = path.join(dir, 'p1', 'initrds', 'myinitrd');
  const gone = path.join(dir, 'p2', 'initrds', 'myinitrd');
  const [imgCur, imgSpare, recent, pinned, garbage, deletedImage] = ['img', 'spare', 'recent', 'pinned', 'garbage', 'deleted'].map((n) => addLayer(store, n, `bytes of ${n}`));
  writeImage(img, [imgCur], [imgSpare]);
  recordCut(store, 'imgrecipe', [imgCur], img, 1);
  recordCut(store, 'other', [deletedImage], gone, 2); // its image was deleted: not a root
  for (let i = 0; i < 3; i++) recordCut(store, 'other', [recent], gone, 10 + i); // pushes the old cut out of --keep-last 3
  putPin(store, { name: 'keep-me', at: Date.now(), layers: [{ name: 'p', key: pinned }] });

  const roots = collectRoots(store, { keepLast: 3 });
  assert.deepEqual(roots.byKey.get(imgCur)!.map((r) => r.kind).sort(), ['image', 'recent']);
  assert.deepEqual(roots.byKey.get(imgSpare), [{ kind: 'image', path: img, spare: true }]);
  assert.equal(roots.byKey.has(deletedImage), false);

  const r = runGc(store, GC);
  assert.deepEqual(r.removed.items.map((i) => i.key).sort(), [deletedImage, garbage].sort());
  for (const k of [deletedImage, garbage]) {
    assert.equal(hasObject(store, k), false);
    assert.equal(getLayer(store, k), undefined);
  }
  for (const k of [imgCur, imgSpare, recent, pinned]) assert.ok(hasObject(store, k) && getLayer(store, k), `${k} kept`);
  assert.equal(r.kept.rooted.layers, 4);
  assert.deepEqual(r.kept.rooted.byKind.image.roots, [img]);
  assert.equal(r.kept.rooted.byKind.image.layers, 2);
  assert.equal(r.kept.rooted.byKind.recent.layers, 2); // imgCur (imgrecipe) and recent (other)
  assert.equal(r.kept.rooted.byKind.pin.layers, 1);
  assert.deepEqual(r.kept.rooted.byKind.pin.roots, ['keep-me']);
  assert.ok(r.removed.bytes > 0);

  // Without its stamp the image still roots what its newest cut used.
  fs.rmSync(path.join(dir, 'p1', 'initrds', '.myinitrd.rapido.json'));
  const r2 = runGc(store, { ...GC, keepLast: 0 });
  assert.deepEqual(r2.removed.items.map((i) => i.key).sort(), [imgSpare, recent].sort());
  assert.ok(hasObject(store, imgCur) && hasObject(store, pinned));
  assert.deepEqual(verifyStore(store, { graceMs: 0 }).problems, []);
});

test('gc --dry-run reports the same and removes nothing', async (t) => {
  const store = await tempStore(t);
  const keys = ['a', 'b', 'c'].map((n) => addLayer(store, n, n.repeat(1000)));
  const before = fs.readdirSync(path.join(store.paths.objects, keys[0]!.slice(0, 2)));
  const dry = runGc(store, { ...GC, dryRun: true });
  assert.equal(dry.removed.layers, 3);
  assert.equal(dry.removed.bytes, 3000);
  for (const k of keys) assert.ok(hasObject(store, k) && getLayer(store, k));
  assert.deepEqual(fs.readdirSync(path.join(store.paths.objects, keys[0]!.slice(0, 2))), before);
  const real = runGc(store, GC);
  assert.deepEqual(real.removed.items.map((i) => i.key).sort(), dry.removed.items.map((i) => i.key).sort());
});

test('gc: the grace period protects fresh objects, records and recent use', async (t) => {
  const store = await tempStore(t);
  const fresh = addLayer(store, 'fresh', 'f');
  const old = addLayer(store, 'old', 'o', 2 * HOUR);
  ageObject(store, old, 2 * HOUR);
  const adopted = addLayer(store, 'adopted', 'a'); // an old file, but recorded just now
  ageObject(store, adopted, 2 * HOUR);
  const r = runGc(store, { keepLast: 3, graceMs: HOUR });
  assert.deepEqual(r.removed.items.map((i) => i.key), [old]);
  assert.equal(r.kept.young.layers, 2);
  assert.ok(hasObject(store, fresh) && hasObject(store, adopted));
});

test('gc --max-size removes least recently used first, only as much as needed', async (t) => {
  const store = await tempStore(t);
  const k = ['u5', 'u4', 'u3', 'u2', 'u1'].map((n, i) => addLayer(store, n, Buffer.alloc(1000, i), (5 - i) * HOUR));
  // Sizes 1000 each, 5000 total; u5 is the least recently used.
  const r = runGc(store, { ...GC, maxSize: 2500 });
  assert.deepEqual(r.removed.items.map((i) => i.key), [k[0], k[1], k[2]]);
  assert.equal(r.sizeAfter, 2000);
  assert.equal(r.kept.underMaxSize.layers, 2);
  assert.ok(hasObject(store, k[3]!) && hasObject(store, k[4]!));
});

test('gc --older-than keeps what was used recently', async (t) => {
  const store = await tempStore(t);
  const stale = addLayer(store, 'stale', 's', 10 * 24 * HOUR);
  const recent = addLayer(store, 'recent', 'r', HOUR);
  const r = runGc(store, { ...GC, olderThanMs: 7 * 24 * HOUR });
  assert.deepEqual(r.removed.items.map((i) => i.key), [stale]);
  assert.equal(r.kept.recentlyUsed.layers, 1);
  assert.ok(hasObject(store, recent));
});

test('gc removes orphan files, strays and records without objects; prunes dracut manifests', async (t) => {
  const store = await tempStore(t);
  const orphan = keyOf('orphan');
  const op = objectPath(store, orphan);
  fs.mkdirSync(path.dirname(op), { recursive: true });
  fs.writeFileSync(op, 'no record');
  const stray = path.join(store.paths.objects, 'ab', 'not-a-key');
  fs.mkdirSync(path.dirname(stray), { recursive: true });
  fs.writeFileSync(stray, 'x');
  const dangling = addLayer(store, 'dangling', 'd');
  fs.rmSync(objectPath(store, dangling));
  const kept = addLayer(store, 'kept', 'k');
  putPin(store, { name: 'p', at: 0, layers: [{ name: 'k', key: kept }] });
  const dropped = addLayer(store, 'dropped', 'x');
  recordManifest(store, 'aaaaaaaaaaaaaaaa', [{ path: '/a', digest: '0000000000000000' }], kept);
  recordManifest(store, 'aaaaaaaaaaaaaaaa', [{ path: '/a', digest: '1111111111111111' }], dropped);
  recordManifest(store, 'bbbbbbbbbbbbbbbb', [{ path: '/b', digest: '0000000000000000' }], dropped);

  const r = runGc(store, GC);
  assert.equal(r.removed.orphans, 2);
  assert.equal(r.removed.records, 1);
  assert.equal(r.removed.layers, 1);
  assert.equal(fs.existsSync(op), false);
  assert.equal(fs.existsSync(stray), false);
  assert.equal(getLayer(store, dangling), undefined);
  assert.deepEqual(getManifest(store, 'aaaaaaaaaaaaaaaa').map((v) => v.key), [kept]);
  assert.deepEqual(getManifest(store, 'bbbbbbbbbbbbbbbb'), []);
  const v = verifyStore(store, { graceMs: 0 });
  assert.deepEqual([v.problems, v.notes], [[], []]);
});

test('a removal interrupted after unlinking is seen by verify as pending, and the next gc finishes it', async (t) => {
  const store = await tempStore(t);
  const keys = ['x1', 'x2', 'x3'].map((n) => addLayer(store, n, n));
  // Simulate a gc killed between unlinking the objects and removing the records.
  assert.throws(() => removeLayers(store, keys, [], { afterUnlink: (_k, n) => { if (n === 3) throw new Error('killed'); } }), /killed/);
  assert.deepEqual(pendingRemoval(store)?.keys, keys);
  assert.ok(getLayer(store, keys[0]!) && !hasObject(store, keys[0]!), 'record without object');
  const v = verifyStore(store, { graceMs: 0 });
  assert.deepEqual(v.problems, [], 'an interrupted gc is not a problem');
  assert.equal(v.notes.length, 3);
  assert.match(v.notes[0]!.detail, /interrupted gc/);
  // Meanwhile a cut rebuilt the third layer: finishing the removal must keep its new record.
  addLayer(store, 'x3', 'x3');
  assert.deepEqual(completePendingRemoval(store), { keys: 3, records: 2 });
  assert.equal(pendingRemoval(store), undefined);
  assert.equal(getLayer(store, keys[0]!), undefined);
  assert.equal(getLayer(store, keys[1]!), undefined);
  assert.ok(getLayer(store, keys[2]!) && hasObject(store, keys[2]!));
  assert.deepEqual(verifyStore(store, { graceMs: 0 }).problems, []);
});

test('gc finishes a pending removal before anything else', async (t) => {
  const store = await tempStore(t);
  const keys = ['y1', 'y2'].map((n) => addLayer(store, n, n));
  putPin(store, { name: 'all', at: 0, layers: keys.map((key) => ({ name: 'y', key })) });
  assert.throws(() => removeLayers(store, keys, [], { afterUnlink: () => { throw new Error('killed'); } }));
  const r = runGc(store, GC);
  assert.equal(r.pendingKeys, 2);
  // y1 lost its object to the killed gc: its record goes even though a pin names it; y2 was never unlinked.
  assert.equal(getLayer(store, keys[0]!), undefined);
  assert.ok(getLayer(store, keys[1]!) && hasObject(store, keys[1]!));
  assert.equal(pendingRemoval(store), undefined);
});
