import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { orderedPostSteps } from '../postStepArgs.js';
import os from 'node:os';
import path from 'node:path';
import { builderName, cutContext, deriveDracutFirstKey, deriveNativeLayers } from '../../derivations/deriveLayerKey.js';
import { cutRequest } from '../../cut/cutRequest.js';
import { CutStore } from '../../cut/cutStore.js';
import type { PostStep } from '../../derivations/builders/context.js';
import { writeNewcSync } from '../../derivations/cpio/writeNewc.js';
import { planLayers, type LayerPlan } from '../../derivations/layerPlan.js';
import { checkSourceDigests } from '../../derivations/nativeDerivation.js';
import { RapidoError } from '../../errors.js';
import { lastCut } from '../../store/cutHistory.js';
import { withCutGuard } from '../../store/cutGuard.js';
import { initHasher } from '../../store/digest.js';
import { getLayer } from '../../store/layerIndex.js';
import { lookupManifest } from '../../store/manifests.js';
import { objectPath } from '../../store/objectPath.js';
import type { Store } from '../../store/openStore.js';
import { diffCpio, firstDifference, type CpioDiff } from './cpioDiff.js';
import { printNotes } from './withStore.js';
import { formatBytes, plural } from '../../format.js';

export interface AuditArgs {
  recipe: string;
  layer?: string;
  keep: boolean;
  json: boolean;
  post: PostStep[];
}

export interface AuditLayer {
  layer: string;
  builder: string;
  /** The key the layer has now (dracut: the stored key its manifest leads to). */
  key?: string;
  /** The key this layer had in the recipe's last cut, when different. */
  lastCutKey?: string;
  status: 'reproducible' | 'differs' | 'not-in-store';
  storedSize?: number;
  rebuiltSize?: number;
  /** First differing byte. */
  offset?: number;
  diff?: CpioDiff;
  /** Where the rebuilt layer was kept (--keep). */
  rebuilt?: string;
}

/** The stored object of key, if its record and object exist. */
function storedObject(store: Store, key: string): { path: string; size: number } | undefined {
  const rec = getLayer(store, key);
  const p = objectPath(store, key);
  const st = fs.statSync(p, { throwIfNoEntry: false });
  return rec && st?.isFile() ? { path: p, size: st.size } : undefined;
}

function compare(result: AuditLayer, stored: { path: string; size: number }, rebuilt: string): void {
  result.storedSize = stored.size;
  result.rebuiltSize = fs.statSync(rebuilt).size;
  const at = firstDifference(stored.path, rebuilt);
  if (at < 0) {
    result.status = 'reproducible';
    return;
  }
  result.status = 'differs';
  result.offset = at;
  result.diff = diffCpio(fs.readFileSync(stored.path), fs.readFileSync(rebuilt));
}

const fileSafe = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * `rapido-store audit RECIPE`: rebuilds each layer from scratch, ignoring the
 * store, and compares the bytes with the stored object of the same key, as
 * `nix build --check` does. Same key means same inputs, so any difference is
 * a builder that is not reproducible. Exit status 1 on any difference.
 */
