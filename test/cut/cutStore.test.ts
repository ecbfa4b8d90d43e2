import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CutStore } from '../../src/cut/cutStore.js';
import { statSig } from '../../src/derivations/hostInputs.js';
import { digestBuffer, digestFileSync, initHasher } from '../../src/store/digest.js';
import { objectPath } from '../../src/store/objectPath.js';
import { writeHashedObject } from '../../src/store/writeObject.js';
import type { Stamp, StampInput, StampLayer } from '../../src/image/stamp.js';

const layer = (name: string, inputs: StampInput[]): StampLayer =>
  ({ name, key: name, size: 0, digest: '', request: '{}', inputs, racy: false, object: ['/nowhere', 'x'] }) as StampLayer;

describe('CutStore.digest', () => {
  before(() => initHasher());
  it('takes an unchanged file\'s digest from the stamp (found in any layer, in path order), and hashes a changed or unrecorded one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapido-cutstore-'));
    try {
      const tree = join(dir, 'tree');
      mkdirSync(tree);
      const files = ['a', 'b', 'c', 'd', 'e'].map((n) => {
        const p = join(tree, n);
        writeFileSync(p, `file ${n}\n`);
        return p;
      });
      const sig = (p: string) => statSig(lstatSync(p));
      // Recorded digests no real file has: returning one proves the stamp answered, not a read.
      const rec = (p: string): StampInput => [p, sig(p), `recorded-${p.slice(-1)}`];
      const prev = {
        layers: [
          layer('system', [rec(files[4])]),
          layer('tree#1', [[tree, sig(tree)], rec(files[0]), rec(files[1]), rec(files[2])]),
          layer('tree#2', []),
          layer('overlay', [rec(files[3])]),
        ],
      } as unknown as Stamp;
      const store = new CutStore(join(dir, 'store'), prev);
      for (const p of files) assert.equal(store.digest(p, sig(p)), `recorded-${p.slice(-1)}`, p);
      // A signature other than the recorded one: the file is hashed.
      assert.equal(store.digest(files[1], `${sig(files[1])}x`), digestFileSync(files[1]));
      // Not in the stamp (between two recorded paths, and past the last one).
      const extra = join(tree, 'bb');
      writeFileSync(extra, 'new\n');
      assert.equal(store.digest(extra, sig(extra)), digestFileSync(extra));
      const last = join(tree, 'z');
      writeFileSync(last, 'z\n');
      assert.equal(store.digest(last, sig(last)), digestFileSync(last));
      // A directory's input has no digest: the stamp gives no answer (and a directory cannot be hashed).
      assert.throws(() => store.digest(tree, sig(tree)), /EISDIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CutStore.objectSig', () => {
  it('is the signature a lookup found for a layer it answered, and taken anew for an object written after a miss', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapido-cutstore-'));
    const made = new CutStore(join(dir, 'store'), undefined);
    await made.open();
    await made.close();
    const store = new CutStore(join(dir, 'store'), undefined);
    try {
      // An object file without a record (a cut killed between the two): a miss, and then rebuilt.
      // The lookup stats it before it opens LMDB (a cut with a stamp often never does).
      const key = 'ab12cd34ef56ab78';
      const path = objectPath(store.dir, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, 'left behind');
      assert.equal(await store.lookup(key), undefined);
      const size = writeHashedObject(store.dir, key, (fd) => (writeSync(fd, 'the layer'), { size: 9, digest: digestBuffer(Buffer.from('the layer')) })).size;
      store.record({ key, builder: 'tree', layerName: 'tree', size, digest: digestBuffer(Buffer.from('the layer')), derivation: null, createdAt: 0, lastUsedAt: 0 } as never);
      assert.equal(store.objectSig(key), statSig(lstatSync(path)), 'the written object, not the file the miss saw');
      // A hit: its signature as the lookup found it.
      assert.ok(await store.lookup(key));
      assert.equal(store.objectSig(key), statSig(lstatSync(path)));
      assert.equal(store.objectSig('0000000000000000'), 'missing');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CutStore.withLayerLock', () => {
  for (const mode of ['one after the other', 'side-by-side']) it(`two cuts that each keep a recorded layer's lock, then need the other's, do not wait for each other; each layer is built once (plans ${mode})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapido-cutstore-'));
    try {
      const cutStore = fileURLToPath(new URL('../../src/cut/cutStore.js', import.meta.url));
      const digest = fileURLToPath(new URL('../../src/store/digest.js', import.meta.url));
      const writer = fileURLToPath(new URL('../../src/store/writeObject.js', import.meta.url));
      // Each process builds its first layer (its record pending, its lock kept), says so, waits
      // for the other to have done the same, then needs the layer the other holds.
      const script = join(dir, 'cut.mjs');
      writeFileSync(script, `
import fs from 'node:fs';
import { CutStore } from ${JSON.stringify(cutStore)};
import { initHasher } from ${JSON.stringify(digest)};
import { writeObject } from ${JSON.stringify(writer)};
const [storePath, first, second, dir, mode] = process.argv.slice(2);
await initHasher();
const cs = new CutStore(storePath, undefined);
await cs.open();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (f) => { while (!fs.existsSync(dir + '/' + f)) await sleep(5); };
const build = (key, inside) => cs.withLayerLock(key, async () => {
  if (await cs.lookup(key)) return fs.appendFileSync(dir + '/found', key + '\\n');
  await inside?.();
  const w = writeObject(cs.dir, key, (fd) => fs.writeSync(fd, 'layer ' + key));
  cs.record({ key, builder: 't', layerName: key, size: w.size, digest: w.digest, derivation: {}, createdAt: 1, lastUsedAt: 1 });
  fs.appendFileSync(dir + '/built', key + '\\n');
});
if (mode === 'side-by-side') {
  // Two plans of one cut at once (as cutImage runs them): the second starts waiting for the other
  // cut's lock while the first still builds; the first's layer is recorded (its lock kept) only then.
  const firstDone = build(first, async () => {
    fs.writeFileSync(dir + '/' + first + '.locked', '');
    await until(second + '.locked');
    await sleep(300);
  });
  await until(first + '.locked');
  await until(second + '.locked');
  await Promise.all([firstDone, build(second)]);
} else {
  await build(first);
  fs.writeFileSync(dir + '/' + first + '.ready', '');
  await until(second + '.ready');
  await build(second);
}
await cs.close();
`);
      const store = join(dir, 'store');
      const made = new CutStore(store, undefined);
      await made.open();
      await made.close();
      const [k1, k2] = ['1111111111111111', '2222222222222222'];
      const run = (a: string, b: string) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [script, store, a, b, dir, mode], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        // Two cuts waiting for each other would never end.
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('close', (code) => (clearTimeout(timer), resolve({ code, stderr })));
      });
      const results = await Promise.all([run(k1, k2), run(k2, k1)]);
      for (const r of results) assert.equal(r.code, 0, `a cut did not finish: ${r.stderr}`);
      const lines = (f: string) => readFileSync(join(dir, f), 'utf8').trim().split('\n').sort();
      assert.deepEqual(lines('built'), [k1, k2], 'each layer built once');
      assert.deepEqual(lines('found'), [k1, k2], 'and found with its record by the other cut');
      const after = new CutStore(store, undefined);
      try {
        for (const k of [k1, k2]) assert.ok(await after.lookup(k), `${k} recorded`);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
