import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chooseAccel, probeKvm, qemuVersion, resolveQemuBinary, type VerdictStore } from '../../src/runner/accel.js';
import { hostKernel, QEMU_NEEDS, haveQemu, requireHost, skipUnless } from '../helpers/hostPrereqs.js';

// A path only: the stand-in QEMUs never read it; the real-QEMU cases need the real one.
const TEST_KERNEL = hostKernel()?.image ?? '/nonexistent-kernel';

const dir = mkdtempSync(join(tmpdir(), 'rapido-accel-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in QEMU: answers --version, logs each run, then behaves as `body` says. */
function fakeQemu(name: string, body: string): { bin: string; runs: () => number } {
  const bin = join(dir, name);
  const log = `${bin}.runs`;
  writeFileSync(log, '');
  writeFileSync(bin, `#!/bin/bash
echo "$*" >> ${log}
if [ "$1" = --version ]; then echo "QEMU emulator version 99.1.0 (${name})"; echo "Copyright (c) nobody"; exit 0; fi
${body}
`, { mode: 0o755 });
  return { bin, runs: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length };
}

function mapStore(): VerdictStore & { map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return { map, get: (k) => map.get(k), put: (k, v) => void map.set(k, v) };
}

const usableKvm = '/dev/null'; // opens read-write like a working /dev/kvm
const quiet = () => {};

function processesNamed(marker: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  }).map(Number);
}

describe('chooseAccel', () => {
  it('honours an explicit tcg without probing', async () => {
    const q = fakeQemu('q-never', 'exit 99');
    const lines: string[] = [];
    const d = await chooseAccel({ requested: 'tcg', kernel: TEST_KERNEL, verdicts: mapStore(), qemuBinary: q.bin, log: (l) => lines.push(l) });
    assert.deepEqual(d, { accel: 'tcg', why: 'requested' });
    assert.deepEqual(lines, ['using TCG: requested']);
    assert.equal(q.runs(), 0);
  });

  it('explicit kvm needs a usable /dev/kvm', async () => {
    await assert.rejects(
      chooseAccel({ requested: 'kvm', kernel: TEST_KERNEL, verdicts: mapStore(), kvmDevice: join(dir, 'no-kvm'), log: quiet }),
      { code: 'KVM_UNAVAILABLE' },
    );
    const d = await chooseAccel({ requested: 'kvm', kernel: TEST_KERNEL, verdicts: mapStore(), kvmDevice: usableKvm, log: quiet });
    assert.equal(d.accel, 'kvm');
  });

  it('auto without a usable /dev/kvm: tcg, and says why', async () => {
    const lines: string[] = [];
    const d = await chooseAccel({ requested: 'auto', kernel: TEST_KERNEL, verdicts: mapStore(), kvmDevice: join(dir, 'no-kvm'), log: (l) => lines.push(l) });
    assert.equal(d.accel, 'tcg');
    assert.match(lines[0], /^using TCG: .*no-kvm is not usable \(ENOENT\)/);
  });

  it('auto probes once, then remembers per host kernel + QEMU version', async () => {
    const q = fakeQemu('q-works', 'echo "Probing EDD"; echo "[    0.000000] Linux version 6.1.0"; exec sleep 30');
    const store = mapStore();
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    const d1 = await chooseAccel({ requested: 'auto', kernel: TEST_KERNEL, verdicts: store, qemuBinary: q.bin, kvmDevice: usableKvm, log });
    assert.equal(d1.accel, 'kvm');
    assert.equal(q.runs(), 2); // --version + probe
    const keys = [...store.map.keys()];
    assert.ok(keys.some((k) => /^accel \S+ qemu 99\.1\.0 \(q-works\)$/.test(k)), keys.join('|'));
    const d2 = await chooseAccel({ requested: 'auto', kernel: TEST_KERNEL, verdicts: store, qemuBinary: q.bin, kvmDevice: usableKvm, log });
    assert.equal(d2.accel, 'kvm');
    assert.equal(q.runs(), 2, 'neither --version nor the probe ran again');
    assert.match(lines[0], /^using KVM: KVM probe passed/);
    assert.match(lines[1], /^using KVM: remembered/);
  });

  it('auto: a guest that prints only real-mode messages and hangs means tcg; QEMU is killed', async () => {
    const q = fakeQemu('q-hangs', 'echo "Probing EDD (edd=off to disable)... ok"; exec -a rapido-fake-hang-$$ sleep 30');
    const t0 = Date.now();
    const d = await chooseAccel({
      requested: 'auto', kernel: TEST_KERNEL, verdicts: mapStore(), qemuBinary: q.bin, kvmDevice: usableKvm, probeTimeoutMs: 500, log: quiet,
    });
    assert.equal(d.accel, 'tcg');
    assert.match(d.why, /no kernel output within 500 ms after the real-mode setup messages/);
    assert.ok(Date.now() - t0 < 3000);
    assert.deepEqual(processesNamed('rapido-fake-hang-'), []);
  });

  it('auto: QEMU failing under KVM means tcg, with QEMU\'s complaint', async () => {
    const q = fakeQemu('q-fails', 'echo "qemu: error: failed to set MSR 0x10a" >&2; kill -ABRT $$');
    const d = await chooseAccel({ requested: 'auto', kernel: TEST_KERNEL, verdicts: mapStore(), qemuBinary: q.bin, kvmDevice: usableKvm, log: quiet });
    assert.equal(d.accel, 'tcg');
    assert.match(d.why, /died of SIGABRT: qemu: error: failed to set MSR 0x10a/);
  });

  it('reports a missing QEMU', async () => {
    await assert.rejects(
      chooseAccel({ requested: 'auto', kernel: TEST_KERNEL, verdicts: mapStore(), qemuBinary: join(dir, 'nope'), kvmDevice: usableKvm, log: quiet }),
      { code: 'QEMU_NOT_FOUND' },
    );
  });
});

describe('real QEMU', skipUnless(haveQemu(), QEMU_NEEDS), () => {
  before(() => requireHost(haveQemu(), QEMU_NEEDS));
  it('reads the QEMU version', async () => {
    const v = await qemuVersion(resolveQemuBinary());
    assert.match(v, /^\d+\.\d+/);
  });

  let kvmOpenable = true;
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
  } catch {
    kvmOpenable = false;
  }
  // Nested KVM may hang the guest: the probe must come back within its bound either way.
  it(`probes KVM on this host within the bound (/dev/kvm ${kvmOpenable ? 'opens' : 'does not open'})`, async (t) => {
    const t0 = performance.now();
    const r = await probeKvm({ qemuBinary: resolveQemuBinary(), kernel: TEST_KERNEL });
    const ms = performance.now() - t0;
    t.diagnostic(`KVM probe: works=${r.works} in ${Math.round(ms)} ms: ${r.detail}`);
    if (!kvmOpenable) assert.equal(r.works, false, 'KVM cannot work without an openable /dev/kvm');
    assert.ok(ms < 6000);
  });
});
