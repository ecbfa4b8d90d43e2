import type { CommandModule } from 'yargs';
import { orderedPostSteps } from '../postStepArgs.js';
import type { PostStep } from '../../derivations/builders/context.js';
import { planLayers } from '../../derivations/layerPlan.js';
import type { NativeDerivation, EntryRecord } from '../../derivations/nativeDerivation.js';
import { cutRequest } from '../../cut/cutRequest.js';
import { builderName, cutContext, deriveDracutFirstKey, deriveNativeLayers } from '../../derivations/deriveLayerKey.js';
import { CutStore } from '../../cut/cutStore.js';
import { RACY_WINDOW_MS, readStamp } from '../../image/stamp.js';
import { getLayer, getManifest, initHasher, lastCut, lookupManifest } from '../../store/index.js';
import { printNotes } from './withStore.js';

export interface WhyLayer {
  layer: string;
  builder: string;
  status: 'hit' | 'miss';
  key?: string;
  previousKey?: string;
  reasons: string[];
  /** The last cut saw this layer's inputs change within the racy window: the next cut re-derives it to check. */
  racy?: boolean;
}

/**
 * `rapido-store why RECIPE`: per layer, would the next cut take it from the
 * store, and if not, what changed since the recipe's last cut: a file's
 * digest, a config value, a directive, the kernel.
 */
export async function whyCommand(opts: { name: string; post: PostStep[]; json?: boolean }): Promise<void> {
  const req = cutRequest(opts.name, opts.post);
  await initHasher();
  const stamp = readStamp(req.out);
  // The stamp beside the image is this recipe's only when the image was last cut from it.
  const stampLayers = stamp?.recipe === req.recipe.name ? stamp.layers : [];
  const cs = new CutStore(req.store, stamp, { reading: true });
  const store = await cs.open();
  printNotes(store);
  const result: WhyLayer[] = [];
  try {
    const ctx = cutContext(req);
    const last = lastCut(store, req.recipe.name);
    for (const plan of planLayers(req.recipe)) {
      const previousKey = last?.layers.find((l) => l.name === plan.name)?.key;
      const prev = previousKey ? getLayer(store, previousKey) : undefined;
      if (plan.kind === 'dracut') {
        const d = await deriveDracutFirstKey(plan, ctx, req, cs);
        const key = lookupManifest(store, d.firstKey, d.currentDigest);
        const hit = key !== null && (await cs.lookup(key)) !== undefined;
        const reasons: string[] = [];
        if (!hit) {
          const variants = getManifest(store, d.firstKey);
          if (variants.length === 0) reasons.push(prev ? 'dracut request or dracut itself changed (new first-level key)' : 'never built');
          for (const v of variants.slice(0, 1)) {
            for (const c of v.closure) {
              const now = d.currentDigest(c.path);
              if (now !== c.digest) reasons.push(`file ${c.path}: ${now === null ? 'gone' : `digest ${c.digest} -> ${now}`}`);
            }
          }
        }
        result.push({ layer: plan.name, builder: 'dracut', status: hit ? 'hit' : 'miss', key: key ?? undefined, previousKey, reasons });
        continue;
      }
      // A big tree is several layers (chunks): each is a hit or a miss of its own.
      const { parts } = await deriveNativeLayers(plan, ctx, cs);
      for (const { name, key, derivation } of parts) {
        const partKey = last?.layers.find((l) => l.name === name)?.key;
        const partPrev = partKey ? getLayer(store, partKey) : undefined;
        const hit = (await cs.lookup(key)) !== undefined;
        const reasons = hit
          ? []
          : !partPrev
            ? [parts.length > 1 ? 'no earlier cut of this recipe built this chunk (a new chunk, or files moved between chunks)' : 'no earlier cut of this recipe built this layer']
            : Array.isArray((partPrev.derivation as NativeDerivation | null)?.entries)
              ? diffDerivations(partPrev.derivation as NativeDerivation, derivation)
              : ['the last cut\'s layer record was re-created by verify --repair without its inputs: what changed is unknown'];
        if (!hit && reasons.length === 0) reasons.push('object missing from the store (removed by gc or repair)');
        const racy = stampLayers.find((l) => l.name === name)?.racy === true;
        if (racy) reasons.push(RACY_NOTE);
        result.push({ layer: name, builder: builderName(plan), status: hit ? 'hit' : 'miss', key, previousKey: partKey, reasons, ...(racy ? { racy } : {}) });
      }
    }
  } finally {
    await cs.close();
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ recipe: req.recipe.name, layers: result }, null, 2) + '\n');
    return;
  }
  for (const l of result) {
    process.stdout.write(`${l.layer.padEnd(16)} ${l.builder.padEnd(15)} ${l.status === 'hit' ? 'hit ' : 'MISS'}  ${l.key ?? '(unknown until built)'}\n`);
    for (const r of l.reasons.slice(0, 20)) process.stdout.write(`    ${r}\n`);
    if (l.reasons.length > 20) process.stdout.write(`    ... and ${l.reasons.length - 20} more\n`);
  }
}

