import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/loadConfig.js';
import { cleanTmp } from '../../store/cleanTmp.js';
import { initHasher } from '../../store/digest.js';
import { openStore } from '../../store/openStore.js';
import { indexLost, rebuildIndex, type RebuildResult } from '../../store/rebuildIndex.js';
import { openStoreDir } from '../../store/storeDir.js';
import { repairStore, verifyStore, type RepairResult, type VerifyEntry, type VerifyReport } from '../../store/verify.js';
import { withStore } from './withStore.js';
import { formatBytes, parseDuration, plural } from '../../format.js';

export interface VerifyArgs {
  repair: boolean;
  json: boolean;
  grace: string;
}

/** `rapido-store verify [--repair]`: exit status 1 if any problem was found (repaired or not). */
export async function verifyCommand(a: VerifyArgs): Promise<number> {
  const graceMs = parseDuration(a.grace, '--grace');
  await initHasher();
  let rebuilt: RebuildResult | undefined;
  // Repairing deletes: no cut may be writing objects meanwhile, as for gc. Checking only reads: a
  // read-only store, or a full disk that keeps the journal out of the index, still gets checked.
  const { dir, report, repaired } = await withStore(
    loadConfig(),
    {
      readOnly: !a.repair,
      lock: a.repair ? 'gc' : undefined,
      cleanTmp: true,
      // A damaged or lost index is rebuilt from the objects, not "repaired" by deleting them as orphans.
      open: a.repair
        ? (dir) => {
            const sd = openStoreDir(dir);
            cleanTmp(sd);
            const why = indexLost(sd);
            if (!why) return openStore(dir);
            const r = rebuildIndex(dir, why);
            rebuilt = r.result;
            return r.store;
          }
        : undefined,
    },
    (store) => {
      const tty = process.stderr.isTTY && !a.json;
      const report = verifyStore(store, {
        graceMs,
        onProgress: tty ? (n, total, bytes) => n % 16 === 0 && process.stderr.write(`\r\x1b[K  checked ${n}/${total} objects, ${formatBytes(bytes)}`) : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      return { dir: store.dir, report, repaired: a.repair ? repairStore(store, report) : undefined };
    },
  );
  if (a.json) process.stdout.write(JSON.stringify({ store: dir, ...report, repaired: repaired ?? null, rebuilt: rebuilt ?? null }, null, 2) + '\n');
  else {
    if (rebuilt) printRebuild(rebuilt);
    print(report, repaired);
  }
  return rebuilt || report.problems.length > 0 ? 1 : 0;
}

function printRebuild(r: RebuildResult): void {
  const out = (s: string) => process.stdout.write(s + '\n');
  const bytes = r.recovered.reduce((n, x) => n + x.size, 0);
  out(r.movedTo ? `index: damaged (${r.why}); moved aside to ${r.movedTo}` : 'index: missing');
  const parts = [`${plural(r.recovered.length, 'layer record')} re-created from ${r.recovered.length === 1 ? 'its object' : 'their objects'} (${formatBytes(bytes)})`];
  if (r.journal.entries) parts.push(`${plural(r.journal.layers, 'layer record')} and ${plural(r.journal.cuts, 'cut')} from the journal`);
  out(`rebuilt the index: ${parts.join(', ')}`);
  if (r.pin) out(`  the recovered layers are pinned as "${r.pin}", so gc keeps them: rapido-store unpin ${r.pin} once your recipes are cut again`);
  out('  lost with the old index: cut history, pins, dracut manifests (the next cut rebuilds a dracut layer once), the stat cache');
  if (r.notArchives.length) out(`  ${plural(r.notArchives.length, 'object file')} ${r.notArchives.length === 1 ? 'is' : 'are'} no cpio archive: treated as orphans below`);
}

function line(e: VerifyEntry): string {
  const what = e.layerName ? `  ${e.layerName}${e.builder ? ` (${e.builder})` : ''}` : '';
  const recipes = e.recipes.length ? `  recipe ${e.recipes.join(', ')}` : '';
  return `${e.kind.toUpperCase().padEnd(8)} ${e.key ?? e.path}${what}${recipes}: ${e.detail}`;
}

function print(r: VerifyReport, repaired: RepairResult | undefined): void {
  const out = (s: string) => process.stdout.write(s + '\n');
  const mbs = r.ms > 0 ? ` (${(r.bytes / 1e6 / (r.ms / 1000)).toFixed(0)} MB/s)` : '';
  out(`verify: checked ${plural(r.checked, 'object')}, ${formatBytes(r.bytes)} in ${(r.ms / 1000).toFixed(2)} s${mbs}`);
  if (r.journalRecords) out(`note: ${plural(r.journalRecords, 'layer record')} checked from the journal, not yet in the index`);
  for (const p of r.problems) out(line(p));
  for (const n of r.notes) out(`note: ${line(n)}`);
  if (r.problems.length === 0) {
    out('ok: every record has its intact object and every object its record');
    if (repaired?.pending) out(`repaired: finished removing ${plural(repaired.pending, 'layer')} left by an interrupted gc`);
    return;
  }
  const by = (k: string) => r.problems.filter((p) => p.kind === k).length;
  const parts = [['corrupt', by('corrupt')], ['missing', by('missing')], ['orphan', by('orphan')], ['stray', by('stray')]].filter(([, n]) => n).map(([k, n]) => `${n} ${k}`);
  out(`${plural(r.problems.length, 'problem')}: ${parts.join(', ')}`);
  if (!repaired) {
    out('run rapido-store verify --repair to remove them; the next cut rebuilds corrupt and missing layers');
    return;
  }
  out(
    `repaired: removed ${plural(repaired.corrupt, 'corrupt object')} with ${repaired.corrupt === 1 ? 'its record' : 'their records'}, ` +
      `${plural(repaired.missing, 'record')} without object, ${plural(repaired.orphans, 'orphan file')}; the next cut rebuilds what it needs`,
  );
}

export const commands: CommandModule[] = [
  {
    command: 'verify',
    describe: 're-hash every object against its record; report corrupt, missing and orphaned entries (exit 1 if any)',
    builder: (y) =>
      y
        .option('repair', { type: 'boolean', describe: 'remove corrupt objects with their records, records without objects, and orphan files' })
        .option('grace', { type: 'string', nargs: 1, default: '10m', describe: 'orphans younger than DURATION are only noted (a running cut may still record them)' })
        .option('json', { type: 'boolean', describe: 'machine-readable report' })
        .example('$0 verify', 'check the whole store; exit status 1 on any problem')
        .example('$0 verify --repair', 'and remove what is damaged: the next cut rebuilds those layers')
        .epilogue('Problems are listed by layer key, layer name and the recipes whose cuts used them.'),
    handler: async (argv) => {
      process.exitCode = await verifyCommand({ repair: Boolean(argv.repair), json: Boolean(argv.json), grace: argv.grace as string });
    },
  },
];
