// A private mount namespace for fault tests that need a read-only mount or
// a tiny filesystem (not a test file itself). A sleeping `unshare -m` holds
// the namespace; each command enters it with nsenter, so a test runs its
// steps one by one with ordinary assertions, and nothing is mounted on the host.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { RAPIDO, RAPIDO_STORE_BIN, type Project } from '../helpers/cliHarness.js';

export type { Project };

export const NS_NEEDS = 'root and util-linux (unshare, nsenter, mount) for a private mount namespace';

export function canUseMountNs(): boolean {
  return process.getuid?.() === 0 && ['/usr/bin/unshare', '/usr/bin/nsenter'].every((p) => existsSync(p));
}

export interface Run {
  status: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface MountNs {
  /** Runs a shell script (sh -e) inside the namespace. */
  sh(script: string): Run;
  /** Runs `rapido ARGS` (or rapido-store with bin) of the project inside the namespace. */
  run(p: Project, args: string[], opts?: { store?: boolean; env?: NodeJS.ProcessEnv }): Run;
  /** Mounts a tmpfs of `size` (e.g. "32m") at dir, inside the namespace only. */
  tmpfs(dir: string, size: string): void;
  /** Fills the filesystem of dir until exactly `leaveKiB` KiB are free (default none). */
  fill(dir: string, leaveKiB?: number): void;
  /** Removes what fill() wrote. */
  unfill(dir: string): void;
  /** A path as the namespace sees it, for this (host) process to read: /proc/<pid>/root/... */
  path(p: string): string;
  close(): void;
}

export async function mountNs(): Promise<MountNs> {
  const holder: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '3600'], { stdio: 'ignore' });
  // unshare execs sleep once the namespace exists: wait until /proc shows a different mount namespace.
  const mine = spawnSync('readlink', ['/proc/self/ns/mnt'], { encoding: 'utf8' }).stdout.trim();
  for (let i = 0; i < 200; i++) {
    const r = spawnSync('readlink', [`/proc/${holder.pid}/ns/mnt`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== mine) break;
    await new Promise((res) => setTimeout(res, 10));
  }
  const enter = (argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run => {
    // Entering a mount namespace resets the working directory to its root: --wd sets it back.
    const wd = opts.cwd ? [`--wd=${opts.cwd}`] : [];
    const r = spawnSync('nsenter', ['-t', String(holder.pid), '-m', ...wd, '--', ...argv], {
      env: opts.env ?? process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000,
    });
    return { status: r.status ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    sh: (script) => enter(['sh', '-ec', script]),
    run: (p, args, opts = {}) =>
      enter([process.execPath, opts.store ? RAPIDO_STORE_BIN : RAPIDO, ...args], { cwd: p.dir, env: { ...p.env, ...opts.env } }),
    tmpfs(dir, size) {
      const r = enter(['sh', '-ec', `mkdir -p '${dir}' && mount -t tmpfs -o size=${size} tmpfs '${dir}'`]);
      if (r.status !== 0) throw new Error(`cannot mount a tmpfs at ${dir}: ${r.stderr}`);
    },
    fill(dir, leaveKiB = 0) {
      // Reserve what is to stay free, write zeros until ENOSPC, then give the reserve back.
      const r = enter(['sh', '-ec', `
        ${leaveKiB ? `dd if=/dev/zero of='${dir}/reserve.bin' bs=1024 count=${leaveKiB} 2>/dev/null` : ':'}
        cat /dev/zero > '${dir}/fill.bin' 2>/dev/null || true
        rm -f '${dir}/reserve.bin'
        df -B1 --output=avail '${dir}' | tail -1`]);
      if (r.status !== 0) throw new Error(`cannot fill ${dir}: ${r.stderr}`);
    },
    unfill(dir) {
      enter(['rm', '-f', `${dir}/fill.bin`]);
    },
    path: (p) => `/proc/${holder.pid}/root${p}`,
    close() {
      holder.kill('SIGKILL');
    },
  };
}
