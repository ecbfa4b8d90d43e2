import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/loadConfig.js';
import { RapidoError } from '../../errors.js';
import { lastCut } from '../../store/cutHistory.js';
import type { Store } from '../../store/openStore.js';
import { listPins, putPin, removePin } from '../../store/pins.js';
import { ago, plural } from '../../format.js';
import { withStore } from './withStore.js';

/** Recipes with cut history, for hints. */
function knownRecipes(store: Store): string[] {
  const names = new Set<string>();
  for (const { value } of store.db.cuts.getRange()) names.add(value.recipe);
  return [...names].sort();
}

/** `rapido-store pin NAME RECIPE`: the layers of RECIPE's last cut stay until unpinned. */
export async function pinCommand(a: { name: string; recipe: string }): Promise<number> {
  return withStore(loadConfig(), { cleanTmp: true }, (store) => {
    const cut = a.recipe.includes('\0') ? undefined : lastCut(store, a.recipe);
    if (!cut) {
      const known = knownRecipes(store);
      throw new RapidoError('PIN_NO_CUT', `recipe ${JSON.stringify(a.recipe)} has no cut in this store`, {
        hint: known.length ? `cut it first, or pin one of: ${known.join(', ')} (named as given to rapido cut)` : 'cut it first: rapido cut -B RECIPE',
      });
    }
    const replaced = putPin(store, { name: a.name, at: Date.now(), recipe: cut.recipe, cutAt: cut.at, layers: cut.layers.map((l) => ({ name: l.name, key: l.key })) });
    process.stdout.write(
      `${replaced ? 'updated' : 'pinned'} ${a.name}: ${plural(cut.layers.length, 'layer')} of the last cut of ${cut.recipe} (${ago(Date.now() - cut.at)} ago); gc keeps them until rapido-store unpin ${a.name}\n`,
    );
    return 0;
  });
}

export async function unpinCommand(a: { name: string }): Promise<number> {
  return withStore(loadConfig(), { cleanTmp: true }, (store) => {
    const old = removePin(store, a.name);
    if (!old) {
      const known = listPins(store).map((p) => p.name);
      throw new RapidoError('PIN_UNKNOWN', `no pin named ${JSON.stringify(a.name)}`, { hint: known.length ? `pins: ${known.join(', ')}` : 'there are no pins' });
    }
    process.stdout.write(`unpinned ${a.name}: its ${plural(old.layers.length, 'layer')} go with the next gc unless another root holds them\n`);
    return 0;
  });
}

export async function pinsCommand(a: { json: boolean }): Promise<number> {
  return withStore(loadConfig(), { readOnly: true }, (store) => {
    const pins = listPins(store);
    if (a.json) {
      process.stdout.write(JSON.stringify(pins, null, 2) + '\n');
      return 0;
    }
    const now = Date.now();
    for (const p of pins) {
      const from = p.recipe ? `last cut of ${p.recipe} (${ago(now - (p.cutAt ?? p.at))} ago)` : (p.source ?? '');
      process.stdout.write(`${p.name.padEnd(20)} ${plural(p.layers.length, 'layer').padEnd(10)} pinned ${ago(now - p.at)} ago from ${from}\n`);
    }
    process.stdout.write(`${plural(pins.length, 'pin')}\n`);
    return 0;
  });
}


export const commands: CommandModule[] = [
  {
    command: 'pin <name> <recipe>',
    describe: 'keep the layers of RECIPE\'s last cut through every gc, under NAME',
    builder: (y) =>
      y
        .positional('name', { type: 'string', describe: 'pin name' })
        .positional('recipe', { type: 'string', describe: 'recipe, named as it was given to rapido cut' })
        .example('$0 pin known-good fstests-btrfs', 'keep today\'s image layers for bisecting later'),
    handler: async (argv) => {
      process.exitCode = await pinCommand({ name: String(argv.name), recipe: String(argv.recipe) });
    },
  },
  {
    command: 'unpin <name>',
    describe: 'drop a pin; its layers go with the next gc unless another root holds them',
    builder: (y) => y.positional('name', { type: 'string', describe: 'pin name (rapido-store pins lists them)' }),
    handler: async (argv) => {
      process.exitCode = await unpinCommand({ name: String(argv.name) });
    },
  },
  {
    command: 'pins',
    describe: 'list pins',
    builder: (y) => y.option('json', { type: 'boolean', describe: 'machine-readable output' }),
    handler: async (argv) => {
      process.exitCode = await pinsCommand({ json: Boolean(argv.json) });
    },
  },
];
