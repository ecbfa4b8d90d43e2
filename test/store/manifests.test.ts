import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  digestFileSync,
  getManifest,
  lookupManifest,
  MAX_MANIFEST_VARIANTS,
  recordManifest,
  type ClosureEntry,
} from '../../src/store/index.js';
import { tempDir, tempStore } from './tempStore.js';

const FIRST = 'aaaaaaaaaaaaaaaa';
const current = (p: string) => (fs.existsSync(p) ? digestFileSync(p) : null);

function closureOf(files: string[]): ClosureEntry[] {
  return files.map((p) => ({ path: p, digest: digestFileSync(p) }));
}

test('two-level lookup hits while the closure is unchanged, misses when a file changes or goes', async (t) => {
  const store = await tempStore(t);
  const dir = tempDir(t);
  const files = ['dracut.conf', 'bin-busybox', 'lib-libc.so'].map((n) => path.join(dir, n));
  files.forEach((f, i) => fs.writeFileSync(f, `content ${i}`));
  assert.equal(lookupManifest(store, FIRST, current), null, 'nothing recorded yet');

  recordManifest(store, FIRST, closureOf(files), '1111111111111111');
  assert.equal(lookupManifest(store, FIRST, current), '1111111111111111');

  fs.writeFileSync(files[1]!, 'content 1 patched');
  assert.equal(lookupManifest(store, FIRST, current), null);

  // Rebuilt with the new file: a second variant; the old one still matches if reverted.
  recordManifest(store, FIRST, closureOf(files), '2222222222222222');
  assert.equal(lookupManifest(store, FIRST, current), '2222222222222222');
  fs.writeFileSync(files[1]!, 'content 1');
  assert.equal(lookupManifest(store, FIRST, current), '1111111111111111');

  fs.rmSync(files[2]!);
  assert.equal(lookupManifest(store, FIRST, current), null);
});

test('each path is checked once per lookup; variants are deduplicated and bounded', async (t) => {
  const store = await tempStore(t);
  const c = (d: string): ClosureEntry[] => [
    { path: '/b', digest: d },
    { path: '/a', digest: '0' },
  ];
  for (let i = 0; i < MAX_MANIFEST_VARIANTS + 4; i++) recordManifest(store, FIRST, c(String(i)), `k${i}`);
  recordManifest(store, FIRST, c('3'), 'k3-again'); // same closure: replaces, moves to front
  const variants = getManifest(store, FIRST);
  assert.equal(variants.length, MAX_MANIFEST_VARIANTS);
  assert.equal(variants[0]!.key, 'k3-again');
  assert.equal(variants.filter((v) => v.closure[1]!.digest === '3').length, 1);
  assert.deepEqual(variants[0]!.closure.map((e) => e.path), ['/a', '/b'], 'stored sorted by path');

  const asked: string[] = [];
  const none = lookupManifest(store, FIRST, (p) => {
    asked.push(p);
    return p === '/a' ? '0' : 'nope';
  });
  assert.equal(none, null);
  assert.deepEqual(asked.sort(), ['/a', '/b']);
});
