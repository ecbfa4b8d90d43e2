import type { CommandModule } from 'yargs';

export const exportModule: CommandModule = {
  command: 'export [targets..]',
  describe: 'write layers (objects, records, a checksummed manifest) to a tar archive, optionally signed',
  builder: (y) =>
    y
      .positional('targets', { type: 'string', array: true, describe: 'layer keys, recipes (their last cut) or pin:NAME; none: every root' })
      .option('o', { alias: 'output', type: 'string', demandOption: true, requiresArg: true, describe: 'archive file, or - for stdout' })
      .option('sign', { type: 'string', requiresArg: true, describe: 'sign the manifest with this secret key file (rapido-store keygen)' })
      .example('$0 export -o layers.tar --sign me.key', 'every root\'s layers, signed')
      .example('$0 export -o - --sign me.key fstests-btrfs | ssh box rapido-store import -', 'copy a recipe\'s layers to another machine')
      .example('$0 export -o one.tar 3f2a9c0d1e2b4a5c', 'one layer by key'),
  handler: async (argv) => {
    const { exportCommand } = await import('../../storeTools/exportCommand.js');
    process.exitCode = await exportCommand({ output: argv.o as string, sign: argv.sign as string | undefined, targets: ((argv.targets as string[] | undefined) ?? []).map(String) });
  },
};
