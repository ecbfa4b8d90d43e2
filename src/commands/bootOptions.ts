import type { Argv } from 'yargs';
import { RapidoError } from '../errors.js';
import { EXIT } from '../exitCodes.js';
import { NET_MODES, parseHostFwd, type HostFwd, type NetMode } from '../runner/netArgs.js';

/** Options of every command that boots a VM (cut without -B, boot). */
export interface BootOptions {
  timeout?: number;
  accel?: 'kvm' | 'tcg' | 'auto';
  vmCpus?: number;
  vmMem?: string;
  kernel?: string;
  quiet?: boolean;
  /** Firmware and kernel messages on the console of an unattended run too (they are in its log file either way). */
  verbose?: boolean;
  exit?: boolean;
  /** --kernel-param ARG, in order: appended to the kernel command line for this boot only. */
  kernelParams?: string[];
  /** --gdb[=PORT]: QEMU's gdb stub on this TCP port, the kernel booted with nokaslr. */
  gdbPort?: number;
  /** --net: tap, user or none, over rapido.conf's VM_NET_MODE. */
  net?: NetMode;
  /** --hostfwd HOSTPORT:GUESTPORT, in order (user-mode networking). */
  hostfwd?: HostFwd[];
  /** --vms N: boot VM 1..N side by side (a server/client recipe); the last one's status is the result. */
  vms?: number;
}

/** QEMU's and Rapido's usual gdb port. */
export const DEFAULT_GDB_PORT = 1234;

export function withBootOptions<T>(y: Argv<T>) {
  return y
    .option('timeout', { type: 'string', describe: 'kill the VM after SECS seconds (exit status 124)', group: 'Boot:' })
    .option('accel', { choices: ['kvm', 'tcg', 'auto'] as const, default: 'auto' as const, describe: 'QEMU accelerator; auto uses KVM where it works, else TCG (remembered per host)', group: 'Boot:' })
    .option('vm-cpus', { type: 'number', describe: 'vCPUs (default: the recipe\'s vm-cpus, else 2)', group: 'Boot:' })
    .option('vm-mem', { type: 'string', describe: 'guest memory, e.g. 1G (default: the recipe\'s vm-mem, else 512M)', group: 'Boot:' })
    .option('kernel', { type: 'string', describe: 'boot this kernel image once instead of the configured one', group: 'Boot:' })
    .option('quiet', { type: 'boolean', describe: 'the kernel logs only errors (kernel parameter quiet)', group: 'Boot:' })
    .option('verbose', { type: 'boolean', describe: 'unattended runs show the firmware and kernel messages too (always in <image>.console.log)', group: 'Boot:' })
    .option('exit', { type: 'boolean', describe: 'power off after the last step even on a TTY (the exit status is the guest\'s)', group: 'Boot:' })
    // Repeatable by giving it again; not `array`, which would swallow the recipe name after it.
    .option('kernel-param', { type: 'string', requiresArg: true, describe: 'add ARG to the kernel command line for this boot (repeatable)', group: 'Boot:' })
    .option('net', { choices: NET_MODES, describe: 'the VM\'s network when the recipe has one: tap (net-conf\'s taps), user (no root needed) or none; default VM_NET_MODE, else tap if its taps exist, else user', group: 'Boot:' })
    .option('hostfwd', { type: 'string', requiresArg: true, describe: 'forward 127.0.0.1:HOSTPORT to the guest\'s GUESTPORT (HOSTPORT:GUESTPORT, repeatable; user-mode networking)', group: 'Boot:' })
    .option('vms', { type: 'string', describe: 'boot VM 1..N of the image side by side, consoles prefixed [vmN]; VM N is the client: its status is the result, the others are stopped after it', group: 'Boot:' })
    .option('gdb', { type: 'string', describe: `QEMU gdb stub on tcp::PORT (--gdb=PORT; default ${DEFAULT_GDB_PORT}), kernel booted with nokaslr`, group: 'Boot:' })
    // At parse time, before anything is cut or booted. A check, not a coerce:
    // yargs re-wraps a coerce's error and would lose its exit status and hint.
    .check((argv) => {
      parseTimeout(argv.timeout);
      parseGdbPort(argv.gdb);
      hostFwds(argv.hostfwd);
      parseVms(argv.vms, argv.gdb, argv.hostfwd);
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
    verbose: a.verbose as boolean | undefined,
    exit: a.exit as boolean | undefined,
    kernelParams: a.kernelParam === undefined ? undefined : ([] as unknown[]).concat(a.kernelParam).map(String),
    gdbPort: parseGdbPort(a.gdb),
    net: a.net as NetMode | undefined,
    hostfwd: hostFwds(a.hostfwd),
    vms: parseVms(a.vms, a.gdb, a.hostfwd),
  };
}

/** --vms N: 1 to 9 VMs; one gdb port or host port cannot serve several. */
function parseVms(raw: unknown, gdb?: unknown, hostfwd?: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const last = String(Array.isArray(raw) ? raw[raw.length - 1] : raw).trim();
  const n = /^\d+$/.test(last) ? Number(last) : NaN;
  if (!(n >= 1 && n <= 9)) {
    throw new RapidoError('USAGE', `invalid --vms ${JSON.stringify(last)}: want a number of VMs, 1-9`, {
      hint: 'e.g. --vms 2 for a server (VM 1) and a client (VM 2)',
      exitCode: EXIT.USAGE,
    });
  }
  if (n > 1 && (gdb !== undefined || hostfwd !== undefined)) {
    throw new RapidoError('USAGE', `--vms ${n} cannot be combined with ${gdb !== undefined ? '--gdb' : '--hostfwd'}: every VM would take the same host port`, {
      hint: 'boot the VMs one by one (rapido boot) and give the option to one of them',
      exitCode: EXIT.USAGE,
    });
  }
  return n;
}

function hostFwds(raw: unknown): HostFwd[] | undefined {
  return raw === undefined ? undefined : ([] as unknown[]).concat(raw).map((r) => parseHostFwd(String(r)));
}

/**
 * A bare `--gdb` becomes `--gdb=` before yargs sees it: its port is only
 * ever given as `--gdb=PORT`, so `rapido cut --gdb NAME` keeps NAME.
 */
export function bareGdbFlag(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (a === '--gdb' && (end < 0 || i < end) ? '--gdb=' : a));
}

/** --gdb's value: '' (bare flag) is the default port; else a TCP port number. */
export function parseGdbPort(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const last = String(Array.isArray(raw) ? raw[raw.length - 1] : raw).trim();
  if (last === '') return DEFAULT_GDB_PORT;
  const port = /^\d+$/.test(last) ? Number(last) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new RapidoError('USAGE', `invalid --gdb ${JSON.stringify(last)}: want a TCP port, 1-65535`, {
      hint: `--gdb alone listens on ${DEFAULT_GDB_PORT}; --gdb=PORT on another`,
      exitCode: 2,
    });
  }
  return port;
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
