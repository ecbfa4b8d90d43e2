import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  digestBuffer,
  flushStatCache,
  initHasher,
  openStore,
  RACY_WINDOW_NS,
  statCacheCounters,
  statDigest,
} from '../../src/store/index.js';
import { tempStore } from './tempStore.js';

// Files older than the racy window (mtime and ctime), made once for all tests.
let fixtures: string;
const N = 300;
const file = (i: number) => path.join(fixtures, `m${i}.ko`);
const content = (i: number) => Buffer.from(`module ${i} `.repeat(50 + i));

/** The entry string statDigest writes for `f` as it is now. */
function entryOf(f: string, digest: string): string {
  const st = fs.statSync(f, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${digest}`;
}

before(async () => {
  await initHasher();
  fixtures = fs.mkdtempSync(path.join(os.tmpdir(), 'rapido-statcache-'));
  for (let i = 0; i < N; i++) fs.writeFileSync(file(i), content(i));
  await sleep(1100);
});
after(() => fs.rmSync(fixtures, { recursive: true, force: true }));

test('an unchanged file is answered from the cache without reading it', async (t) => {
  const store = await tempStore(t);
  const f = file(0);
  const st = fs.statSync(f, { bigint: true });
  assert.equal(statDigest(store, f), digestBuffer(content(0)));
  assert.equal(statCacheCounters(store).hashed, 1);
  assert.equal(statDigest(store, f), digestBuffer(content(0)));
  assert.deepEqual(statCacheCounters(store), { hits: 1, hashed: 1, racy: 0, pending: 1 });

  // Proof it is not read: change the bytes but present the old stat; the cache answers.
  const other = Buffer.alloc(content(0).length, 0x41);
  fs.writeFileSync(f, other);
  assert.equal(statDigest(store, f, st), digestBuffer(content(0)));
  assert.equal(statCacheCounters(store).hashed, 1);
  // With the real (changed) stat it is re-hashed.
  assert.equal(statDigest(store, f), digestBuffer(other));
  assert.equal(statCacheCounters(store).hashed, 2);
});

test('a modified file is re-hashed even with size and mtime preserved', async (t) => {
  const store = await tempStore(t);
  const f = file(1);
  const before = fs.statSync(f);
  assert.equal(statDigest(store, f), digestBuffer(content(1)));
  flushStatCache(store);
  const changed = Buffer.alloc(content(1).length, 0x42);
  fs.writeFileSync(f, changed);
  fs.utimesSync(f, before.atime, before.mtime); // what tar/rsync/cp -p do; ctime still moves
  assert.equal(fs.statSync(f).size, before.size);
  assert.equal(statDigest(store, f), digestBuffer(changed));
  assert.equal(statCacheCounters(store).hashed, 2);
});

test('a file changed within the racy window is hashed every time and never cached', async (t) => {
  const store = await tempStore(t);
  const f = path.join(fixtures, 'fresh.ko');
  fs.writeFileSync(f, 'just built');
  for (let i = 0; i < 3; i++) assert.equal(statDigest(store, f), digestBuffer(Buffer.from('just built')));
  assert.deepEqual(statCacheCounters(store), { hits: 0, hashed: 3, racy: 3, pending: 0 });
  assert.equal(flushStatCache(store), 0);
  assert.equal(store.db.statcache.get(f), undefined);

  // Once the window has passed the same file is cached as usual.
  await sleep(1100);
  statDigest(store, f);
  statDigest(store, f);
  assert.deepEqual(statCacheCounters(store), { hits: 1, hashed: 4, racy: 3, pending: 1 });
});

test('thousands of digests cost one transaction, and survive a reopen', async (t) => {
  const store = await tempStore(t);
  let txns = 0;
  const orig = store.env.transactionSync.bind(store.env);
  store.env.transactionSync = ((fn: () => unknown, flags?: number) => {
    txns++;
    return orig(fn, flags);
  }) as typeof store.env.transactionSync;

  for (let i = 2; i < N; i++) statDigest(store, file(i));
  assert.equal(statCacheCounters(store).pending, N - 2);
  assert.equal(store.db.statcache.get(file(2)), undefined, 'nothing written before the flush');
  assert.equal(txns, 0);
  assert.equal(flushStatCache(store), N - 2);
  assert.equal(txns, 1);

  const e = store.db.statcache.get(file(2))!;
  const st = fs.statSync(file(2), { bigint: true });
  assert.equal(e, `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${digestBuffer(content(2))}`);

  statDigest(store, file(2)); // a hit: nothing pending
  const dir = store.dir;
  await store.close();
  const again = openStore(dir);
  t.after(() => again.close());
  for (let i = 2; i < N; i++) assert.equal(statDigest(again, file(i)), digestBuffer(content(i)));
  assert.deepEqual(statCacheCounters(again), { hits: N - 2, hashed: 0, racy: 0, pending: 0 });
});

test('close() flushes pending entries', async (t) => {
  const store = await tempStore(t);
  statDigest(store, file(5));
  const dir = store.dir;
  await store.close();
  const again = openStore(dir);
  t.after(() => again.close());
  assert.equal(again.db.statcache.get(file(5)), entryOf(file(5), digestBuffer(content(5))));
});

test("a caller's read digest is used and cached under the stat taken before that read, without reading again", async (t) => {
  const store = await tempStore(t);
  const f = file(6);
  const st = fs.statSync(f, { bigint: true });
  const atNs = BigInt(Date.now()) * 1_000_000n;
  // A digest no read of the file gives: proof that the caller's is the one used.
  const read = { st, digest: '00000000000000aa', atNs };
  assert.equal(statDigest(store, f, undefined, read), '00000000000000aa');
  assert.deepEqual(statCacheCounters(store), { hits: 0, hashed: 1, racy: 0, pending: 1 });
  flushStatCache(store);
  assert.equal(store.db.statcache.get(f), entryOf(f, '00000000000000aa'));
  assert.equal(statDigest(store, f), '00000000000000aa', 'a later lookup at the same stat is a hit');
});

test("the racy window counts from the caller's read, not from when the digest is handed over", async (t) => {
  const store = await tempStore(t);
  const f = file(7);
  const st = fs.statSync(f, { bigint: true });
  const newest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
  // Read half a second after the last change: too fresh to cache, though "now" is well past the window.
  const racy = { st, digest: digestBuffer(content(7)), atNs: newest + RACY_WINDOW_NS / 2n };
  assert.equal(statDigest(store, f, undefined, racy), digestBuffer(content(7)));
  assert.deepEqual(statCacheCounters(store), { hits: 0, hashed: 1, racy: 1, pending: 0 });
  assert.equal(flushStatCache(store), 0);
  assert.equal(store.db.statcache.get(f), undefined);
});

test("an older rapido's object entry is still used while its stat matches, and replaced by a string once the file changes", async (t) => {
  const store = await tempStore(t);
  const f = path.join(fixtures, 'legacy.ko');
  fs.writeFileSync(f, 'legacy module');
  fs.utimesSync(f, 1_600_000_000, 1_600_000_000);
  await sleep(1100); // ctime out of the racy window too
  const st = fs.statSync(f, { bigint: true });
  // The shape stores of format 2 were written with before entries became strings; a digest no read gives proves the hit.
  const legacy = { dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), digest: '0000000000001e9a' };
  store.db.statcache.putSync(f, legacy);
  assert.equal(statDigest(store, f), '0000000000001e9a');
  assert.deepEqual(statCacheCounters(store), { hits: 1, hashed: 0, racy: 0, pending: 0 });

  // A legacy entry for another stat is a miss like any other.
  store.db.statcache.putSync(f, { ...legacy, mtimeNs: String(st.mtimeNs + 1n) });
  assert.equal(statDigest(store, f), digestBuffer(Buffer.from('legacy module')));
  assert.equal(statCacheCounters(store).hashed, 1);
  flushStatCache(store);
  assert.equal(store.db.statcache.get(f), entryOf(f, digestBuffer(Buffer.from('legacy module'))));
});

test('an entry string for another stat, or of the wrong length, is a miss', async (t) => {
  const store = await tempStore(t);
  const f = file(8);
  const st = fs.statSync(f, { bigint: true });
  const stat = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:`;
  // Same digits with the size's last one moved into the mtime: a field-blind comparison would take it.
  const shifted = `${st.dev}:${st.ino}:${String(st.size).slice(0, -1)}:${String(st.size).slice(-1)}${st.mtimeNs}:${st.ctimeNs}:`;
  for (const bad of [`${shifted}00000000000000bb`, `${stat}00000000000000bb0`, `${stat}bb`]) {
    store.db.statcache.putSync(f, bad);
    assert.equal(statDigest(store, f), digestBuffer(content(8)), bad);
    flushStatCache(store); // the good entry goes to the db, so the next bad one is the only one there
  }
  assert.deepEqual(statCacheCounters(store), { hits: 0, hashed: 3, racy: 0, pending: 0 });
});

