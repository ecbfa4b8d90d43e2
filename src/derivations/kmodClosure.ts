import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { depmodCommand } from '../config/kernelTree.js';
import { RapidoError } from '../errors.js';
import { fnmatchToRegExp } from '../glob.js';

export interface ModuleClosure {
  /** Module files relative to modDir as modules.dep names them ('kernel/fs/btrfs/btrfs.ko'), sorted, deduped. */
  modules: string[];
  /** Requested names (as given) that are built into the kernel: nothing to load, not an error. */
  builtin: string[];
  /** Requested names (as given) that are neither a module, an alias nor built in. */
  missing: string[];
}

/**
 * Alias patterns, exact ones in a map; wildcard ones (matched like fnmatch(3),
 * as kmod does) bucketed by the start of their literal prefix and compiled on
 * first use. Parallel arrays: modules.alias has tens of thousands of globs.
 */
interface AliasTable {
  exact: Map<string, string[]>;
  /** First GLOB_KEY chars of the literal prefix -> glob ids; shorter prefixes under ''. */
  buckets: Map<string, number[]>;
  prefix: string[];
  pattern: string[];
  target: string[];
  re: (RegExp | undefined)[];
}

interface ModIndex {
  /** Normalised module name -> its file and its hard deps (space-separated files, split on use), from modules.dep. */
  dep: Map<string, { path: string; deps: string }>;
  /** Normalised module name -> softdep targets (pre: and post:), unresolved. */
  softdep: Map<string, string[]>;
  builtin: Set<string>;
  /** Parsed on first use: most names are plain module names. */
  aliases: () => Aliases;
  builtinAliases: () => AliasTable;
}

/**
 * modules.alias split by whether a pattern has a ':' (outside brackets).
 * Only names with a ':' can match those, and they are nearly all device ids
 * ('pci:v...', 'usb:v...'): parsed only when such a name is looked up.
 */
interface Aliases {
  plain: AliasTable;
  colon: () => AliasTable;
}

const GLOB_KEY = 4;
const indexCache = new Map<string, { stamp: string; index: ModIndex }>();

/**
 * The modules to put in an image so that `modprobe NAME` works for each
 * name: the module (or every module an alias names), its modules.dep deps,
 * and the softdeps of all of those, transitively. Works from depmod's text
 * indexes, so it runs for any kernel's modDir without modprobe.
 */
export function resolveModules(modDir: string, names: string[]): ModuleClosure {
  const index = loadIndex(modDir);
  const seen = new Set<string>();
  const files = new Set<string>();
  const builtin = new Set<string>();
  const missing = new Set<string>();

  const visit = (mod: string) => {
    if (seen.has(mod)) return;
    seen.add(mod);
    const entry = index.dep.get(mod);
    if (!entry) return;
    files.add(entry.path);
    for (const d of entry.deps ? entry.deps.split(/\s+/) : []) {
      // Hard deps are always taken, even if (oddly) they have no line of their own.
      files.add(d);
      visit(moduleName(d));
    }
    // Softdeps are optional: what cannot be found or is built in is skipped.
    for (const target of index.softdep.get(mod) ?? []) {
      for (const m of lookup(index, target).modules) visit(m);
    }
  };

  for (const name of names) {
    const r = lookup(index, name);
    if (r.modules.length) r.modules.forEach(visit);
    else if (r.builtin) builtin.add(name);
    else missing.add(name);
  }
  return { modules: [...files].sort(), builtin: [...builtin].sort(), missing: [...missing].sort() };
}

/** modprobe's order: a module name, else every module an alias matches, else built in. */
function lookup(index: ModIndex, name: string): { modules: string[]; builtin: boolean } {
  const mod = normalizeName(name);
  if (index.dep.has(mod)) return { modules: [mod], builtin: false };
  const alias = normalizeAlias(name);
  const aliases = index.aliases();
  const targets = matchAlias(aliases.plain, alias);
  if (alias.includes(':')) targets.push(...matchAlias(aliases.colon(), alias));
  const modules = [...new Set(targets.filter((t) => index.dep.has(t)))].sort();
  if (modules.length) return { modules, builtin: false };
  const builtin =
    index.builtin.has(mod) || targets.some((t) => index.builtin.has(t)) || matchAlias(index.builtinAliases(), alias).length > 0;
  return { modules: [], builtin };
}

function matchAlias(table: AliasTable, alias: string): string[] {
  const out = [...(table.exact.get(alias) ?? [])];
  for (const key of [alias.slice(0, GLOB_KEY), '']) {
    for (const id of table.buckets.get(key) ?? []) {
      if (!alias.startsWith(table.prefix[id])) continue;
      const re = (table.re[id] ??= fnmatchToRegExp(table.pattern[id]));
      if (re.test(alias)) out.push(table.target[id]);
    }
  }
  return out;
}

/** Kernel module names treat '-' and '_' alike; kmod compares them with '-' turned into '_'. */
function normalizeName(name: string): string {
  return name.replace(/-/g, '_');
}

/** Like a module name, except inside [...] classes, which keep their characters (kmod's alias_normalize). */
function normalizeAlias(alias: string): string {
  if (!alias.includes('-')) return alias;
  if (!alias.includes('[')) return alias.replace(/-/g, '_');
  let out = '';
  for (let i = 0; i < alias.length; i++) {
    const c = alias[i];
    if (c === '[') {
      const end = alias.indexOf(']', i);
      if (end < 0) return out + alias.slice(i);
      out += alias.slice(i, end + 1);
      i = end;
    } else out += c === '-' ? '_' : c;
  }
  return out;
}

