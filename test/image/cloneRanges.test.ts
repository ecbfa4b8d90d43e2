/**
 * Images whose slots share their store objects' blocks (FICLONERANGE) on
 * XFS and btrfs, on real loop-mounted filesystems: the same bytes as a
 * copy, no space of their own, and a copy wherever sharing cannot be done.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cloneBlockSize, cloneRanges } from '../../src/image/cloneRanges.js';
import { composeImage, CorruptObjectError, SLOT, type ComposeLayer } from '../../src/image/composeImage.js';
import { digestFileSync, initHasher } from '../../src/store/digest.js';
import { requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { canLoopMount, LOOP_NEEDS, loopMount, type LoopMount } from '../helpers/loopMount.js';

function layer(dir: string, key: string, size: number): ComposeLayer {
  const path = join(dir, key);
  writeFileSync(path, randomBytes(size));
  return { key, path, size };
}

/** What a fresh compose must give: each layer but the last NUL padded to a whole number of slots. */
function expected(layers: ComposeLayer[]): Buffer {
  return Buffer.concat(layers.map((l, i) => {
    const b = readFileSync(l.path);
    return i === layers.length - 1 ? b : Buffer.concat([b, Buffer.alloc(Math.ceil(b.length / SLOT) * SLOT - b.length)]);
  }));
}

const wholeBlocks = (l: ComposeLayer) => l.size - (l.size % 4096);
const usedMiB = (dir: string) => {
  const st = statfsSync(dir);
  return ((st.blocks - st.bfree) * st.bsize) / 2 ** 20;
};
const sync = () => assert.equal(spawnSync('sync').status, 0);

const opts = skipUnless(canLoopMount(), LOOP_NEEDS);

