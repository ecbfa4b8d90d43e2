import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RapidoError } from '../../errors.js';
import type { RapidoConfig } from '../../config/loadConfig.js';

export const RECIPE_SUFFIX = '.rapido';

/** The recipes shipped with rapido: <package root>/recipes. */
export function builtinRecipesDir(): string {
  // This file is at <root>/dist/src/derivations/recipe/ when built.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'recipes');
    dir = dirname(dir);
  }
  throw new RapidoError('INSTALL_BROKEN', 'cannot find rapido\'s recipes directory', { hint: 'reinstall rapido' });
}

/** Recipe dirs searched in order: RAPIDO_RECIPES (colon-separated), ./recipes, the shipped ones. */
export function recipeDirs(conf: RapidoConfig): string[] {
  const dirs: string[] = [];
  const extra = conf.get('RAPIDO_RECIPES');
  if (extra) for (const d of extra.split(':')) if (d) dirs.push(resolve(conf.baseDir, d));
  dirs.push(resolve(process.cwd(), 'recipes'));
  dirs.push(builtinRecipesDir());
  return [...new Set(dirs)];
}

/** NAME is a recipe name, or a path to a manifest file. */
export function findRecipe(name: string, conf: RapidoConfig): string {
  if (name.includes('/') || name.endsWith(RECIPE_SUFFIX)) {
    const p = resolve(name);
    if (existsSync(p)) return p;
  }
  for (const d of recipeDirs(conf)) {
    const p = join(d, name + RECIPE_SUFFIX);
    if (existsSync(p)) return p;
  }
  const known = listRecipeFiles(conf).map((r) => r.name);
  throw new RapidoError('RECIPE_NOT_FOUND', `no recipe named '${name}'`, {
    hint: known.length ? `known recipes: ${known.join(', ')} (rapido list)` : 'no recipes found; see README',
  });
}

export function listRecipeFiles(conf: RapidoConfig): { name: string; path: string }[] {
  const seen = new Map<string, string>();
  for (const d of recipeDirs(conf)) {
    let files: string[] = [];
    try {
      files = readdirSync(d);
    } catch {
      continue;
    }
    for (const f of files.sort()) {
      if (!f.endsWith(RECIPE_SUFFIX)) continue;
      const name = f.slice(0, -RECIPE_SUFFIX.length);
      if (!seen.has(name)) seen.set(name, join(d, f));
    }
  }
  return [...seen].map(([name, path]) => ({ name, path })).sort((a, b) => (a.name < b.name ? -1 : 1));
}
