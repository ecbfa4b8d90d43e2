import type { CommandModule } from 'yargs';

export const importModule: CommandModule = {
  command: 'import <file>',
  describe: 'import an archive from rapido-store export: all or nothing, signature and every digest checked first',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'archive file, or - for stdin' })
      .option('verify-signature', { type: 'boolean', default: true, describe: 'require a signature by a trusted key (--no-verify-signature to skip)' })
      .option('pin', { type: 'string', requiresArg: true, describe: 'pin the imported layers under NAME, so gc keeps them until a cut uses them' })
      .option('json', { type: 'boolean', describe: 'machine-readable report' })
      .example('$0 trust builder.pub && $0 import layers.tar', 'accept archives signed by builder\'s key')
      .example('ssh box rapido-store export -o - --sign box.key | $0 import - --pin from-box', 'copy over ssh and keep them')
      .epilogue('Imported layers are used by rapido cut when their keys match, i.e. for the same inputs; a machine with\n' +
        'different host binaries computes other keys and builds its own.'),
  handler: async (argv) => {
    const { importCommand } = await import('../../storeTools/importCommand.js');
    // yargs turns a lone "-" positional into "" (or true): take it from the raw arguments.
    const file = (argv.file === '' || argv.file === true) && process.argv.slice(2).includes('-') ? '-' : String(argv.file ?? '');
    process.exitCode = await importCommand({ file, verifySignature: argv['verify-signature'] !== false, pin: argv.pin as string | undefined, json: Boolean(argv.json) });
  },
};
