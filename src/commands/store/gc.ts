import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/loadConfig.js';
import { RapidoError } from '../../errors.js';
import { DEFAULT_GC_WAIT_MS } from '../../store/cutGuard.js';
import { runGc, type GcItem, type GcOptions, type GcReport } from '../../store/gc.js';
import { ago, formatBytes, formatDuration, parseDuration, parseSize, plural } from '../../format.js';
import { withStore } from './withStore.js';
import { EXIT } from '../../exitCodes.js';

export interface GcArgs {
  dryRun: boolean;
  maxSize?: string;
  olderThan?: string;
  keepLast: number;
  grace: string;
  wait?: string;
  json: boolean;
}

const SHOWN_ITEMS = 100;

/** Every argument check of gc, before anything is locked or opened: usage errors exit 2. */
function gcOptions(a: GcArgs) {
  if (!Number.isInteger(a.keepLast) || a.keepLast < 0) {
    throw new RapidoError('USAGE', `--keep-last must be a whole number >= 0, not ${String(a.keepLast)}`, {
      hint: '--keep-last 0 keeps no cut history as roots (images and pins still count)',
      exitCode: EXIT.USAGE,
    });
  }
  return {
    keepLast: a.keepLast,
    graceMs: parseDuration(a.grace, '--grace'),
    maxSize: a.maxSize === undefined ? undefined : parseSize(a.maxSize),
    olderThanMs: a.olderThan === undefined ? undefined : parseDuration(a.olderThan, '--older-than'),
    dryRun: a.dryRun,
  };
}

/** Where the crash and race tests step in (test/commands/store/helpers/gcWithHooks.ts); the CLI passes none. */
export type GcHooks = Pick<GcOptions, 'afterUnlink' | 'beforeRemove'>;

/** `rapido-store gc`: removes layers no root holds. Returns the exit status. */
export async function gcCommand(a: GcArgs, hooks: GcHooks = {}): Promise<number> {
  const opts = { ...gcOptions(a), ...hooks };
  const waitMs = a.wait === undefined ? DEFAULT_GC_WAIT_MS : parseDuration(a.wait, '--wait');
  // A dry run only reads (it works on a read-only store too) and takes no lock.
  const { dir, report } = await withStore(loadConfig(), { readOnly: a.dryRun, lock: a.dryRun ? undefined : 'gc', waitMs }, (store) => ({
    dir: store.dir,
    report: runGc(store, opts),
  }));
  if (a.json) process.stdout.write(JSON.stringify({ store: dir, graceMs: opts.graceMs, keepLast: opts.keepLast, olderThanMs: opts.olderThanMs, ...report }, null, 2) + '\n');
  else printReport(report, a, opts.graceMs);
  return 0;
}

function itemLine(i: GcItem, now: number): string {
  const what = i.what === 'layer' ? `${(i.layerName ?? '').padEnd(16)} ${(i.builder ?? '').padEnd(15)}` : i.what === 'record' ? 'record without object'.padEnd(32) : `${i.what} file`.padEnd(32);
  const used = i.lastUsedAt ? `${i.what === 'layer' ? 'used' : 'written'} ${ago(now - i.lastUsedAt)} ago` : '';
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

export const commands: CommandModule[] = [
  {
    command: 'gc',
    describe: 'remove layers that no root holds (existing images, recent cuts, pins)',
    // nargs 1: take the next argument as the value even when it starts with "-", so "--grace -5m"
    // is read as a (bad) duration and refused as such, not as the unknown flags -5 and -m.
    builder: (y) =>
      y
        .option('dry-run', { type: 'boolean', describe: 'print what would be removed; remove nothing' })
        .option('max-size', { type: 'string', nargs: 1, describe: 'remove unrooted layers least recently used first, only until the objects total at most SIZE (20G, 500M)' })
        .option('older-than', { type: 'string', nargs: 1, describe: 'only remove layers last used longer ago than DURATION (7d, 12h)' })
        .option('keep-last', { type: 'number', default: 3, describe: 'the last N cuts of each recipe are roots' })
        .option('grace', { type: 'string', nargs: 1, default: '10m', describe: 'never remove an object written or used less than DURATION ago' })
        .option('wait', { type: 'string', nargs: 1, default: '10m', describe: 'how long to wait for running cuts before giving up (nothing is removed under a cut)' })
        .option('json', { type: 'boolean', describe: 'machine-readable report' })
        .example('$0 gc --dry-run', 'what would go, and which roots keep the rest')
        .example('$0 gc --max-size 20G', 'drop least recently used unrooted layers until the store is under 20 GiB')
        .example('$0 gc --older-than 7d --keep-last 1', 'drop layers unused for a week, keeping only each recipe\'s last cut')
        .epilogue(
          'Roots: every image a cut wrote that still exists (its layers and its spare\'s), the last --keep-last cuts of each\n' +
            'recipe, and pins (rapido-store pin). Everything else goes, orphan files too. gc waits for running cuts and\n' +
            'imports, and they wait for it; a gc killed midway is finished by the next one.',
        ),
    handler: async (argv) => {
      process.exitCode = await gcCommand({
        dryRun: Boolean(argv['dry-run']),
        maxSize: argv['max-size'] as string | undefined,
        olderThan: argv['older-than'] as string | undefined,
        keepLast: argv['keep-last'] as number,
        grace: argv.grace as string,
        wait: argv.wait as string,
        json: Boolean(argv.json),
      });
    },
  },
];
