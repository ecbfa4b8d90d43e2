import type { CommandModule } from 'yargs';
import fs from 'node:fs';
import { loadConfig, storeDir } from '../../config/loadConfig.js';
import { RapidoError } from '../../errors.js';
import { parsePublicKey, type PublicKey } from '../../store/signingKeys.js';
import { cleanTmp } from '../../store/cleanTmp.js';
import { openStoreDir } from '../../store/storeDir.js';
import { listTrustedKeys, trustedKeysDir, trustKey, untrustKey } from '../../store/trustedKeys.js';

/** A public key given as a NAME.pub file or as its `NAME:BASE64` line. */
function readPublicKey(arg: string): PublicKey {
  const st = fs.statSync(arg, { throwIfNoEntry: false });
  if (st?.isFile()) return parsePublicKey(fs.readFileSync(arg, 'utf8'));
  if (!arg.includes(':')) {
    throw new RapidoError('KEY_UNREADABLE', `no key file ${arg}, and it is not a NAME:BASE64 key either`, {
      hint: 'give the NAME.pub file that rapido-store keygen wrote, or its one line',
    });
  }
  return parsePublicKey(arg);
}

// Trusted keys are plain files beside the index: trust and untrust need no LMDB, so no withStore.

/** `rapido-store trust [PUBKEY]`: adds a key import accepts signatures from; without one, lists them. */
export async function trustCommand(a: { key?: string; json: boolean }): Promise<number> {
  // Listing only reads (a read-only store is fine); trusting writes, and first removes what killed writers left.
  const store = openStoreDir(storeDir(loadConfig()), { reading: a.key === undefined });
  if (a.key !== undefined) cleanTmp(store);
  const out = (s: string) => process.stdout.write(s + '\n');
  if (a.key === undefined) {
    const keys = listTrustedKeys(store);
    if (a.json) {
      out(JSON.stringify(keys.map((k) => ({ name: k.name, publicKey: k.line, fingerprint: k.fingerprint })), null, 2));
    } else {
      for (const k of keys) out(`${k.name.padEnd(24)} ${k.fingerprint}  ${k.line}`);
      out(`${keys.length} trusted ${keys.length === 1 ? 'key' : 'keys'} in ${trustedKeysDir(store)}`);
    }
    return 0;
  }
  const key = readPublicKey(a.key);
  const r = trustKey(store, key);
  out(r === 'added' ? `trusted ${key.name} (fingerprint ${key.fingerprint}): imports and substituter records signed by it are accepted` : `${key.name} (fingerprint ${key.fingerprint}) was already trusted`);
  return 0;
}

/** `rapido-store untrust NAME`. */
export async function untrustCommand(a: { name: string }): Promise<number> {
  const store = openStoreDir(storeDir(loadConfig()));
  cleanTmp(store);
  const removed = untrustKey(store, a.name);
  if (!removed) {
    const known = listTrustedKeys(store).map((k) => k.name);
    throw new RapidoError('KEY_NOT_TRUSTED', `no trusted key named ${a.name}`, {
      hint: known.length ? `trusted keys: ${known.join(', ')}` : 'no key is trusted (rapido-store trust lists them)',
    });
  }
  process.stdout.write(`untrusted ${removed.name} (fingerprint ${removed.fingerprint})\n`);
  return 0;
}

export const commands: CommandModule[] = [
  {
    command: 'trust [key]',
    describe: 'accept imports signed by this public key (a NAME.pub file or its NAME:BASE64 line); no key: list trusted keys',
    builder: (y) =>
      y
        .positional('key', { type: 'string', describe: 'NAME.pub file, or the key line itself' })
        .option('json', { type: 'boolean', describe: 'machine-readable list' })
        .example('$0 trust buildbox.pub', 'after checking its fingerprint with its owner')
        .epilogue('Trusted keys live in <store>/trusted-keys/NAME.pub.'),
    handler: async (argv) => {
      process.exitCode = await trustCommand({ key: argv.key as string | undefined, json: Boolean(argv.json) });
    },
  },
  {
    command: 'untrust <name>',
    describe: 'stop accepting imports signed by key NAME',
    builder: (y) => y.positional('name', { type: 'string', describe: 'key name (rapido-store trust lists them)' }),
    handler: async (argv) => {
      process.exitCode = await untrustCommand({ name: String(argv.name) });
    },
  },
];
