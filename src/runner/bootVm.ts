import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { missingKernelError } from '../config/kernelTree.js';
import { RapidoError, type ErrorCode } from '../errors.js';
import { chooseAccel, resolveQemuBinary, type AccelRequest, type VerdictStore } from './accel.js';
import { ConsoleRouter } from './consoleRouter.js';
import { GUEST_STATUS_PREFIX } from './guestContract.js';
import { MissingReport } from './missingReport.js';
import { vmHostname } from './hostname.js';
import { dieWithParent } from './parentDeath.js';
import { planNet, type NetRequest } from './netArgs.js';
import { buildQemuArgs } from './qemuArgs.js';
import { claimVmSlot, type VmSlot } from './vmSlots.js';
import { EXIT, exitForSignal } from '../exitCodes.js';

export interface BootVmOptions {
  image: string;
  kernel: string;
  cpus: number;
  mem: string;
  /** Kill the VM after this many seconds (status 124). 0/undefined: no limit. */
  timeoutSec?: number;
  accel: AccelRequest;
  interactive: boolean;
  quiet: boolean;
  /** Unattended: firmware and kernel messages on consoleOut too (the log file has them either way). */
  verbose?: boolean;
  /**
   * Unattended: where the whole console is kept, escape sequences removed;
   * default `<image>.console.log` (`<image>.vm<N>.console.log` for VM N > 1),
   * null for no file.
   */
  consoleLog?: string | null;
  /** QEMU_PID_DIR: VM pidfiles (and the status channel files) live here. */
  pidDir: string;
  /** VM_NET_CONF: per-VM settings (`vm<N>/hostname`, `vm<N>/<tap>.network`). */
  netConfDir: string;
  /** NICs and the host share; without it, `-net none` and no share. */
  net?: Omit<NetRequest, 'netConfDir'>;
  extraKernelParams?: string;
  extraQemuArgs?: string;
  kernelParams?: string[];
  gdbPort?: number;
  /** The recipe's `vm-drive` disks. */
  drives?: { file: string; format: string }[];
  /** The vmlinux matching `kernel` (symbols for gdb), when known. */
  vmlinux?: string;
  verdicts: VerdictStore;
  qemuBinary?: string;
  /** Each console line (non-interactive only; firmware, kernel and the steps' output), without line ending or escape sequences. */
  onConsoleLine?: (line: string) => void;
  /**
   * The guest's status as soon as it reports it on the status port, while
   * the VM may still be powering off (a wedged kernel can take minutes):
   * `--vms` stops the client at once when a server's steps failed.
   */
  onStatus?: (status: number) => void;
  /** Where the console is copied live when not interactive; default process.stdout, null for nowhere. */
  consoleOut?: NodeJS.WritableStream | null;
  /**
   * Where QEMU's own stderr goes; default process.stderr, null for nowhere.
   * Held back until the guest shows signs of life (console output, or 2 s),
   * so a QEMU that fails to start is reported once, in the RapidoError.
   */
  qemuStderr?: NodeJS.WritableStream | null;
  /** rapido's own messages (accel choice, timeout, missing status); default: stderr with a `rapido: ` prefix. */
  log?: (line: string) => void;
  /** Seconds between SIGTERM and SIGKILL when we stop QEMU. */
  killGraceSec?: number;
  /** Claim exactly this VM number (error if it runs) instead of the lowest free one. */
  vmNum?: number;
  /** Aborted: stop this VM (a pair's server once its client is done); the result's reason is 'stopped'. */
  stop?: AbortSignal;
}

type BootReason = 'guest' | 'timeout' | 'no-status' | 'qemu-failed' | 'stopped';

export interface BootResult {
  /** The guest's status, or 124 (timeout) / 125 (no status reported). */
  status: number;
  reason: BootReason;
  vmNum: number;
  /** For reasons other than 'guest': what happened (already passed to `log`). */
  message?: string;
  /** Commands and shared libraries the steps needed and the image lacks, by name, with counts. */
  missing: { commands: Map<string, number>; libraries: Map<string, number> };
  /** The console log file, when one was written. */
  consoleLog?: string;
}

/** How many kernel lines an unattended run that failed shows after the failure. */
const KERNEL_TAIL_LINES = 50;

/** The console log of VM `vmNum` booting `image`. */
export function consoleLogPath(image: string, vmNum: number): string {
  return vmNum === 1 ? `${image}.console.log` : `${image}.vm${vmNum}.console.log`;
}

