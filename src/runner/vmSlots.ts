import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RapidoError } from '../errors.js';

/**
 * VM numbering. VM N owns `<pidDir>/rapido_vmN.pid`; the lowest N whose
 * pidfile is absent or stale is ours. We create the pidfile with O_EXCL (so
 * two concurrent claims cannot both win) holding `<our pid> rapido-claim`;
 * QEMU's -pidfile then overwrites it with QEMU's pid, and QEMU deletes it on
 * a clean exit.
 */

export const CLAIM_MARKER = 'rapido-claim';
/** A file this young with no parseable pid is being written (O_EXCL create, QEMU's truncate+write). */
const WRITE_GRACE_MS = 10_000;
/** A slot lock older than this belongs to a claimer that died inside its few-microsecond critical section. */
const STALE_LOCK_MS = 10_000;
const MAX_VMS = 1000;

export type SlotState = 'absent' | 'live' | 'stale';

export interface VmSlot {
  readonly vmNum: number;
  readonly pidFile: string;
  /** Set once QEMU runs, so release() recognises QEMU's pid in the file as ours too. */
  qemuPid?: number;
  /** Deletes the pidfile if it still names us or our QEMU. Idempotent. */
  release(): void;
}

export function pidFileFor(pidDir: string, vmNum: number): string {
  return join(pidDir, `rapido_vm${vmNum}.pid`);
}

/** The lowest free VM number, or exactly `want` (a pair's VM 1 and VM 2 keep their net-conf roles). */
export function claimVmSlot(pidDir: string, want?: number): VmSlot {
  try {
    mkdirSync(pidDir, { recursive: true });
  } catch (e) {
    throw new RapidoError('PID_DIR', `cannot create the VM pid directory ${pidDir}`, {
      hint: 'check QEMU_PID_DIR in rapido.conf',
      cause: e,
    });
  }
  for (let n = want ?? 1; n <= (want ?? MAX_VMS); n++) {
    const pidFile = pidFileFor(pidDir, n);
    if (tryCreate(pidFile)) return makeSlot(pidDir, n, pidFile);
    if (slotState(pidFile) !== 'stale') continue;
    // Reclaim under the slot lock and re-check: without it, two reclaimers
    // could each judge the file stale and one delete the other's fresh claim.
    withSlotLock(pidDir, n, () => {
      if (slotState(pidFile) === 'stale') unlinkQuiet(pidFile);
    });
    // Someone else may have created it since we unlinked: then it is live and we move on.
    if (tryCreate(pidFile)) return makeSlot(pidDir, n, pidFile);
  }
  if (want !== undefined) {
    throw new RapidoError('VM_BUSY', `VM ${want} is already running (${pidFileFor(pidDir, want)})`, {
      hint: '--vms N boots VM 1..N: stop the VMs that hold those numbers first',
    });
  }
  throw new RapidoError('NO_VM_SLOT', `no free VM number in ${pidDir} (1..${MAX_VMS} all in use)`, {
    hint: `remove stale rapido_vm*.pid files from ${pidDir}`,
  });
}

function makeSlot(pidDir: string, vmNum: number, pidFile: string): VmSlot {
  let released = false;
  const slot: VmSlot = {
    vmNum,
    pidFile,
    release() {
      if (released) return;
      released = true;
      withSlotLock(pidDir, vmNum, () => {
        const owner = readOwner(pidFile);
        if (typeof owner === 'object' && (owner.pid === process.pid || owner.pid === slot.qemuPid)) unlinkQuiet(pidFile);
      });
    },
  };
  return slot;
}

function tryCreate(pidFile: string): boolean {
  let fd: number;
  try {
    fd = openSync(pidFile, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new RapidoError('PID_DIR', `cannot create ${pidFile}`, { cause: e, hint: 'check QEMU_PID_DIR in rapido.conf' });
  }
  try {
    writeSync(fd, `${process.pid} ${CLAIM_MARKER}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

interface Owner {
  pid: number;
  claim: boolean;
}

function readOwner(pidFile: string): Owner | undefined | 'absent' {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  const m = /^\s*(\d+)(?:\s+(\S+))?\s*$/.exec(text);
  if (!m) return undefined;
  return { pid: Number(m[1]), claim: m[2] === CLAIM_MARKER };
}

/**
 * absent: no file. live: a running QEMU, or a rapido process that claimed the
 * slot and is starting QEMU. stale: the pid is dead, or alive but neither
 * (the pid was reused after a crash).
 */
export function slotState(pidFile: string): SlotState {
  const owner = readOwner(pidFile);
  if (owner === 'absent') return 'absent';
  if (!owner) {
    try {
      return Date.now() - statSync(pidFile).mtimeMs < WRITE_GRACE_MS ? 'live' : 'stale';
    } catch {
      return 'absent';
    }
  }
  if (!pidAlive(owner.pid)) return 'stale';
  if (owner.claim) return 'live';
  return isQemu(owner.pid) ? 'live' : 'stale';
}

function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isQemu(pid: number): boolean {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return basename(argv0).includes('qemu');
  } catch {
    return false; // exited meanwhile
  }
}

function withSlotLock(pidDir: string, vmNum: number, fn: () => void): void {
  const lock = join(pidDir, `.rapido_vm${vmNum}.lock`);
  const deadline = Date.now() + 3 * STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmdirSync(lock);
    } catch { /* released meanwhile */ }
    if (Date.now() > deadline) {
      throw new RapidoError('PID_DIR', `cannot lock VM slot ${vmNum}: ${lock} stays in place`, { hint: `remove ${lock}` });
    }
    sleepSync(2);
  }
  try {
    fn();
  } finally {
    try { rmdirSync(lock); } catch { /* removed as stale by another claimer */ }
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
