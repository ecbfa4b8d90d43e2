import type { CommandModule } from 'yargs';

export const verifyModule: CommandModule = {
  command: 'verify',
  describe: 're-hash every object against its record; report corrupt, missing and orphaned entries (exit 1 if any)',
  builder: (y) =>
    y
      .option('repair', { type: 'boolean', describe: 'remove corrupt objects with their records, records without objects, and orphan files' })
      .option('grace', { type: 'string', nargs: 1, default: '10m', describe: 'orphans younger than DURATION are only noted (a running cut may still record them)' })
      .option('json', { type: 'boolean', describe: 'machine-readable report' })
      .example('$0 verify', 'check the whole store; exit status 1 on any problem')
      .example('$0 verify --repair', 'and remove what is damaged: the next cut rebuilds those layers')
      .epilogue('Problems are listed by layer key, layer name and the recipes whose cuts used them.'),
  handler: async (argv) => {
    const { verifyCommand } = await import('../../storeTools/verifyCommand.js');
    process.exitCode = await verifyCommand({ repair: Boolean(argv.repair), json: Boolean(argv.json), grace: argv.grace as string });
  },
};
