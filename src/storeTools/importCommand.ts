import fs from 'node:fs';
import { loadConfig, storeDir } from '../config/loadConfig.js';
import { RapidoError } from '../errors.js';
import { cleanTmp } from '../store/cleanTmp.js';
import { withCutGuard } from '../store/cutGuard.js';
import { initHasher } from '../store/digest.js';
import { importArchive, type ImportOutcome } from '../store/importArchive.js';
import { openStore } from '../store/openStore.js';
import { formatBytes, plural } from './units.js';

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
      exitCode: 2,
    });
  }
  if (!fromStdin && !fs.statSync(a.file, { throwIfNoEntry: false })?.isFile()) {
    throw new RapidoError('IMPORT_NOT_FOUND', `no archive file ${a.file}`, { hint: 'rapido-store export -o FILE.tar writes one' });
  }
  await initHasher();
  const dir = storeDir(loadConfig());
  const say = (s: string) => process.stderr.write(`rapido-store: ${s}\n`);
  const store = openStore(dir);
  try {
    cleanTmp(store); // an import killed before leaves hundreds of MiB in tmp/
    const input = fromStdin ? process.stdin : fs.createReadStream(a.file, { highWaterMark: 1 << 20 });
    const result = await withCutGuard(
      store,
      () => importArchive(store, input, { verifySignature: a.verifySignature, pin: a.pin, source: `import ${fromStdin ? 'stdin' : a.file}` }),
      { what: 'import', onWait: () => say('waiting for a running gc to finish') },
    );
    const count = (o: ImportOutcome) => result.entries.filter((e) => e.outcome === o).length;
    if (a.json) {
      process.stdout.write(JSON.stringify({
        store: dir,
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
  } finally {
    await store.close();
  }
  return 0;
}
