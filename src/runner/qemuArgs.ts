import { RapidoError } from '../errors.js';
import { GUEST_INIT_PATH, KPARAM_EXIT, KPARAM_HOSTNAME, KPARAM_VM_NUM } from './guestContract.js';
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
  /** Host file the guest's status channel (second serial port) is written to. */
  statusFile: string;
  pidFile: string;
  /** QEMU_EXTRA_KERNEL_PARAMS, appended verbatim. */
  extraKernelParams?: string;
  /** QEMU_EXTRA_ARGS, split like a shell would (no expansion); appended last so they win. */
  extraQemuArgs?: string;
}

/** The kernel command line: ours first, the user's extra parameters last (later ones win). */
export function kernelCmdline(o: Pick<QemuArgsOptions, 'vmNum' | 'hostname' | 'interactive' | 'quiet' | 'extraKernelParams'>): string {
  const params = [
    `rdinit=${GUEST_INIT_PATH}`,
    'console=ttyS0',
    `${KPARAM_VM_NUM}=${o.vmNum}`,
    `${KPARAM_HOSTNAME}=${o.hostname}`,
  ];
  // panic=-1 + -no-reboot: a panicking guest ends QEMU at once instead of hanging.
  if (!o.interactive) params.push(`${KPARAM_EXIT}=1`, 'panic=-1');
  if (o.quiet) params.push('quiet', 'loglevel=1');
  const extra = o.extraKernelParams?.trim();
  if (extra) params.push(extra);
  return params.join(' ');
}

export function buildQemuArgs(o: QemuArgsOptions): string[] {
  if (!Number.isInteger(o.cpus) || o.cpus < 1) {
    throw new RapidoError('BAD_CPUS', `invalid CPU count ${o.cpus}`, { hint: 'use a whole number >= 1' });
  }
  if (!/^\d+(\.\d+)?[KMGT]?$/i.test(o.mem)) {
    throw new RapidoError('BAD_MEM', `invalid memory size ${JSON.stringify(o.mem)}`, {
      hint: 'use a size QEMU understands, e.g. 512M or 2G',
    });
  }
  const args = [
    '-kernel', o.kernel,
    '-initrd', o.initrd,
    '-append', kernelCmdline(o),
    '-smp', String(o.cpus),
    '-m', o.mem,
    // ttyS0: the console, multiplexed with the monitor so ctrl-a x / ctrl-a c work.
    '-nographic',
    '-serial', 'mon:stdio',
    // ttyS1: the status channel, straight into a file nothing on the console can reach.
    '-chardev', `file,id=rstatus,path=${qemuOptEscape(o.statusFile)}`,
    '-serial', 'chardev:rstatus',
    '-net', 'none',
    '-pidfile', o.pidFile,
  ];
  if (!o.interactive) args.push('-no-reboot');
  if (o.accel === 'kvm') args.push('-accel', 'kvm', '-cpu', 'host');
  else args.push('-accel', 'tcg');
  if (o.extraQemuArgs) args.push(...shellSplit(o.extraQemuArgs, 'QEMU_EXTRA_ARGS'));
  return args;
}

/** QEMU's option syntax splits on commas; a literal comma is written twice. */
export function qemuOptEscape(value: string): string {
  return value.replaceAll(',', ',,');
}
