import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { closestKey, KNOWN_CONF_KEYS } from '../config/knownKeys.js';
import type { RapidoConfig } from '../config/loadConfig.js';
import { RECIPE_SUFFIX } from '../derivations/recipe/findRecipe.js';
import { recipeVarNames } from '../derivations/recipe/recipeVars.js';

interface UnknownKey {
  key: string;
  line: number;
  suggestion?: string;
}

/**
 * Keys rapido.conf sets that nothing reads: not a rapido or Rapido setting,
 * not expanded by another value, not used by any recipe in the search path
 * (nor by `recipeName` when it is a path). The common case (every key
 * known) costs a Set lookup per key; only an unknown one makes us read the
 * recipes.
 */
function unknownConfKeys(conf: RapidoConfig, recipeName: string): UnknownKey[] {
  const src = conf.source;
  if (!src || allKnown(src.lines.keys(), src.refs)) return [];
  const candidates = [...src.lines].filter(([k]) => !KNOWN_CONF_KEYS.has(k) && !src.refs.has(k));
  const explicit = recipeName.endsWith(RECIPE_SUFFIX) && existsSync(resolve(recipeName)) ? [resolve(recipeName)] : [];
  const used = recipeVarNames(conf, explicit);
  const known = new Set([...KNOWN_CONF_KEYS, ...used]);
  return candidates
    .filter(([k]) => !used.has(k))
    .map(([key, line]) => ({ key, line, suggestion: closestKey(key, known) }));
}

function allKnown(keys: Iterable<string>, refs: Set<string>): boolean {
  for (const k of keys) if (!KNOWN_CONF_KEYS.has(k) && !refs.has(k)) return false;
  return true;
}

// fast.cjs and cut.cjs are separate bundles in one process, and the cut bundle may run the check again: warn once per process.
const WARNED = Symbol.for('rapido.confKeysWarned');

/** `rapido: rapido.conf:3: unknown key KERNEL_REALEASE (did you mean KERNEL_RELEASE?)`, once per cut, on stderr. */
export function warnUnknownConfKeys(conf: RapidoConfig, recipeName: string): void {
  if (!conf.source || allKnown(conf.source.lines.keys(), conf.source.refs)) return; // the warm path: a loop of Set lookups
  const g = globalThis as { [WARNED]?: boolean };
  if (g[WARNED]) return;
  g[WARNED] = true;
  const unknown = unknownConfKeys(conf, recipeName);
  if (unknown.length === 0) return;
  const file = relative(process.cwd(), conf.path!) || conf.path!;
  for (const u of unknown) {
    const why = u.suggestion ? `did you mean ${u.suggestion}?` : 'no rapido setting or recipe in the search path uses it';
    process.stderr.write(`rapido: ${file}:${u.line}: unknown key ${u.key} (${why})\n`);
  }
}
