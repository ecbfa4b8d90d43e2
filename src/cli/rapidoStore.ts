import { ignoreEpipe } from './ignoreEpipe.js';
import { reportError } from './reportError.js';

async function main(argv: string[]): Promise<void> {
  const [{ default: yargs }, { RapidoError }, ls, why, info, gc, verify, pin, exp, imp, keygen, trust, audit] = await Promise.all([
    import('yargs'),
    import('../errors.js'),
    import('./store-commands/ls.js'),
    import('./store-commands/why.js'),
    import('./store-commands/info.js'),
    import('./store-commands/gc.js'),
    import('./store-commands/verify.js'),
    import('./store-commands/pin.js'),
    import('./store-commands/export.js'),
    import('./store-commands/import.js'),
    import('./store-commands/keygen.js'),
    import('./store-commands/trust.js'),
    import('./store-commands/audit.js'),
  ]);
  const y = yargs(argv);
  await y
    .scriptName('rapido-store')
    .usage(
      '$0 <command> [options]\n\n' +
        "Inspect and maintain rapido's content-addressed layer store ($RAPIDO_STORE, default ~/.cache/rapido/store):\n" +
        'find out why a layer is rebuilt, keep the store small, check it, and share layers between machines.',
    )
    .command(ls.lsModule)
    .command(info.infoModule)
    .command(why.whyModule)
    .command(gc.gcModule)
    .command(pin.pinModule)
    .command(pin.unpinModule)
    .command(pin.pinsModule)
    .command(verify.verifyModule)
    .command(audit.auditModule)
    .command(exp.exportModule)
    .command(imp.importModule)
    .command(keygen.keygenModule)
    .command(trust.trustModule)
    .command(trust.untrustModule)
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
      throw new RapidoError('USAGE', msg ?? err?.message, { hint: 'rapido-store --help lists commands; rapido-store COMMAND --help its options', exitCode: 2 });
    })
    .help()
    .wrap(Math.min(120, process.stdout.columns || 110))
    .parseAsync();
}

ignoreEpipe();

main(process.argv.slice(2)).catch((e) => reportError(e, 'rapido-store'));