const STATUS_TIMEOUT = EXIT.TIMEOUT;
const STATUS_NO_RESULT = EXIT.NO_RESULT;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function bootVm(opts: BootVmOptions): Promise<BootResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`rapido: ${line}\n`));
  const t = opts.timeoutSec;
  // NaN or a negative value must not quietly mean "no limit"; past 2^31-1 ms Node's timer fires at once.
  if (t !== undefined && !(t >= 0 && t * 1000 <= 2 ** 31 - 1)) {
    throw new RapidoError('BAD_TIMEOUT', `invalid timeout ${t} s`, { hint: 'a number of seconds > 0, or none for no limit', exitCode: EXIT.USAGE });
  }
  if (!isFile(opts.kernel)) throw missingKernelError(opts.kernel);
  requireFile(opts.image, 'IMAGE_NOT_FOUND', 'initramfs image', 'cut one first (rapido cut ...)');
  const qemu = resolveQemuBinary(opts.qemuBinary);

  // From here on our process' stop signals end the VM instead of us, so
  // nothing outlives us; bootVm then rejects with INTERRUPTED.
  let interrupted: NodeJS.Signals | undefined;
  let child: ChildProcess | undefined;
  let stopQemu: ((sig: NodeJS.Signals) => void) | undefined;
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    abort.abort(interruptedError(sig));
    stopQemu?.(sig === 'SIGINT' ? 'SIGTERM' : sig);
  };
  let slot: VmSlot | undefined;
  let statusFile: string | undefined;
  let consoleFile: ConsoleLogFile | undefined;
  // Last resort if someone calls process.exit() while the VM runs.
  const onExit = () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    slot?.release();
    if (statusFile) unlinkQuiet(statusFile);
    consoleFile?.abandon();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  process.on('exit', onExit);
  let stopped = false;
  const onStop = () => {
    stopped = true;
    stopQemu?.('SIGTERM');
  };
  opts.stop?.addEventListener('abort', onStop, { once: true });

  try {
    slot = claimVmSlot(opts.pidDir, opts.vmNum);
    const vmNum = slot.vmNum;
    const hostname = vmHostname(opts.netConfDir, vmNum);
    const net = opts.net ? planNet({ ...opts.net, netConfDir: opts.netConfDir }, vmNum) : undefined;
    for (const note of net?.notes ?? []) log(note);
    const { accel } = await chooseAccel({
      requested: opts.accel,
      kernel: opts.kernel,
      verdicts: opts.verdicts,
      qemuBinary: qemu,
      log,
      signal: abort.signal,
    });
    if (interrupted) throw interruptedError(interrupted);

    statusFile = join(opts.pidDir, `rapido_vm${vmNum}.status`);
    unlinkQuiet(statusFile); // a previous VM N's result must not be read as ours
    const args = buildQemuArgs({
      kernel: opts.kernel,
      initrd: opts.image,
      cpus: opts.cpus,
      mem: opts.mem,
      vmNum,
      hostname,
      interactive: opts.interactive,
      quiet: opts.quiet,
      accel,
      statusFile,
      pidFile: slot.pidFile,
      extraKernelParams: opts.extraKernelParams,
      extraQemuArgs: opts.extraQemuArgs,
      kernelParams: opts.kernelParams,
      gdbPort: opts.gdbPort,
      net,
      drives: opts.drives,
    });
    if (opts.gdbPort !== undefined) log(gdbAttachLine(opts.gdbPort, opts.vmlinux));

    const missing = new MissingReport();
    const out = opts.consoleOut === undefined ? process.stdout : opts.consoleOut;
    let router: ConsoleRouter | undefined;
    if (!opts.interactive) {
      const logPath = opts.consoleLog === undefined ? consoleLogPath(opts.image, vmNum) : opts.consoleLog;
      try {
        if (logPath) consoleFile = new ConsoleLogFile(logPath);
      } catch (e) {
        log(`cannot write the console log ${logPath}: ${(e as Error).message}; booting without one`);
      }
      router = new ConsoleRouter({
        out,
        verbose: Boolean(opts.verbose),
        log: consoleFile ? (t) => consoleFile!.write(t) : undefined,
        onLine: (line, kind) => {
          opts.onConsoleLine?.(line);
          if (kind === 'guest') missing.scanConsoleLine(line);
        },
      });
    }

    const onStatus = opts.onStatus;
    const watchStatus = onStatus && setInterval(() => {
      const status = parseStatus(readStatusText(statusFile!));
      if (status === undefined) return;
      clearInterval(watchStatus);
      onStatus(status);
    }, STATUS_POLL_MS);
    let run: Awaited<ReturnType<typeof runQemu>>;
    try {
      run = await runQemu(qemu, args, opts, log, router, (c, stop) => {
        child = c;
        stopQemu = stop;
        if (c.pid) slot!.qemuPid = c.pid;
        if (opts.stop?.aborted) onStop();
      });
    } finally {
      clearInterval(watchStatus);
    }
    if (interrupted) throw interruptedError(interrupted);

    const statusText = readStatusText(statusFile);
    missing.addStatusText(statusText);
    const guestStatus = parseStatus(statusText);
    const consoleLog = consoleFile?.finish();
    consoleFile = undefined;
    const done = (r: Omit<BootResult, 'missing' | 'consoleLog'>): BootResult => {
      const result = { ...r, missing: { commands: missing.commands, libraries: missing.libraries }, consoleLog };
      if (!opts.interactive) {
        // A failure shows the kernel's last words (a quiet console hid them), unless they were on it already.
        if (result.status !== 0 && result.reason !== 'stopped' && !opts.verbose && router) {
          const tail = router.kernelTail(KERNEL_TAIL_LINES);
          if (tail.length) {
            log(`the kernel's last ${tail.length} messages${consoleLog ? ` (all of the console: ${shown(consoleLog)})` : ''}:`);
            out?.write(tail.map((l) => `${l}\n`).join(''));
          }
        }
      }
      for (const line of missing.lines()) log(line);
      if (!opts.interactive) {
        log(`VM ${vmNum} ${result.reason === 'guest' ? `finished with status ${result.status}` : `ended (${result.reason}), status ${result.status}`}` +
          (consoleLog ? `; console with kernel messages: ${shown(consoleLog)}` : ''));
      }
      return result;
    };
    if (run.timedOut) {
      const message = `VM ${vmNum} did not finish within ${opts.timeoutSec} s: stopped QEMU` +
        (guestStatus !== undefined ? ` (the guest had reported status ${guestStatus} but did not power off)` : '');
      log(message);
      return done({ status: STATUS_TIMEOUT, reason: 'timeout', vmNum, message });
    }
    if (guestStatus !== undefined) return done({ status: guestStatus, reason: 'guest', vmNum });
    if (stopped) {
      const message = `VM ${vmNum} stopped: its client was done before it reported a result`;
      log(message);
      return done({ status: STATUS_NO_RESULT, reason: 'stopped', vmNum, message });
    }

    if (run.signal || run.code !== 0) {
      const how = run.signal ? `was killed by ${run.signal}` : `exited with status ${run.code}`;
      const said = run.stderrShown || !run.stderr.trim() ? '' : `:\n${run.stderr.trim()}`;
      // Nothing on the console yet (or we cannot tell): QEMU failed to start.
      if (opts.interactive || !run.sawOutput) {
        throw new RapidoError('QEMU_FAILED', `QEMU ${how}${said}`, {
          hint: 'check QEMU_EXTRA_ARGS and the kernel/image paths; `--accel tcg` rules out KVM trouble',
        });
      }
      const message = `QEMU ${how} before the guest reported a result${said}`;
      log(message);
      return done({ status: STATUS_NO_RESULT, reason: 'qemu-failed', vmNum, message });
    }
    const message = opts.interactive
      ? `VM ${vmNum} ended before the guest reported a result`
      : `VM ${vmNum} stopped without reporting a result (kernel panic, or init died? see the kernel's messages below)`;
    log(message);
    return done({ status: STATUS_NO_RESULT, reason: 'no-status', vmNum, message });
  } finally {
    opts.stop?.removeEventListener('abort', onStop);
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    process.off('exit', onExit);
    if (statusFile) unlinkQuiet(statusFile);
    consoleFile?.abandon();
    slot?.release();
  }
}

