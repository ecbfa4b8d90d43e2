import { loadConfig, storeDir } from '../config/loadConfig.js';
import { acquireGcLock, DEFAULT_GC_WAIT_MS } from '../store/cutGuard.js';
import { initHasher } from '../store/digest.js';
import { openStore } from '../store/openStore.js';
import { openStoreDir } from '../store/storeDir.js';
import { repairStore, verifyStore, type RepairResult, type VerifyEntry, type VerifyReport } from '../store/verify.js';
import { formatBytes, parseDuration, plural } from './units.js';

export interface VerifyArgs {
  repair: boolean;
  json: boolean;
  grace: string;
}

/** `rapido-store verify [--repair]`: exit status 1 if any problem was found (repaired or not). */
export async function verifyCommand(a: VerifyArgs): Promise<number> {
  const graceMs = parseDuration(a.grace, '--grace');
  await initHasher();
  const dir = storeDir(loadConfig());
  // Repairing deletes: no cut may be writing objects meanwhile, as for gc.
  const lock = a.repair
    ? await acquireGcLock(openStoreDir(dir), {
        timeoutMs: DEFAULT_GC_WAIT_MS,
        onWaitCuts: (cuts) => process.stderr.write(`rapido-store: waiting for ${plural(cuts.length, 'running cut')} to finish\n`),
      })
    : undefined;
  let report: VerifyReport;
  let repaired: RepairResult | undefined;
  try {
    const store = openStore(dir);
    try {
      const tty = process.stderr.isTTY && !a.json;
      report = verifyStore(store, {
        graceMs,
        onProgress: tty ? (n, total, bytes) => n % 16 === 0 && process.stderr.write(`\r\x1b[K  checked ${n}/${total} objects, ${formatBytes(bytes)}`) : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      if (a.repair) repaired = repairStore(store, report);
    } finally {
      await store.close();
    }
  } finally {
    lock?.release();
  }
  if (a.json) process.stdout.write(JSON.stringify({ store: dir, ...report, repaired: repaired ?? null }, null, 2) + '\n');
  else print(report, repaired);
  return report.problems.length > 0 ? 1 : 0;
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
