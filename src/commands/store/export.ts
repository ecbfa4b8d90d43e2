import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/loadConfig.js';
import { RapidoError } from '../../errors.js';
import { lastCut } from '../../store/cutHistory.js';
import { initHasher } from '../../store/digest.js';
import { exportArchive, type ExportSummary } from '../../store/exportArchive.js';
import { getLayer } from '../../store/layerIndex.js';
import { hasObject, isLayerKey } from '../../store/objectPath.js';
import type { Store } from '../../store/openStore.js';
import { getPin } from '../../store/pins.js';
import { collectRoots, DEFAULT_KEEP_LAST } from '../../store/roots.js';
import { parseSecretKey } from '../../store/signingKeys.js';
import { uniqueSuffix } from '../../store/uniqueSuffix.js';
import { say, withStore } from './withStore.js';
import { formatBytes, plural } from '../../format.js';
import { EXIT } from '../../exitCodes.js';

export interface ExportArgs {
  output: string;
  sign?: string;
  targets: string[];
}

/** Keys named by the arguments: layer keys, recipes (their last cut), pins; none: every root. */
export function resolveTargets(store: Store, targets: string[], warn: (s: string) => void): string[] {
  if (targets.length === 0) {
    const roots = collectRoots(store, { keepLast: DEFAULT_KEEP_LAST });
    const keys: string[] = [];
    for (const key of roots.byKey.keys()) {
      const rec = getLayer(store, key);
      if (rec && hasObject(store, key, rec.size)) keys.push(key);
      else warn(`root layer ${key} is not in the store (removed or never recorded); not exported`);
    }
    return keys.sort();
  }
  const keys: string[] = [];
  for (const t of targets) {
    if (isLayerKey(t) && getLayer(store, t)) {
      keys.push(t);
      continue;
    }
    const cut = t.includes('\0') ? undefined : lastCut(store, t);
    if (cut) {
      keys.push(...cut.layers.map((l) => l.key));
      continue;
    }
    const pin = t.startsWith('pin:') ? getPin(store, t.slice(4)) : undefined;
    if (pin) {
      keys.push(...pin.layers.map((l) => l.key));
      continue;
    }
    throw new RapidoError('EXPORT_UNKNOWN', `${JSON.stringify(t)} is neither a layer key in the store nor a recipe that was cut into it`, {
      hint: 'rapido-store ls lists layer keys; a recipe is named as it was given to rapido cut; pin:NAME exports a pin',
    });
  }
  return [...new Set(keys)];
}

/** `rapido-store export`: a tar of layers, records and a manifest, optionally signed. */
export async function exportCommand(a: ExportArgs): Promise<number> {
  const toStdout = a.output === '-';
  if (toStdout && process.stdout.isTTY) {
    throw new RapidoError('USAGE', 'refusing to write a tar archive to a terminal', {
      hint: 'redirect it (rapido-store export -o - | ssh host rapido-store import -) or give -o FILE.tar',
      exitCode: EXIT.USAGE,
    });
  }
  const signer = a.sign === undefined ? undefined : readSecretKey(a.sign);
  await initHasher();
  // A gc waits for us (lock 'cut'): it must not remove an object we are about to copy.
  await withStore(loadConfig(), { readOnly: true, lock: 'cut', what: 'export' }, async (store) => {
    const keys = resolveTargets(store, a.targets, say);
    let summary: ExportSummary;
    if (toStdout) {
      try {
        summary = await exportArchive(store, keys, process.stdout, { signer });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
        throw new RapidoError('EXPORT_PIPE', 'the reader of the archive went away before the export was complete (broken pipe)', {
          hint: 'see the error of the command reading it (rapido-store import -, ssh, ...)',
          cause: e,
        });
      }
    } else {
      // Written aside and renamed: a failed export never leaves a plausible-looking partial archive.
      const tmp = `${a.output}.${process.pid}.${uniqueSuffix()}.tmp`;
      try {
        summary = await exportArchive(store, keys, fs.createWriteStream(tmp, { flags: 'wx' }), { signer });
        fs.renameSync(tmp, a.output);
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
      }
    }
    const signed = summary.signedBy ? `, signed by ${summary.signedBy} (fingerprint ${signer!.publicKey.fingerprint})` : ', unsigned';
    say(`exported ${plural(summary.entries.length, 'layer')} (${formatBytes(summary.bytes)}) to ${toStdout ? 'stdout' : a.output}${signed}`);
  });
  return 0;
}

export function readSecretKey(file: string) {
  let text: string;
  let mode: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mode = fs.statSync(file).mode;
  } catch (e) {
    throw new RapidoError('KEY_UNREADABLE', `cannot read the signing key ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      hint: 'rapido-store keygen NAME writes NAME.key and NAME.pub',
      cause: e,
    });
  }
  const key = parseSecretKey(text);
  if (mode & 0o077) process.stderr.write(`rapido-store: warning: ${file} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it\n`);
  return key;
}

export const commands: CommandModule[] = [
  {
    command: 'export [targets..]',
    describe: 'write layers (objects, records, a checksummed manifest) to a tar archive, optionally signed',
    builder: (y) =>
      y
        .positional('targets', { type: 'string', array: true, describe: 'layer keys, recipes (their last cut) or pin:NAME; none: every root' })
        .option('o', { alias: 'output', type: 'string', demandOption: true, requiresArg: true, describe: 'archive file, or - for stdout' })
        .option('sign', { type: 'string', requiresArg: true, describe: 'sign the manifest with this secret key file (rapido-store keygen)' })
        .example('$0 export -o layers.tar --sign me.key', 'every root\'s layers, signed')
        .example('$0 export -o - --sign me.key fstests-btrfs | ssh box rapido-store import -', 'copy a recipe\'s layers to another machine')
        .example('$0 export -o one.tar 3f2a9c0d1e2b4a5c', 'one layer by key'),
    handler: async (argv) => {
      process.exitCode = await exportCommand({ output: argv.o as string, sign: argv.sign as string | undefined, targets: ((argv.targets as string[] | undefined) ?? []).map(String) });
    },
  },
];
