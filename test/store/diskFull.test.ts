import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RapidoError } from '../../src/errors.js';
import { diskFullError, isDiskFull } from '../../src/store/diskFull.js';

const enospc = (path?: string) => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path });

test('a full disk is recognised whoever reports it: Node, LMDB (errno number, message), quota', () => {
  assert.ok(isDiskFull(enospc()));
  assert.ok(isDiskFull(Object.assign(new Error('Disk quota exceeded'), { code: 'EDQUOT' })));
  assert.ok(isDiskFull(Object.assign(new Error('No space left on device: Attempting to write page at position 61440'), { code: 28 })));
  assert.ok(isDiskFull(new RapidoError('DISK_FULL', 'x')));
  assert.ok(!isDiskFull(Object.assign(new Error('EACCES'), { code: 'EACCES' })));
  assert.ok(!isDiskFull(new RapidoError('USAGE', 'no space left on device')));
  // LMDB turns a short write into EIO: a full disk only if the filesystem has (almost) nothing left.
  assert.ok(!isDiskFull(Object.assign(new Error('Input/output error'), { code: 5 }), '/'));
});

test('one DISK_FULL message: what, where, the same hint; no empty parentheses without a path', () => {
  const inStore = diskFullError(enospc(), 'a cut marker', '/s/store');
  assert.equal(inStore.code, 'DISK_FULL');
  assert.equal(inStore.message, 'no space left on device: cannot write a cut marker in /s/store');
  assert.equal(diskFullError(enospc('/s/x')).message, 'no space left on device: cannot write /s/x');
  assert.equal(diskFullError(enospc()).message, 'no space left on device');
  for (const e of [diskFullError(enospc('/s/x')), diskFullError(enospc())]) assert.equal(e.hint, inStore.hint);
  assert.match(inStore.hint!, /free some space .* RAPIDO_STORE/);
  assert.equal(diskFullError(inStore, 'other'), inStore, 'an error already DISK_FULL keeps its words');
});
