import yargs from 'yargs';
import { RapidoError } from '../errors.js';
import { bareGdbFlag } from '../commands/bootOptions.js';
import { cutModule } from '../commands/cut.js';
import { bootModule } from '../commands/boot.js';
import { listModule } from '../commands/list.js';
import { setupNetworkModule } from '../commands/setupNetwork.js';
import { teardownNetworkModule } from '../commands/teardownNetwork.js';
import { sshModule } from '../commands/ssh.js';
import { EXIT } from '../exitCodes.js';

export async function runYargs(argv: string[]): Promise<void> {
  const y = yargs(bareGdbFlag(argv));
  await y
    .scriptName('rapido')
    .usage('$0 <command> [options]\n\nCut an initramfs for a recipe from cached layers, and boot it in QEMU with your kernel.')
    .command(cutModule)
    .command(bootModule)
    .command(listModule)
    .command(setupNetworkModule)
    .command(teardownNetworkModule)
    .command(sshModule)
    .command('help', 'show this help', {}, () => {
      y.showHelp('log');
    })
    .demandCommand(1, 'say what to do: rapido cut NAME, rapido boot, rapido list')
    .strict()
    .epilogue(
      'Configuration comes from ./rapido.conf (or $RAPIDO_CONF): KERNEL_SRC, KERNEL_RELEASE, KERNEL_INSTALL_MOD_PATH,\n' +
        'DRACUT_EXTRA_ARGS, DRACUT_OUT, RAPIDO_STORE, QEMU_EXTRA_ARGS, VM_NET_CONF, BR_DEV, ... Layers are cached in the store; see rapido-store --help.',
    )
    .fail((msg, err) => {
      // Thrown, not printed: yargs would otherwise go on to run the handler. yargs' own parse
      // errors (YError: "Not enough arguments following: x") are usage errors too.
      if (err && err.name !== 'YError') throw err;
      throw new RapidoError('USAGE', msg ?? err?.message, { hint: 'rapido --help lists commands and options', exitCode: EXIT.USAGE });
    })
    .help()
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .parseAsync();
}
