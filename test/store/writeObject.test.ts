import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { RapidoError } from '../../src/errors.js';
import { writeHashedObject } from '../../src/store/writeObject.js';
import {
  cleanTmp,
  digestBuffer,
  digestFileSync,
  hasObject,
  objectPath,
  putLayer,
  writeObject,
  type Store,
} from '../../src/store/index.js';
import { runChild, tempDir, tempStore, writeScript } from './tempStore.js';

const KEY = '0123456789abcdef';

function put(store: Store, key: string, data: Buffer) {
  return writeObject(store, key, (fd) => fs.writeSync(fd, data));
}

function record(key: string, size: number, digest: string) {
  const now = Date.now();
  return { key, builder: 'test', layerName: 'l', size, digest, derivation: { k: key }, createdAt: now, lastUsedAt: now };
}

test('writes an immutable object with its size and digest', async (t) => {
  const store = await tempStore(t);
  const data = Buffer.from('070701 pretend cpio '.repeat(1000));
  const w = put(store, KEY, data);
  assert.deepEqual(w, { size: data.length, digest: digestBuffer(data), kept: false });
  const p = objectPath(store, KEY);
  assert.ok(p.endsWith(`/objects/01/${KEY}`));
  assert.deepEqual(fs.readFileSync(p), data);
  assert.equal(fs.statSync(p).mode & 0o777, 0o444);
  assert.ok(hasObject(store, KEY, data.length));
  assert.equal(hasObject(store, KEY, data.length + 1), false);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);
});

test('a producer failing halfway leaves nothing under the final name and no temp file', async (t) => {
  const store = await tempStore(t);
  const boom = new Error('builder crashed');
  assert.throws(
    () =>
      writeObject(store, KEY, (fd) => {
        fs.writeSync(fd, Buffer.alloc(64 << 10, 1));
        throw boom;
      }),
    (e) => e === boom,
  );
  assert.equal(fs.existsSync(objectPath(store, KEY)), false);
  assert.equal(hasObject(store, KEY), false);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);
});

test('ENOSPC becomes DISK_FULL and the temp file is removed', async (t) => {
  const store = await tempStore(t);
  assert.throws(
    () =>
      writeObject(store, KEY, (fd) => {
        fs.writeSync(fd, 'partial');
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }),
    (e) => e instanceof RapidoError && e.code === 'DISK_FULL' && /RAPIDO_STORE/.test(e.hint ?? ''),
  );
  assert.equal(fs.existsSync(objectPath(store, KEY)), false);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);
});

test('a corrupted existing object is replaced', async (t) => {
  const store = await tempStore(t);
  const data = Buffer.from('the real layer bytes, long enough to flip one of them');
  const first = put(store, KEY, data);
  putLayer(store, record(KEY, first.size, first.digest));
  const p = objectPath(store, KEY);
  fs.chmodSync(p, 0o644);
  const bad = Buffer.from(data);
  bad[10] = bad[10]! ^ 0x01;
  fs.writeFileSync(p, bad);
  const w = put(store, KEY, data);
  assert.equal(w.kept, false);
  assert.equal(w.digest, first.digest);
  assert.deepEqual(fs.readFileSync(p), data);
  assert.equal(fs.statSync(p).mode & 0o777, 0o444);
});

test('an intact object written by another process is kept', async (t) => {
  const store = await tempStore(t);
  const bytes = Buffer.from('the same deterministic layer, built by two processes');
  const first = put(store, KEY, bytes);
  const ino = fs.statSync(objectPath(store, KEY)).ino;
  const w = put(store, KEY, Buffer.from(bytes));
  assert.deepEqual(w, { size: first.size, digest: first.digest, kept: true });
  assert.equal(fs.statSync(objectPath(store, KEY)).ino, ino);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);
});

test('a writer killed mid-write leaves no object; cleanTmp removes its temp file', async (t) => {
  const store = await tempStore(t);
  const script = writeScript(
    tempDir(t),
    'slow-writer.mjs',
    `
const [dir, key] = process.argv.slice(2);
await S.initHasher();
const store = S.openStore(dir);
const chunk = Buffer.alloc(1 << 20, 0x5a);
const nap = new Int32Array(new SharedArrayBuffer(4));
S.writeObject(store, key, (fd) => {
  for (let i = 0; i < 500; i++) {
    fs.writeSync(fd, chunk);
    if (i === 4) fs.writeSync(1, 'writing\\n');
    Atomics.wait(nap, 0, 0, 20);
  }
});
fs.writeSync(1, 'finished\\n');
`,
  );
  const child = runChild(script, [store.dir, KEY]);
  await child.line((l) => l === 'writing');
  child.proc.kill('SIGKILL');
  const r = await child.exited;
  assert.equal(r.signal, 'SIGKILL');
  assert.doesNotMatch(r.stdout, /finished/);

  assert.equal(fs.existsSync(objectPath(store, KEY)), false);
  const left = fs.readdirSync(store.paths.tmp);
  assert.equal(left.length, 1);
  assert.ok(left[0]!.startsWith(`${KEY}.${child.proc.pid}.`), left[0]);
  assert.ok(fs.statSync(`${store.paths.tmp}/${left[0]}`).size >= 5 << 20);

  assert.deepEqual(cleanTmp(store), [`${store.paths.tmp}/${left[0]}`]);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);

  const data = Buffer.from('after the crash');
  assert.equal(put(store, KEY, data).digest, digestBuffer(data));
  assert.deepEqual(fs.readFileSync(objectPath(store, KEY)), data);
});

test("a hashing producer's digest is the one reading the object back gives, and the object is not re-read", async (t) => {
  const store = await tempStore(t);
  const data = Buffer.from('070701 streamed '.repeat(100_000)); // 1.6 MB: past digestFd's one-shot chunk
  const w = writeHashedObject(store, KEY, (fd) => {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, Math.min(300_000, data.length - off));
    return { size: data.length, digest: digestBuffer(data) };
  });
  assert.deepEqual(w, { size: data.length, digest: digestFileSync(objectPath(store, KEY)), kept: false });
  assert.deepEqual(w, put(store, 'fedcba9876543210', data), 'same as writeObject, which reads it back');

  // Proof the digest is taken, not re-read: a (wrong) digest of the right size is what comes back.
  const trusted = writeHashedObject(store, '1111111111111111', (fd) => {
    fs.writeSync(fd, data);
    return { size: data.length, digest: '00000000000000ff' };
  });
  assert.equal(trusted.digest, '00000000000000ff');
});

test('a hashing producer that writes bytes outside its hash is caught by size, and nothing is stored', async (t) => {
  const store = await tempStore(t);
  const hashed = Buffer.from('archive bytes');
  assert.throws(
    () =>
      writeHashedObject(store, KEY, (fd) => {
        fs.writeSync(fd, hashed);
        fs.writeSync(fd, Buffer.from('stray')); // not through the hash
        return { size: hashed.length, digest: digestBuffer(hashed) };
      }),
    (e) =>
      e instanceof RapidoError &&
      e.code === 'OBJECT_SIZE_MISMATCH' &&
      e.message === `layer ${KEY}: its builder hashed ${hashed.length} bytes but the object has ${hashed.length + 5}`,
  );
  assert.equal(fs.existsSync(objectPath(store, KEY)), false);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);
});
