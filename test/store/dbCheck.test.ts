import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { RapidoError } from '../../src/errors.js';
import { inspectDataFile, MDB_DATA_VERSION } from '../../src/store/dbCheck.js';
import { initHasher, openStore, putHostVerdict } from '../../src/store/index.js';
import { tempDir } from './tempStore.js';

/** A real data.mdb of many pages, written by openStore; returns its bytes. */
async function realDb(dir: string): Promise<Buffer> {
  await initHasher();
  const store = openStore(dir);
  for (let i = 0; i < 40; i++) putHostVerdict(store, `v${i}`, { reason: 'x'.repeat(2000 + i) }); // some overflow values too
  store.env.transactionSync(() => {
    for (let i = 0; i < 3000; i++) store.db.statcache.putSync(`/some/host/file/${i}`, { dev: '1', ino: String(i), size: i, mtimeNs: '1', ctimeNs: '1', digest: '0123456789abcdef' });
  });
  await store.close();
  return fs.readFileSync(path.join(dir, 'db', 'data.mdb'));
}

const PSIZE = 4096;
const newestMetaOffset = (b: Buffer) => (b.readBigUInt64LE(152) >= b.readBigUInt64LE(PSIZE + 152) ? 0 : PSIZE);

function inspect(dir: string, bytes: Buffer): ReturnType<typeof inspectDataFile> {
  fs.writeFileSync(path.join(dir, 'db', 'data.mdb'), bytes);
  return inspectDataFile(path.join(dir, 'db'));
}

test('the layout read matches a data.mdb lmdb-js writes: magic, version, page size, last page inside the file', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const b = await realDb(dir);
  assert.equal(b.readUInt32LE(24), 0xbeefc0de);
  assert.equal(b.readUInt32LE(28) & 0xffff, MDB_DATA_VERSION);
  assert.equal(b.readUInt32LE(48), PSIZE);
  assert.ok(b.length > 30 * PSIZE, `a multi-page database (${b.length} bytes)`);
  const last = Number(b.readBigUInt64LE(newestMetaOffset(b) + 144));
  assert.ok((last + 1) * PSIZE <= b.length && last > 2);
  assert.deepEqual(inspectDataFile(path.join(dir, 'db')), { state: 'ok' });
  // With a torn partial page at the end (a write cut short by a full disk): LMDB never reads it.
  assert.deepEqual(inspect(dir, Buffer.concat([b, Buffer.alloc(100, 7)])), { state: 'ok' });
});

test('absent or empty: LMDB creates it', (t) => {
  const dir = tempDir(t);
  assert.deepEqual(inspectDataFile(dir), { state: 'absent' });
  fs.writeFileSync(path.join(dir, 'data.mdb'), '');
  assert.deepEqual(inspectDataFile(dir), { state: 'absent' });
});

test('truncated, overwritten, another format: corrupt, with the reason', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const b = await realDb(dir);
  const why = (bytes: Buffer) => {
    const s = inspect(dir, bytes);
    assert.equal(s.state, 'corrupt', `expected corrupt, got ${JSON.stringify(s)}`);
    return (s as { why: string }).why;
  };
  assert.match(why(b.subarray(0, 8192)), /^truncated: 2 pages of 4096 bytes left, but its index uses page \d+$/);
  assert.match(why(b.subarray(0, 96 * 1024)), /^truncated: 24 pages of 4096 bytes left, but its index uses page \d+$/);
  assert.match(why(b.subarray(0, 5000)), /^truncated: 5000 bytes, less than its two meta pages of 4096 bytes$/);
  assert.match(why(b.subarray(0, 100)), /too short/);
  for (const size of [8192, b.length]) assert.match(why(Buffer.from(Array.from({ length: size }, () => Math.floor(Math.random() * 256)))), /no LMDB magic in its first meta page/);
  const meta1 = Buffer.from(b);
  meta1.fill(0x5a, PSIZE, 2 * PSIZE);
  assert.match(why(meta1), /second meta page is overwritten/);
  const v3 = Buffer.from(b);
  v3.writeUInt32LE(3, 28);
  assert.match(why(v3), /LMDB data format 3, this rapido reads format 2/);
  const root = Buffer.from(b);
  root.writeBigUInt64LE(0xffffn, newestMetaOffset(b) + 136); // main db root far beyond the last page
  assert.match(why(root), /damaged root page number/);
});

test('every truncation that cuts a page the index uses is caught', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const b = await realDb(dir);
  const pages = b.length / PSIZE;
  for (let n = 0; n < pages; n++) assert.equal(inspect(dir, b.subarray(0, n * PSIZE)).state, n === 0 ? 'absent' : 'corrupt', `${n} pages`);
});

test('a file shorter than its last used page is sound when the missing pages are unreachable (pages LMDB freed unwritten)', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const b = Buffer.from(await realDb(dir));
  const at = newestMetaOffset(b) + 144;
  // As if the last transaction had allocated 5 more pages and freed them again before committing.
  b.writeBigUInt64LE(b.readBigUInt64LE(at) + 5n, at);
  assert.deepEqual(inspect(dir, b), { state: 'ok' }, 'every page the trees reach is inside the file');
  // Now cut away a page the trees do reach: the walk finds it.
  const short = b.subarray(0, b.length - 3 * PSIZE);
  assert.equal(inspect(dir, short).state, 'corrupt');
});

test('openStore refuses a damaged index before LMDB maps it: STORE_DB_CORRUPT naming the file and the way out', async (t) => {
  const dir = path.join(tempDir(t), 'store');
  const b = await realDb(dir);
  const file = path.join(dir, 'db', 'data.mdb');
  for (const bytes of [b.subarray(0, 8192), b.subarray(0, 96 * 1024), Buffer.alloc(b.length, 0xa7)]) {
    fs.writeFileSync(file, bytes);
    for (const readOnly of [false, true]) {
      assert.throws(() => openStore(dir, { readOnly }), (e) => {
        assert.ok(e instanceof RapidoError);
        assert.equal(e.code, 'STORE_DB_CORRUPT');
        assert.ok(e.message.includes(file), e.message);
        assert.match(e.message, /run rapido-store verify --repair/);
        return true;
      });
    }
  }
});
