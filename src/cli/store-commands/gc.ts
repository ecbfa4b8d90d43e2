import type { CommandModule } from 'yargs';
import { RapidoError } from '../../errors.js';

export const gcModule: CommandModule = {
  command: 'gc',
  describe: 'remove layers that no root holds (existing images, recent cuts, pins)',
  // nargs 1: take the next argument as the value even when it starts with "-", so "--grace -5m"
  // is read as a (bad) duration and refused as such, not as the unknown flags -5 and -m.
  builder: (y) =>
    y
      .option('dry-run', { type: 'boolean', describe: 'print what would be removed; remove nothing' })
      .option('max-size', { type: 'string', nargs: 1, describe: 'remove unrooted layers least recently used first, only until the objects total at most SIZE (20G, 500M)' })
      .option('older-than', { type: 'string', nargs: 1, describe: 'only remove layers last used longer ago than DURATION (7d, 12h)' })
      .option('keep-last', { type: 'number', default: 3, describe: 'the last N cuts of each recipe are roots' })
      .option('grace', { type: 'string', nargs: 1, default: '10m', describe: 'never remove an object written or used less than DURATION ago' })
      .option('wait', { type: 'string', nargs: 1, default: '10m', describe: 'how long to wait for running cuts before giving up (nothing is removed under a cut)' })
      .option('json', { type: 'boolean', describe: 'machine-readable report' })
      .example('$0 gc --dry-run', 'what would go, and which roots keep the rest')
      .example('$0 gc --max-size 20G', 'drop least recently used unrooted layers until the store is under 20 GiB')
      .example('$0 gc --older-than 7d --keep-last 1', 'drop layers unused for a week, keeping only each recipe\'s last cut')
      .epilogue(
        'Roots: every image a cut wrote that still exists (its layers and its spare\'s), the last --keep-last cuts of each\n' +
          'recipe, and pins (rapido-store pin). Everything else goes, orphan files too. gc waits for running cuts and\n' +
          'imports, and they wait for it; a gc killed midway is finished by the next one.',
      ),
  handler: async (argv) => {
    const keepLast = argv['keep-last'] as number;
    if (!Number.isInteger(keepLast) || keepLast < 0) {
      throw new RapidoError('USAGE', `--keep-last must be a whole number >= 0, not ${String(argv['keep-last'])}`, {
        hint: '--keep-last 0 keeps no cut history as roots (images and pins still count)',
        exitCode: 2,
      });
    }
    const { gcCommand } = await import('../../storeTools/gcCommand.js');
    process.exitCode = await gcCommand({
      dryRun: Boolean(argv['dry-run']),
      maxSize: argv['max-size'] as string | undefined,
      olderThan: argv['older-than'] as string | undefined,
      keepLast,
      grace: argv.grace as string,
      wait: argv.wait as string,
      json: Boolean(argv.json),
    });
  },
};
