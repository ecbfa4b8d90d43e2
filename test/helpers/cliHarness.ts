import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/helpers/. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const RAPIDO = join(REPO, 'bin/rapido.js');
export const RAPIDO_STORE_BIN = join(REPO, 'bin/rapido-store.js');

export interface Project {
  dir: string;
  store: string;
  out: string;
  env: NodeJS.ProcessEnv;
  write(rel: string, text: string, mode?: number): string;
  run(args: string[], opts?: { env?: NodeJS.ProcessEnv; bin?: string }): { status: number; stdout: string; stderr: string };
  spawn(args: string[], env?: NodeJS.ProcessEnv): ReturnType<typeof spawn>;
  /** Like run, without blocking the test process (boots run side by side). */
  runAsync(args: string[], env?: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }>;
  cleanup(): void;
}

/** A throw-away project dir with its own rapido.conf, store and output image. */
export function makeProject(conf = ''): Project {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-proj-'));
  const store = join(dir, 'store');
  const out = join(dir, 'initrds', 'myinitrd');
  writeFileSync(join(dir, 'rapido.conf'), `RAPIDO_STORE="${store}"\nDRACUT_OUT="${out}"\n${conf}`);
  const env: NodeJS.ProcessEnv = { ...process.env, RAPIDO_CONF: join(dir, 'rapido.conf') };
  delete env.SOURCE_DATE_EPOCH;
  const write = (rel: string, text: string, mode = 0o644) => {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text, { mode });
    return p;
  };
  return {
    dir, store, out, env, write,
    run(args, opts = {}) {
      const r = spawnSync(process.execPath, [opts.bin ?? RAPIDO, ...args], {
        cwd: dir, env: { ...env, ...opts.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000,
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    spawn(args, extraEnv = {}) {
      return spawn(process.execPath, [RAPIDO, ...args], { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    runAsync(args, extraEnv = {}) {
      return new Promise((resolve) => {
        const child = this.spawn(args, extraEnv);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d) => (stdout += d));
        child.stderr!.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
      });
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
