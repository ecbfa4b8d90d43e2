// A network namespace per test, for everything that creates network devices
// or listens: bridges, taps, dnsmasq, QEMU's user-mode ports. `ip netns exec`
// also remounts /sys for the namespace. Removed (with anything still
// running in it) by cleanup(), which tests call in `finally`; a process exit
// removes what is left.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { RAPIDO, type Project } from './cliHarness.js';

export const NETNS_NEEDS = 'root and iproute2 (ip netns) to run the test in a network namespace of its own';

export function canUseNetns(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/sbin/ip') && existsSync('/dev/net/tun');
}

export interface Result { status: number; stdout: string; stderr: string }

export interface Netns {
  name: string;
  /** A command inside the namespace, to completion. */
  sh(script: string): Result;
  /** `rapido ARGS` of the project inside the namespace, without blocking. */
  rapido(p: Project, args: string[], opts?: { env?: NodeJS.ProcessEnv; prefix?: string[] }): Promise<Result>;
  /** A long-running command inside the namespace (a server); cleanup() stops it. */
  start(cmd: string, args: string[], opts?: SpawnOptions): ReturnType<typeof spawn>;
  cleanup(): void;
}

const live = new Set<string>();
process.on('exit', () => {
  for (const n of live) removeNetns(n);
});

function removeNetns(name: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch { /* gone */ }
  }
  spawnSync('ip', ['netns', 'delete', name]);
  live.delete(name);
}

let seq = 0;
export function makeNetns(): Netns {
  const name = `rapido-t${process.pid}-${seq++}`;
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`ip netns add ${name}: ${add.stderr}`);
  live.add(name);
  spawnSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  const children: ReturnType<typeof spawn>[] = [];
  return {
    name,
    sh(script) {
      const r = spawnSync('ip', ['netns', 'exec', name, 'sh', '-c', script], { encoding: 'utf8' });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    rapido(p, args, opts = {}) {
      return new Promise((resolve) => {
        const child = spawn('ip', ['netns', 'exec', name, ...(opts.prefix ?? []), process.execPath, RAPIDO, ...args], {
          cwd: p.dir, env: { ...p.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d) => (stdout += d));
        child.stderr!.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
      });
    },
    start(cmd, args, opts = {}) {
      const child = spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: 'ignore', ...opts });
      children.push(child);
      return child;
    },
    cleanup() {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      removeNetns(name);
    },
  };
}

/** Rapido's MAC for VM N on TAP, computed the way Rapido does (echo | md5sum), not by our code. */
export function rapidoMac(vmNum: number, tap: string): string {
  const sum = spawnSync('sh', ['-c', `echo "vm${vmNum}.${tap}" | md5sum`], { encoding: 'utf8' }).stdout;
  return `b8:${sum.slice(0, 10).match(/../g)!.join(':')}`;
}
