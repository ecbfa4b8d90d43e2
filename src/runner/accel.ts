import { execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, realpathSync, statSync } from 'node:fs';
import { release as hostRelease } from 'node:os';
import { delimiter, join } from 'node:path';
import { RapidoError } from '../errors.js';
import { dieWithParent } from './parentDeath.js';
import type { Accel } from './qemuArgs.js';

export type AccelRequest = Accel | 'auto';

/** Remembers per-host facts; the CLI backs it with the store's `hosts` database. */
export interface VerdictStore {
  get(key: string): unknown;
  put(key: string, value: unknown): void;
}

export interface AccelDecision {
  accel: Accel;
  why: string;
}

interface KvmVerdict {
  accel: Accel;
  detail: string;
  probeMs: number;
  probedAt: string;
}

export interface ChooseAccelOptions {
  requested: AccelRequest;
  kernel: string;
  verdicts: VerdictStore;
  qemuBinary?: string;
  /** For tests. */
  kvmDevice?: string;
  probeTimeoutMs?: number;
  /** Receives the one line saying which accelerator is used and why; default: stderr. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

const DEFAULT_QEMU = 'qemu-system-x86_64';
/**
 * A working KVM prints the kernel banner within ~0.5 s of QEMU starting; TCG
 * needs ~4 s here (decompressing the kernel dominates). A broken nested KVM
 * prints the real-mode setup messages and then hangs, so we wait for the banner.
 */
const KVM_PROBE_TIMEOUT_MS = 4000;
const BANNER = 'Linux version';

export async function chooseAccel(opts: ChooseAccelOptions): Promise<AccelDecision> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`rapido: ${line}\n`));
  const decision = await decide(opts);
  log(`using ${decision.accel.toUpperCase()}: ${decision.why}`);
  return decision;
}

async function decide(opts: ChooseAccelOptions): Promise<AccelDecision> {
  const device = opts.kvmDevice ?? '/dev/kvm';
  if (opts.requested === 'tcg') return { accel: 'tcg', why: 'requested' };
  const kvmError = kvmUnusable(device);
  if (opts.requested === 'kvm') {
    if (kvmError) {
      throw new RapidoError('KVM_UNAVAILABLE', `KVM requested, but ${device} is not usable: ${kvmError}`, {
        hint: 'load kvm_intel/kvm_amd, add yourself to the kvm group, or use --accel tcg (or auto)',
      });
    }
    return { accel: 'kvm', why: 'requested' };
  }
  if (kvmError) return { accel: 'tcg', why: `${device} is not usable (${kvmError})` };

  const qemu = resolveQemuBinary(opts.qemuBinary);
  const key = `accel ${hostRelease()} qemu ${await qemuVersion(qemu, opts.verdicts)}`;
  const known = asVerdict(opts.verdicts.get(key));
  if (known) {
    return {
      accel: known.accel,
      why: `remembered probe result for this host kernel and QEMU (${known.detail})` +
        (known.accel === 'tcg' ? '; --accel kvm forces KVM' : ''),
    };
  }
  const probe = await probeKvm({ qemuBinary: qemu, kernel: opts.kernel, timeoutMs: opts.probeTimeoutMs, signal: opts.signal });
  const verdict: KvmVerdict = {
    accel: probe.works ? 'kvm' : 'tcg',
    detail: probe.detail,
    probeMs: Math.round(probe.ms),
    probedAt: new Date().toISOString(),
  };
  opts.verdicts.put(key, verdict);
  return {
    accel: verdict.accel,
    why: `KVM probe ${probe.works ? 'passed' : 'failed'} (${probe.detail}); remembered for this host kernel and QEMU`,
  };
}

function asVerdict(v: unknown): KvmVerdict | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Partial<KvmVerdict>;
  if ((r.accel !== 'kvm' && r.accel !== 'tcg') || typeof r.detail !== 'string') return undefined;
  return r as KvmVerdict;
}

