import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { loadConfig, type RapidoConfig } from '../config/loadConfig.js';
import { findRecipe, listRecipeFiles, recipeAliases } from '../derivations/recipe/findRecipe.js';
import { recipeKeys } from '../derivations/recipe/recipeKeys.js';

function description(path: string): string {
  try {
    const line = readFileSync(path, 'utf8').split('\n').find((l) => /^\s*description(\s|$)/.test(l));
    return line ? line.trim().slice('description'.length).trim() : '';
  } catch {
    return ''; // unreadable: list it without a description
  }
}

/**
 * `rapido list`: recipe names and their one-line descriptions (read without
 * expanding variables, so unset ones don't matter here), each with the
 * alias that finds it too (`fstests_btrfs` for `fstests-btrfs`) unless
 * another recipe has that name.
 */
export function listCommand(): void {
  const recipes = listRecipeFiles(loadConfig());
  const names = new Set(recipes.map((r) => r.name));
  const label = (name: string) => {
    const aliases = recipeAliases(name).filter((a) => !names.has(a));
    return aliases.length ? `${name} (${aliases.join(', ')})` : name;
  };
  const width = Math.max(0, ...recipes.map((r) => label(r.name).length));
  for (const r of recipes) process.stdout.write(`${label(r.name).padEnd(width)}  ${description(r.path)}\n`);
}

/** `rapido list --verbose NAME`: the recipe, and every rapido.conf key it reads with its default, what it is for, and whether it is set. */
export function listRecipeCommand(name: string, conf: RapidoConfig = loadConfig()): void {
  const path = findRecipe(name, conf);
  const w = (s: string) => process.stdout.write(s + '\n');
  w(`${name}: ${description(path) || '(no description)'}`);
  w(`  manifest: ${path}`);
  const keys = recipeKeys(path);
  if (!keys.length) {
    w('  reads no rapido.conf key');
    return;
  }
  w('  rapido.conf keys:');
  const width = Math.max(...keys.map((k) => k.name.length));
  for (const k of keys) {
    const set = conf.get(k.name);
    const dflt = k.how === 'require' ? 'required, no default' : k.default !== undefined ? `default ${k.how === 'secret' ? '(a secret: not shown)' : JSON.stringify(k.default)}` : k.how === 'ref' ? 'required (used in a directive)' : 'required, no default';
    const now = set === undefined ? 'unset' : k.how === 'secret' ? 'set (secret: not shown)' : `set: ${JSON.stringify(set)}`;
    w(`    ${k.name.padEnd(width)}  ${dflt}; ${now}${k.how === 'secret' ? '; secret (never recorded or shown)' : ''}`);
    if (k.doc) w(`    ${' '.repeat(width)}  ${k.doc}`);
  }
}

export const listModule: CommandModule = {
  command: 'list [name]',
  describe: 'list the recipes with their descriptions; with NAME (and --verbose), the rapido.conf keys that recipe reads, with their defaults',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'a recipe: show the rapido.conf keys it reads' })
      .option('verbose', { type: 'boolean', alias: 'v', describe: 'with NAME: each key\'s default and purpose (the default with NAME)' }),
  handler: async (argv) => {
    if (argv.name) listRecipeCommand(argv.name as string);
    else listCommand();
  },
};
