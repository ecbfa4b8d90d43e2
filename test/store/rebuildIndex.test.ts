import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { encodeNewc } from '../../src/derivations/cpio/writeNewc.js';
import { RapidoError } from '../../src/errors.js';
import { appendJournal, digestFileSync, getLayer, initHasher, lastCut, listLayers, objectPath, openStore, openStoreDir, writeObject, type Store } from '../../src/store/index.js';
import { getPin, listPins, putPin } from '../../src/store/pins.js';
import { indexLost, rebuildIndex, RECOVERED, RECOVERED_PIN } from '../../src/store/rebuildIndex.js';
import { addLayer, keyOf, recordCut } from './gcFixtures.js';
import { tempDir } from './tempStore.js';

const layer = (n: string) => encodeNewc([{ path: `${n}.txt`, type: 'file', mode: 0o644, data: Buffer.from(n.repeat(5000)) }]);

/** A store with two recorded layers, a cut and a pin, a layer only the journal records, and a stray non-archive object. */
async function populated(dir: string): Promise<{ a: string; b: string; j: string; junk: string }> {
  await initHasher();
  const store = openStore(dir);
  const a = addLayer(store, 'a', layer('a'));
  const b = addLayer(store, 'b', layer('b'));
  recordCut(store, 'old-recipe', [a, b], '/nonexistent/img');
  putPin(store, { name: 'keep', at: Date.now(), layers: [{ name: 'a', key: a }] });
  const junk = keyOf('junk');
  writeObject(store, junk, (fd) => fs.writeSync(fd, 'not a cpio archive, '.repeat(20)));
  await store.close();
  // A warm cut that never opened LMDB: its layer and cut are only in the journal.
  const sd = openStoreDir(dir);
  const j = keyOf('j');
  const w = writeObject(sd, j, (fd) => fs.writeSync(fd, layer('j')));
  const rec = { key: j, builder: 'native-tree', layerName: 'tree:/j', size: w.size, digest: w.digest, derivation: { j: 1 }, createdAt: 1, lastUsedAt: 1 };
  appendJournal(sd, { at: Date.now(), layers: [rec], touched: [j, a], cut: { recipe: 'warm', at: Date.now(), outPath: '/nonexistent/w', layers: [{ name: 'tree:/j', key: j, hit: false }], inputs: {} } });
  return { a, b, j, junk };
}

test('rebuild: the damaged index is moved aside, the journal ingested, every newc object gets a record, and they are pinned', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const { a, b, j, junk } = await populated(dir);
  const data = path.join(dir, 'db', 'data.mdb');
  const damaged = fs.readFileSync(data).subarray(0, 8192);
  fs.writeFileSync(data, damaged);

  const why = indexLost(openStoreDir(dir));
  assert.match(why ?? '', /^truncated: 2 pages/);
  const { store, result } = rebuildIndex(dir, why!, 1_000_000);
  t.after(() => store.close());

  assert.ok(result.movedTo && path.basename(result.movedTo).startsWith('db.corrupt-'));
  assert.deepEqual(fs.readFileSync(path.join(result.movedTo, 'data.mdb')), damaged, 'the damaged index is kept as it was');
  assert.deepEqual(result.recovered.map((r) => r.key).sort(), [a, b].sort());
  assert.deepEqual(result.notArchives, [objectPath(store, junk)]);
  assert.deepEqual(result.journal, { entries: 1, layers: 1, cuts: 1 });
  for (const k of [a, b]) {
    const rec = getLayer(store, k)!;
    assert.equal(rec.builder, RECOVERED);
    assert.equal(rec.digest, digestFileSync(objectPath(store, k)));
    assert.equal(rec.size, fs.statSync(objectPath(store, k)).size);
    assert.equal(rec.lastUsedAt, 1_000_000);
  }
  assert.equal(getLayer(store, j)!.builder, 'native-tree', 'the journal\'s record, not a recovered one');
  assert.equal(getLayer(store, junk), undefined);
  assert.equal(lastCut(store, 'warm')?.layers[0]!.key, j);
  assert.equal(lastCut(store, 'old-recipe'), undefined, 'the old cut history is lost');
  assert.deepEqual(listPins(store).map((p) => p.name), [RECOVERED_PIN], 'old pins are lost; the recovered layers are pinned');
  assert.deepEqual(getPin(store, RECOVERED_PIN)!.layers.map((l) => l.key).sort(), [a, b].sort());
  assert.equal(indexLost(store), null);
  for (const k of [a, b, j, junk]) assert.ok(fs.existsSync(objectPath(store, k)), 'no object is deleted by the rebuild');
});

test('a missing index beside objects is lost: openStore refuses to start an empty one, rebuild recovers', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const { a, b } = await populated(dir);
  fs.rmSync(path.join(dir, 'db'), { recursive: true });
  assert.throws(() => openStore(dir), (e) => e instanceof RapidoError && e.code === 'STORE_DB_MISSING' && /holds 3 layer objects; run rapido-store verify --repair/.test(e.message));
  assert.equal(indexLost(openStoreDir(dir)), 'missing');
  const { store, result } = rebuildIndex(dir, 'missing');
  t.after(() => store.close());
  assert.equal(result.movedTo, null);
  assert.deepEqual(result.recovered.map((r) => r.key).sort(), [a, b].sort());
  assert.equal(listLayers(store).length, 3);
});

test('objects whose records wait in the journal are not lost: a fresh index opens and ingests them', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  await initHasher();
  const sd = openStoreDir(dir);
  const k = keyOf('fresh');
  const w = writeObject(sd, k, (fd) => fs.writeSync(fd, layer('fresh')));
  appendJournal(sd, { at: 5, layers: [{ key: k, builder: 'native-tree', layerName: 't', size: w.size, digest: w.digest, derivation: {}, createdAt: 5, lastUsedAt: 5 }], touched: [] });
  assert.equal(indexLost(sd), null);
  const store: Store = openStore(dir);
  t.after(() => store.close());
  assert.equal(getLayer(store, k)?.layerName, 't');
});
