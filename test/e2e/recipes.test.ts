/**
 * End to end: the shipped recipes, cut and booted with real QEMU (TCG here)
 * and the Debian kernel; the guest's status becomes rapido's exit status.
 * The fstests and blktests recipes run the real suites: fstests.test.ts, blktests.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { makeProject, type Project } from '../helpers/cliHarness.js';

const BOOT = ['--timeout', '240', '--accel', 'tcg'];

const run = (p: Project, args: string[]) =>
  p.runAsync(args).then((r) => ({ status: r.status, out: r.stdout, err: r.stderr }));

function qemuProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.startsWith('qemu-system')) found.push(cmd);
    } catch { /* gone */ }
  }
  return found;
}

describe('shipped recipes boot and do their job', { concurrency: 2 }, () => {
  test('simple-example: greeting, zram, -x runs after the autorun, vm_num=1', async () => {
    const p = makeProject();
    try {
      const r = await run(p, ['cut', ...BOOT, '-x', 'echo "cmdline: $(cat /proc/cmdline)"', 'simple-example']);
      assert.equal(r.status, 0, r.err + r.out.slice(-2000));
      assert.match(r.out, /rapido: hello from rapido1, kernel \S+, 2 CPU\(s\)/);
      assert.match(r.out, /rapido: zram0 ready, 131072 sectors/);
      assert.match(r.out, /cmdline: .*rdinit=\/rapido-init .*rapido\.vm_num=1/);
      assert.ok(r.out.indexOf('zram0 ready') < r.out.indexOf('cmdline: '), '-x ran after the autorun');
    } finally {
      p.cleanup();
    }
  });

  test('a failing step fails the command; a hanging guest is killed at --timeout with 124', async () => {
    const p = makeProject();
    try {
      const failed = await run(p, ['cut', ...BOOT, '-x', 'echo about to fail; exit 7', 'simple-example']);
      assert.equal(failed.status, 7, failed.err);
      assert.match(failed.out, /about to fail/);
      const t0 = Date.now();
      const hung = await run(p, ['cut', '--timeout', '25', '--accel', 'tcg', '-x', 'sleep 1000', 'simple-example']);
      assert.equal(hung.status, 124, hung.err);
      assert.match(hung.err, /did not finish within 25 s/);
      assert.ok(Date.now() - t0 < 60_000);
      assert.ok(!qemuProcesses().some((c) => c.includes(p.dir)), 'no QEMU left behind');
    } finally {
      p.cleanup();
    }
  });

  test('an image with a dracut layer boots with our init too', async () => {
    const p = makeProject();
    try {
      p.write('d.rapido', 'dracut-module base\ndracut-install /usr/bin/lsblk\nkmod zram\nautorun run.sh\n');
      p.write('run.sh', '#!/bin/sh\nlsblk --version && modprobe zram && echo "zram loaded under dracut\'s userspace"\n');
      const r = await run(p, ['cut', ...BOOT, './d.rapido']);
      assert.equal(r.status, 0, r.err + r.out.slice(-2000));
      assert.match(r.out, /lsblk from util-linux/);
      assert.match(r.out, /zram loaded under dracut's userspace/);
    } finally {
      p.cleanup();
    }
  });

  test('two VMs at once: the second is VM 2 with its hostname from net-conf/vm2/hostname', async () => {
    const p = makeProject();
    try {
      p.write('net-conf/vm2/hostname', 'second-vm\n');
      const cut = await run(p, ['cut', '-B', '-x', 'sleep 3; echo "cmdline: $(cat /proc/cmdline)"', 'simple-example']);
      assert.equal(cut.status, 0, cut.err);
      const [a, b] = await Promise.all([run(p, ['boot', ...BOOT]), run(p, ['boot', ...BOOT])]);
      assert.equal(a.status, 0, a.err);
      assert.equal(b.status, 0, b.err);
      const outs = [a.out, b.out].sort((x, y) => (/vm_num=1/.test(x) ? -1 : /vm_num=1/.test(y) ? 1 : 0));
      assert.match(outs[0], /rapido\.vm_num=1/);
      assert.match(outs[0], /hello from rapido1,/);
      assert.match(outs[1], /rapido\.vm_num=2/);
      assert.match(outs[1], /hello from second-vm,/);
    } finally {
      p.cleanup();
    }
  });
});