test('a walk\'s lstat signature finds the cached digest without a stat; another signature or an older entry is stat-ed and hashed as before', async (t) => {
  const store = await tempStore(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapido-statcache-sig-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'f');
  fs.copyFileSync(file(7), f);
  const old = new Date(Date.now() - 10_000);
  fs.utimesSync(f, old, old);
  await sleep(1100); // ctime out of the racy window too
  const digest = statDigest(store, f);
  flushStatCache(store);
  const sig = (st: fs.Stats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}`; // hostInputs' statSig
  const walked = sig(fs.lstatSync(f));
  const before = statCacheCounters(store);
  // Answered from the signature alone: the file is not even looked at (here it is gone).
  fs.renameSync(f, `${f}.away`);
  assert.equal(statDigest(store, f, undefined, undefined, walked), digest);
  assert.deepEqual(statCacheCounters(store), { ...before, hits: before.hits + 1 });
  fs.renameSync(`${f}.away`, f);
  // Any field that differs (the mtime, by a microsecond) means a stat, and that stat still matches the entry.
  const st = fs.lstatSync(f);
  assert.equal(statDigest(store, f, undefined, undefined, walked.replace(`:${st.mtimeMs}:`, `:${st.mtimeMs + 0.001}:`)), digest);
  // An older rapido's object entry: stat-ed and compared field by field, as before.
  const g = file(9);
  const gst = fs.statSync(g, { bigint: true });
  store.db.statcache.putSync(path.resolve(g), { dev: String(gst.dev), ino: String(gst.ino), size: Number(gst.size), mtimeNs: String(gst.mtimeNs), ctimeNs: String(gst.ctimeNs), digest: 'ffffffffffffffff' } as never);
  assert.equal(statDigest(store, g, undefined, undefined, sig(fs.lstatSync(g))), 'ffffffffffffffff');
});
