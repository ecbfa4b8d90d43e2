import type { CommandModule } from 'yargs';

export const infoModule: CommandModule = {
  command: 'info [target]',
  describe: 'what a layer was built from (builder, directives, kernel, config values, input files) and which roots hold it',
  builder: (y) =>
    y
      .positional('target', { type: 'string', describe: 'layer key (or a unique prefix), recipe (its last cut) or pin:NAME; none: the store' })
      .option('keep-last', { type: 'number', default: 3, describe: 'as for gc: how many recent cuts of each recipe count as roots' })
      .option('json', { type: 'boolean', describe: 'everything, including every input file and the full derivation' })
      .example('$0 info simple-example', 'each layer of its last cut')
      .example('$0 info 3f2a --json | jq .record.derivation', 'one layer by key prefix'),
  handler: async (argv) => {
    const { infoCommand } = await import('../../storeTools/infoCommand.js');
    process.exitCode = await infoCommand({ target: argv.target as string | undefined, json: Boolean(argv.json), keepLast: argv['keep-last'] as number });
  },
};
