import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RapidoError } from '../../src/errors.js';
import { hasObject, lockPath, withBuildLock, type LockOwner } from '../../src/store/index.js';
import { deadPid, runChild, tempDir, tempStore, writeScript } from './tempStore.js';

const KEY = 'c0ffee00c0ffee00';

test('two processes racing for the same layer build it once', async (t) => {
  const store = await tempStore(t);
  const dir = tempDir(t);
  const counter = path.join(dir, 'builds.log');
  const go = path.join(dir, 'go');
  const script = writeScript(
    dir,
    'racer.mjs',
    `
const [storeDir, key, counter, go] = process.argv.slice(2);
await S.initHasher();
const store = S.openStore(storeDir);
fs.writeSync(1, 'ready\\n');
const nap = new Int32Array(new SharedArrayBuffer(4));
while (!fs.existsSync(go)) Atomics.wait(nap, 0, 0, 2);
let waited = false;
await S.withBuildLock(store, key, async () => {
  if (S.hasObject(store, key)) return;
  fs.appendFileSync(counter, process.pid + '\\n');
  await new Promise((r) => setTimeout(r, 300));
  const w = S.writeObject(store, key, (fd) => fs.writeSync(fd, 'layer built by ' + process.pid));
  const now = Date.now();
  S.putLayer(store, { key, builder: 't', layerName: 't', size: w.size, digest: w.digest, derivation: {}, createdAt: now, lastUsedAt: now });
}, { onWait: () => { waited = true; } });
fs.writeSync(1, JSON.stringify({ has: S.hasObject(store, key), digest: S.getLayer(store, key)?.digest, waited }) + '\\n');
await store.close();
`,
  );
  const kids = [runChild(script, [store.dir, KEY, counter, go]), runChild(script, [store.dir, KEY, counter, go])];
  await Promise.all(kids.map((k) => k.line((l) => l === 'ready')));
  fs.writeFileSync(go, '');
  const results = await Promise.all(kids.map((k) => k.exited));
  for (const r of results) assert.equal(r.code, 0, r.stderr);

  const builds = fs.readFileSync(counter, 'utf8').trim().split('\n');
  assert.equal(builds.length, 1, `built ${builds.length} times`);
  const outs = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!));
  for (const o of outs) assert.equal(o.has, true);
  assert.equal(outs[0].digest, outs[1].digest);
  assert.equal(outs.filter((o) => o.waited).length, 1, 'the loser waited');
  assert.ok(hasObject(store, KEY));
  assert.deepEqual(fs.readdirSync(store.paths.locks), [], 'lock released');
});

test('a lock left by a dead process is taken over', async (t) => {
  const store = await tempStore(t);
  const stale: LockOwner = { pid: deadPid(), startTime: null, token: 'dead', at: 1 };
  fs.writeFileSync(lockPath(store, KEY), JSON.stringify(stale));
  let waited = false;
  const r = await withBuildLock(store, KEY, () => 'built', { onWait: () => (waited = true), timeoutMs: 2000 });
  assert.equal(r, 'built');
  assert.equal(waited, false);
  assert.deepEqual(fs.readdirSync(store.paths.locks), []);
});

test('a recycled pid (live pid, other start time) does not hold the lock', async (t) => {
  const store = await tempStore(t);
  const impostor: LockOwner = { pid: process.pid, startTime: '1', token: 'old', at: 1 };
  fs.writeFileSync(lockPath(store, KEY), JSON.stringify(impostor));
  assert.equal(await withBuildLock(store, KEY, () => 7, { timeoutMs: 2000 }), 7);
});

test('a live owner is waited for, with a timeout if asked', async (t) => {
  const store = await tempStore(t);
  let release!: () => void;
  const held = withBuildLock(store, KEY, () => new Promise<void>((r) => (release = r)));
  await sleep(20);
  const owners: (LockOwner | null)[] = [];
  let polls = 0;
  await assert.rejects(
    withBuildLock(store, KEY, () => 'never', { timeoutMs: 150, onWait: (o) => owners.push(o), whileWaiting: () => polls++ }),
    (e) => e instanceof RapidoError && e.code === 'LOCK_TIMEOUT',
  );
  assert.equal(owners.length, 1);
  assert.equal(owners[0]!.pid, process.pid);
  // onWait once; whileWaiting before every pause (5, 10, 20, 40, 80 ms... within 150 ms).
  assert.ok(polls >= 4, `whileWaiting ran ${polls} times`);

  const order: string[] = [];
  const second = withBuildLock(store, KEY, () => order.push('second'));
  await sleep(50);
  order.push('first done');
  release();
  await held;
  await second;
  assert.deepEqual(order, ['first done', 'second']);
});

test('the lock is released when the build throws', async (t) => {
  const store = await tempStore(t);
  await assert.rejects(
    withBuildLock(store, KEY, () => {
      throw new Error('build failed');
    }),
    /build failed/,
  );
  assert.equal(fs.existsSync(lockPath(store, KEY)), false);
  assert.equal(await withBuildLock(store, KEY, () => 'again'), 'again');
});

test('an empty lock file is only stale after a grace period', async (t) => {
  const store = await tempStore(t);
  const p = lockPath(store, KEY);
  fs.writeFileSync(p, ''); // owner between O_EXCL create and writing its pid
  await assert.rejects(withBuildLock(store, KEY, () => 1, { timeoutMs: 100 }), /timed out/);
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(p, old, old);
  assert.equal(await withBuildLock(store, KEY, () => 2, { timeoutMs: 1000 }), 2);
});
