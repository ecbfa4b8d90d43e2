// Fault: SIGKILL of `rapido` while a VM ran left QEMU running as an orphan
// (no handler of ours runs on SIGKILL). Now the kernel kills QEMU with its
// parent (PR_SET_PDEATHSIG via setpriv), and the VM's slot is free again.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live (non-zombie) processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).filter((p) => {
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8'))) return false;
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  }).map(Number);
}

describe('SIGKILL of rapido while a VM runs', skipUnless(haveQemu(), QEMU_NEEDS), () => {
  it('QEMU dies with it; the next boot gets the same VM number', async () => {
    requireHost(haveQemu(), QEMU_NEEDS);
    const p = makeProject();
    let child: ReturnType<Project['spawn']> | undefined;
    try {
      child = p.spawn(['cut', '--accel', 'tcg', '--timeout', '600', '-x', 'echo PDEATH-HANGING on $(cat /proc/sys/kernel/hostname); sleep 1000', 'simple-example']);
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
      child.stderr!.setEncoding('utf8').on('data', (d) => (err += d));
      for (let i = 0; i < 2400 && !out.includes('PDEATH-HANGING on rapido1') && child.exitCode === null; i++) await sleep(100);
      assert.ok(out.includes('PDEATH-HANGING on rapido1'), err + out.slice(-2000));
      const qemu = processesMentioning(p.out);
      assert.equal(qemu.length, 1, 'QEMU runs');
      assert.match(readFileSync(`/proc/${qemu[0]}/cmdline`, 'utf8').split('\0')[0], /qemu-system/);

      child.kill('SIGKILL');
      await once(child, 'exit');
      const t0 = Date.now();
      while (processesMentioning(p.out).length && Date.now() - t0 < 5000) await sleep(50);
      assert.deepEqual(processesMentioning(p.out), [], 'QEMU outlived rapido by 5 s');

      // The dead VM's pidfile is stale: the next boot reclaims VM number 1.
      const r = p.run(['cut', '--accel', 'tcg', '--timeout', '240', '-x', 'echo "next boot on $(cat /proc/sys/kernel/hostname)"; exit 5', 'simple-example']);
      assert.equal(r.status, 5, r.stderr + r.stdout.slice(-2000));
      assert.match(r.stdout, /^next boot on rapido1\r?$/m);
      assert.deepEqual(readdirSync(dirname(p.out)).filter((f) => /^rapido_vm\d+\.pid$/.test(f)), []);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      p.cleanup();
    }
  });
});
