import type { CommandModule } from 'yargs';
import { orderedPostSteps } from '../commands/cut.js';

export const auditModule: CommandModule = {
  command: 'audit <recipe>',
  describe: 'rebuild each layer from scratch, ignoring the store, and compare with the stored object (exit 1 on any difference)',
  builder: (y) =>
    y
      .positional('recipe', { type: 'string', describe: 'recipe name or manifest path, as for rapido cut' })
      .option('layer', { type: 'string', requiresArg: true, describe: 'only this layer (system, overlay, kmods, tree:/PATH, dracut)' })
      .option('keep', { type: 'boolean', describe: 'keep the rebuilt layers and print where' })
      .option('x', { type: 'string', describe: 'as for rapido cut: the -x steps the cut had (they are part of the overlay)' })
      .option('f', { type: 'string', describe: 'as for rapido cut: the -f files the cut had' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' })
      .example('$0 audit simple-example', 'every layer: reproducible, or which cpio entries differ and how')
      .example('$0 audit fstests-btrfs --layer dracut --keep', 'rebuild only the dracut layer and keep it for diffoscope'),
  handler: async (argv) => {
    const { auditCommand } = await import('../../storeTools/auditCommand.js');
    process.exitCode = await auditCommand({
      recipe: argv.recipe as string,
      layer: argv.layer as string | undefined,
      keep: Boolean(argv.keep),
      json: Boolean(argv.json),
      post: orderedPostSteps(process.argv.slice(2)),
    });
  },
};
