import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { homedir } from 'node:os';
import { RapidoError } from '../errors.js';
import { parseShellConf, type ConfSource } from './parseShellConf.js';

export interface RapidoConfig {
  /** Absolute path of the rapido.conf read, or undefined when none exists. */
  path?: string;
  /** The directory relative paths in rapido.conf are taken from (its dir, else cwd). */
  baseDir: string;
  /** Values set in rapido.conf. */
  values: Map<string, string>;
  /** Where rapido.conf set each key, and the names its values expand (absent without a rapido.conf). */
  source?: ConfSource;
  /** A value from rapido.conf, else from the environment (so `FSTESTS_SRC=... rapido cut` works). */
  get(name: string): string | undefined;
}

/** `$RAPIDO_CONF`, else `./rapido.conf`; a missing file means defaults. */
export function loadConfig(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): RapidoConfig {
  const explicit = env.RAPIDO_CONF || undefined;
  const path = resolve(cwd, explicit ?? 'rapido.conf');
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT' || explicit) {
      throw new RapidoError('CONF_UNREADABLE', `cannot read ${path}: ${err.code ?? err.message}`, {
        hint: explicit ? 'RAPIDO_CONF names a file that does not exist or is unreadable' : undefined,
        cause: e,
      });
    }
  }
  const fromEnv = (name: string) => env[name];
  const source: ConfSource = { lines: new Map(), refs: new Set() };
  const values = text === undefined ? new Map<string, string>() : parseShellConf(text, path, fromEnv, source);
  return {
    path: text === undefined ? undefined : path,
    baseDir: text === undefined ? cwd : resolve(path, '..'),
    values,
    source: text === undefined ? undefined : source,
    get: (name) => values.get(name) ?? fromEnv(name),
  };
}

/** Resolves a path value from the config relative to where the config lives. */
export function configPath(conf: RapidoConfig, value: string): string {
  return resolve(conf.baseDir, value);
}

function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || resolve(homedir(), '.cache');
  return resolve(cache, 'rapido', 'store');
}

export function storeDir(conf: RapidoConfig): string {
  const v = conf.get('RAPIDO_STORE');
  return v ? configPath(conf, v) : defaultStoreDir();
}

export function outPath(conf: RapidoConfig): string {
  return configPath(conf, conf.get('DRACUT_OUT') || 'initrds/myinitrd');
}

/** VM_NET_CONF: per-VM settings, Rapido's `vm<N>/hostname` and `vm<N>/<tap>.network` (runner/netConf.ts). */
export function netConfPath(conf: RapidoConfig): string {
  return configPath(conf, conf.get('VM_NET_CONF') || 'net-conf');
}

/** Where VM pidfiles live (QEMU_PID_DIR, default the image's directory, i.e. initrds/). */
export function vmPidDir(conf: RapidoConfig, out: string): string {
  const v = conf.get('QEMU_PID_DIR');
  return v ? configPath(conf, v) : resolve(out, '..');
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
