import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/loadConfig.js';
import { listRecipeFiles, recipeAliases } from '../derivations/recipe/findRecipe.js';

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
  for (const r of recipes) {
    let desc = '';
    try {
      const line = readFileSync(r.path, 'utf8').split('\n').find((l) => /^\s*description(\s|$)/.test(l));
      desc = line ? line.trim().slice('description'.length).trim() : '';
    } catch { /* unreadable: list it without a description */ }
    process.stdout.write(`${label(r.name).padEnd(width)}  ${desc}\n`);
  }
}

export const listModule: CommandModule = {
  command: 'list',
  describe: 'list the recipes with their descriptions',
  handler: async () => {
    listCommand();
  },
};
