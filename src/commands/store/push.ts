import type { CommandModule } from 'yargs';
import { configPath, loadConfig } from '../../config/loadConfig.js';
import { RapidoError } from '../../errors.js';
import { EXIT } from '../../exitCodes.js';
import { formatBytes, plural } from '../../format.js';
import { initHasher } from '../../store/digest.js';
import { listLayers } from '../../store/layerIndex.js';
import { hasObject } from '../../store/objectPath.js';
import { forgetMisses } from '../../store/substituters/negativeCache.js';
import { openBackend } from '../../store/substituters/openBackend.js';
import { pushLayers } from '../../store/substituters/pushLayers.js';
import { parseSubstituter, parseSubstituterList, type SubstituterSpec } from '../../store/substituters/substituterUrl.js';
import { readSecretKey, resolveTargets } from './export.js';
import { say, withStore } from './withStore.js';

export interface PushArgs {
  to?: string;
  key?: string;
  all: boolean;
  targets: string[];
}

/** --to, else the first substituter an engine can write to (file://, s3://; http(s) is read-only). */
function destination(to: string | undefined, configured: string | undefined): SubstituterSpec {
  if (to) return parseSubstituter(to);
  const writable = parseSubstituterList(configured).find((s) => s.url.protocol === 'file:' || s.url.protocol === 's3:');
  if (!writable) {
    throw new RapidoError('PUSH_NO_TARGET', 'no cache to push to: give --to URL, or list a file:// or s3:// cache in RAPIDO_SUBSTITUTERS', {
      hint: 'e.g. rapido-store push --to file:///srv/rapido-cache fstests-btrfs (http(s) caches are read-only: push to the directory or bucket they serve)',
      exitCode: EXIT.USAGE,
    });
  }
  return writable;
}

/** `rapido-store push`: layers, then their signed records, to a substituter. */
export async function pushCommand(a: PushArgs): Promise<number> {
  if (a.all === (a.targets.length > 0)) {
    throw new RapidoError('USAGE', a.all ? '--all and named layers exclude each other' : 'say what to push: RECIPE, KEY, pin:NAME or --all', {
      hint: 'rapido-store push fstests-btrfs pushes the layers of its last cut', exitCode: EXIT.USAGE,
    });
  }
  const conf = loadConfig();
  const keyFile = a.key ?? (conf.get('RAPIDO_SIGNING_KEY') ? configPath(conf, conf.get('RAPIDO_SIGNING_KEY')!) : undefined);
  if (!keyFile) {
    throw new RapidoError('PUSH_NO_KEY', 'pushing needs a signing key: give --key FILE or set RAPIDO_SIGNING_KEY in rapido.conf', {
      hint: 'rapido-store keygen NAME writes NAME.key; readers trust NAME.pub with rapido-store trust', exitCode: EXIT.USAGE,
    });
  }
  const signer = readSecretKey(keyFile);
  const spec = destination(a.to, conf.get('RAPIDO_SUBSTITUTERS'));
  const backend = openBackend(spec);
  if (!backend.writable) {
    throw new RapidoError('PUSH_READ_ONLY', `${spec.display} is read-only: rapido pushes to file:// directories and s3:// buckets`, {
      hint: 'push to the directory (or bucket) the web server serves, e.g. --to file:///srv/rapido-cache', exitCode: EXIT.USAGE,
    });
  }
  await initHasher();
  // A gc waits for us (lock 'cut'): it must not remove an object while it is being uploaded.
  await withStore(conf, { readOnly: true, lock: 'cut', what: 'push' }, async (store) => {
    const keys = a.all ? listLayers(store).filter((r) => hasObject(store, r.key, r.size)).map((r) => r.key).sort() : resolveTargets(store, a.targets, say);
    const r = await pushLayers(store, keys, backend, signer);
    // What we just pushed is no longer a miss there.
    if (!store.readOnly) forgetMisses(store, spec.display);
    say(`pushed ${plural(r.pushed.length, 'layer')} (${formatBytes(r.bytes)}) to ${spec.display}, ${r.skipped.length} already there; signed by ${signer.name} (fingerprint ${signer.publicKey.fingerprint})`);
  });
  return 0;
}

export const commands: CommandModule[] = [
  {
    command: 'push [targets..]',
    describe: 'upload layers and their signed records to a shared cache (a substituter) that cuts read from',
    builder: (y) =>
      y
        .positional('targets', { type: 'string', array: true, describe: 'recipes (their last cut), layer keys or pin:NAME' })
        .option('to', { type: 'string', requiresArg: true, describe: 'cache URL: file:///DIR or s3://BUCKET/PREFIX (default: the first writable one in RAPIDO_SUBSTITUTERS)' })
        .option('key', { type: 'string', requiresArg: true, describe: 'secret key file to sign records with (rapido-store keygen; default: RAPIDO_SIGNING_KEY)' })
        .option('all', { type: 'boolean', default: false, describe: 'every layer in the store' })
        .example('$0 push --to file:///srv/rapido-cache --key ci.key fstests-btrfs', 'the layers of the last cut of fstests-btrfs')
        .example('$0 push --all', 'everything, to the first writable substituter, signed with RAPIDO_SIGNING_KEY')
        .epilogue(
          'Objects go first, each record last, so a reader never finds a record without its whole object; a layer whose record is already ' +
            'there is skipped. Several pushers at once are safe, and an interrupted push completes when run again. Readers trust the ' +
            'signer with rapido-store trust NAME.pub (or list the cache with ?trust=any). The cache layout is in store-layout.md.',
        ),
    handler: async (argv) => {
      process.exitCode = await pushCommand({
        to: argv.to as string | undefined, key: argv.key as string | undefined, all: Boolean(argv.all), targets: ((argv.targets as string[] | undefined) ?? []).map(String),
      });
    },
  },
];