export async function auditCommand(a: AuditArgs): Promise<number> {
  const req = cutRequest(a.recipe, a.post);
  // `--layer tree:/fstests` takes all of a big tree's chunks; `--layer tree:/fstests#2` one of them.
  const plans = planLayers(req.recipe).filter((p) => a.layer === undefined || p.name === a.layer || a.layer.startsWith(`${p.name}#`));
  if (plans.length === 0) {
    throw new RapidoError('AUDIT_NO_LAYER', `recipe ${req.recipe.name} has no layer ${JSON.stringify(a.layer)}`, {
      hint: `its layers: ${planLayers(req.recipe).map((p) => p.name).join(', ')}`,
    });
  }
  await initHasher();
  // No stamp, and LMDB not open while native layers are derived: every input is hashed afresh.
  const cs = new CutStore(req.store, undefined, { reading: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rapido-audit-'));
  const results: AuditLayer[] = [];
  const say = (s: string) => !a.json && process.stderr.write(`rapido-store: ${s}\n`);
  say(`audit ${req.recipe.name}: rebuilding ${plural(plans.length, 'layer')} from scratch in ${work}`);
  try {
    // A gc must not remove the objects we compare against.
    await withCutGuard(cs.dir, async () => {
      const ctx = cutContext(req);
      const natives = new Map<LayerPlan, Awaited<ReturnType<typeof deriveNativeLayers>>>();
      for (const plan of plans) if (plan.kind !== 'dracut') natives.set(plan, await deriveNativeLayers(plan, ctx, cs));
      const store = await cs.open();
      printNotes(store);
      const last = lastCut(store, req.recipe.name);
      for (const plan of plans) {
        if (plan.kind === 'dracut') {
          const result: AuditLayer = { layer: plan.name, builder: builderName(plan), status: 'not-in-store' };
          results.push(result);
          const target = path.join(work, `${fileSafe(plan.name)}.cpio`);
          const d = await deriveDracutFirstKey(plan, ctx, req, cs);
          const key = lookupManifest(store, d.firstKey, d.currentDigest);
          result.key = key ?? undefined;
          const stored = key ? storedObject(store, key) : undefined;
          if (!stored) continue;
          const { runDracut } = await import('../../derivations/builders/dracutLayer.js');
          const { output, tmpDir } = await runDracut(d.dreq, work);
          fs.renameSync(output, target);
          fs.rmSync(tmpDir, { recursive: true, force: true });
          compare(result, stored, target);
          const lastKey = last?.layers.find((l) => l.name === plan.name)?.key;
          if (lastKey && lastKey !== result.key) result.lastCutKey = lastKey;
          if (a.keep) result.rebuilt = target;
          continue;
        }
        for (const { name, key, entries, derivation } of natives.get(plan)!.parts) {
          if (a.layer !== undefined && a.layer !== plan.name && a.layer !== name) continue;
          const result: AuditLayer = { layer: name, builder: builderName(plan), status: 'not-in-store', key };
          results.push(result);
          const target = path.join(work, `${fileSafe(name)}.cpio`);
          const stored = storedObject(store, key);
          if (!stored) continue;
          const fd = fs.openSync(target, 'wx', 0o644);
          try {
            // A file rewritten since its digest would show as a builder that is not reproducible.
            writeNewcSync(fd, entries, { epoch: ctx.epoch, sourceDigest: checkSourceDigests(derivation) });
          } finally {
            fs.closeSync(fd);
          }
          compare(result, stored, target);
          const lastKey = last?.layers.find((l) => l.name === name)?.key;
          if (lastKey && lastKey !== key) result.lastCutKey = lastKey;
          if (a.keep) result.rebuilt = target;
        }
      }
    }, { what: 'audit' });
  } finally {
    await cs.close();
    if (!a.keep) fs.rmSync(work, { recursive: true, force: true });
  }
  if (a.json) process.stdout.write(JSON.stringify({ recipe: req.recipe.name, layers: results, kept: a.keep ? work : undefined }, null, 2) + '\n');
  else print(results);
  return results.some((r) => r.status === 'differs') ? 1 : 0;
}

const SHOWN = 30;

function print(results: AuditLayer[]): void {
  const out = (s: string) => process.stdout.write(s + '\n');
  for (const r of results) {
    const head = `${r.layer.padEnd(16)} ${r.builder.padEnd(15)} ${(r.key ?? '(unknown)').padEnd(16)}`;
    if (r.status === 'not-in-store') {
      out(`${head}  not in the store: its inputs changed since it was built${r.key ? '' : ' (no dracut build matches the host files)'}; rapido cut, then audit`);
      continue;
    }
    if (r.status === 'reproducible') out(`${head}  reproducible (${formatBytes(r.storedSize!)})`);
    else {
      const d = r.diff!;
      out(`${head}  DIFFERS: stored ${r.storedSize} bytes, rebuilt ${r.rebuiltSize} bytes, first difference at byte ${r.offset}`);
      if (d.error) out(`    ${d.error}`);
      if (d.note) out(`    ${d.note}`);
      const lines = [
        ...d.changed.map((c) => `    /${c.path}: ${c.fields.join(', ')} differ`),
        ...d.onlyStored.map((p) => `    /${p}: only in the stored object`),
        ...d.onlyRebuilt.map((p) => `    /${p}: only in the rebuilt layer`),
      ];
      for (const l of lines.slice(0, SHOWN)) out(l);
      if (lines.length > SHOWN) out(`    ... and ${lines.length - SHOWN} more (--json lists all)`);
    }
    if (r.rebuilt) out(`    rebuilt layer kept at ${r.rebuilt}`);
  }
  const n = (s: AuditLayer['status']) => results.filter((r) => r.status === s).length;
  const parts = [`${n('reproducible')} reproducible`, `${n('differs')} ${n('differs') === 1 ? 'differs' : 'differ'}`];
  if (n('not-in-store')) parts.push(`${n('not-in-store')} not in the store`);
  out(`${plural(results.length, 'layer')}: ${parts.join(', ')}`);
  if (n('differs')) out('a stored object that is damaged (rather than built differently) is removed by rapido-store verify --repair and rebuilt by the next cut');
}

export const commands: CommandModule[] = [
  {
    command: 'audit <recipe>',
    describe: 'rebuild each layer from scratch, ignoring the store, and compare with the stored object (exit 1 on any difference)',
    builder: (y) =>
      y
        .positional('recipe', { type: 'string', describe: 'recipe name or manifest path, as for rapido cut' })
        .option('layer', { type: 'string', requiresArg: true, describe: 'only this layer (system, overlay, kmods, tree:/PATH, dracut)' })
        .option('keep', { type: 'boolean', describe: 'keep the rebuilt layers and print where' })
        .option('x', { type: 'string', describe: 'as for rapido cut: the -x steps the cut had (they are part of the overlay)' })
        .option('f', { type: 'string', describe: 'as for rapido cut: the -f files the cut had' })
        .option('json', { type: 'boolean', describe: 'machine-readable output' })
        .example('$0 audit simple-example', 'every layer: reproducible, or which cpio entries differ and how')
        .example('$0 audit fstests-btrfs --layer dracut --keep', 'rebuild only the dracut layer and keep it for diffoscope'),
    handler: async (argv) => {
      process.exitCode = await auditCommand({
        recipe: argv.recipe as string,
        layer: argv.layer as string | undefined,
        keep: Boolean(argv.keep),
        json: Boolean(argv.json),
        post: orderedPostSteps(process.argv.slice(2)),
      });
    },
  },
];