/** undefined if the device opens read-write (what QEMU needs), else why not. */
function kvmUnusable(device: string): string | undefined {
  try {
    closeSync(openSync(device, 'r+'));
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

/** An absolute path to the QEMU binary: `name` as given if it has a slash, else looked up in PATH. */
export function resolveQemuBinary(name = DEFAULT_QEMU): string {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch { /* next */ }
  }
  throw new RapidoError('QEMU_NOT_FOUND', `cannot find ${name}${name.includes('/') ? '' : ' in PATH'}`, {
    hint: 'install QEMU (Debian/Ubuntu: apt install qemu-system-x86; Fedora: dnf install qemu-system-x86-core)',
  });
}

/**
 * `qemu --version`'s first line minus the boilerplate. Running QEMU costs
 * ~25 ms, so the answer is remembered per binary (path, inode, size, mtime).
 */
export async function qemuVersion(qemuBinary: string, verdicts?: VerdictStore): Promise<string> {
  let idKey: string | undefined;
  try {
    const real = realpathSync(qemuBinary);
    const st = statSync(real);
    idKey = `qemu-version ${real} ${st.ino} ${st.size} ${st.mtimeMs}`;
  } catch { /* resolved just before; if it vanished, --version will say so */ }
  const cached = idKey && verdicts?.get(idKey);
  if (typeof cached === 'string') return cached;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(qemuBinary, ['--version'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new RapidoError('QEMU_FAILED', `${qemuBinary} --version failed: ${(stderr || err.message).trim()}`, { cause: err }));
      } else {
        resolve(stdout);
      }
    });
  });
  const first = out.split('\n')[0].trim();
  const version = /version\s+(.*)$/i.exec(first)?.[1] ?? first;
  if (idKey && verdicts) verdicts.put(idKey, version);
  return version;
}

export interface KvmProbeResult {
  works: boolean;
  detail: string;
  ms: number;
}

/**
 * Boots the kernel (no initrd: it will panic, we never wait that long) under
 * KVM with the same CPU model as a real boot and reports whether the kernel
 * banner appears within timeoutMs. QEMU is killed and reaped before we return.
 */
export function probeKvm(opts: { qemuBinary: string; kernel: string; timeoutMs?: number; signal?: AbortSignal }): Promise<KvmProbeResult> {
  const timeoutMs = opts.timeoutMs ?? KVM_PROBE_TIMEOUT_MS;
  const t0 = performance.now();
  const args = [
    '-accel', 'kvm', '-cpu', 'host',
    '-kernel', opts.kernel,
    '-append', 'console=ttyS0 earlyprintk=serial',
    '-m', '256M',
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
    '-net', 'none', '-no-reboot',
  ];
  // The probe's kernel panics and then spins forever: it too must die with us.
  const wrapped = dieWithParent(opts.qemuBinary, args);
  const child = spawn(wrapped?.command ?? opts.qemuBinary, wrapped?.args ?? args, { stdio: ['ignore', 'pipe', 'pipe'] });

  return new Promise<KvmProbeResult>((resolve, reject) => {
    let out = '';
    let err = '';
    let verdict: KvmProbeResult | undefined;
    let abortError: unknown;
    const settle = (works: boolean, detail: string) => {
      if (verdict || abortError) return;
      verdict = { works, detail, ms: performance.now() - t0 };
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => settle(false, `no kernel output within ${timeoutMs} ms${out ? ' after the real-mode setup messages' : ''}`),
      timeoutMs,
    );
    const onAbort = () => {
      abortError = opts.signal?.reason ?? new Error('aborted');
      child.kill('SIGKILL');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();

    child.stdout.setEncoding('latin1').on('data', (d: string) => {
      out = (out + d).slice(-4096);
      if (out.includes(BANNER)) settle(true, `kernel banner after ${Math.round(performance.now() - t0)} ms`);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-4096);
    });
    child.on('error', (e) => {
      settle(false, `cannot run ${opts.qemuBinary}: ${e.message}`);
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (abortError) return reject(abortError);
      if (!verdict) {
        const why = err.trim().split('\n').find((l) => /error/i.test(l)) ?? err.trim().split('\n')[0];
        settle(false, `QEMU ${sig ? `died of ${sig}` : `exited with status ${code}`}${why ? `: ${why}` : ''}`);
      }
      resolve(verdict!);
    });
  });
}
