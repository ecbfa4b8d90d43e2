import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { RapidoError } from '../../src/errors.js';
import { appendJournal, cleanTmp, getLayer, listLayers, openStore, openStoreDir, putHostVerdict, putLayer, STORE_FORMAT_VERSION } from '../../src/store/index.js';
import { deadPid, tempDir } from './tempStore.js';

function rapidoError(code: string, hint?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof RapidoError, `expected RapidoError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (hint) assert.match(e.hint ?? '', hint);
    return true;
  };
}

test('creates the layout and records the format version', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const store = openStore(dir);
  for (const d of ['objects', 'tmp', 'locks', 'db']) assert.ok(fs.statSync(path.join(dir, d)).isDirectory(), d);
  assert.equal(store.db.meta.get('formatVersion'), STORE_FORMAT_VERSION);
  await store.close();
  await store.close(); // idempotent
  const again = openStore(dir);
  assert.equal(again.db.meta.get('formatVersion'), STORE_FORMAT_VERSION);
  await again.close();
});

test('refuses a store with another format version', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const store = openStore(dir);
  store.db.meta.putSync('formatVersion', STORE_FORMAT_VERSION + 1);
  await store.close();
  assert.throws(() => openStore(dir), rapidoError('STORE_VERSION', /rapido.*move .* aside/s));
  assert.throws(() => openStore(dir, { readOnly: true }), rapidoError('STORE_VERSION'));
});

test('a format-1 store (keys with host paths) is upgraded in place, its layers kept', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const store = openStore(dir);
  store.db.meta.putSync('formatVersion', 1);
  store.db.layers.putSync('00000000000000aa', { key: '00000000000000aa', kept: true } as never);
  await store.close();
  const ro = openStore(dir, { readOnly: true }); // reading does not upgrade
  assert.equal(ro.db.meta.get('formatVersion'), 1);
  await ro.close();
  const up = openStore(dir);
  t.after(() => up.close());
  assert.equal(up.db.meta.get('formatVersion'), STORE_FORMAT_VERSION);
  assert.equal(up.db.meta.get('upgradedFrom'), 1);
  assert.deepEqual(up.db.layers.get('00000000000000aa'), { key: '00000000000000aa', kept: true });
});

test('a store path that is a file is unwritable', (t) => {
  const file = path.join(tempDir(t), 'not-a-dir');
  fs.writeFileSync(file, 'x');
  assert.throws(() => openStore(file), rapidoError('STORE_UNWRITABLE', /RAPIDO_STORE/));
  assert.throws(() => openStore(path.join(file, 'store')), rapidoError('STORE_UNWRITABLE', /RAPIDO_STORE/));
});

test('read-only: a missing store is reported, writes are refused', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  assert.throws(() => openStore(dir, { readOnly: true }), rapidoError('STORE_MISSING'));
  assert.equal(fs.existsSync(dir), false, 'read-only open must not create the store');
  await openStore(dir).close();
  const ro = openStore(dir, { readOnly: true });
  t.after(() => ro.close());
  assert.equal(ro.db.meta.get('formatVersion'), STORE_FORMAT_VERSION);
  assert.throws(() => putHostVerdict(ro, 'kvm', { ok: true }), rapidoError('STORE_READONLY'));
});

test('read-only: a store written before the `used` database reads its records\' own lastUsedAt', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const rw = openStore(dir);
  const now = 1000;
  putLayer(rw, { key: '0000000000000001', builder: 't', layerName: 't', size: 1, digest: 'ffffffffffffffff', derivation: {}, createdAt: now, lastUsedAt: now });
  await rw.db.used!.drop(); // as an older rapido left it
  await rw.close();
  const ro = openStore(dir, { readOnly: true });
  t.after(() => ro.close());
  assert.equal(ro.db.used, undefined);
  assert.equal(getLayer(ro, '0000000000000001')!.lastUsedAt, now);
  assert.deepEqual(listLayers(ro).map((r) => r.lastUsedAt), [now]);
});

test('reading open of a store it cannot write: the journal is left alone and said in notes; cleanTmp does nothing', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  await openStore(dir).close();
  const sd = openStoreDir(dir);
  appendJournal(sd, { at: 1, layers: [], touched: [] });
  const dead = path.join(sd.paths.tmp, `0123456789abcdef.${deadPid()}.aa`);
  fs.writeFileSync(dead, 'left by a killed writer');
  const ro = openStore(dir, { readOnly: true, reading: true });
  assert.deepEqual(ro.notes, ['1 journal entry of recent cuts cannot be ingested (the store is not writable here): the layers and cuts it records are not in the index yet']);
  assert.deepEqual(cleanTmp(ro), []);
  assert.ok(fs.existsSync(dead));
  assert.equal(fs.readdirSync(sd.paths.journal).length, 1);
  await ro.close();
  const rw = openStore(dir, { reading: true });
  assert.deepEqual(rw.notes, [], 'a writable reading open ingests the journal as usual');
  assert.equal(fs.readdirSync(sd.paths.journal).length, 0);
  await rw.close();
});