for (const type of ['xfs', 'btrfs'] as const) {
  describe(`on ${type}`, opts, () => {
    let fs: LoopMount;
    before(async () => {
      requireHost(canLoopMount(), LOOP_NEEDS);
      await initHasher();
      fs = loopMount(type);
    });
    after(() => fs?.close());

    test('a cold compose shares every whole block of its layers with their objects: the same bytes, no space of their own', () => {
      const dir = mkdtempSync(join(fs.dir, 'compose-'));
      const objects = join(dir, 'objects');
      mkdirSync(objects);
      const layers = [layer(objects, 'aaaa', (5 << 20) + 1000), layer(objects, 'bbbb', 300_001), layer(objects, 'cccc', (4 << 20) + 4096), layer(objects, 'dddd', 777)];
      sync();
      const before = usedMiB(fs.dir);
      const out = join(dir, 'myinitrd');
      const r = composeImage(out, layers, {});
      sync();
      assert.equal(cloneBlockSize(dir), 4096);
      assert.deepEqual(readFileSync(out), expected(layers));
      assert.equal(r.cloned, layers.reduce((n, l) => n + wholeBlocks(l), 0));
      // Only each layer's last partial block and its padding are written.
      assert.equal(r.written + r.cloned, readFileSync(out).length);
      const grew = usedMiB(fs.dir) - before;
      assert.ok(grew < 2, `the image took ${grew.toFixed(1)} MiB of its own (a copy takes ${(readFileSync(out).length / 2 ** 20).toFixed(1)})`);
    });

    test('a re-cut that rewrites a big slot of the spare shares it too; small changes are written', () => {
      const dir = mkdtempSync(join(fs.dir, 'compose-'));
      const [big, mid1, mid2, mid3, tail1, tail2] = [
        layer(dir, 'big', 9 << 20), layer(dir, 'mid1', (9 << 20) + 5), layer(dir, 'mid2', (9 << 20) + 9), layer(dir, 'mid3', (9 << 20) + 3),
        layer(dir, 'tail1', 5000), layer(dir, 'tail2', 6000),
      ];
      const out = join(dir, 'myinitrd');
      const r1 = composeImage(out, [big, mid1, tail1], {});
      const r2 = composeImage(out, [big, mid2, tail1], r1); // no spare yet: everything, shared
      assert.equal(r2.cloned, wholeBlocks(big) + wholeBlocks(mid2) + wholeBlocks(tail1));
      // The spare (r1's image) has big and tail1 in place: mid's slot is shared, its last block and padding written.
      const r3 = composeImage(out, [big, mid3, tail1], r2);
      assert.equal(r3.cloned, wholeBlocks(mid3));
      assert.equal(r3.written, Math.ceil(mid3.size / SLOT) * SLOT - wholeBlocks(mid3));
      assert.deepEqual(readFileSync(out), expected([big, mid3, tail1]));
      // A change under MIN_CLONE_BYTES is a plain write.
      const r4 = composeImage(out, [big, mid2, tail2], r3);
      assert.equal(r4.cloned, 0);
      assert.equal(r4.written, tail2.size);
      assert.deepEqual(readFileSync(out), expected([big, mid2, tail2]));
    });

    test('a reused object is still checked against its digest: a corrupt one fails the compose and leaves no temp image', () => {
      const dir = mkdtempSync(join(fs.dir, 'compose-'));
      const a = layer(dir, 'aaaa', 6 << 20);
      const b = layer(dir, 'bbbb', 6 << 20);
      const digestOf = (l: ComposeLayer) => digestFileSync(l.path);
      const good = { ...a, digest: digestOf(a) };
      const bad = { ...b, digest: digestOf(b) };
      const bytes = readFileSync(b.path);
      const intact = Buffer.from(bytes);
      bytes[3 << 20] ^= 1;
      writeFileSync(b.path, bytes);
      const out = join(dir, 'myinitrd');
      assert.throws(() => composeImage(out, [good, bad], {}), (e) => e instanceof CorruptObjectError && e.key === 'bbbb');
      assert.deepEqual(readdirSync(dir).sort(), ['aaaa', 'bbbb']);
      // With its digest right, the same object is shared (read to be checked, not written).
      writeFileSync(b.path, intact);
      const fixed = bad;
      const r = composeImage(out, [good, fixed], {});
      assert.equal(r.cloned, 12 << 20);
      assert.deepEqual(readFileSync(out), expected([good, fixed]));
    });

    test('where sharing cannot be done the slot is copied: an object on another filesystem, a path xfs_io cannot take', () => {
      const dir = mkdtempSync(join(fs.dir, 'compose-'));
      const elsewhere = mkdtempSync(join(tmpdir(), 'rapido-clone-other-'));
      try {
        const far = layer(elsewhere, 'far', 9 << 20);
        mkdirSync(join(dir, 'with space'));
        const spaced = layer(join(dir, 'with space'), 'spaced', 9 << 20);
        const near = layer(dir, 'near', 9 << 20);
        const out = join(dir, 'myinitrd');
        const r = composeImage(out, [far, spaced, near], {});
        assert.deepEqual(readFileSync(out), expected([far, spaced, near]));
        // FICLONERANGE works within one filesystem, and xfs_io splits commands on blanks.
        assert.equal(r.cloned, wholeBlocks(near));
        assert.equal(cloneRanges(join(dir, 'with space', 'x'), [{ src: near.path, srcOffset: 0, destOffset: 0, length: 4096 }]), false);
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    });
  });
}

describe('on XFS made without reflink (mkfs.xfs before xfsprogs 5.1)', opts, () => {
  let fs: LoopMount;
  before(() => {
    requireHost(canLoopMount(), LOOP_NEEDS);
    fs = loopMount('xfs', ['-m', 'reflink=0']);
  });
  after(() => fs?.close());

  test('xfs_io is refused, and every byte is written', () => {
    const layers = [layer(fs.dir, 'aaaa', 9 << 20), layer(fs.dir, 'bbbb', (9 << 20) + 3)];
    assert.equal(cloneBlockSize(fs.dir), 4096, 'an XFS: sharing is tried');
    const r = composeImage(join(fs.dir, 'myinitrd'), layers, {});
    assert.equal(r.cloned, 0);
    assert.equal(r.written, readFileSync(join(fs.dir, 'myinitrd')).length);
    assert.deepEqual(readFileSync(join(fs.dir, 'myinitrd')), expected(layers));
  });
});

describe('on ext4', opts, () => {
  let fs: LoopMount;
  before(() => {
    requireHost(canLoopMount(), LOOP_NEEDS);
    fs = loopMount('ext4');
  });
  after(() => fs?.close());

  test('no sharing: every byte is written, the same bytes', () => {
    const layers = [layer(fs.dir, 'aaaa', 9 << 20), layer(fs.dir, 'bbbb', (9 << 20) + 3)];
    const out = join(fs.dir, 'myinitrd');
    assert.equal(cloneBlockSize(fs.dir), undefined);
    const r = composeImage(out, layers, {});
    assert.equal(r.cloned, 0);
    assert.deepEqual(readFileSync(out), expected(layers));
    // xfs_io itself fails there, and says so: cloneRanges reports it instead of claiming the bytes.
    const dest = join(fs.dir, 'dest');
    writeFileSync(dest, '');
    assert.equal(cloneRanges(dest, [{ src: layers[0].path, srcOffset: 0, destOffset: 0, length: 4096 }]), false);
    assert.equal(existsSync(dest) && readFileSync(dest).length, 0);
  });
});
