/**
 * End to end: the shipped recipes, cut and booted with real QEMU (TCG here)
 * and the Debian kernel; the guest's status becomes rapido's exit status.
 * The fstests and blktests recipes run the real suites: fstests.test.ts, blktests.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

  test('a big tree (several layers in NUL-padded slots, rewritten in place after an edit) boots, and the guest sees the edit', async () => {
    const p = makeProject();
    try {
      // ~24 MiB of incompressible-looking files: over the chunking threshold.
      let seed = 9;
      const pool = Buffer.alloc(2 << 20);
      for (let i = 0; i < pool.length; i++) pool[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      for (let g = 0; g < 24; g++) {
        for (let f = 0; f < 20; f++) {
          const size = f === 0 ? 700_000 : 20_000 + ((g * 7919 + f * 104_729) % 10_000);
          const off = (g * 65_537 + f * 4099) % (pool.length - size);
          writeFileSync(p.write(`data/g${String(g).padStart(2, '0')}/${String(f).padStart(3, '0')}`, ''), pool.subarray(off, off + size));
        }
      }
      const notes = p.write('data/g11/notes.txt', 'original\n');
      p.write('big.rapido', 'bin cat md5sum tr\ntree /data data\nautorun run.sh\nvm-mem 1G\n');
      p.write('run.sh', '#!/bin/sh\necho "notes: $(cat /data/g11/notes.txt | tr \'\\n\' \' \')"\nmd5sum /data/g02/000 /data/g20/013\n');
      const cut = p.run(['cut', '-B', './big.rapido']);
      assert.equal(cut.status, 0, cut.stderr);
      assert.ok(Number(/(\d+) layers/.exec(cut.stderr)?.[1]) >= 6, `the tree is several layers: ${cut.stderr}`);
      // Two edits: the second rewrites the spare in place (one slot), and that image is booted.
      for (const n of [1, 2]) {
        writeFileSync(notes, `edit ${n}\n`, { flag: 'a' });
        utimesSync(notes, new Date(Date.now() - 5000), new Date(Date.now() - 5000));
        const re = p.run(['cut', '-B', './big.rapido']);
        assert.equal(re.status, 0, re.stderr);
        assert.match(re.stderr, /\(1 built, \d+ reused\), rebuilt: tree:\/data#\d+,/);
      }
      const r = await run(p, ['boot', ...BOOT]);
      assert.equal(r.status, 0, r.err + r.out.slice(-2000));
      assert.match(r.out, /notes: original edit 1 edit 2/);
      const md5 = (f: string) => createHash('md5').update(readFileSync(join(p.dir, f))).digest('hex');
      assert.match(r.out, new RegExp(`${md5('data/g02/000')}  /data/g02/000`));
      assert.match(r.out, new RegExp(`${md5('data/g20/013')}  /data/g20/013`));
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
