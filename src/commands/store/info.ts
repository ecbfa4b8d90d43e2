import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/loadConfig.js';
import type { NativeDerivation } from '../../derivations/nativeDerivation.js';
import { RapidoError } from '../../errors.js';
import { lastCut } from '../../store/cutHistory.js';
import { getLayer, listLayers, type LayerRecord } from '../../store/layerIndex.js';
import { isLayerKey, objectPath } from '../../store/objectPath.js';
import { STORE_FORMAT_VERSION, type Store } from '../../store/openStore.js';
import { getPin, listPins } from '../../store/pins.js';
import { pendingRemoval } from '../../store/removeLayers.js';
import { collectRoots, describeRoot, type RootRef, type Roots } from '../../store/roots.js';
import { listTrustedKeys } from '../../store/trustedKeys.js';
import { withStore } from './withStore.js';
import { ago, formatBytes, plural } from '../../format.js';

export interface InfoArgs {
  target?: string;
  json: boolean;
  keepLast: number;
}

/** Input files listed before "N more" in text output; --json lists all. */
const SHOWN_INPUTS = 20;

interface LayerInfo {
  record: LayerRecord;
  object: { present: boolean; size?: number; path: string };
  roots: (RootRef & { text: string })[];
}

function layerInfo(store: Store, rec: LayerRecord, roots: Roots, now: number): LayerInfo {
  const p = objectPath(store, rec.key);
  const st = fs.statSync(p, { throwIfNoEntry: false });
  return {
    record: rec,
    object: { present: Boolean(st?.isFile()), size: st?.size, path: p },
    roots: (roots.byKey.get(rec.key) ?? []).map((r) => ({ ...r, text: describeRoot(r, now) })),
  };
}

/** KEY, a unique key prefix (4+ hex chars), a recipe (its last cut) or pin:NAME → records. */
function resolve(store: Store, target: string): { title?: string; records: LayerRecord[] } {
  if (isLayerKey(target)) {
    const rec = getLayer(store, target);
    if (rec) return { records: [rec] };
  }
  if (/^[0-9a-f]{4,15}$/.test(target)) {
    const matches = listLayers(store).filter((r) => r.key.startsWith(target));
    if (matches.length === 1) return { records: matches };
    if (matches.length > 1) {
      throw new RapidoError('AMBIGUOUS_KEY', `${target} is the start of ${matches.length} layer keys: ${matches.slice(0, 5).map((r) => r.key).join(', ')}${matches.length > 5 ? ', ...' : ''}`, {
        hint: 'give more characters of the key',
      });
    }
  }
  const cut = target.includes('\0') ? undefined : lastCut(store, target);
  if (cut) {
    const records = cut.layers.map((l) => getLayer(store, l.key) ?? missingRecord(l.key, l.name));
    return { title: `last cut of ${cut.recipe}, ${new Date(cut.at).toISOString()} (${ago(Date.now() - cut.at)} ago) -> ${cut.outPath}`, records };
  }
  const pin = target.startsWith('pin:') ? getPin(store, target.slice(4)) : undefined;
  if (pin) return { title: `pin ${pin.name}`, records: pin.layers.map((l) => getLayer(store, l.key) ?? missingRecord(l.key, l.name)) };
  throw new RapidoError('INFO_UNKNOWN', `${JSON.stringify(target)} is neither a layer key (or key prefix) in the store nor a recipe that was cut into it`, {
    hint: 'rapido-store ls lists layer keys; a recipe is named as it was given to rapido cut; pin:NAME shows a pin',
  });
}

/** A layer the history names but whose record is gone (removed by gc or repair). */
function missingRecord(key: string, name: string): LayerRecord {
  return { key, layerName: name, builder: '(record removed)', size: 0, digest: '', derivation: null, createdAt: 0, lastUsedAt: 0 };
}

export const commands: CommandModule[] = [
  {
    command: 'info [target]',
    describe: 'what a layer was built from (builder, directives, kernel, config values, input files) and which roots hold it',
    builder: (y) =>
      y
        .positional('target', { type: 'string', describe: 'layer key (or a unique prefix), recipe (its last cut) or pin:NAME; none: the store' })
        .option('keep-last', { type: 'number', default: 3, describe: 'as for gc: how many recent cuts of each recipe count as roots' })
        .option('json', { type: 'boolean', describe: 'everything, including every input file and the full derivation' })
        .example('$0 info simple-example', 'each layer of its last cut')
        .example('$0 info 3f2a --json | jq .record.derivation', 'one layer by key prefix'),
    handler: async (argv) => {
      process.exitCode = await infoCommand({ target: argv.target as string | undefined, json: Boolean(argv.json), keepLast: argv['keep-last'] as number });
    },
  },
];

/** `rapido-store info [KEY|RECIPE]`: what a layer was built from and what keeps it; no argument: the store. */
export async function infoCommand(a: InfoArgs): Promise<number> {
  return withStore(loadConfig(), { readOnly: true }, (store) => {
    const now = Date.now();
    const roots = collectRoots(store, { keepLast: a.keepLast });
    if (a.target === undefined) {
      printStore(store, roots, a.json);
      return 0;
    }
    const { title, records } = resolve(store, a.target);
    const infos = records.map((r) => layerInfo(store, r, roots, now));
    if (a.json) {
      process.stdout.write(JSON.stringify(infos.length === 1 && !title ? infos[0] : { title, layers: infos }, null, 2) + '\n');
      return 0;
    }
    if (title) process.stdout.write(`${title}\n\n`);
    for (const i of infos) printLayer(i, now);
    return 0;
  });
}

