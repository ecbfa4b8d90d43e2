import type { CommandModule } from 'yargs';
import { ignoreEpipe } from './ignoreEpipe.js';
import { reportError } from './reportError.js';
import { EXIT } from '../exitCodes.js';

// One file per command under src/commands/store/, each exporting its yargs
// definitions and body. Listed here in help order; only the named command's
// file is loaded (the others' dependencies, LMDB among them, stay unloaded),
// all of them for the top-level help or an unknown command.
const COMMANDS: [names: string[], load: () => Promise<{ commands: CommandModule[] }>][] = [
  [['ls'], () => import('../commands/store/ls.js')],
  [['info'], () => import('../commands/store/info.js')],
  [['why'], () => import('../commands/store/why.js')],
  [['gc'], () => import('../commands/store/gc.js')],
  [['pin', 'unpin', 'pins'], () => import('../commands/store/pin.js')],
  [['verify'], () => import('../commands/store/verify.js')],
  [['audit'], () => import('../commands/store/audit.js')],
  [['export'], () => import('../commands/store/export.js')],
  [['import'], () => import('../commands/store/import.js')],
  [['keygen'], () => import('../commands/store/keygen.js')],
  [['trust', 'untrust'], () => import('../commands/store/trust.js')],
  [['push'], () => import('../commands/store/push.js')],
  [['substituters', 'ping'], () => import('../commands/store/substituters.js')],
];

async function main(argv: string[]): Promise<void> {
  const named = COMMANDS.filter(([names]) => names.includes(argv[0] ?? ''));
  const [{ default: yargs }, { RapidoError }, ...files] = await Promise.all([
    import('yargs'),
    import('../errors.js'),
    ...(named.length ? named : COMMANDS).map(([, load]) => load()),
  ]);
  const y = yargs(argv);
  await y
    .scriptName('rapido-store')
    .usage(
      '$0 <command> [options]\n\n' +
        "Inspect and maintain rapido's content-addressed layer store ($RAPIDO_STORE, default ~/.cache/rapido/store):\n" +
        'find out why a layer is rebuilt, keep the store small, check it, and share layers between machines.',
    )
    .command(files.flatMap((f) => f.commands))
    .demandCommand(1, 'say what to do: rapido-store ls, rapido-store gc, rapido-store verify, ... (--help lists them)')
    .strict()
    .example('$0 why fstests-btrfs', 'which layers the next cut rebuilds, and which input changed')
    .example('$0 gc --dry-run', 'what garbage collection would remove, and what roots keep')
    .example('$0 verify --repair', 'find and drop damaged objects; the next cut rebuilds them')
    .example('$0 export -o - --sign me.key fstests-btrfs | ssh box rapido-store import -', 'share built layers')
    .epilogue('Every command takes --help. The store layout is described in store-layout.md.')
    .fail((msg, err) => {
      // Thrown, not printed: yargs would otherwise go on to run the handler. yargs' own parse
      // errors (YError: "Not enough arguments following: grace") are usage errors too.
      if (err && err.name !== 'YError') throw err;
      throw new RapidoError('USAGE', msg ?? err?.message, { hint: 'rapido-store --help lists commands; rapido-store COMMAND --help its options', exitCode: EXIT.USAGE });
    })
    .help()
    .wrap(Math.min(120, process.stdout.columns || 110))
    .parseAsync();
}

ignoreEpipe();

main(process.argv.slice(2)).catch((e) => reportError(e, 'rapido-store'));
