import { loadConfig, storeDir } from '../config/loadConfig.js';
import { acquireGcLock, DEFAULT_GC_WAIT_MS } from '../store/cutGuard.js';
import { runGc, type GcItem, type GcReport } from '../store/gc.js';
import { openStore } from '../store/openStore.js';
import { ageText } from '../store/roots.js';
import { openStoreDir } from '../store/storeDir.js';
import { printNotes } from './notes.js';
import { formatBytes, formatDuration, parseDuration, parseSize, plural } from './units.js';

export interface GcArgs {
  dryRun: boolean;
  maxSize?: string;
  olderThan?: string;
  keepLast: number;
  grace: string;
  wait?: string;
  json: boolean;
}

export const DEFAULT_GRACE = '10m';
const SHOWN_ITEMS = 100;

/** Fault injection for the crash tests: SIGKILL ourselves after unlinking N objects. */
function killHook(): ((key: string, done: number) => void) | undefined {
  const n = Number(process.env.RAPIDO_TEST_GC_KILL_AFTER);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return (_key, done) => {
    if (done >= n) process.kill(process.pid, 'SIGKILL');
  };
}

/** Fault injection for the concurrency tests: hold still after choosing victims, before removing them. */
function pauseHook(): (() => void) | undefined {
  const ms = Number(process.env.RAPIDO_TEST_GC_PAUSE_MS);
  if (!Number.isInteger(ms) || ms <= 0) return undefined;
  return () => {
    process.stderr.write('rapido-store: test hook: pausing before removal\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  };
}

/** `rapido-store gc`: removes layers no root holds. Returns the exit status. */
export async function gcCommand(a: GcArgs): Promise<number> {
  const opts = {
    keepLast: a.keepLast,
    graceMs: parseDuration(a.grace, '--grace'),
    maxSize: a.maxSize === undefined ? undefined : parseSize(a.maxSize),
    olderThanMs: a.olderThan === undefined ? undefined : parseDuration(a.olderThan, '--older-than'),
    dryRun: a.dryRun,
    afterUnlink: killHook(),
    beforeRemove: pauseHook(),
  };
  const waitMs = a.wait === undefined ? DEFAULT_GC_WAIT_MS : parseDuration(a.wait, '--wait');
  const dir = storeDir(loadConfig());
  const say = (s: string) => process.stderr.write(`rapido-store: ${s}\n`);
  // Lock before opening: opening ingests the journal, which must include every cut that finished.
  const lock = a.dryRun
    ? undefined
    : await acquireGcLock(openStoreDir(dir), {
        timeoutMs: waitMs,
        onWaitGc: (o) => say(`waiting for another gc${o ? ` (pid ${o.pid})` : ''} to finish`),
        onWaitCuts: (cuts) => say(`waiting for ${plural(cuts.length, 'running cut')} to finish (pid ${cuts.map((c) => c.pid).join(', ')})`),
      });
  let report: GcReport;
  try {
    // A dry run only reads: it works on a read-only store too.
    const store = openStore(dir, { reading: a.dryRun });
    try {
      printNotes(store);
      report = runGc(store, opts);
    } finally {
      await store.close();
    }
  } finally {
    lock?.release();
  }
  if (a.json) process.stdout.write(JSON.stringify({ store: dir, graceMs: opts.graceMs, keepLast: opts.keepLast, olderThanMs: opts.olderThanMs, ...report }, null, 2) + '\n');
  else printReport(report, a, opts.graceMs);
  return 0;
}

function itemLine(i: GcItem, now: number): string {
  const what = i.what === 'layer' ? `${(i.layerName ?? '').padEnd(16)} ${(i.builder ?? '').padEnd(15)}` : i.what === 'record' ? 'record without object'.padEnd(32) : `${i.what} file`.padEnd(32);
  const used = i.lastUsedAt ? `${i.what === 'layer' ? 'used' : 'written'} ${ageText(now - i.lastUsedAt)} ago` : '';
  return `  ${(i.key ?? i.path).padEnd(16)}  ${what} ${formatBytes(i.size).padStart(9)}  ${used}`;
}

function printReport(r: GcReport, a: GcArgs, graceMs: number): void {
  const out = (s = '') => process.stdout.write(s + '\n');
  const now = Date.now();
  const verb = r.dryRun ? 'would remove' : 'removed';
  if (r.pendingKeys) out(r.dryRun ? `an interrupted gc left ${plural(r.pendingKeys, 'layer')} half removed; gc will finish that` : `finished the removal of ${plural(r.pendingKeys, 'layer')} left by an interrupted gc`);
  const extras = [r.removed.orphans ? plural(r.removed.orphans, 'orphan file') : '', r.removed.records ? plural(r.removed.records, 'record', 'records') + ' without object' : ''].filter(Boolean);
  out(`${r.dryRun ? 'gc --dry-run: ' : 'gc: '}${verb} ${plural(r.removed.layers, 'layer')}${extras.length ? `, ${extras.join(', ')}` : ''}: ${formatBytes(r.removed.bytes)}; objects ${formatBytes(r.sizeBefore)} -> ${formatBytes(r.sizeAfter)}`);
  for (const i of r.removed.items.slice(0, SHOWN_ITEMS)) out(itemLine(i, now));
  if (r.removed.items.length > SHOWN_ITEMS) out(`  ... and ${r.removed.items.length - SHOWN_ITEMS} more (--json lists all)`);
  const k = r.kept;
  out(`kept ${plural(k.rooted.layers, 'layer')} (${formatBytes(k.rooted.bytes)}) held by roots:`);
  const list = (xs: string[]) => (xs.length > 4 ? `${xs.slice(0, 4).join(', ')}, ... (${xs.length})` : xs.join(', '));
  const b = k.rooted.byKind;
  const kind = (label: string, t: { roots: string[]; layers: number; bytes: number }, what: string) =>
    out(`  ${label.padEnd(13)} ${t.roots.length ? `${plural(t.layers, 'layer')}, ${formatBytes(t.bytes)}: ${what}` : 'none'}`);
  kind('images', b.image, `${plural(b.image.roots.length, 'image')} ${list(b.image.roots)}`);
  kind(`last ${a.keepLast} cuts`, b.recent, `of ${plural(b.recent.roots.length, 'recipe')} ${list(b.recent.roots)}`);
  kind('pins', b.pin, list(b.pin.roots));
  if (k.young.layers) out(`kept ${plural(k.young.layers, 'unrooted object')} (${formatBytes(k.young.bytes)}) younger than the grace period (${formatDuration(graceMs)})`);
  if (k.recentlyUsed.layers) out(`kept ${plural(k.recentlyUsed.layers, 'unrooted layer')} (${formatBytes(k.recentlyUsed.bytes)}) used within --older-than ${a.olderThan}`);
  if (k.underMaxSize.layers) out(`kept ${plural(k.underMaxSize.layers, 'unrooted layer')} (${formatBytes(k.underMaxSize.bytes)}): the store is within --max-size ${a.maxSize}`);
  if (r.maxSize !== undefined && r.sizeAfter > r.maxSize) out(`note: still over --max-size ${a.maxSize}: roots hold ${formatBytes(k.rooted.bytes)} (unpin, lower --keep-last, or delete old images)`);
}
