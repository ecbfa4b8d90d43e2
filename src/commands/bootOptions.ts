import type { Argv } from 'yargs';
import { RapidoError } from '../errors.js';
import { EXIT } from '../exitCodes.js';

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
    .option('timeout', { type: 'string', describe: 'kill the VM after SECS seconds (exit status 124)', group: 'Boot:' })
    .option('accel', { choices: ['kvm', 'tcg', 'auto'] as const, default: 'auto' as const, describe: 'QEMU accelerator; auto uses KVM where it works, else TCG (remembered per host)', group: 'Boot:' })
    .option('vm-cpus', { type: 'number', describe: 'vCPUs (default: the recipe\'s vm-cpus, else 2)', group: 'Boot:' })
    .option('vm-mem', { type: 'string', describe: 'guest memory, e.g. 1G (default: the recipe\'s vm-mem, else 512M)', group: 'Boot:' })
    .option('kernel', { type: 'string', describe: 'boot this kernel image once instead of the configured one', group: 'Boot:' })
    .option('quiet', { type: 'boolean', describe: 'no kernel log on the console', group: 'Boot:' })
    .option('exit', { type: 'boolean', describe: 'power off after the last step even on a TTY (the exit status is the guest\'s)', group: 'Boot:' })
    // At parse time, before anything is cut or booted. A check, not a coerce:
    // yargs re-wraps a coerce's error and would lose its exit status and hint.
    .check((argv) => {
      parseTimeout(argv.timeout);
      return true;
    });
}

export function bootOptionsFrom(a: Record<string, unknown>): BootOptions {
  return {
    timeout: parseTimeout(a.timeout),
    accel: a.accel as BootOptions['accel'],
    vmCpus: a.vmCpus as number | undefined,
    vmMem: a.vmMem as string | undefined,
    kernel: a.kernel as string | undefined,
    quiet: a.quiet as boolean | undefined,
    exit: a.exit as boolean | undefined,
  };
}

/** Node's timers hold at most 2^31-1 ms; a longer one would fire at once. */
export const MAX_TIMEOUT_SEC = Math.floor((2 ** 31 - 1) / 1000);

/**
 * --timeout SECS: a positive number of seconds. Anything else is a usage
 * error: a typo that silently meant "no limit" could hang `git bisect run`.
 */
export function parseTimeout(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  // Given twice, yargs passes both; the last one wins, as for other options.
  const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  const text = String(last).trim();
  const secs = text === '' ? NaN : Number(text);
  if (!(secs > 0 && secs <= MAX_TIMEOUT_SEC)) {
    throw new RapidoError('USAGE', `invalid --timeout ${JSON.stringify(String(last))}: want a number of seconds, > 0 and <= ${MAX_TIMEOUT_SEC}`, {
      hint: 'e.g. --timeout 300; leave the option out for no limit',
      exitCode: EXIT.USAGE,
    });
  }
  return secs;
}
