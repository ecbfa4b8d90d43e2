import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cleanTmp, lockPath } from '../../src/store/index.js';
import { deadPid, tempStore } from './tempStore.js';

test('removes temp files and locks of dead processes only', async (t) => {
  const store = await tempStore(t);
  const dead = deadPid();
  const tmp = (n: string) => path.join(store.paths.tmp, n);
  fs.writeFileSync(tmp(`0123456789abcdef.${dead}.aabbccddeeff`), 'half');
  fs.writeFileSync(tmp(`0123456789abcdef.${process.pid}.aabbccddeeff`), 'mine, being written');
  fs.writeFileSync(tmp('unrelated-file'), 'not ours to judge');
  const deadLock = lockPath(store, '1111111111111111');
  const liveLock = lockPath(store, '2222222222222222');
  fs.writeFileSync(deadLock, JSON.stringify({ pid: dead, startTime: null, token: 'x', at: 1 }));
  fs.writeFileSync(liveLock, JSON.stringify({ pid: process.pid, startTime: null, token: 'y', at: 1 }));
  const aside = `${deadLock}.stale.${dead}.0abc`;
  fs.writeFileSync(aside, '');

  const removed = cleanTmp(store).sort();
  assert.deepEqual(removed, [deadLock, aside, tmp(`0123456789abcdef.${dead}.aabbccddeeff`)].sort());
  assert.deepEqual(fs.readdirSync(store.paths.tmp).sort(), [`0123456789abcdef.${process.pid}.aabbccddeeff`, 'unrelated-file']);
  assert.deepEqual(fs.readdirSync(store.paths.locks), ['2222222222222222.lock']);
  assert.deepEqual(cleanTmp(store), []);
});
