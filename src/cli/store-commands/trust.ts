import type { CommandModule } from 'yargs';

export const trustModule: CommandModule = {
  command: 'trust [key]',
  describe: 'accept imports signed by this public key (a NAME.pub file or its NAME:BASE64 line); no key: list trusted keys',
  builder: (y) =>
    y
      .positional('key', { type: 'string', describe: 'NAME.pub file, or the key line itself' })
      .option('json', { type: 'boolean', describe: 'machine-readable list' })
      .example('$0 trust buildbox.pub', 'after checking its fingerprint with its owner')
      .epilogue('Trusted keys live in <store>/trusted-keys/NAME.pub.'),
  handler: async (argv) => {
    const { trustCommand } = await import('../../storeTools/trustCommand.js');
    process.exitCode = await trustCommand({ key: argv.key as string | undefined, json: Boolean(argv.json) });
  },
};

export const untrustModule: CommandModule = {
  command: 'untrust <name>',
  describe: 'stop accepting imports signed by key NAME',
  builder: (y) => y.positional('name', { type: 'string', describe: 'key name (rapido-store trust lists them)' }),
  handler: async (argv) => {
    const { untrustCommand } = await import('../../storeTools/trustCommand.js');
    process.exitCode = await untrustCommand({ name: String(argv.name) });
  },
};
