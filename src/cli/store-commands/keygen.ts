import type { CommandModule } from 'yargs';

export const keygenModule: CommandModule = {
  command: 'keygen <name>',
  describe: 'create an Ed25519 key pair for signing exports: NAME.key (secret, 0600) and NAME.pub',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'key name, carried in signatures (e.g. the host name)' })
      .option('dir', { type: 'string', default: '.', describe: 'where to write the two files' })
      .example('$0 keygen buildbox --dir ~/.config/rapido', 'then: rapido-store export --sign ~/.config/rapido/buildbox.key ...'),
  handler: async (argv) => {
    const { keygenCommand } = await import('../../storeTools/keygenCommand.js');
    process.exitCode = await keygenCommand({ name: String(argv.name), dir: argv.dir as string });
  },
};
