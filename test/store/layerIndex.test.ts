import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import {
  appendCut,
  getLayer,
  hasObject,
  lastCut,
  listLayers,
  lookupManifest,
  putLayer,
  removeLayer,
  storeTransaction,
  touchLayers,
  writeObject,
  type LayerRecord,
} from '../../src/store/index.js';
import { tempStore } from './tempStore.js';

function rec(key: string, extra: Partial<LayerRecord> = {}): LayerRecord {
  return {
    key,
    builder: 'kmods',
    layerName: 'kmods',
    size: 10,
    digest: 'ffffffffffffffff',
    derivation: { kver: '6.9.0', modules: ['btrfs', 'zstd'], nested: { n: 1 } },
    createdAt: 1000,
    lastUsedAt: 1000,
    ...extra,
  };
}

test('put, get, list and touch layer records', async (t) => {
  const store = await tempStore(t);
  assert.equal(getLayer(store, '0000000000000001'), undefined);
  putLayer(store, rec('0000000000000001'));
  putLayer(store, rec('0000000000000002', { layerName: 'base' }));
  assert.deepEqual(getLayer(store, '0000000000000001'), rec('0000000000000001'));
  assert.deepEqual(
    listLayers(store).map((r) => r.key),
    ['0000000000000001', '0000000000000002'],
  );
  touchLayers(store, ['0000000000000002', '0000000000000002', '00000000000000ff'], 5000);
  assert.equal(getLayer(store, '0000000000000002')!.lastUsedAt, 5000);
  assert.equal(getLayer(store, '0000000000000001')!.lastUsedAt, 1000);
  touchLayers(store, ['0000000000000002'], 4000); // never moves backwards
  assert.equal(getLayer(store, '0000000000000002')!.lastUsedAt, 5000);
});

test('marking a layer used leaves its record\'s bytes alone (the `used` database), and its removal takes both', async (t) => {
  const store = await tempStore(t);
  const key = '0000000000000004';
  // A tree chunk's record carries its whole derivation: re-encoding it per cut was the cost.
  const big = rec(key, { derivation: { entries: Array.from({ length: 2000 }, (_, i) => [`tests/generic/${i}`, 'file', 0o755, 'ffffffffffffffff']) } });
  putLayer(store, big);
  const bytes = store.db.layers.getBinary(key);
  touchLayers(store, [key], 7000);
  assert.deepEqual(store.db.layers.getBinary(key), bytes, 'the record was not rewritten');
  assert.equal(getLayer(store, key)!.lastUsedAt, 7000);
  assert.equal(listLayers(store).find((r) => r.key === key)!.lastUsedAt, 7000);
  // A record written later with a newer time (an import) wins over an older mark.
  putLayer(store, { ...big, lastUsedAt: 9000 });
  assert.equal(getLayer(store, key)!.lastUsedAt, 9000);
  removeLayer(store, key);
  assert.equal(store.db.used!.get(key), undefined);
});

test('layer + manifest + cut commit together, or not at all', async (t) => {
  const store = await tempStore(t);
  const closure = [{ path: '/etc/dracut.conf', digest: '1234123412341234' }];
  const cut = {
    recipe: 'fstests',
    at: 42,
    layers: [{ name: 'dracut', key: '0000000000000003', hit: false }],
    inputs: { dracut: { first: 'bbbbbbbbbbbbbbbb' } },
    outPath: '/tmp/x.cpio',
  };
  assert.throws(() =>
    storeTransaction(store, () => {
      putLayer(store, rec('0000000000000003', { closure }), { manifestKey: 'bbbbbbbbbbbbbbbb' });
      appendCut(store, cut);
      throw new Error('cut failed after indexing');
    }),
  );
  assert.equal(getLayer(store, '0000000000000003'), undefined);
  assert.equal(lastCut(store, 'fstests'), undefined);
  assert.equal(lookupManifest(store, 'bbbbbbbbbbbbbbbb', () => '1234123412341234'), null);

  storeTransaction(store, () => {
    putLayer(store, rec('0000000000000003', { closure }), { manifestKey: 'bbbbbbbbbbbbbbbb' });
    appendCut(store, cut);
  });
  assert.deepEqual(getLayer(store, '0000000000000003')!.closure, closure);
  assert.deepEqual(lastCut(store, 'fstests'), cut);
  assert.equal(lookupManifest(store, 'bbbbbbbbbbbbbbbb', () => '1234123412341234'), '0000000000000003');
});

test('removeLayer drops the object and the record', async (t) => {
  const store = await tempStore(t);
  const key = '00000000000000aa';
  const w = writeObject(store, key, (fd) => fs.writeSync(fd, 'bytes'));
  putLayer(store, rec(key, { size: w.size, digest: w.digest }));
  removeLayer(store, key);
  assert.equal(hasObject(store, key), false);
  assert.equal(getLayer(store, key), undefined);
});
