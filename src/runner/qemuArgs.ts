import { RapidoError } from '../errors.js';
import {
  GUEST_INIT_PATH,
  GUEST_STATUS_IOPORT,
  GUEST_STATUS_IRQ,
  GUEST_STATUS_SERIAL_INDEX,
  KPARAM_EXIT,
  KPARAM_HOSTNAME,
  KPARAM_VM_NUM,
} from './guestContract.js';
import { shellSplit } from '../config/shellSplit.js';

export type Accel = 'kvm' | 'tcg';

export interface QemuArgsOptions {
  kernel: string;
  initrd: string;
  cpus: number;
  /** QEMU -m syntax: `512M`, `2G`, or a plain number of MiB. */
  mem: string;
  vmNum: number;
  hostname: string;
  interactive: boolean;
  quiet: boolean;
  accel: Accel;
  /** Host file the guest's status channel (COM4, see guestContract.ts) is written to. */
  statusFile: string;
  pidFile: string;
  /** QEMU_EXTRA_KERNEL_PARAMS, appended verbatim. */
  extraKernelParams?: string;
  /** QEMU_EXTRA_ARGS, split like a shell would (no expansion); appended last so they win. */
  extraQemuArgs?: string;
  /** --kernel-param: one-off parameters, after QEMU_EXTRA_KERNEL_PARAMS (so they win). */
  kernelParams?: string[];
  /** --gdb: QEMU's gdb stub on this TCP port; the kernel gets nokaslr so vmlinux's addresses hold. */
  gdbPort?: number;
  /** NICs and the host share (netArgs.ts planNet); without it the VM gets `-net none`. */
  net?: { qemuArgs: string[]; kernelParams: string[] };
  /** The recipe's `vm-drive` disks, attached as virtio disks in order. */
  drives?: { file: string; format: string }[];
}

/** The kernel command line: ours first, the user's extra parameters last (later ones win). */
export function kernelCmdline(
  o: Pick<QemuArgsOptions, 'vmNum' | 'hostname' | 'interactive' | 'quiet' | 'extraKernelParams' | 'kernelParams' | 'gdbPort' | 'net' | 'accel'>,
): string {
  const params = [
    `rdinit=${GUEST_INIT_PATH}`,
    'console=ttyS0',
    `${KPARAM_VM_NUM}=${o.vmNum}`,
    `${KPARAM_HOSTNAME}=${o.hostname}`,
  ];
  // panic=-1 + -no-reboot: a panicking guest ends QEMU at once instead of hanging.
  // Kernel records in syslog form with a time (<6>[    1.234567] ...): the host
  // tells them from a step's output by that (consoleRouter.ts).
  if (!o.interactive) params.push(`${KPARAM_EXIT}=1`, 'panic=-1', 'console_msg_format=syslog', 'printk.time=1');
  if (o.quiet) params.push('quiet', 'loglevel=1');
  if (o.gdbPort !== undefined) params.push('nokaslr');
  // Under TCG the guest runs 10 to 50 times slower against a real-time clock:
  // the kernel's watchdogs (hung task after 120 s, RCU stall after 21 s, soft
  // lockup after 20 s) fire on emulation, not on the code under test, and
  // suites that fail on any dmesg warning (fstests, blktests) then report a
  // bug that is not there: exFAT's zero-filling write loop under generic/076
  // was "stuck" 21 to 48 s with four TCG guests on two host cores. Scaled,
  // not disabled: a real hang still shows. Before the user's own parameters,
  // so theirs win.
  if (o.accel === 'tcg') params.push(...TCG_WATCHDOG_PARAMS);
  params.push(...(o.net?.kernelParams ?? []));
  const extra = o.extraKernelParams?.trim();
  if (extra) params.push(extra);
  for (const p of o.kernelParams ?? []) if (p.trim()) params.push(p.trim());
  return params.join(' ');
}

/**
 * The kernel's watchdog timeouts scaled for TCG (see kernelCmdline): rcupdate's
 * upper bound is 300 s; watchdog_thresh's is 60, a soft lockup after 120 s.
 */
const TCG_WATCHDOG_PARAMS = ['sysctl.kernel.hung_task_timeout_secs=1200', 'rcupdate.rcu_cpu_stall_timeout=300', 'watchdog_thresh=60'];

