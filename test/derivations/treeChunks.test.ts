/** Chunk boundaries of a big tree: a function of its entries alone, stable under a one-file edit, parents before children. */
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { test } from 'node:test';
import type { CpioEntry } from '../../src/derivations/cpio/cpioEntry.js';
import { CHUNK_THRESHOLD, chunkEntries, rechunkCounts, slices, totalWeight } from '../../src/derivations/treeChunks.js';
import { sortedEntries } from '../../src/derivations/cpio/writeNewc.js';

/** A suite-like tree: ~`mib` MiB over directories of test scripts and a few big binaries, from a fixed seed. */
function tree(mib: number): CpioEntry[] {
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const out: CpioEntry[] = [{ path: 'suite', type: 'dir', mode: 0o755 }];
  let bytes = 0;
  for (let d = 0; bytes < mib << 20; d++) {
    const dir = `suite/tests/g${String(d).padStart(3, '0')}`;
    if (d === 0) out.push({ path: 'suite/tests', type: 'dir', mode: 0o755 });
    out.push({ path: dir, type: 'dir', mode: 0o755 });
    for (let f = 0; f < 60; f++) {
      const size = f === 7 ? 400_000 + ((rnd() * 900_000) | 0) : 200 + ((rnd() * 12_000) | 0);
      out.push({ path: `${dir}/${String(f).padStart(3, '0')}`, type: 'file', mode: 0o755, source: `/host/${dir}/${f}`, size });
      bytes += size;
    }
    out.push({ path: `${dir}/link`, type: 'symlink', mode: 0o777, target: '000' });
  }
  return out;
}

const paths = (chunks: CpioEntry[][]) => chunks.map((c) => c.map((e) => e.path));

test('tree chunks: a tree up to the threshold stays one layer, as given', () => {
  const small = tree(CHUNK_THRESHOLD / (1 << 20) - 2);
  const chunks = chunkEntries(small);
  assert.equal(chunks.length, 1);
  assert.equal(chunks[0], small);
});

test('tree chunks: the same entries in any order give the same chunks; every directory comes before what it holds', () => {
  const entries = tree(60);
  const a = chunkEntries(entries);
  const b = chunkEntries([...entries].reverse());
  assert.ok(a.length >= 10 && a.length <= 120, `${a.length} chunks for 60 MiB`);
  assert.deepEqual(paths(a), paths(b));
  assert.equal(a.flat().length, entries.length, 'no entry lost or repeated');
  const seen = new Set<string>();
  for (const e of a.flat()) {
    const parent = posix.dirname(e.path);
    assert.ok(parent === '.' || seen.has(parent), `${e.path} before its directory`);
    seen.add(e.path);
  }
});

test('tree chunks: editing one file\'s content changes only the chunk holding it', () => {
  const entries = tree(60);
  const before = paths(chunkEntries(entries));
  const files = entries.filter((e) => e.type === 'file');
  let moved = 0;
  for (let i = 0; i < files.length; i += Math.floor(files.length / 50)) {
    const edited = entries.map((e) => (e === files[i] ? { ...e, size: e.size! + 40 } : e));
    const after = paths(chunkEntries(edited));
    if (JSON.stringify(after) !== JSON.stringify(before)) moved++;
  }
  // A boundary moves only when the edit crosses a chunk's minimum or maximum size: rare for a 40-byte edit.
  assert.ok(moved <= 1, `${moved} of 50 edits moved a boundary`);
});

test('tree chunks: adding or removing a file changes at most the chunks around it', () => {
  const entries = tree(60);
  const before = paths(chunkEntries(entries));
  const victim = entries.findIndex((e) => e.path === 'suite/tests/g040/030');
  const removed = paths(chunkEntries(entries.filter((_, i) => i !== victim)));
  const added = paths(chunkEntries([...entries, { path: 'suite/tests/g040/030a', type: 'file', mode: 0o644, source: '/host/new', size: 5000 }]));
  for (const after of [removed, added]) {
    const keep = new Set(before.map((c) => c.join('\n')));
    const changed = after.filter((c) => !keep.has(c.join('\n'))).length;
    assert.ok(changed >= 1 && changed <= 2, `${changed} chunks changed`);
  }
});

/** Rounds whose edits are small (a line appended to one file). */
const r0 = (round: number) => round % 3 === 0 && round % 4 === 0;

test('tree chunks: re-chunking after some entries changed size gives chunkEntries\' chunks, small and big changes alike', () => {
  const base = sortedEntries(tree(60));
  const before = chunkEntries(base);
  assert.ok(before.length > 10);
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const files = base.map((e, i) => [e, i] as const).filter(([e]) => e.type === 'file').map(([, i]) => i);
  for (let round = 0; round < 40; round++) {
    const entries = base.map((e) => ({ ...e }));
    const changed = Array.from({ length: 1 + (round % 4) }, () => files[(rnd() * files.length) | 0]);
    for (const i of changed) {
      // A line appended, a file emptied, or one grown past the chunk maximum.
      const r = round % 3;
      entries[i].size = r === 0 ? entries[i].size! + 17 : r === 1 ? 0 : entries[i].size! + (9 << 20);
    }
    const expected = chunkEntries(entries);
    const asked = new Set<number>();
    const at = (i: number) => (asked.add(i), entries[i]);
    const got = slices(entries, rechunkCounts(entries.length, at, before.map((c) => c.length), changed, totalWeight(entries)));
    assert.deepEqual(paths(got), paths(expected), `round ${round}`);
    // Only entries from the chunk holding the first change on are looked at, not the whole tree.
    const starts = before.map((_, j) => before.slice(0, j).reduce((n, c) => n + c.length, 0));
    const firstChunkStart = starts.filter((s) => s <= Math.min(...changed)).pop()!;
    assert.ok(Math.min(...asked) >= firstChunkStart, `round ${round}: nothing before the first changed chunk is read`);
    if (r0(round)) assert.ok(asked.size < entries.length / 4, `round ${round}: a small edit reads ${asked.size} of ${entries.length} entries`);
  }
  // Nothing changed: the same chunks, and no entry is looked at.
  const untouched = rechunkCounts(base.length, () => assert.fail('no entry needed'), before.map((c) => c.length), [], totalWeight(base));
  assert.deepEqual(paths(slices(base, untouched)), paths(before));
});
