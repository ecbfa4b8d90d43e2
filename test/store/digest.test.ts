import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { digestBuffer, digestFileSync, hashString, initHasher } from '../../src/store/index.js';
import { tempDir } from './tempStore.js';

before(() => initHasher());

test('xxh64 known vectors, 16 hex chars', () => {
  assert.equal(digestBuffer(Buffer.from('abc')), '44bc2cf5ad770999');
  assert.equal(digestBuffer(Buffer.alloc(0)), 'ef46db3751d8e999');
  assert.equal(hashString('abc'), '44bc2cf5ad770999');
  for (let i = 0; i < 50; i++) assert.match(hashString(`k${i}`), /^[0-9a-f]{16}$/);
});

test('file digests equal buffer digests across the chunk boundary', (t) => {
  const dir = tempDir(t);
  const MiB = 1 << 20;
  for (const size of [0, 1, 4096, MiB - 1, MiB, MiB + 1, 3 * MiB + 17]) {
    const buf = Buffer.alloc(size);
    for (let i = 0; i < size; i++) buf[i] = (i * 31 + (i >> 11)) & 0xff;
    const f = path.join(dir, `f${size}`);
    fs.writeFileSync(f, buf);
    assert.equal(digestFileSync(f), digestBuffer(buf), `size ${size}`);
  }
});