/** 'kernel/fs/btrfs/btrfs.ko.zst' -> 'btrfs'. */
function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return normalizeName(base.replace(/\.ko(?:\.(?:xz|zst|gz))?$/, ''));
}

let indexLoads = 0;
/** How many times this process parsed a modules.dep (the cache's effect, for tests and the bench). */
export function kmodIndexLoads(): number {
  return indexLoads;
}

function loadIndex(modDir: string): ModIndex {
  const depFile = join(modDir, 'modules.dep');
  let stamp: string;
  try {
    const st = statSync(depFile);
    stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch (err) {
    throw new RapidoError('KMOD_INDEX_MISSING', `no modules.dep in ${modDir}`, {
      hint: `run depmod for this kernel (${depmodCommand(modDir)}), or check the modules directory`,
      cause: err,
    });
  }
  const cached = indexCache.get(modDir);
  if (cached?.stamp === stamp) return cached.index;

  indexLoads++;
  const index: ModIndex = {
    dep: parseDep(readFileSync(depFile, 'utf8')),
    softdep: parseSoftdep(readOptional(join(modDir, 'modules.softdep'))),
    aliases: once(() => parseAliases(readOptional(join(modDir, 'modules.alias')))),
    builtin: new Set(
      readOptional(join(modDir, 'modules.builtin'))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map(moduleName),
    ),
    builtinAliases: once(() => parseBuiltinModinfo(readOptional(join(modDir, 'modules.builtin.modinfo')))),
  };
  indexCache.set(modDir, { stamp, index });
  return index;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function parseDep(text: string): ModIndex['dep'] {
  const dep: ModIndex['dep'] = new Map();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('#')) continue;
    const path = line.slice(0, colon).trim();
    const rest = line.slice(colon + 1).trim();
    const name = moduleName(path);
    // depmod lists each module once; should a name repeat, the first wins, as with kmod.
    if (!dep.has(name)) dep.set(name, { path, deps: rest });
  }
  return dep;
}

/**
 * `softdep MOD pre: A B post: C`. Words before any pre:/post: are ignored,
 * as kmod ignores them (some modules declare softdeps without the keyword).
 */
function parseSoftdep(text: string): ModIndex['softdep'] {
  const soft: ModIndex['softdep'] = new Map();
  for (const line of text.split('\n')) {
    const words = line.replace(/#.*/, '').trim().split(/\s+/);
    if (words[0] !== 'softdep' || words.length < 3) continue;
    const mod = normalizeName(words[1]);
    let inList = false;
    const targets = soft.get(mod) ?? [];
    for (const w of words.slice(2)) {
      if (w === 'pre:' || w === 'post:') inList = true;
      else if (inList) targets.push(w);
    }
    soft.set(mod, targets);
  }
  return soft;
}

function parseAliases(text: string): Aliases {
  const plain = newAliasTable();
  const deferred: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    // 'alias PATTERN MODULE', split by hand: the file has tens of thousands of lines.
    if (text.startsWith('alias ', start)) {
      const sp = text.indexOf(' ', start + 6);
      const colon = text.indexOf(':', start + 6);
      if (sp > start + 6 && sp < end) {
        const line = text.slice(start, end);
        if (colon >= 0 && colon < sp && !colonOnlyInBrackets(line.slice(6, sp - start))) deferred.push(line);
        else addAliasLine(plain, line);
      }
    }
    start = end + 1;
  }
  return {
    plain,
    colon: once(() => {
      const t = newAliasTable();
      for (const line of deferred) addAliasLine(t, line);
      return t;
    }),
  };
}

function addAliasLine(table: AliasTable, line: string): void {
  const sp = line.indexOf(' ', 6);
  const pattern = line.slice(6, sp);
  const target = line.slice(sp + 1).trim();
  if (!target || target.includes(' ')) return;
  addAlias(table, normalizeAlias(pattern), normalizeName(target));
}

/** True for a pattern like 'x[:;]y', whose ':' is a class member, not a literal. */
function colonOnlyInBrackets(pattern: string): boolean {
  if (!pattern.includes('[')) return false;
  return !pattern.replace(/\[[^\]]*\]/g, '').includes(':');
}

/** modules.builtin.modinfo: NUL-separated 'module.key=value'; the alias= keys name built-in aliases. */
function parseBuiltinModinfo(text: string): AliasTable {
  const table = newAliasTable();
  for (const rec of text.split('\0')) {
    const m = /^([^.=]+)\.alias=(.+)$/.exec(rec);
    if (m) addAlias(table, normalizeAlias(m[2]), normalizeName(m[1]));
  }
  return table;
}

function newAliasTable(): AliasTable {
  return { exact: new Map(), buckets: new Map(), prefix: [], pattern: [], target: [], re: [] };
}

function addAlias(table: AliasTable, pattern: string, target: string): void {
  const wild = pattern.search(/[*?[\\]/);
  if (wild < 0) {
    const list = table.exact.get(pattern);
    if (list) list.push(target);
    else table.exact.set(pattern, [target]);
    return;
  }
  const id = table.pattern.length;
  table.pattern.push(pattern);
  table.prefix.push(pattern.slice(0, wild));
  table.target.push(target);
  table.re.push(undefined);
  const key = wild >= GLOB_KEY ? pattern.slice(0, GLOB_KEY) : '';
  const bucket = table.buckets.get(key);
  if (bucket) bucket.push(id);
  else table.buckets.set(key, [id]);
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
