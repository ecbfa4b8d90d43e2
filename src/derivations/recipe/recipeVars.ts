import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { RapidoConfig } from '../../config/loadConfig.js';
import { RECIPE_SUFFIX, recipeDirFiles } from './findRecipe.js';

const INCLUDE_SUFFIX = '.inc';
const REF_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Every variable name the recipes in the search path (and `extra`, e.g. a
 * recipe named by path, with what it includes) read from rapido.conf:
 * `${VAR}`/`$VAR` anywhere, `require VAR...`, `env VAR`. A text scan, not a
 * parse: a recipe with an error still tells which names it uses.
 */
export function recipeVarNames(conf: RapidoConfig, extra: string[] = []): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const scan = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      for (const m of line.matchAll(REF_RE)) names.add(m[1] ?? m[2]);
      const [word, ...args] = line.split(/\s+/);
      if (word === 'require') for (const a of args) names.add(a);
      else if ((word === 'env' || word === 'secret') && args[0]) names.add(args[0]);
      else if (word === 'include') for (const a of args) if (!a.includes('$')) scan(isAbsolute(a) ? a : resolve(dirname(file), a));
    }
  };
  for (const { dir: d, files } of recipeDirFiles(conf)) {
    for (const f of files) if (f.endsWith(RECIPE_SUFFIX) || f.endsWith(INCLUDE_SUFFIX)) scan(join(d, f));
  }
  for (const f of extra) scan(f);
  return names;
}
