// `rapido teardown-network`: its yargs definition and body; the work is in
// network/hostBridge.ts, loaded only when it runs.
import type { CommandModule } from 'yargs';
import { loadConfig, netConfPath } from '../config/loadConfig.js';

const say = (line: string) => process.stdout.write(`rapido: ${line}\n`);

export const teardownNetworkModule: CommandModule = {
  command: 'teardown-network [options]',
  describe: 'as root: remove the taps net-conf names and the bridge BR_DEV (idempotent)',
  builder: (y) => y.option('b', { type: 'string', requiresArg: true, describe: 'bridge name (default: BR_DEV)' }),
  handler: async (argv) => {
    const { requireRoot, teardownNetwork } = await import('../network/hostBridge.js');
    requireRoot('teardown-network', process.argv.slice(3));
    const conf = loadConfig();
    teardownNetwork({ bridge: (argv.b as string | undefined) || conf.get('BR_DEV'), netConfDir: netConfPath(conf), say });
  },
};
