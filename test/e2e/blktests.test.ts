/**
 * The real blktests (scripts/build-suites.sh), run by the shipped blktests
 * recipes: real QEMU (TCG), the Debian kernel. A few tests per device-less
 * group (block: null_blk, loop, scsi: scsi_debug, nvme: the loop transport,
 * zbd: null_blk zoned) must pass, not be skipped; blktests-zram runs its
 * quick set on /dev/zram0, a group that does not exist fails the run, and
 * a tool the image lacks is named in the missing-commands line.
 */
import { describe, test } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { makeProject, REPO, type Project } from '../helpers/cliHarness.js';
import { haveQemu, hostKernel, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { builtSuite, SUITE_NEEDS } from '../helpers/suites.js';

const BOOT = ['--timeout', '600', '--accel', 'tcg'];
const suite = builtSuite('blktests');
const ready = haveQemu() && suite !== null;
const needs = `${QEMU_NEEDS} and ${SUITE_NEEDS('blktests')}`;

/** Per device-less group, tests that need no test device and no tool the recipe leaves out. */
const GROUPS: Record<string, string[]> = {
  // block/017, block/024, loop/003 and scsi/007 depend on timing: on a loaded TCG host they fail.
  block: ['block/021', 'block/023'],
  loop: ['loop/002', 'loop/005'],
  scsi: ['scsi/005'],
  nvme: ['nvme/006', 'nvme/008'],
  zbd: ['zbd/002', 'zbd/004'],
};

/** Whether the kernel the tests boot has nvmet's loop transport (Debian's does not: CONFIG_NVME_TARGET_LOOP is not set). */
function kernelHasNvmeLoop(): boolean {
  const k = hostKernel();
  if (!k) return false;
  try {
    return /^CONFIG_NVME_TARGET_LOOP=[ym]$/m.test(readFileSync(k.config, 'utf8'));
  } catch {
    return existsSync(`${k.modDir}/kernel/drivers/nvme/target/nvme-loop.ko`);
  }
}

const run = (p: Project, args: string[]) => p.runAsync(args).then((r) => ({ status: r.status, out: r.stdout, err: r.stderr }));
const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

/** blktests' verdict for `name`, from its result line (`block/017 (...)   [passed]`); a test with variants must pass in each. */
function verdicts(out: string, name: string): string[] {
  // check colours the verdict when it finds terminfo (`[\e[32mpassed\e(B\e[m]`) and rewrites the line after a cursor-up
  // (`\e[1A`); the console may have dropped some of those bytes (`1Ablock/021 ... [[32mpassed]`).
  const re = new RegExp(`^(?:\x1b?\\[?\\d+A)?${name.replace('/', '\\/')} .*\\[(?:\x1b?\\[?[0-9;]*m)?(passed|failed|not run)`, 'gm');
  return [...out.matchAll(re)].map((m) => m[1]);
}

describe('blktests recipes run the real blktests', { concurrency: 2, ...skipUnless(ready, needs) }, () => {
  test('blktests: a few tests per device-less group pass; rapido exits with check\'s status', async () => {
    requireHost(ready, needs);
    const p = makeProject(`BLKTESTS_SRC="${suite}"\n`);
    try {
      const tests = Object.values(GROUPS).flat();
      const t0 = Date.now();
      const cmd = `cd /blktests && ./check ${tests.join(' ')}; st=$?; echo "check exited $st"; exit $st`;
      const r = await run(p, ['cut', ...BOOT, '-x', cmd, 'blktests']);
      console.log(`blktests (device-less, ${tests.length} tests): ${secs(t0)}`);
      const log = r.err + r.out.slice(-8000);
      const m = /^check exited (\d+)$/m.exec(r.out);
      assert.ok(m, log);
      assert.equal(r.status, Number(m[1]), log);
      const nvmeLoop = kernelHasNvmeLoop();
      for (const t of tests) {
        const v = verdicts(r.out, t);
        if (t.startsWith('nvme/') && !nvmeLoop) {
          // Honestly skipped, with blktests' reason, on a kernel without the loop transport.
          assert.ok(v.length > 0 && v.every((x) => x === 'not run'), `${t}: ${v.join(', ') || 'no result line'}\n${log}`);
          assert.match(r.out, /driver nvme_loop is not available/, log);
          continue;
        }
        assert.ok(v.length > 0 && v.every((x) => x === 'passed'), `${t}: ${v.join(', ') || 'no result line'}\n${log}`);
      }
      assert.equal(r.status, 0, log);
    } finally {
      p.cleanup();
    }
  });

  test('blktests-zram: no command runs the quick set on /dev/zram0; a group that does not exist fails the run', async () => {
    requireHost(ready, needs);
    const p = makeProject(`BLKTESTS_SRC="${suite}"\nBLKTESTS_ZRAM_SIZE="256M"\n`);
    try {
      let t0 = Date.now();
      const quick = await run(p, ['cut', ...BOOT, 'blktests_zram']);
      console.log(`blktests-zram quick set: ${secs(t0)}`);
      const log = quick.err + quick.out.slice(-6000);
      assert.equal(quick.status, 0, log);
      assert.match(quick.out, /blktests: quick set: \.\/check block\/012/, log);
      assert.deepEqual(verdicts(quick.out, 'block/012'), ['passed'], log);
      assert.match(quick.out, /block\/012 \(zram0\)|zram0/, log);

      // Upstream blktests has no zram group: check says so and exits 0; the recipe's run must not pass.
      t0 = Date.now();
      const none = await p.runAsync(['cut', ...BOOT, 'blktests-zram'], { BLKTESTS_AUTORUN_CMD: './check zram' });
      console.log(`blktests-zram ./check zram: ${secs(t0)}`);
      const log2 = none.stderr + none.stdout.slice(-4000);
      assert.equal(none.status, 1, log2);
      assert.match(none.stdout, /no group or test named zram/, log2);
      assert.match(none.stdout + none.stderr, /blktests: check was given a group or test that does not exist; failing the run/, log2);

      // A tool the test needs, left out of the image: the test fails and the host names the command.
      p.write('r.rapido', `include ${REPO}/recipes/blktests-zram.rapido\nfilter /usr/bin/hexdump\n`);
      t0 = Date.now();
      const lacking = await run(p, ['cut', ...BOOT, './r.rapido']);
      console.log(`blktests-zram without hexdump: ${secs(t0)}`);
      const log3 = lacking.err + lacking.out.slice(-4000);
      assert.equal(lacking.status, 1, log3);
      assert.deepEqual(verdicts(lacking.out, 'block/012'), ['failed'], log3);
      assert.match(lacking.err + lacking.out, /commands not found in the image: (\S+ )*hexdump\b/, log3);
    } finally {
      p.cleanup();
    }
  });
});
