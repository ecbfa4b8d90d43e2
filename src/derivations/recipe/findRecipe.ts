import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../packageRoot.js';
import { RapidoError } from '../../errors.js';
import type { RapidoConfig } from '../../config/loadConfig.js';

export const RECIPE_SUFFIX = '.rapido';

/** The recipes shipped with rapido: <package root>/recipes. */
function builtinRecipesDir(): string {
  const root = packageRoot();
  if (root) return join(root, 'recipes');
  throw new RapidoError('INSTALL_BROKEN', 'cannot find rapido\'s recipes directory', { hint: 'reinstall rapido' });
}

/** Recipe dirs searched in order: RAPIDO_RECIPES (colon-separated), ./recipes, the shipped ones. */
function recipeDirs(conf: RapidoConfig): string[] {
  const dirs: string[] = [];
  const extra = conf.get('RAPIDO_RECIPES');
  if (extra) for (const d of extra.split(':')) if (d) dirs.push(resolve(conf.baseDir, d));
  dirs.push(resolve(process.cwd(), 'recipes'));
  dirs.push(builtinRecipesDir());
  return [...new Set(dirs)];
}

/** A recipe name: a file name without its suffix, never a path (no `/`, no `..`, no leading dot). */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/**
 * NAME is a recipe name, resolved only to `NAME.rapido` inside the recipe
 * directories, or an explicit path (it has a `/`, or ends in `.rapido`) to a
 * `.rapido` file. Anything else is refused before any file is read, so a
 * name like `../../etc/passwd` never gets a file parsed (and its content
 * echoed in a syntax error).
 */
export function findRecipe(name: string, conf: RapidoConfig): string {
  if (name.includes('/') || name.endsWith(RECIPE_SUFFIX)) {
    if (name.endsWith(RECIPE_SUFFIX)) {
      const p = resolve(name);
      if (isFile(p)) return p;
      if (name.includes('/')) {
        throw new RapidoError('RECIPE_NOT_FOUND', `no recipe file ${name}`, {
          hint: existsSync(p) ? 'it exists but is not a regular file' : 'check the path; rapido list shows the recipes by name',
        });
      }
    } else {
      throw new RapidoError('RECIPE_BAD_NAME', `'${name}' is not a recipe: a path must name a ${RECIPE_SUFFIX} file`, {
        hint: `give a recipe name (rapido list shows them) or a path to a NAME${RECIPE_SUFFIX} file`,
      });
    }
  }
  const bare = name.endsWith(RECIPE_SUFFIX) ? name.slice(0, -RECIPE_SUFFIX.length) : name;
  if (!NAME_RE.test(bare) || bare.includes('..')) {
    throw new RapidoError('RECIPE_BAD_NAME', `${JSON.stringify(name)} is not a recipe name`, {
      hint: `a recipe name is the file name of a NAME${RECIPE_SUFFIX} in a recipe directory (rapido list shows them)`,
    });
  }
  const dirs = recipeDirs(conf);
  // The name as written first, in every directory; then its aliases (Rapido's `fstests_btrfs` is our `fstests-btrfs`).
  for (const n of [bare, ...recipeAliases(bare)]) {
    for (const d of dirs) {
      const p = join(d, n + RECIPE_SUFFIX);
      if (isFile(p)) return p;
    }
  }
  const known = listRecipeFiles(conf).map((r) => r.name);
  throw new RapidoError('RECIPE_NOT_FOUND', `no recipe named '${name}'`, {
    hint: known.length ? `known recipes: ${known.join(', ')} (rapido list)` : 'no recipes found; see README',
  });
}

/**
 * Other spellings of a recipe name: `_` and `-` swapped, so Rapido's
 * recipe names (`fstests_btrfs`, `lio_local`) find ours (`fstests-btrfs`)
 * and the other way round.
 */
export function recipeAliases(name: string): string[] {
  const out = new Set([name.replaceAll('_', '-'), name.replaceAll('-', '_')]);
  out.delete(name);
  return [...out];
}

function isFile(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false; // no exception for the common miss: this is on the warm path
  } catch {
    return false; // ENOTDIR, EACCES
  }
}

/** Each recipe directory that can be read, in search order, with its file names sorted. */
export function recipeDirFiles(conf: RapidoConfig): { dir: string; files: string[] }[] {
  const out: { dir: string; files: string[] }[] = [];
  for (const dir of recipeDirs(conf)) {
    try {
      out.push({ dir, files: readdirSync(dir).sort() });
    } catch {
      /* a configured directory that does not exist (yet) holds no recipes */
    }
  }
  return out;
}

export function listRecipeFiles(conf: RapidoConfig): { name: string; path: string }[] {
  const seen = new Map<string, string>();
  for (const { dir: d, files } of recipeDirFiles(conf)) {
    for (const f of files) {
      if (!f.endsWith(RECIPE_SUFFIX)) continue;
      const name = f.slice(0, -RECIPE_SUFFIX.length);
      if (!seen.has(name)) seen.set(name, join(d, f));
    }
  }
  return [...seen].map(([name, path]) => ({ name, path })).sort((a, b) => (a.name < b.name ? -1 : 1));
}