const RACY_NOTE =
  `an input changed within ${RACY_WINDOW_MS} ms of the last cut: its stat data was too fresh to trust, ` +
  'so the next cut re-derives this layer to check (not a cache fault; it then says "reused" rather than "up to date")';

/** Human-readable differences between the derivation of the last cut and the current one. */
export function diffDerivations(before: NativeDerivation, after: NativeDerivation): string[] {
  const out: string[] = [];
  if (before.version !== after.version) out.push(`builder version ${before.version} -> ${after.version}`);
  if (before.kernelRelease !== after.kernelRelease) out.push(`kernel release ${before.kernelRelease} -> ${after.kernelRelease}`);
  if (before.epoch !== after.epoch) out.push(`SOURCE_DATE_EPOCH ${before.epoch} -> ${after.epoch}`);
  const dirs = (d: NativeDerivation) => new Set(d.directives.map((x) => x.join(' ')));
  const [db, da] = [dirs(before), dirs(after)];
  for (const d of da) if (!db.has(d)) out.push(`directive added: ${d}`);
  for (const d of db) if (!da.has(d)) out.push(`directive removed: ${d}`);
  const vb = before.vars ?? {};
  const va = after.vars ?? {};
  for (const k of new Set([...Object.keys(vb), ...Object.keys(va)])) {
    if (vb[k] !== va[k]) out.push(`config value ${k}: ${JSON.stringify(vb[k])} -> ${JSON.stringify(va[k])}`);
  }
  if (JSON.stringify(before.post ?? []) !== JSON.stringify(after.post ?? [])) out.push(`-x/-f steps: ${JSON.stringify(before.post ?? [])} -> ${JSON.stringify(after.post ?? [])}`);
  const map = (es: EntryRecord[]) => new Map(es.map((e) => [e[0], e]));
  const [eb, ea] = [map(before.entries), map(after.entries)];
  for (const [p, e] of ea) {
    const o = eb.get(p);
    const where = e[4] ? ` (from ${e[4]})` : '';
    if (!o) out.push(`added /${p}${where}`);
    else if (o[3] !== e[3]) out.push(`${e[1] === 'file' ? 'content' : 'target'} of /${p}${where}: ${o[3]} -> ${e[3]}`);
    else if (o[2] !== e[2]) out.push(`mode of /${p}: ${o[2].toString(8)} -> ${e[2].toString(8)}`);
  }
  for (const p of eb.keys()) if (!ea.has(p)) out.push(`removed /${p}`);
  return out;
}

export const commands: CommandModule[] = [
  {
    command: 'why <recipe>',
    describe: 'per layer: would the next cut reuse it (hit) or rebuild it (miss), and which input changed',
    builder: (y) =>
      y
        .positional('recipe', { type: 'string', describe: 'recipe name or manifest path' })
        .option('x', { type: 'string', describe: 'as for rapido cut: the -x steps the cut would get' })
        .option('f', { type: 'string', describe: 'as for rapido cut: the -f files the cut would get' })
        .option('json', { type: 'boolean', describe: 'machine-readable output' }),
    handler: async (argv) => {
      await whyCommand({ name: argv.recipe as string, post: orderedPostSteps(process.argv.slice(2)), json: Boolean(argv.json) });
    },
  },
];
