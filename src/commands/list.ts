import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/loadConfig.js';
import { listRecipeFiles } from '../derivations/recipe/findRecipe.js';

/** `rapido list`: recipe names and their one-line descriptions (read without expanding variables, so unset ones don't matter here). */
export function listCommand(): void {
  const recipes = listRecipeFiles(loadConfig());
  const width = Math.max(0, ...recipes.map((r) => r.name.length));
  for (const r of recipes) {
    let desc = '';
    try {
      const line = readFileSync(r.path, 'utf8').split('\n').find((l) => /^\s*description(\s|$)/.test(l));
      desc = line ? line.trim().slice('description'.length).trim() : '';
    } catch { /* unreadable: list it without a description */ }
    process.stdout.write(`${r.name.padEnd(width)}  ${desc}\n`);
  }
}

export const listModule: CommandModule = {
  command: 'list',
  describe: 'list the recipes with their descriptions',
  handler: async () => {
    listCommand();
  },
};
