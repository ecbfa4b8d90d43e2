/**
 * End to end: the single-VM storage and kernel-feature recipes from Rapido's
 * catalogue, each cut and booted with real QEMU (TCG) and the Debian kernel,
 * and each made to do its job: data written to the device it sets up comes
 * back bit for bit, read with O_DIRECT after dropping the page cache.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';

const BOOT = ['--timeout', '240', '--accel', 'tcg'];

/** A -x step: 4 MiB of random data written to DEV at 1 MiB, read back past the cache, compared. */
function roundTrip(devExpr: string): string {
  return [
    `dev=${devExpr}`,
    'dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 status=none',
    'dd if=/tmp/pattern of="$dev" bs=1M seek=1 oflag=direct conv=fsync status=none',
    'echo 3 > /proc/sys/vm/drop_caches',
    'dd if="$dev" of=/tmp/back bs=1M skip=1 count=4 iflag=direct status=none',
    'cmp /tmp/pattern /tmp/back',
    'echo "ROUNDTRIP-OK $dev $(sha256sum < /tmp/back | cut -c1-16)"',
  ].join(' && ');
}

async function cut(recipe: string, steps: string[], conf = '') {
  requireHost(haveQemu(), QEMU_NEEDS);
  const p = makeProject(conf);
  try {
    const args = ['cut', ...BOOT];
    for (const s of steps) args.push('-x', s);
    const r = await p.runAsync([...args, recipe]);
    return { status: r.status, out: r.stdout, err: r.stderr };
  } finally {
    p.cleanup();
  }
}

describe('single-VM catalogue recipes boot and do their job', { concurrency: 2, ...skipUnless(haveQemu(), QEMU_NEEDS) }, () => {
  test('scsi-debug: the scsi_debug disk gets a block device; data round-trips', async () => {
    const r = await cut('scsi-debug', [roundTrip('$(cat /run/scsi-debug-dev)')]);
    assert.equal(r.status, 0, r.err + r.out.slice(-3000));
    assert.match(r.out, /scsi-debug: \/dev\/sd[a-z] ready, 64 MiB/);
    assert.match(r.out, /ROUNDTRIP-OK \/dev\/sd[a-z] [0-9a-f]{16}/);
  });

  test('lio-local: a LIO LUN over the loopback fabric is a SCSI disk; data round-trips to its zram backstore', async () => {
    // Read the backstore directly too: the bytes went through LIO to zram, not just into a cache.
    const r = await cut('lio-local', [
      roundTrip('$(cat /run/lio-local-dev)'),
      'dd if=/dev/zram0 of=/tmp/backing bs=1M skip=1 count=4 iflag=direct status=none && cmp /tmp/pattern /tmp/backing && echo BACKSTORE-OK',
    ]);
    assert.equal(r.status, 0, r.err + r.out.slice(-3000));
    assert.match(r.out, /lio-local: \/dev\/sd[a-z] ready \(LIO-ORG IBLOCK\), backstore \/dev\/zram0/);
    assert.match(r.out, /ROUNDTRIP-OK/);
    assert.match(r.out, /BACKSTORE-OK/);
  });

  test('nvme-local: an nvmet namespace connected over fabrics; data round-trips', async () => {
    const r = await cut('nvme-local', [roundTrip('$(cat /run/nvme-local-dev)'), 'nvme list-subsys | grep -q rapido-local && echo SUBSYS-OK']);
    assert.equal(r.status, 0, r.err + r.out.slice(-3000));
    assert.match(r.out, /nvme-local: \/dev\/nvme\d+n1 ready over (loop|tcp)/);
    assert.match(r.out, /ROUNDTRIP-OK \/dev\/nvme\d+n1/);
    assert.match(r.out, /SUBSYS-OK/);
  });

  test('dm: the linear target maps its second half onto the second zram device', async () => {
    // 2 MiB written across the 32 MiB boundary: the first MiB lands at the end of zram0, the second at the start of zram1.
    const r = await cut('dm', [[
      'dd if=/dev/urandom of=/tmp/pattern bs=1M count=2 status=none',
      'dd if=/tmp/pattern of=/dev/mapper/rapido-linear bs=1M seek=31 oflag=direct status=none',
      'dd if=/dev/zram0 bs=1M skip=31 count=1 iflag=direct status=none > /tmp/a',
      'dd if=/dev/zram1 bs=1M count=1 iflag=direct status=none > /tmp/b',
      'cat /tmp/a /tmp/b | cmp - /tmp/pattern',
      'echo LINEAR-OK',
    ].join(' && ')]);
    assert.equal(r.status, 0, r.err + r.out.slice(-3000));
    assert.match(r.out, /dm: \/dev\/mapper\/rapido-linear = \/dev\/zram0 \+ \/dev\/zram1 \(131072 sectors\)/);
    assert.match(r.out, /LINEAR-OK/);
  });

  test('keyctl: a user key added to the session keyring reads back', async () => {
    const r = await cut('keyctl', [
      'keyctl session - bash -c \'id=$(keyctl add user rapido-test "hello keyring" @s) && echo "KEY=$(keyctl print "$id")" && keyctl search @s user rapido-test >/dev/null && echo FOUND\'',
    ]);
    assert.equal(r.status, 0, r.err + r.out.slice(-3000));
    assert.match(r.out, /keyctl: keyctl from keyutils-\S+.*; \d+ keys visible/);
    assert.match(r.out, /KEY=hello keyring/);
    assert.match(r.out, /FOUND/);
  });

  test('zram-fio: the verify job passes; a bad fio option fails the run', async () => {
    const ok = await cut('zram-fio', [], 'ZRAM_FIO_SIZE="32M"\n');
    assert.equal(ok.status, 0, ok.err + ok.out.slice(-3000));
    assert.match(ok.out, /zram-fio: \/dev\/zram0, 32M/);
    assert.match(ok.out, /zram-fio: verify job passed/);
    const bad = await cut('zram-fio', [], 'ZRAM_FIO_SIZE="32M"\nZRAM_FIO_ARGS="--rw=no-such-mode"\n');
    assert.notEqual(bad.status, 0, 'fio failing must fail the run');
    assert.doesNotMatch(bad.out, /verify job passed/);
  });
});
