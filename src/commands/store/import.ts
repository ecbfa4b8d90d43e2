import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/loadConfig.js';
import { RapidoError } from '../../errors.js';
import { initHasher } from '../../store/digest.js';
import { importArchive, type ImportOutcome } from '../../store/importArchive.js';
import { say, withStore } from './withStore.js';
import { formatBytes, plural } from '../../format.js';
import { EXIT } from '../../exitCodes.js';

export interface ImportArgs {
  file: string;
  verifySignature: boolean;
  pin?: string;
  json: boolean;
}

const LABEL: Record<ImportOutcome, string> = { added: 'added', present: 'present', replaced: 'replaced', conflict: 'CONFLICT' };

/** `rapido-store import FILE|-`: all or nothing; see importArchive. */
export async function importCommand(a: ImportArgs): Promise<number> {
  const fromStdin = a.file === '-';
  if (fromStdin && process.stdin.isTTY) {
    throw new RapidoError('USAGE', 'refusing to read a tar archive from a terminal', {
      hint: 'pipe one in (ssh host rapido-store export -o - | rapido-store import -) or give the file name',
      exitCode: EXIT.USAGE,
    });
  }
  if (!fromStdin && !fs.statSync(a.file, { throwIfNoEntry: false })?.isFile()) {
    throw new RapidoError('IMPORT_NOT_FOUND', `no archive file ${a.file}`, { hint: 'rapido-store export -o FILE.tar writes one' });
  }
  await initHasher();
  // cleanTmp: an import killed before leaves hundreds of MiB in tmp/. Lock 'cut': no gc meanwhile.
  await withStore(loadConfig(), { cleanTmp: true, lock: 'cut', what: 'import' }, async (store) => {
    const input = fromStdin ? process.stdin : fs.createReadStream(a.file, { highWaterMark: 1 << 20 });
    const result = await importArchive(store, input, { verifySignature: a.verifySignature, pin: a.pin, source: `import ${fromStdin ? 'stdin' : a.file}` });
    const count = (o: ImportOutcome) => result.entries.filter((e) => e.outcome === o).length;
    if (a.json) {
      process.stdout.write(JSON.stringify({
        store: store.dir,
        signedBy: result.signedBy,
        signatureChecked: result.signatureChecked,
        entries: result.entries.map(({ entry, outcome }) => ({ key: entry.key, layerName: entry.layerName, builder: entry.builder, size: entry.size, outcome })),
      }, null, 2) + '\n');
    } else {
      for (const { entry, outcome } of result.entries) {
        process.stdout.write(`${LABEL[outcome].padEnd(8)} ${entry.key}  ${entry.layerName.padEnd(16)} ${entry.builder.padEnd(15)} ${formatBytes(entry.size).padStart(9)}\n`);
      }
    }
    const sig = result.signedBy
      ? `signed by ${result.signedBy.name} (fingerprint ${result.signedBy.fingerprint})`
      : result.signatureChecked ? 'unsigned' : 'signature not checked (--no-verify-signature)';
    const parts = [`${count('added')} added`, `${count('present')} already present`];
    if (count('replaced')) parts.push(`${count('replaced')} replaced a missing or corrupt local copy`);
    if (count('conflict')) parts.push(`${count('conflict')} kept the local copy, which differs (non-reproducible build?)`);
    say(`imported ${plural(result.entries.length, 'layer')} (${formatBytes(result.bytes)}), ${sig}: ${parts.join(', ')}${a.pin ? `; pinned as ${a.pin}` : ''}`);
  });
  return 0;
}

export const commands: CommandModule[] = [
  {
    command: 'import <file>',
    describe: 'import an archive from rapido-store export: all or nothing, signature and every digest checked first',
    builder: (y) =>
      y
        .positional('file', { type: 'string', describe: 'archive file, or - for stdin' })
        .option('verify-signature', { type: 'boolean', default: true, describe: 'require a signature by a trusted key (--no-verify-signature to skip)' })
        .option('pin', { type: 'string', requiresArg: true, describe: 'pin the imported layers under NAME, so gc keeps them until a cut uses them' })
        .option('json', { type: 'boolean', describe: 'machine-readable report' })
        .example('$0 trust builder.pub && $0 import layers.tar', 'accept archives signed by builder\'s key')
        .example('ssh box rapido-store export -o - --sign box.key | $0 import - --pin from-box', 'copy over ssh and keep them')
        .epilogue('Imported layers are used by rapido cut when their keys match, i.e. for the same inputs; a machine with\n' +
          'different host binaries computes other keys and builds its own.'),
    handler: async (argv) => {
      // yargs turns a lone "-" positional into "" (or true): take it from the raw arguments.
      const file = (argv.file === '' || argv.file === true) && process.argv.slice(2).includes('-') ? '-' : String(argv.file ?? '');
      process.exitCode = await importCommand({ file, verifySignature: argv['verify-signature'] !== false, pin: argv.pin as string | undefined, json: Boolean(argv.json) });
    },
  },
];