function printStore(store: Store, roots: Roots, json: boolean): void {
  const layers = listLayers(store);
  const bytes = layers.reduce((n, l) => n + l.size, 0);
  const rootedBytes = layers.filter((l) => roots.byKey.has(l.key)).reduce((n, l) => n + l.size, 0);
  const info = {
    store: store.dir,
    formatVersion: STORE_FORMAT_VERSION,
    createdAt: store.db.meta.get('createdAt') as number | undefined,
    layers: layers.length,
    bytes,
    rooted: { layers: layers.filter((l) => roots.byKey.has(l.key)).length, bytes: rootedBytes },
    images: roots.images,
    recipes: roots.recipes.map((r) => r.recipe),
    pins: listPins(store).map((p) => p.name),
    trustedKeys: listTrustedKeys(store).map((k) => ({ name: k.name, fingerprint: k.fingerprint })),
    interruptedGc: pendingRemoval(store)?.keys.length ?? 0,
  };
  if (json) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return;
  }
  const out = (k: string, v: string) => process.stdout.write(`${k.padEnd(13)}${v}\n`);
  out('store', `${info.store} (format ${info.formatVersion}${info.createdAt ? `, created ${new Date(info.createdAt).toISOString()}` : ''})`);
  out('layers', `${info.layers}, ${formatBytes(bytes)}; held by roots: ${info.rooted.layers}, ${formatBytes(rootedBytes)}`);
  out('images', info.images.length ? info.images.map((i) => i.path).join(', ') : 'none');
  out('recipes', info.recipes.length ? info.recipes.join(', ') : 'none cut yet');
  out('pins', info.pins.length ? info.pins.join(', ') : 'none');
  out('trusted keys', info.trustedKeys.length ? info.trustedKeys.map((k) => `${k.name} (${k.fingerprint})`).join(', ') : 'none');
  if (info.interruptedGc) out('note', `an interrupted gc left ${plural(info.interruptedGc, 'layer')} half removed; the next gc finishes it`);
}

function printLayer(i: LayerInfo, now: number): void {
  const r = i.record;
  const out = (k: string, v: string) => process.stdout.write(`  ${k.padEnd(11)}${v}\n`);
  process.stdout.write(`layer ${r.key}: ${r.layerName} (${r.builder})\n`);
  if (!r.digest) {
    out('record', 'removed (by gc or repair): only the cut history names it');
    process.stdout.write('\n');
    return;
  }
  const obj = i.object.present ? (i.object.size === r.size ? 'object present' : `object has ${i.object.size} bytes: corrupt, rapido-store verify`) : 'OBJECT MISSING (the next cut rebuilds it)';
  out('size', `${formatBytes(r.size)} (${r.size} bytes), digest ${r.digest}, ${obj}`);
  out('created', `${new Date(r.createdAt).toISOString()} (${ago(now - r.createdAt)} ago), last used ${ago(now - r.lastUsedAt)} ago`);
  out('held by', i.roots.length ? i.roots.map((x) => x.text).join('; ') : 'no root: the next gc removes it (rapido-store pin keeps it)');
  if (r.builder === 'dracut') printDracut(r, out);
  else if (r.builder.startsWith('native-')) printNative(r.derivation as NativeDerivation, out);
  else out('derivation', JSON.stringify(r.derivation).slice(0, 200));
  process.stdout.write('\n');
}

type Out = (k: string, v: string) => void;

function printInputs(label: string, files: [path: string, digest: string, into?: string][], out: Out): void {
  out(label, plural(files.length, 'host file'));
  for (const [p, d, into] of files.slice(0, SHOWN_INPUTS)) process.stdout.write(`    ${d}  ${p}${into && into !== p.slice(1) ? `  -> /${into}` : ''}\n`);
  if (files.length > SHOWN_INPUTS) process.stdout.write(`    ... ${files.length - SHOWN_INPUTS} more (--json lists all)\n`);
}

function printNative(d: NativeDerivation, out: Out): void {
  out('derivation', `${d.builder} v${d.version}, layer ${d.layer}, SOURCE_DATE_EPOCH ${d.epoch}`);
  if (d.directives.length) out('directives', d.directives.map((x) => x.join(' ')).join('; '));
  if (d.kernelRelease) out('kernel', d.kernelRelease);
  const vars = Object.entries(d.vars ?? {});
  if (vars.length) out('config', vars.map(([k, v]) => `${k}=${v}`).join(' '));
  if (d.post?.length) out('-x/-f', JSON.stringify(d.post));
  const files = d.entries.filter((e) => e[1] === 'file' && e[4]).map((e) => [e[4]!, e[3], e[0]] as [string, string, string]);
  const generated = d.entries.length - files.length;
  out('entries', `${d.entries.length} (${files.length} from host files, ${generated} dirs, links, devices and generated files)`);
  printInputs('inputs', files, out);
}

function printDracut(r: LayerRecord, out: Out): void {
  const d = r.derivation as { dracutVersion?: string; request?: { modules?: string[]; installs?: string[]; extraArgs?: string[]; epoch?: number }; self?: [string, string][]; firstKey?: string };
  out('derivation', `dracut ${d.dracutVersion ?? '?'}, first-level key ${d.firstKey ?? '?'}, SOURCE_DATE_EPOCH ${d.request?.epoch ?? '?'}`);
  out('modules', (d.request?.modules ?? []).join(' ') || '(none)');
  if (d.request?.installs?.length) out('installs', d.request.installs.join(' '));
  if (d.request?.extraArgs?.length) out('extra args', d.request.extraArgs.join(' '));
  for (const [f, dg] of d.self ?? []) out('dracut', `${dg}  ${f}`);
  printInputs('closure', (r.closure ?? []).map((c) => [c.path, c.digest]), out);
}
