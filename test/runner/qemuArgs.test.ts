import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQemuArgs, kernelCmdline, qemuOptEscape, userConsole, type QemuArgsOptions } from '../../src/runner/qemuArgs.js';
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
      'rdinit=/rapido-init console=ttyS0 rapido.vm_num=3 rapido.hostname=rapido3 rapido.exit=1 panic=-1 console_msg_format=syslog printk.time=1 ' +
        'sysctl.kernel.hung_task_timeout_secs=1200 rcupdate.rcu_cpu_stall_timeout=300 watchdog_thresh=60',
    );
  });
  it('KVM keeps the kernel\'s watchdog timeouts; under TCG the user\'s own come after the scaled ones', () => {
    assert.doesNotMatch(kernelCmdline({ ...base, accel: 'kvm' }), /hung_task|rcu_cpu_stall|watchdog_thresh/);
    const tcg = kernelCmdline({ ...base, extraKernelParams: 'rcupdate.rcu_cpu_stall_timeout=21' }).split(' ');
    assert.ok(tcg.indexOf('rcupdate.rcu_cpu_stall_timeout=300') < tcg.indexOf('rcupdate.rcu_cpu_stall_timeout=21'));
  });
  it('interactive and quiet, with extra parameters last', () => {
    assert.equal(
      kernelCmdline({ ...base, interactive: true, quiet: true, extraKernelParams: '  nokaslr debug ' }),
      'rdinit=/rapido-init console=ttyS0 rapido.vm_num=3 rapido.hostname=rapido3 quiet loglevel=1 ' +
        'sysctl.kernel.hung_task_timeout_secs=1200 rcupdate.rcu_cpu_stall_timeout=300 watchdog_thresh=60 nokaslr debug',
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
    // the console (ttyS0) is the only -serial; the status channel is COM4 on a chardev of its own
    assert.deepEqual(all(a, '-serial'), ['mon:stdio']);
    assert.equal(opt(a, '-chardev'), 'file,id=rapido-status,path=/run/pids/rapido_vm3.status');
    assert.deepEqual(all(a, '-device'), ['isa-serial,chardev=rapido-status,index=3,iobase=0x2e8,irq=3']);
    assert.equal(opt(a, '-display'), undefined);
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
    assert.equal(opt(a, '-chardev'), 'file,id=rapido-status,path=/tmp/a,,b/s');
    assert.equal(qemuOptEscape('x,,y'), 'x,,,,y');
  });
  it("Rapido's own test configuration: the user's console on stdio, ours left out, status channel kept", () => {
    const extra = '-monitor none -serial stdio -nographic -device virtio-rng-pci';
    const a = buildQemuArgs({ ...base, extraQemuArgs: extra });
    assert.deepEqual(all(a, '-serial'), ['stdio']);
    assert.equal(a.filter((x) => x === '-nographic').length, 1);
    assert.equal(opt(a, '-display'), undefined, 'the user chose -nographic');
    assert.deepEqual(all(a, '-device'), ['isa-serial,chardev=rapido-status,index=3,iobase=0x2e8,irq=3', 'virtio-rng-pci']);
    assert.deepEqual(a.slice(-extra.split(' ').length), extra.split(' '));
  });
  it('a user console on stdio without -nographic: no window, no second stdio user', () => {
    const a = buildQemuArgs({ ...base, extraQemuArgs: '-serial stdio -monitor none' });
    assert.ok(!a.includes('-nographic'));
    assert.equal(opt(a, '-display'), 'none');
    assert.deepEqual(all(a, '-serial'), ['stdio']);
  });
  it('a user -nographic alone keeps our console', () => {
    const a = buildQemuArgs({ ...base, extraQemuArgs: '-nographic -device virtio-rng-pci' });
    assert.deepEqual(all(a, '-serial'), ['mon:stdio']);
  });
  it('recognises every way of putting something on stdio', () => {
    for (const extra of [['-serial', 'mon:stdio'], ['--serial', 'stdio'], ['-monitor', 'stdio'], ['-chardev', 'stdio,id=c,mux=on'], ['-qmp', 'stdio'], ['-serial', 'stdio,logfile=/tmp/x']]) {
      assert.equal(userConsole(extra).stdio, true, extra.join(' '));
    }
    for (const extra of [['-serial', 'file:/tmp/stdio'], ['-chardev', 'file,id=stdio,path=/x'], ['-append', 'stdio']]) {
      assert.equal(userConsole(extra).stdio, false, extra.join(' '));
    }
  });
  it('rejects a fourth user serial port (COM4 is the status channel); -serial none creates none', () => {
    const three = '-serial null -serial null -serial stdio -monitor none';
    assert.doesNotThrow(() => buildQemuArgs({ ...base, extraQemuArgs: three }));
    assert.doesNotThrow(() => buildQemuArgs({ ...base, extraQemuArgs: `-serial none ${three}` }));
    assert.throws(() => buildQemuArgs({ ...base, extraQemuArgs: `-serial null ${three}` }), { code: 'QEMU_ARGS', message: /4 serial ports.*COM4/ });
    // Without a console of their own, ours takes COM1: two more fit, a third would be COM4.
    assert.deepEqual(all(buildQemuArgs({ ...base, extraQemuArgs: '-serial null -serial file:/tmp/x' }), '-serial'), ['mon:stdio', 'null', 'file:/tmp/x']);
    assert.throws(() => buildQemuArgs({ ...base, extraQemuArgs: '-serial null -serial null -serial null' }), {
      code: 'QEMU_ARGS', message: /3 serial ports to rapido's console.*COM4/,
    });
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

describe('one-off boot options: --kernel-param and --gdb', () => {
  it('--kernel-param ARGs come after QEMU_EXTRA_KERNEL_PARAMS, in order; --gdb adds nokaslr before both', () => {
    assert.equal(
      kernelCmdline({ ...base, extraKernelParams: 'debug', kernelParams: ['dyndbg="file zram_drv.c +p"', 'kaslr'], gdbPort: 1234 }),
      'rdinit=/rapido-init console=ttyS0 rapido.vm_num=3 rapido.hostname=rapido3 rapido.exit=1 panic=-1 console_msg_format=syslog printk.time=1 nokaslr ' +
        'sysctl.kernel.hung_task_timeout_secs=1200 rcupdate.rcu_cpu_stall_timeout=300 watchdog_thresh=60 debug dyndbg="file zram_drv.c +p" kaslr',
    );
  });
  it('--gdb=PORT: the stub on that TCP port, before QEMU_EXTRA_ARGS; none without it', () => {
    const args = buildQemuArgs({ ...base, gdbPort: 4321, extraQemuArgs: '-s' });
    assert.deepEqual(all(args, '-gdb'), ['tcp::4321']);
    assert.ok(args.indexOf('-gdb') < args.indexOf('-s'));
    assert.deepEqual(all(buildQemuArgs(base), '-gdb'), []);
    assert.doesNotMatch(kernelCmdline(base), /nokaslr/);
  });
});

describe('vm-drive disks', () => {
  it('each is a virtio -drive in recipe order, its file escaped for QEMU\'s option syntax', () => {
    const args = buildQemuArgs({ ...base, drives: [
      { file: 'rbd:rbd/rapido:conf=/c/ceph.conf:id=admin', format: 'raw' },
      { file: '/imgs/a,b.qcow2', format: 'qcow2' },
    ] });
    assert.deepEqual(all(args, '-drive'), [
      'file=rbd:rbd/rapido:conf=/c/ceph.conf:id=admin,format=raw,if=virtio,cache=writeback',
      'file=/imgs/a,,b.qcow2,format=qcow2,if=virtio,cache=writeback',
    ]);
    assert.deepEqual(all(buildQemuArgs(base), '-drive'), []);
  });
});