export function buildQemuArgs(o: QemuArgsOptions): string[] {
  if (!Number.isInteger(o.cpus) || o.cpus < 1) {
    throw new RapidoError('BAD_CPUS', `invalid CPU count ${o.cpus}`, { hint: 'use a whole number >= 1' });
  }
  if (!/^\d+(\.\d+)?[KMGT]?$/i.test(o.mem)) {
    throw new RapidoError('BAD_MEM', `invalid memory size ${JSON.stringify(o.mem)}`, {
      hint: 'use a size QEMU understands, e.g. 512M or 2G',
    });
  }
  const extra = o.extraQemuArgs ? shellSplit(o.extraQemuArgs, 'QEMU_EXTRA_ARGS') : [];
  const user = userConsole(extra);
  // -serial options fill COM1 upwards, ours (the console) first when we add it.
  const ours = user.stdio ? 0 : 1;
  if (ours + user.serialPorts > GUEST_STATUS_SERIAL_INDEX) {
    throw new RapidoError('QEMU_ARGS', `QEMU_EXTRA_ARGS adds ${user.serialPorts} serial ports` +
      (ours ? ' to rapido\'s console' : '') + `, but COM${GUEST_STATUS_SERIAL_INDEX + 1} carries rapido's status channel`, {
      hint: `use at most ${GUEST_STATUS_SERIAL_INDEX - ours} -serial options` + (ours ? ', or put your own console on stdio (-serial mon:stdio)' : ''),
    });
  }
  const args = [
    '-kernel', o.kernel,
    '-initrd', o.initrd,
    '-append', kernelCmdline(o),
    '-smp', String(o.cpus),
    '-m', o.mem,
  ];
  if (!user.stdio) {
    // ttyS0: the console, multiplexed with the monitor so ctrl-a x / ctrl-a c work.
    args.push('-nographic', '-serial', 'mon:stdio');
  } else if (!user.display) {
    // The user's own console is on stdio (Rapido-style `-serial stdio`): a second
    // one would fail, and -nographic would add a monitor there too. No window either.
    args.push('-display', 'none');
  }
  args.push(
    // The status channel: a serial port of its own at a fixed place, straight
    // into a file nothing on the console can reach. An explicit device, so the
    // user's -serial options (which fill COM1 upwards) do not move it.
    '-chardev', `file,id=${STATUS_CHARDEV},path=${qemuOptEscape(o.statusFile)}`,
    '-device', `isa-serial,chardev=${STATUS_CHARDEV},index=${GUEST_STATUS_SERIAL_INDEX},` +
      `iobase=0x${GUEST_STATUS_IOPORT.toString(16)},irq=${GUEST_STATUS_IRQ}`,
    ...(o.net?.qemuArgs ?? ['-net', 'none']),
    '-pidfile', o.pidFile,
  );
  for (const d of o.drives ?? []) args.push('-drive', `file=${qemuOptEscape(d.file)},format=${d.format},if=virtio,cache=writeback`);
  if (!o.interactive) args.push('-no-reboot');
  if (o.accel === 'kvm') args.push('-accel', 'kvm', '-cpu', 'host');
  else args.push('-accel', 'tcg');
  if (o.gdbPort !== undefined) args.push('-gdb', `tcp::${o.gdbPort}`);
  args.push(...extra);
  return args;
}

const STATUS_CHARDEV = 'rapido-status';

/** Options whose value names a character device backend, as in `-serial stdio`. */
const BACKEND_OPTS = new Set(['-serial', '-parallel', '-monitor', '-qmp', '-qmp-pretty', '-debugcon', '-gdb']);

export interface UserConsole {
  /** Something in the user's arguments already uses stdio (QEMU allows one user). */
  stdio: boolean;
  /** ISA serial ports the user's `-serial` options create (COM1 upwards). */
  serialPorts: number;
  /** The user chose the display (`-nographic`, `-display`). */
  display: boolean;
}

/** What QEMU_EXTRA_ARGS says about the console, so ours does not collide with it. */
export function userConsole(extra: string[]): UserConsole {
  const u: UserConsole = { stdio: false, serialPorts: 0, display: false };
  for (let i = 0; i < extra.length; i++) {
    const opt = extra[i].replace(/^--/, '-'); // QEMU takes -opt and --opt alike
    if (opt === '-nographic') u.display = true;
    if (opt === '-display') {
      u.display = true;
      i++;
    } else if (opt === '-chardev') {
      if (/^stdio(,|$)/.test(extra[++i] ?? '')) u.stdio = true;
    } else if (BACKEND_OPTS.has(opt)) {
      const value = extra[++i] ?? '';
      if (/^(mon:)?stdio(,|$)/.test(value)) u.stdio = true;
      if (opt === '-serial' && value !== 'none') u.serialPorts++;
    }
  }
  return u;
}

/** QEMU's option syntax splits on commas; a literal comma is written twice. */
export function qemuOptEscape(value: string): string {
  return value.replaceAll(',', ',,');
}
