// Fault: --vms N with a bad N, or with options that need one host port per
// VM, or with VM 1's number already taken: each an error before anything
// runs in the way, never two VMs fighting over a port or a pidfile.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { makeProject } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, skipUnless } from '../helpers/hostPrereqs.js';

describe('rapido boot --vms N', () => {
  for (const bad of ['0', '10', 'two', '']) {
    it(`--vms ${JSON.stringify(bad)}: usage error, exit 2`, () => {
      const p = makeProject();
      try {
        const r = p.run(['boot', '--accel', 'tcg', '--vms', bad]);
        assert.equal(r.status, 2, r.stderr);
        assert.equal(r.stderr, `rapido: error: invalid --vms ${JSON.stringify(bad)}: want a number of VMs, 1-9\n  hint: e.g. --vms 2 for a server (VM 1) and a client (VM 2)\n`);
      } finally {
        p.cleanup();
      }
    });
  }

  it('--vms 2 with --gdb or --hostfwd: usage error naming the option, nothing cut', () => {
    const p = makeProject();
    try {
      for (const [opt, extra] of [['--gdb', ['--gdb']], ['--hostfwd', ['--hostfwd', '2222:22']]] as const) {
        const r = p.run(['cut', '--vms', '2', ...extra, 'simple-example']);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, new RegExp(`^rapido: error: --vms 2 cannot be combined with ${opt}: every VM would take the same host port\\n`));
      }
      assert.ok(!existsSync(p.out));
    } finally {
      p.cleanup();
    }
  });

  it('the server\'s steps fail while the client waits for it: the client is stopped at once, the run\'s status is the server\'s, and the message says why', { ...skipUnless(haveQemu(), QEMU_NEEDS) }, () => {
    const p = makeProject();
    try {
      // VM 1 fails; VM 2 stands for a client waiting on it (far longer than the test allows).
      const cut = p.run(['cut', '-B', '-x', 'if [ "$RAPIDO_VM_NUM" = 1 ]; then exit 3; fi; sleep 600', 'simple-example']);
      assert.equal(cut.status, 0, cut.stderr);
      const t0 = Date.now();
      const r = p.run(['boot', '--accel', 'tcg', '--timeout', '280', '--vms', '2']);
      const secs = (Date.now() - t0) / 1000;
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /rapido: \[vm1\] the server's steps failed with status 3: stopping VM 2, which would only wait for it\n/);
      assert.match(r.stderr, /rapido: \[vm2\] VM 2 ended \(stopped\)/);
      assert.equal(r.stderr.match(/the server's steps failed/g)?.length, 1, 'said once');
      assert.ok(secs < 150, `the run took ${secs} s, not cut short by the failed server`);
      assert.ok(!existsSync(join(dirname(p.out), 'rapido_vm2.pid')), 'VM 2 released its number');
    } finally {
      p.cleanup();
    }
  });

  it('VM 1 already running: VM_BUSY naming its pidfile, the other VM stopped, exit 1, the running VM\'s pidfile kept', { ...skipUnless(haveQemu(), QEMU_NEEDS) }, () => {
    const p = makeProject();
    try {
      assert.equal(p.run(['cut', '-B', 'simple-example']).status, 0);
      // A live claim on VM 1: this test process, with the marker a starting rapido writes.
      const pidFile = join(dirname(p.out), 'rapido_vm1.pid');
      writeFileSync(pidFile, `${process.pid} rapido-claim\n`);
      const r = p.run(['boot', '--accel', 'tcg', '--timeout', '120', '--vms', '2']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`rapido: error: VM 1 is already running \\(${pidFile.replace(/[.]/g, '\\.')}\\)\\n  hint: --vms N boots VM 1\\.\\.N: stop the VMs that hold those numbers first`));
      assert.ok(existsSync(pidFile), 'the running VM keeps its number');
      assert.ok(!existsSync(join(dirname(p.out), 'rapido_vm2.pid')), 'VM 2 was stopped and released its number');
    } finally {
      p.cleanup();
    }
  });
});
