import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CpioEntry } from '../../src/derivations/cpio/cpioEntry.js';
import { BadSnapshot, SNAPSHOT_BLOCK, toSnapshot } from '../../src/derivations/treeSnapshot.js';
import { readTreeSnapshots, writeTreeSnapshots } from '../../src/image/treeSnapshotFile.js';

/** `n` entries of a tree: a directory, files, a symlink. */
function entries(n: number): CpioEntry[] {
  const out: CpioEntry[] = [{ path: 'data', type: 'dir', mode: 0o755 }];
  for (let i = 1; i < n - 1; i++) out.push({ path: `data/f${String(i).padStart(5, '0')}`, type: 'file', mode: 0o644, source: `/host/f${i}`, size: i });
  out.push({ path: 'data/zlink', type: 'symlink', mode: 0o777, target: 'f00001' });
  return out;
}

const info = { trees: [{ hostDir: '/host', all: false }], elf: ['/host/prog'] };
const sizeOf = (source: string) => Number(source.slice('/host/f'.length));

function withOut(f: (out: string, sidecar: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-snap-'));
  try {
    f(join(dir, 'img'), join(dir, '.img.rapido.tree.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tree snapshot file: entries read back block by block, each block parsed only when asked for', () => {
  withOut((out, sidecar) => {
    const n = SNAPSHOT_BLOCK * 2 + 37;
    const snap = toSnapshot(info, entries(n), sizeOf)!;
    assert.equal(snap.count, n);
    assert.equal(snap.sharedSources, false);
    writeTreeSnapshots(out, { 'tree:/data': snap });
    const lines = readFileSync(sidecar, 'utf8').split('\n');
    assert.equal(lines.length, 1 + 3, 'a header and three blocks');

    const back = readTreeSnapshots(out)['tree:/data'];
    assert.equal(back.id, snap.id);
    assert.deepEqual(back.trees, info.trees);
    assert.deepEqual(back.elf, info.elf);
    for (let i = 0; i < n; i++) assert.deepEqual(back.entry(i), snap.entry(i), `entry ${i}`);

    // A damaged middle block: the blocks around it still read; it says so when asked (the cut then walks the tree).
    lines[2] = lines[2].slice(0, 100);
    writeFileSync(sidecar, lines.join('\n'));
    const damaged = readTreeSnapshots(out)['tree:/data'];
    assert.deepEqual(damaged.entry(3), snap.entry(3));
    assert.deepEqual(damaged.entry(n - 1), snap.entry(n - 1));
    assert.throws(() => damaged.entry(SNAPSHOT_BLOCK + 1), BadSnapshot);
  });
});

test('tree snapshot file: a snapshot kept from the last cut is written again by copying its lines', () => {
  withOut((out, sidecar) => {
    const a = toSnapshot(info, entries(300), sizeOf)!;
    writeTreeSnapshots(out, { 'tree:/a': a });
    // Block 0 of tree:/a written with other spacing: equal JSON, other bytes, so a copy shows.
    const lines = readFileSync(sidecar, 'utf8').split('\n');
    lines[1] = JSON.stringify(JSON.parse(lines[1]), null, 0).replace(/,/g, ', ');
    writeFileSync(sidecar, lines.join('\n'));
    const kept = readTreeSnapshots(out)['tree:/a'];
    const b = toSnapshot({ trees: [{ hostDir: '/other', all: true }], elf: [] }, entries(10), sizeOf)!;
    writeTreeSnapshots(out, { 'tree:/a': kept, 'tree:/b': b });
    assert.equal(readFileSync(sidecar, 'utf8').split('\n')[1], lines[1]);
    const both = readTreeSnapshots(out);
    assert.deepEqual(Object.keys(both).sort(), ['tree:/a', 'tree:/b']);
    assert.deepEqual(both['tree:/a'].entry(299), a.entry(299));
    assert.deepEqual(both['tree:/b'].entry(9), b.entry(9));
    assert.equal(both['tree:/b'].trees[0].all, true);
  });
});

test('tree snapshot file: another version, a missing block or no file reads as no snapshot', () => {
  withOut((out, sidecar) => {
    assert.deepEqual(readTreeSnapshots(out), {});
    writeTreeSnapshots(out, { 'tree:/a': toSnapshot(info, entries(600), sizeOf)! });
    const lines = readFileSync(sidecar, 'utf8').split('\n');
    writeFileSync(sidecar, lines.slice(0, -1).join('\n'));
    assert.deepEqual(readTreeSnapshots(out), {}, 'a block missing');
    writeFileSync(sidecar, [lines[0].replace('"version":2', '"version":1'), ...lines.slice(1)].join('\n'));
    assert.deepEqual(readTreeSnapshots(out), {}, 'another version');
    writeTreeSnapshots(out, {});
    assert.deepEqual(readTreeSnapshots(out), {}, 'none: the file is removed');
  });
});

test('tree snapshot: a host file that is the source of two entries is marked, so a delta looks for all of its entries', () => {
  const twice: CpioEntry[] = [...entries(5), { path: 'data/again', type: 'file', mode: 0o644, source: '/host/f2', size: 2 }];
  assert.equal(toSnapshot(info, twice, sizeOf)!.sharedSources, true);
});
