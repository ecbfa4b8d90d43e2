import type { CommandModule } from 'yargs';

export const pinModule: CommandModule = {
  command: 'pin <name> <recipe>',
  describe: 'keep the layers of RECIPE\'s last cut through every gc, under NAME',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'pin name' })
      .positional('recipe', { type: 'string', describe: 'recipe, named as it was given to rapido cut' })
      .example('$0 pin known-good fstests-btrfs', 'keep today\'s image layers for bisecting later'),
  handler: async (argv) => {
    const { pinCommand } = await import('../../storeTools/pinCommand.js');
    process.exitCode = await pinCommand({ name: String(argv.name), recipe: String(argv.recipe) });
  },
};

export const unpinModule: CommandModule = {
  command: 'unpin <name>',
  describe: 'drop a pin; its layers go with the next gc unless another root holds them',
  builder: (y) => y.positional('name', { type: 'string', describe: 'pin name (rapido-store pins lists them)' }),
  handler: async (argv) => {
    const { unpinCommand } = await import('../../storeTools/pinCommand.js');
    process.exitCode = await unpinCommand({ name: String(argv.name) });
  },
};

export const pinsModule: CommandModule = {
  command: 'pins',
  describe: 'list pins',
  builder: (y) => y.option('json', { type: 'boolean', describe: 'machine-readable output' }),
  handler: async (argv) => {
    const { pinsCommand } = await import('../../storeTools/pinCommand.js');
    process.exitCode = await pinsCommand({ json: Boolean(argv.json) });
  },
};
