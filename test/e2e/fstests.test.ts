/**
 * The real xfstests (scripts/build-suites.sh), run by the shipped fstests-*
 * recipes as a kernel developer would: real QEMU (TCG), the Debian kernel.
 * Per filesystem one boot runs an fsstress-based test (the tree's ELF
 * helpers need their shared libraries), a filesystem-specific one, and a
 * test added to a temporary copy of the tree whose output never matches:
 * rapido's status must be check's (1), with check's failure summary shown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeProject, REPO, type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { builtSuite, SUITE_NEEDS } from '../helpers/suites.js';

const BOOT = ['--timeout', '600', '--accel', 'tcg'];
const suite = builtSuite('xfstests');
const ready = haveQemu() && suite !== null;
const needs = `${QEMU_NEEDS} and ${SUITE_NEEDS('xfstests')}`;

/** The test that fails on purpose: its output never matches its golden output. */
const FAILING = 'generic/999';

/** Per recipe: the fsstress-based test and the filesystem's own (a generic one where fstests has none that is fast). */
const CASES: { fs: string; fsstress: string; own?: string }[] = [
  { fs: 'btrfs', fsstress: 'generic/070', own: 'btrfs/001' },
  { fs: 'xfs', fsstress: 'generic/070', own: 'xfs/001' },
  { fs: 'ext4', fsstress: 'generic/070', own: 'ext4/001' },
  { fs: 'f2fs', fsstress: 'generic/070', own: 'f2fs/001' },
  // fstests has no exFAT tests (and generic ones take minutes on exFAT under TCG); udf/102, its one UDF test, calls a helper that upstream removed.
  { fs: 'exfat', fsstress: 'generic/076' },
  { fs: 'udf', fsstress: 'generic/076', own: 'generic/005' },
];

let copy = '';
let tmp = '';

const run = (p: Project, args: string[]) => p.runAsync(args).then((r) => ({ status: r.status, out: r.stdout, err: r.stderr }));

/** check's own status, as the -x step printed it. */
function checkStatus(out: string): number | null {
  const m = /^check exited (\d+)$/m.exec(out);
  return m ? Number(m[1]) : null;
}

function project(extra = ''): Project {
  return makeProject(`FSTESTS_SRC="${copy}"\n${extra}`);
}

describe('fstests recipes run the real xfstests', { concurrency: 2, ...skipUnless(ready, needs) }, () => {
  before(() => {
    requireHost(ready, needs);
    tmp = mkdtempSync(join(tmpdir(), 'rapido-xfstests-'));
    copy = join(tmp, 'xfstests');
    const cp = spawnSync('cp', ['-a', suite!, copy], { encoding: 'utf8' });
    assert.equal(cp.status, 0, cp.stderr);
    writeFileSync(
      join(copy, 'tests', `${FAILING}`),
      '#! /bin/bash\n# rapido e2e: a test whose output never matches its golden output.\n. ./common/preamble\n_begin_fstest auto quick\necho "the output this run produced"\nstatus=0\nexit\n',
      { mode: 0o755 },
    );
    writeFileSync(join(copy, 'tests', `${FAILING}.out`), 'QA output created by 999\nthe output the golden file expects\n');
    // check runs only tests its group list names (make generates it).
    appendFileSync(join(copy, 'tests', 'generic', 'group.list'), `${FAILING.split('/')[1]} auto quick\n`);
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  for (const c of CASES) {
    const tests = [c.fsstress, ...(c.own ? [c.own] : []), FAILING];
    test(`fstests-${c.fs}: ${tests.slice(0, -1).join(' and ')} pass, ${FAILING} fails, rapido exits with check's status`, async () => {
      const p = project();
      try {
        const t0 = Date.now();
        // A failed test's dmesg file, prefixed so the log below keeps it (it drops kernel lines).
        const dmesg = `for f in results/*/*.dmesg; do [ -e "$f" ] && sed "s|^|$f: |" "$f"; done`;
        const cmd = `cd /fstests && ./check ${tests.join(' ')}; st=$?; ${dmesg}; echo "check exited $st"; exit $st`;
        const r = await run(p, ['cut', ...BOOT, '-x', cmd, `fstests-${c.fs}`]);
        const kernelTail = existsSync(`${p.out}.console.log`) ? readFileSync(`${p.out}.console.log`, 'utf8').split('\n').filter((l) => /^\[ *\d+\.\d+\] /.test(l)).slice(-40).join('\n') : '';
        const log = `${r.err}${r.out.replace(/^\[ *\d+\.\d+\] .*\n/gm, '').slice(-5000)}\nthe kernel's last messages:\n${kernelTail}`;
        console.log(`fstests-${c.fs}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        assert.equal(checkStatus(r.out), 1, log);
        assert.equal(r.status, 1, log);
        // check runs them in sorted order.
        const ran = /^Ran: (.*?)\r?$/m.exec(r.out);
        assert.deepEqual(ran?.[1].split(' ').sort(), [...tests].sort(), log);
        assert.match(r.out, new RegExp(`^Failures: ${FAILING}$`, 'm'), log);
        assert.match(r.out, new RegExp(`^Failed 1 of ${tests.length} tests$`, 'm'), log);
        // check's diff of the mismatching output is shown (diff is in the image).
        assert.match(r.out, /^\s*-the output the golden file expects\r?$/m, log);
        assert.match(r.out, /^\s*\+the output this run produced\r?$/m, log);
        assert.doesNotMatch(r.out, /^Not run:/m, `every test ran\n${log}`);
        assert.doesNotMatch(r.out, /error while loading shared libraries|command not found/, log);
        // check's systemd-run probe is not a missing command (the autorun says so).
        assert.doesNotMatch(r.err, /commands not found in the image/, log);
      } finally {
        p.cleanup();
      }
    });
  }

  test('fstests-btrfs with no command runs its quick set and passes (Rapido alias fstests_btrfs)', async () => {
    const p = project();
    try {
      const t0 = Date.now();
      const r = await run(p, ['cut', ...BOOT, 'fstests_btrfs']);
      console.log(`fstests-btrfs quick set: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const log = r.err + r.out.slice(-6000);
      assert.equal(r.status, 0, log);
      assert.match(r.out, /^fstests: quick set: \.\/check /m, log);
      assert.match(r.out, /^Passed all \d+ tests$/m, log);
      assert.doesNotMatch(r.err, /commands not found in the image/, log);
      assert.doesNotMatch(r.out, /^Not run:/m, log);
    } finally {
      p.cleanup();
    }
  });

  test('check that prints "Failed" but exits 0 (no expr in the image) still fails the run, via FSTESTS_AUTORUN_CMD', async () => {
    const p = project(`FSTESTS_AUTORUN_CMD="./check ${FAILING}"\n`);
    try {
      // Without expr, check's exit status is computed as empty: it exits 0 after "Failed 1 of 1 tests".
      p.write('r.rapido', `include ${REPO}/recipes/fstests-btrfs.rapido\nfilter /usr/bin/expr\n`);
      const t0 = Date.now();
      const r = await run(p, ['cut', ...BOOT, './r.rapido']);
      console.log(`fstests-btrfs without expr: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const log = r.err + r.out.slice(-6000);
      assert.equal(r.status, 1, log);
      assert.match(r.out, /expr: command not found/, log);
      assert.match(r.out, /^Failures: generic\/999$/m, log);
      assert.match(r.out, /^Failed 1 of 1 tests$/m, log);
      assert.match(r.out + r.err, /fstests: check reported failures but exited 0; failing the run/, log);
    } finally {
      p.cleanup();
    }
  });
});
