import type { Argv } from 'yargs';

/** Options of every command that boots a VM (cut without -B, boot). */
export interface BootOptions {
  timeout?: number;
  accel?: 'kvm' | 'tcg' | 'auto';
  vmCpus?: number;
  vmMem?: string;
  kernel?: string;
  quiet?: boolean;
  exit?: boolean;
}

export function withBootOptions<T>(y: Argv<T>) {
  return y
    .option('timeout', { type: 'number', describe: 'kill the VM after SECS seconds (exit status 124)', group: 'Boot:' })
    .option('accel', { choices: ['kvm', 'tcg', 'auto'] as const, default: 'auto' as const, describe: 'QEMU accelerator; auto uses KVM where it works, else TCG (remembered per host)', group: 'Boot:' })
    .option('vm-cpus', { type: 'number', describe: 'vCPUs (default: the recipe\'s vm-cpus, else 2)', group: 'Boot:' })
    .option('vm-mem', { type: 'string', describe: 'guest memory, e.g. 1G (default: the recipe\'s vm-mem, else 512M)', group: 'Boot:' })
    .option('kernel', { type: 'string', describe: 'boot this kernel image once instead of the configured one', group: 'Boot:' })
    .option('quiet', { type: 'boolean', describe: 'no kernel log on the console', group: 'Boot:' })
    .option('exit', { type: 'boolean', describe: 'power off after the last step even on a TTY (the exit status is the guest\'s)', group: 'Boot:' });
}

export function bootOptionsFrom(a: Record<string, unknown>): BootOptions {
  return {
    timeout: a.timeout as number | undefined,
    accel: a.accel as BootOptions['accel'],
    vmCpus: a.vmCpus as number | undefined,
    vmMem: a.vmMem as string | undefined,
    kernel: a.kernel as string | undefined,
    quiet: a.quiet as boolean | undefined,
    exit: a.exit as boolean | undefined,
  };
}
