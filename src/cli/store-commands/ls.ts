import type { CommandModule } from 'yargs';

export const lsModule: CommandModule = {
  command: 'ls',
  describe: 'list the layers in the store with size, age and last use',
  builder: (y) => y.option('json', { type: 'boolean', describe: 'machine-readable output' }),
  handler: async (argv) => {
    const { lsCommand } = await import('../../storeTools/lsCommand.js');
    await lsCommand({ json: Boolean(argv.json) });
  },
};
