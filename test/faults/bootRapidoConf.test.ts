// Fault: a rapido.conf written for Rapido (the one Rapido's own test suite
// generates) put the console on stdio with `-serial stdio`, which collided
// with ours: every boot failed with "cannot use stdio by multiple character
// devices". Now the user's console is used as is, and the guest's status
// still travels on its own serial port.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';

const RAPIDO_TEST_CONF = 'QEMU_EXTRA_ARGS="-monitor none -serial stdio -nographic -device virtio-rng-pci"\n' +
  'QEMU_EXTRA_KERNEL_PARAMS="loglevel=0"\n';

const run = (p: Project, args: string[]) =>
  p.runAsync(args).then((r) => ({ status: r.status, out: r.stdout, err: r.stderr }));

describe("Rapido's QEMU_EXTRA_ARGS (-serial stdio -monitor none -nographic)", skipUnless(haveQemu(), QEMU_NEEDS), () => {
  it('rapido cut -x "exit 3" simple-example boots, shows the console, exits 3', async (t) => {
    requireHost(haveQemu(), QEMU_NEEDS);
    const p = makeProject(RAPIDO_TEST_CONF);
    try {
      const t0 = Date.now();
      // The fake status line on the console must not count: the status port is separate.
      const r = await run(p, ['cut', '--accel', 'tcg', '--timeout', '240', '-x', 'echo rapido-status 0; exit 3', 'simple-example']);
      t.diagnostic(`boot took ${Date.now() - t0} ms`);
      assert.equal(r.status, 3, r.err + r.out.slice(-2000));
      assert.doesNotMatch(r.err, /cannot use stdio|QEMU exited/);
      assert.match(r.out, /rapido: hello from rapido1, kernel \S+/);
      assert.match(r.out, /rapido-init: step \/rapido-post\/001 failed with status 3/);
      assert.match(r.out, /^rapido-status 0\r?$/m);
      // loglevel=0 reached the kernel: no boot messages on the console.
      assert.doesNotMatch(r.out, /Linux version/);
      assert.deepEqual(readdirSync(dirname(p.out)).filter((f) => f.startsWith('rapido_vm')), [], 'pidfile and status file cleaned up');
    } finally {
      p.cleanup();
    }
  });
});
