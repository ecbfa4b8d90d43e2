import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RapidoError } from '../../src/errors.js';
import { acquireGcLock, liveCutMarkers, withCutGuard } from '../../src/store/cutGuard.js';
import { cleanTmp, lockPath } from '../../src/store/index.js';
import { deadPid, runChild, tempDir, tempStore, writeScript } from './tempStore.js';

const guardPath = new URL('../../src/store/cutGuard.js', import.meta.url).href;

function markers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith('cut.'));
}

test('gc waits for a running cut; a cut that starts during gc waits for it', async (t) => {
  const store = await tempStore(t);
  const dir = tempDir(t);
  const release = path.join(dir, 'release');
  const script = writeScript(
    dir,
    'cut.mjs',
    `
const { withCutGuard } = await import(${JSON.stringify(guardPath)});
const [storeDir, release] = process.argv.slice(2);
const store = S.openStore(storeDir);
const t0 = Date.now();
await withCutGuard(store, async () => {
  fs.writeSync(1, 'inside ' + (Date.now() - t0) + '\\n');
  while (!fs.existsSync(release)) await new Promise((r) => setTimeout(r, 5));
}, { onWait: () => fs.writeSync(1, 'waiting\\n') });
fs.writeSync(1, 'done\\n');
await store.close();
`,
  );
  // 1. A cut holds the store: gc waits until it is done.
  const cut = runChild(script, [store.dir, release]);
  await cut.line((l) => l.startsWith('inside'));
  assert.equal(liveCutMarkers(store).length, 1);
  let waitedFor: number[] = [];
  let acquired = false;
  const gc = acquireGcLock(store, { onWaitCuts: (c) => (waitedFor = c.map((m) => m.pid)) }).then((l) => {
    acquired = true;
    return l;
  });
  await sleep(300);
  assert.equal(acquired, false, 'gc must not start while a cut runs');
  assert.deepEqual(waitedFor, [cut.proc.pid]);
  fs.writeFileSync(release, '');
  await cut.exited;
  const lock = await gc;
  assert.ok(acquired);
  fs.rmSync(release);

  // 2. gc holds the store: a new cut waits until the gc releases it, and only then runs.
  const cut2 = runChild(script, [store.dir, release]);
  await cut2.line((l) => l === 'waiting');
  await sleep(200);
  assert.deepEqual(markers(store.paths.locks), [], 'a waiting cut holds no marker');
  lock.release();
  await cut2.line((l) => l.startsWith('inside'));
  fs.writeFileSync(release, '');
  const r = await cut2.exited;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(store.paths.locks), [], 'markers and gc.lock removed');
});

test('markers and gc.lock of dead processes are ignored and cleaned', async (t) => {
  const store = await tempStore(t);
  const dead = deadPid();
  fs.writeFileSync(path.join(store.paths.locks, `cut.${dead}.00112233445566`), JSON.stringify({ pid: dead, startTime: null, at: 1 }));
  fs.writeFileSync(path.join(store.paths.locks, `cut.${dead}.aabbccddeeff00`), ''); // died before writing it
  fs.writeFileSync(lockPath(store, 'gc'), JSON.stringify({ pid: dead, startTime: null, token: 'x', at: 1 }));
  let ran = false;
  await withCutGuard(store, () => {
    ran = true;
    assert.equal(markers(store.paths.locks).length, 3, 'ours and the two dead ones');
  }, { onWait: () => assert.fail('a dead gc must not be waited for') });
  assert.ok(ran);
  const lock = await acquireGcLock(store, { timeoutMs: 1000, onWaitCuts: () => assert.fail('dead cuts must not be waited for') });
  assert.deepEqual(markers(store.paths.locks), [], 'dead markers removed by gc');
  lock.release();
  fs.writeFileSync(path.join(store.paths.locks, `cut.${dead}.0123456789ab`), '{}');
  assert.ok(cleanTmp(store).some((p) => p.endsWith(`cut.${dead}.0123456789ab`)), 'cleanTmp removes dead markers too');
});

test('gc gives up with GC_BUSY when cuts outlast --wait, and leaves no lock behind', async (t) => {
  const store = await tempStore(t);
  await withCutGuard(store, async () => {
    // Another process would see this marker; acquiring from the same process shows the timeout path.
    await assert.rejects(acquireGcLock(store, { timeoutMs: 150 }), (e: unknown) => e instanceof RapidoError && e.code === 'GC_BUSY' && /nothing was removed/.test(e.message));
    assert.equal(fs.existsSync(lockPath(store, 'gc')), false);
  });
});

test('nested and concurrent guards in one process never deadlock against a waiting gc', async (t) => {
  const store = await tempStore(t);
  const dir = tempDir(t);
  const script = writeScript(
    dir,
    'gc.mjs',
    `
const { acquireGcLock } = await import(${JSON.stringify(guardPath)});
const store = S.openStore(process.argv[2]);
const lock = await acquireGcLock(store, { onWaitCuts: () => fs.writeSync(1, 'gc waiting\\n') });
fs.writeSync(1, 'gc running\\n');
lock.release();
await store.close();
`,
  );
  let gc: ReturnType<typeof runChild> | undefined;
  await withCutGuard(store, async () => {
    gc = runChild(script, [store.dir]);
    await gc.line((l) => l === 'gc waiting');
    // gc.lock is held by a gc that waits for us: an inner guard must not wait for it.
    const inner = await Promise.race([withCutGuard(store, () => 'inner ran'), sleep(2000).then(() => 'deadlock')]);
    assert.equal(inner, 'inner ran');
  });
  await gc!.line((l) => l === 'gc running');
  assert.equal((await gc!.exited).code, 0);
});
