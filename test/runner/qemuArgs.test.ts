import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQemuArgs, kernelCmdline, qemuOptEscape, type QemuArgsOptions } from '../../src/runner/qemuArgs.js';
import { shellSplit } from '../../src/config/shellSplit.js';

const base: QemuArgsOptions = {
  kernel: '/boot/vmlinuz',
  initrd: '/imgs/my image.cpio',
  cpus: 2,
  mem: '1G',
  vmNum: 3,
  hostname: 'rapido3',
  interactive: false,
  quiet: false,
  accel: 'tcg',
  statusFile: '/run/pids/rapido_vm3.status',
  pidFile: '/run/pids/rapido_vm3.pid',
};

/** The value following `flag` (first occurrence). */
function opt(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}
function all(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
}

describe('kernelCmdline', () => {
  it('non-interactive: exits and never hangs on panic', () => {
    assert.equal(
      kernelCmdline(base),
      'rdinit=/rapido-init console=ttyS0 rapido.vm_num=3 rapido.hostname=rapido3 rapido.exit=1 panic=-1',
    );
  });
  it('interactive and quiet, with extra parameters last', () => {
    assert.equal(
      kernelCmdline({ ...base, interactive: true, quiet: true, extraKernelParams: '  nokaslr debug ' }),
      'rdinit=/rapido-init console=ttyS0 rapido.vm_num=3 rapido.hostname=rapido3 quiet loglevel=1 nokaslr debug',
    );
  });
});

describe('buildQemuArgs', () => {
  it('builds a non-interactive TCG command line', () => {
    const a = buildQemuArgs(base);
    assert.equal(opt(a, '-kernel'), '/boot/vmlinuz');
    assert.equal(opt(a, '-initrd'), '/imgs/my image.cpio'); // one argv element, no quoting needed
    assert.equal(opt(a, '-append'), kernelCmdline(base));
    assert.equal(opt(a, '-smp'), '2');
    assert.equal(opt(a, '-m'), '1G');
    assert.ok(a.includes('-nographic'));
    // console first (ttyS0), then the status channel (ttyS1)
    assert.deepEqual(all(a, '-serial'), ['mon:stdio', 'chardev:rstatus']);
    assert.equal(opt(a, '-chardev'), 'file,id=rstatus,path=/run/pids/rapido_vm3.status');
    assert.equal(opt(a, '-net'), 'none');
    assert.equal(opt(a, '-pidfile'), '/run/pids/rapido_vm3.pid');
    assert.ok(a.includes('-no-reboot'));
    assert.equal(opt(a, '-accel'), 'tcg');
    assert.equal(opt(a, '-cpu'), undefined);
  });
  it('interactive KVM: host CPU, reboot allowed', () => {
    const a = buildQemuArgs({ ...base, interactive: true, accel: 'kvm' });
    assert.equal(opt(a, '-accel'), 'kvm');
    assert.equal(opt(a, '-cpu'), 'host');
    assert.ok(!a.includes('-no-reboot'));
    assert.ok(!opt(a, '-append')!.includes('rapido.exit'));
  });
  it('appends QEMU_EXTRA_ARGS last, shell-split', () => {
    const a = buildQemuArgs({ ...base, extraQemuArgs: `-cpu max -device 'virtio-rng-pci,id=r 1' -name "vm \\"x\\""` });
    assert.deepEqual(a.slice(-6), ['-cpu', 'max', '-device', 'virtio-rng-pci,id=r 1', '-name', 'vm "x"']);
  });
  it('escapes commas in the status file path', () => {
    const a = buildQemuArgs({ ...base, statusFile: '/tmp/a,b/s' });
    assert.equal(opt(a, '-chardev'), 'file,id=rstatus,path=/tmp/a,,b/s');
    assert.equal(qemuOptEscape('x,,y'), 'x,,,,y');
  });
  it('rejects bad cpus and mem', () => {
    assert.throws(() => buildQemuArgs({ ...base, cpus: 0 }), { code: 'BAD_CPUS' });
    assert.throws(() => buildQemuArgs({ ...base, cpus: 1.5 }), { code: 'BAD_CPUS' });
    assert.throws(() => buildQemuArgs({ ...base, mem: '1 G' }), { code: 'BAD_MEM' });
    assert.doesNotThrow(() => buildQemuArgs({ ...base, mem: '512' }));
  });
});

describe('shellSplit', () => {
  it('splits like sh without expansions', () => {
    assert.deepEqual(shellSplit(''), []);
    assert.deepEqual(shellSplit('  a  b\tc\n'), ['a', 'b', 'c']);
    assert.deepEqual(shellSplit(`a'b c'd "e f" g\\ h`), ['ab cd', 'e f', 'g h']);
    assert.deepEqual(shellSplit(`"$HOME" '$x' "a\\b" "\\$"`), ['$HOME', '$x', 'a\\b', '$']);
    assert.deepEqual(shellSplit(`'' ""`), ['', '']);
    assert.deepEqual(shellSplit('a\\\nb'), ['ab']);
  });
  it('rejects unterminated quotes', () => {
    assert.throws(() => shellSplit(`-name 'x`, 'QEMU_EXTRA_ARGS'), { code: 'SHELL_SYNTAX', message: /QEMU_EXTRA_ARGS/ });
    assert.throws(() => shellSplit(`"x`), { code: 'SHELL_SYNTAX' });
  });
});