interface QemuRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Whether stderr already went to opts.qemuStderr (so messages need not repeat it). */
  stderrShown: boolean;
  timedOut: boolean;
  sawOutput: boolean;
}

/** Runs QEMU to completion; resolves only once it is gone (never leaves it behind). */
function runQemu(
  qemu: string,
  args: string[],
  opts: BootVmOptions,
  log: (line: string) => void,
  router: ConsoleRouter | undefined,
  started: (child: ChildProcess, stop: (sig: NodeJS.Signals) => void) => void,
): Promise<QemuRun> {
  const graceMs = (opts.killGraceSec ?? 3) * 1000;
  // Our exit handlers cover every death but SIGKILL; the kernel covers that one.
  const wrapped = dieWithParent(qemu, args);
  if (!wrapped) log('setpriv --pdeathsig is not available (util-linux >= 2.33): QEMU would outlive a killed rapido');
  const child = spawn(wrapped?.command ?? qemu, wrapped?.args ?? args, {
    // Interactive: QEMU owns the terminal (raw mode, ctrl-a x). Otherwise no
    // stdin (the guest must not wait for us) and the console comes to us.
    stdio: opts.interactive ? ['inherit', 'inherit', 'pipe'] : ['ignore', 'pipe', 'pipe'],
  });

  return new Promise<QemuRun>((resolve, reject) => {
    let stderr = '';
    let timedOut = false;
    let sawOutput = false;
    let spawnError: Error | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let exited = false;

    const stop = (sig: NodeJS.Signals) => {
      if (exited) return;
      child.kill(sig);
      killTimer ??= setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs);
    };
    started(child, stop);

    const timeoutTimer = opts.timeoutSec && opts.timeoutSec > 0
      ? setTimeout(() => {
        timedOut = true;
        stop('SIGTERM');
      }, opts.timeoutSec * 1000)
      : undefined;

    const errOut = opts.qemuStderr === undefined ? process.stderr : opts.qemuStderr;
    let stderrLive = false;
    const goLive = () => {
      if (stderrLive) return;
      stderrLive = true;
      if (stderr) errOut?.write(stderr);
    };
    const liveTimer = setTimeout(goLive, 2000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-16384);
      if (stderrLive) errOut?.write(d);
    });
    if (router) {
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        sawOutput = true;
        goLive();
        router.push(d);
      });
      child.stdout!.on('end', () => router.end());
    }

    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('exit', () => {
      exited = true;
    });
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      clearTimeout(liveTimer);
      if (spawnError && code === null && signal === null) {
        reject(new RapidoError('QEMU_FAILED', `cannot run ${qemu}: ${spawnError.message}`, { cause: spawnError }));
        return;
      }
      // A clean run's warnings still deserve to be seen.
      if (code === 0 || timedOut) goLive();
      resolve({ code, signal, stderr, stderrShown: stderrLive, timedOut, sawOutput });
    });
  });
}

