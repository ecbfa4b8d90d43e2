import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { openFileBackend } from '../../../src/store/substituters/fileBackend.js';
import { tempDir } from '../tempStore.js';

const sig = () => AbortSignal.timeout(10_000);

test('file:// backend: put then get and exists; a missing path is null/false, never a fault', async (t) => {
  const dir = tempDir(t);
  const b = openFileBackend(pathToFileURL(dir), 'file://' + dir);
  assert.equal(await b.get('records/0123456789abcdef.json', sig()), null);
  assert.equal(await b.exists('objects/0123456789abcdef', sig()), false);
  await b.put('objects/0123456789abcdef', Buffer.from('bytes'), sig());
  assert.deepEqual(await b.get('objects/0123456789abcdef', sig()), Buffer.from('bytes'));
  assert.equal(await b.exists('objects/0123456789abcdef', sig()), true);
  // Readable by a web server serving the directory as another user.
  assert.equal(fs.statSync(path.join(dir, 'objects/0123456789abcdef')).mode & 0o444, 0o444);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'objects')), ['0123456789abcdef'], 'no temp file left');
});

test('file:// backend: paths cannot leave the cache directory', async (t) => {
  const dir = tempDir(t);
  const b = openFileBackend(pathToFileURL(dir), 'file://' + dir);
  await assert.rejects(b.get('../etc/passwd', sig()), /bad cache path/);
  await assert.rejects(b.put('/abs', Buffer.alloc(1), sig()), /bad cache path/);
});

test('file:// backend: many writers of one path at once leave one complete file and no temp files', async (t) => {
  const dir = tempDir(t);
  const b = openFileBackend(pathToFileURL(dir), 'file://' + dir);
  const body = Buffer.alloc(4 << 20, 7);
  await Promise.all(Array.from({ length: 8 }, () => b.put('objects/aaaaaaaaaaaaaaaa', body, sig())));
  assert.deepEqual(fs.readFileSync(path.join(dir, 'objects/aaaaaaaaaaaaaaaa')), body);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'objects')), ['aaaaaaaaaaaaaaaa']);
});

test('file:// backend: a path that cannot be read (a directory where a file should be) is a fault, not a miss', async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'objects/aaaaaaaaaaaaaaaa'), { recursive: true });
  const b = openFileBackend(pathToFileURL(dir), 'file://' + dir);
  await assert.rejects(b.get('objects/aaaaaaaaaaaaaaaa', sig()), { name: 'CacheFault', message: /EISDIR/ });
});
