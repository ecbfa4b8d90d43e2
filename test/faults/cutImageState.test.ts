/**
 * Faults in what a cut leaves beside DRACUT_OUT and in the store it used:
 * the image changed behind rapido's back, the store wiped, a cut killed
 * while composing a large image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, RAPIDO_STORE_BIN } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';

const stampOf = (out: string) => JSON.parse(readFileSync(join(out, '..', '.myinitrd.rapido.json'), 'utf8'));

test('a flipped byte in the composed image: the re-cut rewrites it from the store, and the image boots', skipUnless(haveQemu(), QEMU_NEEDS), () => {
  requireHost(haveQemu(), QEMU_NEEDS);
  const p = makeProject();
  try {
    const first = p.run(['cut', '-B', 'simple-example']);
    assert.equal(first.status, 0, first.stderr);
    const good = readFileSync(p.out);
    assert.match(p.run(['cut', '-B', 'simple-example']).stderr, /up to date/);

    // Flip one byte in place, as `dd conv=notrunc` would: same inode, same size. Byte 0 is the first cpio header's magic.
    const fd = openSync(p.out, 'r+');
    writeSync(fd, Buffer.from([good[0] ^ 0x01]), 0, 1, 0);
    closeSync(fd);
    assert.notDeepEqual(readFileSync(p.out), good);

    const recut = p.run(['cut', '-B', 'simple-example']);
    assert.equal(recut.status, 0, recut.stderr);
    assert.doesNotMatch(recut.stderr, /up to date/);
    assert.match(recut.stderr, /\(0 built, \d+ reused\), [\d.]+ MiB, [\d.]+ MiB written/, 'the layers come from the store; the image is written again');
    assert.deepEqual(readFileSync(p.out), good, 'the image holds the store objects again');
    assert.match(p.run(['cut', '-B', 'simple-example']).stderr, /up to date/, 'the renewed stamp describes the rewritten image');

    const boot = p.run(['boot', '--accel', 'tcg', '--timeout', '180', '--exit']);
    assert.equal(boot.status, 0, boot.stderr + boot.stdout.slice(-3000));
    assert.doesNotMatch(boot.stdout, /Initramfs unpacking failed/);
    assert.match(boot.stdout, /rapido: hello from rapido1/);
  } finally {
    p.cleanup();
  }
});

test('a reboot after a cut (its image was written without a data sync): the next cut writes the whole image again from the store', () => {
  requireKernel();
  const p = makeProject();
  try {
    const first = p.run(['cut', '-B', 'simple-example']);
    assert.equal(first.status, 0, first.stderr);
    const good = readFileSync(p.out);
    const stampPath = join(p.out, '..', '.myinitrd.rapido.json');
    const stamp = stampOf(p.out);
    assert.equal(stamp.current.boot, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), 'the stamp names the boot that wrote the image');
    assert.match(p.run(['cut', '-B', 'simple-example']).stderr, /up to date/);

    // What the next boot sees: the same files, written in another boot. A crash may have left zeros where the bytes were.
    stamp.current.boot = '00000000-0000-4000-8000-000000000000';
    writeFileSync(stampPath, JSON.stringify(stamp));
    const again = p.run(['cut', '-B', 'simple-example']);
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /up to date/);
    const m = /\(0 built, \d+ reused\), ([\d.]+ \S+), ([\d.]+ \S+) written/.exec(again.stderr);
    assert.ok(m, again.stderr);
    assert.equal(m[2], m[1], 'the whole image is written, nothing kept from the untrusted file');
    assert.deepEqual(readFileSync(p.out), good);
    assert.match(p.run(['cut', '-B', 'simple-example']).stderr, /up to date/, 'trusted again in this boot');
  } finally {
    p.cleanup();
  }
});

test('the store wiped after a cut: the next cut of the same recipe puts the layers in the new store', () => {
  requireKernel();
  const p = makeProject();
  try {
    const first = p.run(['cut', '-B', 'simple-example']);
    assert.equal(first.status, 0, first.stderr);
    const layers = Number(/(\d+) layers \(/.exec(first.stderr)![1]);
    rmSync(p.store, { recursive: true, force: true });

    const again = p.run(['cut', '-B', 'simple-example']);
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /up to date/);
    assert.match(again.stderr, new RegExp(`\\(${layers} built, 0 reused\\)`));
    const stamp = stampOf(p.out);
    for (const l of stamp.layers) assert.ok(existsSync(join(p.store, 'objects', l.key.slice(0, 2), l.key)), `layer ${l.name} is in the store`);

    const ls = p.run(['ls'], { bin: RAPIDO_STORE_BIN });
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`${layers} layers`));
    const tar = join(p.dir, 'layers.tar');
    const exp = p.run(['export', '-o', tar, 'simple-example'], { bin: RAPIDO_STORE_BIN });
    assert.equal(exp.status, 0, exp.stderr);
    assert.ok(statSync(tar).size > 0);
    assert.match(p.run(['cut', '-B', 'simple-example']).stderr, /up to date/, 'and the stamp now names the new store');
  } finally {
    p.cleanup();
  }
});

test('a cut SIGKILLed while composing a large image: the next cut removes the abandoned temp image', async () => {
  requireKernel();
  const p = makeProject();
  try {
    p.write('big.rapido', 'bin cat\ntree /data data\n');
    // 384 MiB of real (not sparse) data, so composing the image takes long enough to be caught at it.
    const chunk = Buffer.alloc(16 << 20);
    for (let i = 0; i < chunk.length; i += 4096) chunk.writeUInt32LE(i, i);
    for (let i = 0; i < 24; i++) {
      chunk.writeUInt32LE(i, 1);
      writeFileSync(p.write(`data/f${i}`, ''), chunk);
    }
    const initrds = join(p.dir, 'initrds');
    const child = p.spawn(['cut', '-B', './big.rapido']);
    child.stdout!.resume();
    child.stderr!.resume();
    const closed = new Promise((r) => child.on('close', r));
    const tmpName = `.myinitrd.${child.pid}.tmp`;
    const deadline = Date.now() + 120_000;
    // Kill once the temp image holds data (an empty one is only the start-up writability probe).
    while (Date.now() < deadline && !((statSync(join(initrds, tmpName), { throwIfNoEntry: false })?.size ?? 0) > 1 << 20)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await closed;
    assert.ok(existsSync(join(initrds, tmpName)), 'the killed cut left its temp image');

    // Another live process's temp image must survive; a dead one's hold link must not.
    const live = join(initrds, `.myinitrd.${process.pid}.tmp`);
    writeFileSync(live, 'in use');
    const deadOld = join(initrds, `.myinitrd.${child.pid}.old`);
    writeFileSync(deadOld, 'left by a kill between link and rename');

    const again = p.run(['cut', '-B', './big.rapido']);
    assert.equal(again.status, 0, again.stderr);
    const left = readdirSync(initrds).filter((f) => /\.(tmp|old)$/.test(f));
    assert.deepEqual(left, [`.myinitrd.${process.pid}.tmp`], 'only the live process\'s temp file is left');
    assert.ok(statSync(p.out).size > 24 * (16 << 20));
  } finally {
    p.cleanup();
  }
});
