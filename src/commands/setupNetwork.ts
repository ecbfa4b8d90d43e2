// `rapido setup-network`: its yargs definition and body; the work is in
// network/hostBridge.ts, loaded only when it runs.
import type { CommandModule } from 'yargs';
import { loadConfig, netConfPath } from '../config/loadConfig.js';

const say = (line: string) => process.stdout.write(`rapido: ${line}\n`);

export const setupNetworkModule: CommandModule = {
  command: 'setup-network [options]',
  describe: 'as root: create the bridge BR_DEV and a tap per net-conf vmN/<tap>.network (idempotent)',
  builder: (y) =>
    y
      .option('o', { type: 'string', requiresArg: true, describe: 'tap owner, the user who boots the VMs (default: TAP_USER, else $SUDO_USER)' })
      .option('b', { type: 'string', requiresArg: true, describe: 'bridge name (default: BR_DEV)' })
      .option('a', { type: 'string', requiresArg: true, describe: 'bridge address ADDR/PREFIX (default: BR_ADDR)' })
      .example('sudo $0 setup-network -o $USER -b br0 -a 192.168.155.1/24', 'bridge br0 and the taps net-conf names'),
  handler: async (argv) => {
    const { requireRoot, setupNetwork } = await import('../network/hostBridge.js');
    requireRoot('setup-network', process.argv.slice(3));
    const conf = loadConfig();
    setupNetwork({
      bridge: (argv.b as string | undefined) || conf.get('BR_DEV'),
      address: (argv.a as string | undefined) || conf.get('BR_ADDR'),
      uplink: conf.get('BR_IF') || undefined,
      owner: (argv.o as string | undefined) || conf.get('TAP_USER') || process.env.SUDO_USER,
      netConfDir: netConfPath(conf),
      say,
    });
  },
};
