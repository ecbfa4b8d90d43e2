import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

/**
 * Requires a CommonJS bundle (dist/bin/cut.cjs) with V8's code cache: a
 * cut that builds anything compiles ~270 KB of JavaScript, ~7 ms of every
 * edit -> re-cut on this machine, which the cache turns into a read. Node 20
 * has no module.enableCompileCache (22 has), hence this.
 *
 * The cache lives under $XDG_CACHE_HOME/rapido/v8 (~/.cache): per user, as
 * cached bytecode runs as code. V8 checks only the source's length, not its
 * content, so the file's name carries the bundle's path, inode, size and
 * mtime and Node's version: a rebuilt bundle gets a new cache, never another
 * build's bytecode. It is written once, at exit (so it covers the functions
 * the cut compiled lazily too), to a temp name and renamed, by a run that
 * `keep()` says is typical: a cold cut compiles builders that an edit never
 * runs, and deserialising their bytecode too cost every later edit ~1 ms of
 * loading and ~3 ms of cutting (50 MiB tree, 120 ms edits). Any failure
 * (no HOME, read-only) just means a normal require. A vm script cannot
 * import() without an experimental flag: the bundle's one ES module import
 * goes through importEsm.ts, whose hook the caller (bin/rapido.js) sets.
 */
export function requireWithCodeCache(file: string, keep: () => boolean = () => true): unknown {
  const req = createRequire(file);
  const cache = cacheFile(file);
  let source: string;
  try {
    if (!cache) return req(file);
    source = readFileSync(file, 'utf8');
  } catch {
    return req(file);
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cache.path);
  } catch { /* first run of this build */ }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
    filename: file,
    cachedData,
  });
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => keep() && writeCache(cache, script));
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, req, module, file, dirname(file));
  return module.exports;
}

interface CacheFile {
  dir: string;
  /** Names of this bundle's caches start with it (another checkout's are left alone). */
  prefix: string;
  path: string;
}

function cacheFile(file: string): CacheFile | undefined {
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME ? join(process.env.HOME, '.cache') : '');
  if (!base.startsWith('/')) return undefined;
  const st = statSync(file);
  const dir = join(base, 'rapido', 'v8');
  const prefix = `${fnv1a(file)}-`;
  return { dir, prefix, path: join(dir, `${prefix}${st.ino}-${st.size}-${st.mtimeMs}-${process.version}-${process.arch}.bin`) };
}

function writeCache(cache: CacheFile, script: vm.Script): void {
  try {
    const data = script.createCachedData();
    mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(cache.dir)) {
      if (name.startsWith(cache.prefix)) rmSync(join(cache.dir, name), { force: true }); // this bundle's older builds
    }
    const tmp = `${cache.path}.${process.pid}.tmp`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, cache.path);
  } catch { /* a cache: the next run compiles again */ }
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
