// `rapido cut`: its yargs definition and its body. The warm path (`rapido cut
// [-B] [-x CMD] [-f FILE] NAME`) reaches cutCommand without yargs: see
// cli/rapido.ts and bin/rapido.js.
import type { CommandModule } from 'yargs';
import type { PostStep } from '../derivations/builders/context.js';
import { bootOptionsFrom, withBootOptions, type BootOptions } from './bootOptions.js';
import { buildCut } from '../cut/buildCut.js';
import type { NoopCheck } from '../cut/noopCut.js';
import { orderedPostSteps } from './postStepArgs.js';

export interface CutCommandArgs {
  name: string;
  buildOnly: boolean;
  noSubstitute?: boolean;
  post: PostStep[];
  boot: BootOptions;
}

/** `rapido cut`: returns the exit status (the guest's, when it boots). */
export async function cutCommand(a: CutCommandArgs, precomputed?: NoopCheck): Promise<number> {
  const { req, stamp } = await buildCut(a.name, a.post, precomputed, { substitute: !a.noSubstitute });
  if (a.buildOnly) return 0;
  const { bootCut } = await import('./boot.js');
  return bootCut(req.conf, req.out, stamp, a.boot);
}

export const cutModule: CommandModule = {
  command: 'cut [options] <name>',
  describe: 'cut the image for recipe NAME (only changed layers are rebuilt), then boot it',
  builder: (y) =>
    withBootOptions(
      y
        .positional('name', { type: 'string', describe: 'recipe name (rapido list) or path to a manifest' })
        .option('B', { type: 'boolean', describe: 'build only, do not boot', alias: 'build-only' })
        .option('substitute', {
          type: 'boolean',
          default: true,
          describe:
            'look up layers missing locally on RAPIDO_SUBSTITUTERS (space-separated file:///DIR, http(s)://..., s3://... URLs, tried in order) before building them; ' +
            '--no-substitute builds them here and skips the cache of recent misses. A URL option ?trust=any accepts records not signed by a key in trusted-keys/; ?timeout=SECONDS bounds connect and read pauses',
        })
        .option('x', { type: 'string', describe: 'run CMD in the guest after the autorun scripts (repeatable, in order with -f)', requiresArg: true })
        .option('f', { type: 'string', describe: 'run host script FILE in the guest after the autorun scripts (repeatable)', requiresArg: true })
        .example('$0 cut -B fstests-btrfs', 'build the image into DRACUT_OUT (initrds/myinitrd)')
        .example("$0 cut -x 'cat /proc/cmdline' simple-example", 'cut, boot, run a command after the autorun scripts')
        .example('git bisect run $0 cut --timeout 300 -f ./repro.sh simple-example', 'the guest\'s status is the exit status'),
    ),
  handler: async (argv) => {
    process.exitCode = await cutCommand({
      name: argv.name as string,
      buildOnly: Boolean(argv.B),
      noSubstitute: argv.substitute === false,
      post: orderedPostSteps(process.argv.slice(2)),
      boot: bootOptionsFrom(argv),
    });
  },
};
