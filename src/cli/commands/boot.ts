import type { CommandModule } from 'yargs';
import { bootOptionsFrom, withBootOptions } from '../bootOptions.js';

export const bootModule: CommandModule = {
  command: 'boot [options]',
  describe: 'boot the last cut image (DRACUT_OUT) again; a second boot while one runs gets VM number 2',
  builder: (y) => withBootOptions(y),
  handler: async (argv) => {
    const { bootCommand } = await import('../../cut/bootCommand.js');
    process.exitCode = await bootCommand(bootOptionsFrom(argv));
  },
};