/** How often onStatus looks at the status port's file: a small read, only for `--vms` servers. */
const STATUS_POLL_MS = 250;

/** What the guest wrote on its status port ('' when nothing). */
function readStatusText(statusFile: string): string {
  try {
    return readFileSync(statusFile, 'latin1');
  } catch {
    return '';
  }
}

/** The guest's `rapido-status N`, or undefined if it never wrote one. */
function parseStatus(text: string): number | undefined {
  let status: number | undefined;
  // The serial line discipline turns \n into \r\n; take the last report.
  for (const line of text.split(/\r?\n|\r/)) {
    if (!line.startsWith(GUEST_STATUS_PREFIX)) continue;
    const m = /^\s*(\d{1,3})\s*$/.exec(line.slice(GUEST_STATUS_PREFIX.length));
    if (m) status = Number(m[1]);
  }
  return status;
}

/**
 * The console log, written under a temporary name beside its final one and
 * renamed when the VM is gone: the previous run's log stays whole until then,
 * and a killed run leaves no half log under the final name.
 */
class ConsoleLogFile {
  private readonly tmp: string;
  private fd: number | undefined;

  constructor(private readonly path: string) {
    // The name composeImage's clean-up knows: a killed run's is removed by the next cut.
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    this.fd = openSync(this.tmp, 'w', 0o644);
  }

  write(text: string): void {
    if (this.fd !== undefined) writeSync(this.fd, text);
  }

  /** Closes and renames it into place; returns its path. */
  finish(): string {
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
    }
    this.fd = undefined;
    renameSync(this.tmp, this.path);
    return this.path;
  }

  abandon(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    unlinkQuiet(this.tmp);
  }
}

/** A path as the user would type it from here. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('../') && rel.length < path.length ? rel : path;
}

/** The one-liner that attaches gdb to the VM's stub, with symbols when there is a vmlinux. */
function gdbAttachLine(port: number, vmlinux?: string): string {
  const target = `-ex 'target remote localhost:${port}'`;
  return vmlinux
    ? `gdb stub on tcp::${port} (kernel booted with nokaslr); attach: gdb ${vmlinux} ${target}`
    : `gdb stub on tcp::${port} (kernel booted with nokaslr); attach: gdb VMLINUX ${target} ` +
        '(no vmlinux known for this kernel: KERNEL_SRC\'s is used when the tree has one)';
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function requireFile(path: string, code: ErrorCode, what: string, hint: string): void {
  if (!isFile(path)) throw new RapidoError(code, `${what} not found: ${path}`, { hint });
}

function interruptedError(sig: NodeJS.Signals): RapidoError {
  const signo = osConstants.signals[sig] ?? 2;
  return new RapidoError('INTERRUPTED', `interrupted by ${sig}: stopped the VM`, { exitCode: exitForSignal(signo) });
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch { /* already gone */ }
}
