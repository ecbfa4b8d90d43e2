import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeImage, SLOT, type ComposeLayer } from '../../src/image/composeImage.js';
import { currentBootId } from '../../src/image/bootId.js';
import { layoutHolds } from '../../src/image/stamp.js';

function layer(dir: string, key: string, size: number, fill: number): ComposeLayer {
  const path = join(dir, key);
  writeFileSync(path, Buffer.alloc(size, fill));
  return { key, path, size };
}

/** What a fresh compose must give: each layer but the last NUL padded to a whole number of slots. */
function expected(layers: ComposeLayer[]): Buffer {
  return Buffer.concat(layers.map((l, i) => {
    const b = readFileSync(l.path);
    return i === layers.length - 1 ? b : Buffer.concat([b, Buffer.alloc(Math.ceil(b.length / SLOT) * SLOT - b.length)]);
  }));
}

/** Bytes a layer takes in the image when it is not the last. */
const slot = (l: ComposeLayer) => Math.ceil(l.size / SLOT) * SLOT;

test('compose: layers in NUL-padded slots; a tail change rewrites only the tail of the spare; old readers keep a whole image', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-compose-'));
  try {
    const out = join(dir, 'initrds', 'myinitrd');
    mkdirSync(join(dir, 'initrds'));
    const big = layer(dir, 'aaaaaaaaaaaaaaaa', (3 << 20) + 1000, 1);
    const o1 = layer(dir, 'bbbbbbbbbbbbbbbb', 4096, 2);
    const o2 = layer(dir, 'cccccccccccccccc', 8192, 3);
    const o3 = layer(dir, 'dddddddddddddddd', 512, 4);

    const r1 = composeImage(out, [big, o1], {});
    assert.equal(r1.written, slot(big) + o1.size);
    assert.deepEqual(readFileSync(out), expected([big, o1]));
    assert.equal(readFileSync(out).subarray(big.size, slot(big)).every((b) => b === 0), true, 'the padding is NULs');

    // A "VM" that opened the image before the re-cut must still read the old bytes.
    const reader = openSync(out, 'r');
    const r2 = composeImage(out, [big, o2], r1);
    assert.deepEqual(readFileSync(out), expected([big, o2]));
    const old = Buffer.alloc(slot(big) + o1.size);
    readSync(reader, old, 0, old.length, 0);
    closeSync(reader);
    assert.deepEqual(old.subarray(slot(big)), readFileSync(o1.path));
    assert.equal(r2.spare?.keys.join(), r1.current.keys.join(), 'the previous image became the spare');

    // Third cut: the spare holds the big layer at the same offset, so only the small tail is written.
    const r3 = composeImage(out, [big, o3], r2);
    assert.equal(r3.written, o3.size);
    assert.deepEqual(readFileSync(out), expected([big, o3]));
    assert.equal(lstatSync(out).size, slot(big) + o3.size);

    // Same layout again: nothing written.
    assert.equal(composeImage(out, [big, o3], r3).written, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compose: a changed layer in the middle rewrites its slot alone; the result equals a fresh compose byte for byte', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-compose-'));
  try {
    const out = join(dir, 'myinitrd');
    const fresh = join(dir, 'fresh');
    const a = layer(dir, 'aaaaaaaaaaaaaaaa', (1 << 20) + 7, 1);
    const b1 = layer(dir, 'bbbbbbbbbbbbbbbb', 300_000, 2);
    const b2 = layer(dir, 'b2b2b2b2b2b2b2b2', 300_100, 5); // one edit: same slot size
    const b3 = layer(dir, 'b3b3b3b3b3b3b3b3', 200_000, 6); // a smaller slot: everything after moves
    const c = layer(dir, 'cccccccccccccccc', 2 << 20, 3);
    const d = layer(dir, 'dddddddddddddddd', 4096, 4);
    const bx = layer(dir, 'b4b4b4b4b4b4b4b4', 299_000, 7); // another edit, same slot size
    const same = (layers: ComposeLayer[]) => {
      rmSync(fresh, { force: true });
      composeImage(fresh, layers, {});
      assert.deepEqual(readFileSync(out), readFileSync(fresh), 'incremental equals fresh');
      assert.deepEqual(readFileSync(out), expected(layers));
    };
    const r1 = composeImage(out, [a, b1, c, d], {});
    const r2 = composeImage(out, [a, b2, c, d], r1); // a full write: there is no spare yet
    assert.equal(r2.written, slot(a) + slot(b2) + slot(c) + d.size);
    // The spare (r1's image) holds a, c and d at the offsets the new layout wants: only b's slot is written.
    const r3 = composeImage(out, [a, bx, c, d], r2);
    assert.equal(r3.written, slot(bx), 'one slot written, with its padding');
    same([a, bx, c, d]);
    // A layer whose slot shrinks moves every later one: those slots are rewritten, the first is kept.
    const r4 = composeImage(out, [a, b3, c, d], r3);
    assert.equal(r4.written, slot(b3) + slot(c) + d.size);
    same([a, b3, c, d]);
    // Fewer layers than the spare: the spare is cut short to the new size; the last layer has no padding.
    const r5 = composeImage(out, [a, b1], r4);
    assert.equal(r5.written, b1.size);
    assert.equal(lstatSync(out).size, slot(a) + b1.size);
    same([a, b1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compose: a spare that a VM still holds open is not rewritten in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-compose-'));
  const out = join(dir, 'myinitrd');
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const big = layer(dir, 'aaaaaaaaaaaaaaaa', 1 << 20, 1);
    const o1 = layer(dir, 'bbbbbbbbbbbbbbbb', 4096, 2);
    const o2 = layer(dir, 'cccccccccccccccc', 4096, 3);
    const o3 = layer(dir, 'dddddddddddddddd', 4096, 4);
    const r1 = composeImage(out, [big, o1], {}, dir);
    const r2 = composeImage(out, [big, o2], r1, dir);
    // A process with the spare open, registered like a VM's pidfile.
    const fd = openSync(join(dir, '.myinitrd.spare'), 'r');
    child = spawn('sleep', ['30'], { stdio: [fd, 'ignore', 'ignore'] });
    closeSync(fd);
    writeFileSync(join(dir, 'rapido_vm1.pid'), `${child.pid}\n`);
    const r3 = composeImage(out, [big, o3], r2, dir);
    assert.equal(r3.written, slot(big) + o3.size, 'full write instead of an in-place tail rewrite');
    assert.deepEqual(readFileSync(out), expected([big, o3]));
  } finally {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compose: an image written behind our back (same inode and size) is rewritten, from the spare\'s prefix when it is intact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-compose-'));
  try {
    const out = join(dir, 'myinitrd');
    const big = layer(dir, 'aaaaaaaaaaaaaaaa', 2 << 20, 1);
    const o1 = layer(dir, 'bbbbbbbbbbbbbbbb', 4096, 2);
    const o2 = layer(dir, 'cccccccccccccccc', 4096, 3);
    const want = expected([big, o2]);
    const r1 = composeImage(out, [big, o1], {});
    const r2 = composeImage(out, [big, o2], r1);
    const flip = (path: string, at: number) => {
      const fd = openSync(path, 'r+');
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, at);
      writeSync(fd, Buffer.from([b[0] ^ 0xff]), 0, 1, at);
      closeSync(fd);
    };
    flip(out, 1000);
    // Same layout asked for: before, ino+size matched and nothing was written.
    const r3 = composeImage(out, [big, o2], r2);
    assert.deepEqual(readFileSync(out), want);
    assert.equal(r3.written, o2.size, 'the intact spare gave the big prefix; only the tail was written');
    assert.equal(r3.spare, undefined, 'the damaged image is never trusted as a spare');

    // A damaged spare is not trusted either: a full write.
    const r4 = composeImage(out, [big, o1], r3);
    flip(join(dir, '.myinitrd.spare'), 10);
    flip(out, 10);
    const r5 = composeImage(out, [big, o1], { current: r4.current, spare: r3.current });
    assert.equal(r5.written, slot(big) + o1.size);
    assert.deepEqual(readFileSync(out), expected([big, o1]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compose: temp images of dead cuts beside the image are removed, a live cut\'s and other names are kept', async () => {
  const { prepareImageDir } = await import('../../src/image/composeImage.js');
  const dir = mkdtempSync(join(tmpdir(), 'rapido-compose-'));
  try {
    const out = join(dir, 'initrds', 'myinitrd');
    mkdirSync(join(dir, 'initrds'));
    const dead = spawn('true');
    await new Promise((r) => dead.on('close', r));
    const names = [
      `.myinitrd.${dead.pid}.tmp`, `.myinitrd.${dead.pid}.old`, `.myinitrd.rapido.json.${dead.pid}.tmp`, // dead: removed
      `.myinitrd.${process.ppid}.tmp`, `.other.${dead.pid}.tmp`, `.myinitrd.spare`, `myinitrd.${dead.pid}.tmp`, // kept
    ];
    for (const n of names) writeFileSync(join(dir, 'initrds', n), 'x');
    const removed = prepareImageDir(out).map((p) => p.slice(p.lastIndexOf('/') + 1)).sort();
    assert.deepEqual(removed, names.slice(0, 3).sort());
    assert.deepEqual(readdirSync(join(dir, 'initrds')).sort(), names.slice(3).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compose: an image is trusted in the boot that wrote it only; from another boot (a crash may have lost its unsynced bytes) it is written again, spare included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-compose-'));
  try {
    const boot = currentBootId();
    assert.ok(boot, 'this Linux host has /proc/sys/kernel/random/boot_id');
    const out = join(dir, 'myinitrd');
    const a = layer(dir, 'aaaaaaaaaaaaaaaa', (1 << 20) + 10, 1);
    const b = layer(dir, 'bbbbbbbbbbbbbbbb', 4096, 2);
    const c = layer(dir, 'cccccccccccccccc', 512, 3);
    const r1 = composeImage(out, [a, b], {});
    assert.equal(r1.current.boot, boot, 'the layout names the boot that wrote it unsynced');
    const r2 = composeImage(out, [a, c], r1);
    assert.equal(r2.spare?.boot, boot, 'the old image keeps its boot as the spare');
    // Same boot: the same layout is trusted as it is, and the spare's prefix is reused.
    assert.equal(composeImage(out, [a, c], r2).written, 0);
    assert.equal(layoutHolds(r2.current, out), true);
    // The same files, as seen after a reboot: neither layout is trusted, the whole image is written.
    const other = '00000000-0000-4000-8000-000000000000';
    const fromOtherBoot = { current: { ...r2.current, boot: other }, spare: r2.spare && { ...r2.spare, boot: other } };
    assert.equal(layoutHolds(fromOtherBoot.current, out), false);
    const r3 = composeImage(out, [a, c], fromOtherBoot);
    assert.equal(r3.written, slot(a) + c.size, 'written whole: no stale slot is kept');
    assert.deepEqual(readFileSync(out), expected([a, c]));
    assert.equal(r3.current.boot, boot);
    assert.equal(r3.spare, undefined, 'an image from another boot is never a trusted spare');
    // A synced layout (no boot recorded, as before) stays trusted.
    assert.equal(layoutHolds({ ...r3.current, boot: undefined }, out), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
