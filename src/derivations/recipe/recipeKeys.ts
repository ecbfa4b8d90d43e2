import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { splitRecipeWords } from '../../config/shellSplit.js';

/** A rapido.conf key a recipe reads, for `rapido list --verbose NAME`. */
export interface RecipeKey {
  name: string;
  /** env/secret: passed to the guest; require: must be set; ref: `${VAR}` in a directive. */
  how: 'env' | 'secret' | 'require' | 'ref';
  default?: string;
  /** The `#` comment lines right above its first mention (or above the env/secret line that sets its default). */
  doc?: string;
  where: string;
}

const REF_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Every key the manifest at PATH (and what it includes) reads, first mention first; a text scan, so unset keys do not matter. */
export function recipeKeys(path: string): RecipeKey[] {
  const keys = new Map<string, RecipeKey>();
  const seen = new Set<string>();
  const add = (k: RecipeKey) => {
    const had = keys.get(k.name);
    // env/secret say more (a default, whether it is secret) than a bare reference; a later
    // env/secret (a recipe overriding what it includes) sets the default the cut uses.
    const declares = (how: RecipeKey['how']) => how === 'env' || how === 'secret';
    if (!had || (had.how === 'ref' && k.how !== 'ref') || (declares(had.how) && declares(k.how))) {
      keys.set(k.name, { ...k, doc: k.doc ?? had?.doc });
    }
  };
  const scan = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    let doc: string[] = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line.startsWith('#')) {
        doc.push(line.replace(/^#+\s?/, ''));
        return;
      }
      const comment = doc.length ? doc.join(' ') : undefined;
      doc = [];
      if (line === '') return;
      const where = `${basename(file)}:${i + 1}`;
      const [word, ...rest] = line.split(/\s+/);
      if (word === 'env' || word === 'secret') {
        let args: string[];
        try {
          args = splitRecipeWords(line.slice(word.length).trim(), where);
        } catch {
          args = rest;
        }
        if (args[0]) add({ name: args[0], how: word, default: args[1], doc: comment, where });
      } else if (word === 'require') {
        for (const a of rest) add({ name: a, how: 'require', doc: comment, where });
      } else if (word === 'include') {
        for (const a of rest) if (!a.includes('$')) scan(isAbsolute(a) ? a : resolve(dirname(file), a));
      }
      for (const m of line.matchAll(REF_RE)) add({ name: m[1] ?? m[2], how: 'ref', doc: comment, where });
    });
  };
  scan(path);
  return [...keys.values()];
}
