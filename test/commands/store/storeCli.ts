// Shared helpers for the rapido-store command tests (not a test file itself).
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, RAPIDO_STORE_BIN, type Project } from '../../helpers/cliHarness.js';

export { makeProject, type Project };

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `rapido-store ARGS` in the project. */
export function store(p: Project, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  return p.run(args, { bin: RAPIDO_STORE_BIN, env });
}

/** Runs `rapido-store ARGS --json` and parses stdout. */
export function storeJson<T = any>(p: Project, args: string[], env: NodeJS.ProcessEnv = {}): { status: number; json: T; stderr: string } {
  const r = store(p, [...args, '--json'], env);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`rapido-store ${args.join(' ')} --json printed no JSON (status ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, json, stderr: r.stderr };
}

export function cut(p: Project, recipe: string, env: NodeJS.ProcessEnv = {}): Run {
  const r = p.run(['cut', '-B', recipe], { env });
  if (r.status !== 0) throw new Error(`rapido cut -B ${recipe} failed: ${r.stderr}`);
  return r;
}

/** A second config in the same project: same paths, another store and/or image. */
export function altConf(p: Project, name: string, values: { store?: string; out?: string }): string {
  let text = readFileSync(join(p.dir, 'rapido.conf'), 'utf8');
  if (values.store) text = text.replace(/RAPIDO_STORE=.*/, `RAPIDO_STORE="${values.store}"`);
  if (values.out) text = text.replace(/DRACUT_OUT=.*/, `DRACUT_OUT="${values.out}"`);
  return p.write(name, text);
}

/** Keys of the layers of the image at out, from its stamp. */
export function stampKeys(out: string): Record<string, string> {
  const dir = join(out, '..');
  const name = out.split('/').pop()!;
  const stamp = JSON.parse(readFileSync(join(dir, `.${name}.rapido.json`), 'utf8')) as { layers: { name: string; key: string }[] };
  return Object.fromEntries(stamp.layers.map((l) => [l.name, l.key]));
}

export function objectFile(p: Project, key: string): string {
  return join(p.store, 'objects', key.slice(0, 2), key);
}

export function ageFile(path: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  utimesSync(path, t, t);
}

/** The layer counts of a cut's summary line: "(N built, M reused)". */
export function builtCount(stderr: string): number {
  const m = /\((\d+) built, (\d+) reused\)/.exec(stderr);
  if (!m) throw new Error(`no cut summary in: ${stderr}`);
  return Number(m[1]);
}
