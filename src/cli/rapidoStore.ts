import { reportError } from './reportError.js';

async function main(argv: string[]): Promise<void> {
  const [{ default: yargs }, { lsModule }, { whyModule }] = await Promise.all([
    import('yargs'),
    import('./store-commands/ls.js'),
    import('./store-commands/why.js'),
  ]);
  const y = yargs(argv);
  await y
    .scriptName('rapido-store')
    .usage('$0 <command> [options]\n\nInspect and maintain rapido\'s content-addressed layer store ($RAPIDO_STORE, default ~/.cache/rapido/store).')
    .command(lsModule)
    .command(whyModule)
    .demandCommand(1, 'say what to do: rapido-store ls, rapido-store why RECIPE')
    .strict()
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`rapido-store: error: ${msg}\n  hint: rapido-store --help lists commands\n`);
      process.exitCode = 2;
    })
    .help()
    .parseAsync();
}

main(process.argv.slice(2)).catch((e) => reportError(e, 'rapido-store'));
