import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { CpioEntry } from '../../src/derivations/cpio/cpioEntry.js';
import { encodeNewc } from '../../src/derivations/cpio/writeNewc.js';
import { newcProblem } from '../../src/store/newcArchive.js';
import { tempDir } from './tempStore.js';

const entries: CpioEntry[] = [
  { path: 'bin', type: 'dir', mode: 0o755 },
  { path: 'bin/sh', type: 'file', mode: 0o755, data: Buffer.from('#!shell\n') },
  { path: 'big', type: 'file', mode: 0o644, data: Buffer.alloc(200_000, 3) }, // bigger than one read window
  { path: 'bin/ash', type: 'symlink', mode: 0o777, target: 'sh' },
];

test('a layer as the writer writes it, and archives back to back, are whole newc archives', (t) => {
  const dir = tempDir(t);
  const one = encodeNewc(entries);
  const f = path.join(dir, 'obj');
  fs.writeFileSync(f, one);
  assert.equal(newcProblem(f), null);
  fs.writeFileSync(f, Buffer.concat([one, Buffer.alloc(512), encodeNewc(entries.slice(0, 2))]));
  assert.equal(newcProblem(f), null);
});

test('truncated, garbage, trailing data or empty: not an archive, and why', (t) => {
  const dir = tempDir(t);
  const one = encodeNewc(entries);
  const f = path.join(dir, 'obj');
  const problem = (b: Buffer) => {
    fs.writeFileSync(f, b);
    return newcProblem(f);
  };
  assert.match(problem(one.subarray(0, one.length - 600))!, /truncated|no newc header/);
  assert.match(problem(one.subarray(0, 150_000))!, /truncated data/);
  assert.match(problem(Buffer.from('left by a crash\n'.repeat(20)))!, /no newc header at byte 0/);
  assert.match(problem(Buffer.from('left by a crash'))!, /truncated header at byte 0/);
  assert.match(problem(Buffer.concat([one, Buffer.from('junk')]))!, /truncated header at byte \d+/);
  assert.match(problem(Buffer.concat([one, Buffer.from('junk'.repeat(40))]))!, /no newc header at byte \d+/);
  assert.match(problem(Buffer.concat([one, Buffer.from([0, 0, 1])]))!, /data after the end of an archive/);
  assert.equal(problem(Buffer.alloc(0)), 'empty');
  assert.equal(problem(Buffer.alloc(4096)), 'empty');
});
