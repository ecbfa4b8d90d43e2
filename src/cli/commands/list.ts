import type { CommandModule } from 'yargs';

export const listModule: CommandModule = {
  command: 'list',
  describe: 'list the recipes with their descriptions',
  handler: async () => {
    const { listCommand } = await import('../../cut/listCommand.js');
    listCommand();
  },
};
