import type { CommandModule } from 'yargs';
import { orderedPostSteps } from '../commands/cut.js';

export const whyModule: CommandModule = {
  command: 'why <recipe>',
  describe: 'per layer: would the next cut reuse it (hit) or rebuild it (miss), and which input changed',
  builder: (y) =>
    y
      .positional('recipe', { type: 'string', describe: 'recipe name or manifest path' })
      .option('x', { type: 'string', describe: 'as for rapido cut: the -x steps the cut would get' })
      .option('f', { type: 'string', describe: 'as for rapido cut: the -f files the cut would get' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' }),
  handler: async (argv) => {
    const { whyCommand } = await import('../../storeTools/whyCommand.js');
    await whyCommand({ name: argv.recipe as string, post: orderedPostSteps(process.argv.slice(2)), json: Boolean(argv.json) });
  },
};
