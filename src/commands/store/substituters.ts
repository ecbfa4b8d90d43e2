import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/loadConfig.js';
import { RapidoError } from '../../errors.js';
import { EXIT } from '../../exitCodes.js';
import { lastCut } from '../../store/cutHistory.js';
import { CacheFault } from '../../store/substituters/cacheBackend.js';
import { recordPathIn, VERSION_PATH, versionMismatch } from '../../store/substituters/cacheRecord.js';
import { openBackend } from '../../store/substituters/openBackend.js';
import { pool } from '../../store/substituters/substitute.js';
import { parseSubstituterList } from '../../store/substituters/substituterUrl.js';
import { withStore } from './withStore.js';

/** One cache's answer, as `rapido-store substituters` prints it. */
interface Probe {
  display: string;
  state: string;
  ok: boolean;
  ms?: number;
  held?: number;
}

const signal = () => AbortSignal.timeout(60_000);

async function probe(spec: ReturnType<typeof parseSubstituterList>[number], keys: string[]): Promise<Probe> {
  const t0 = performance.now();
  try {
    const b = openBackend(spec);
    const v = await b.get(VERSION_PATH, signal());
    const ms = performance.now() - t0;
    if (v === null) return { display: spec.display, state: 'reachable, empty (nothing pushed yet)', ok: true, ms, held: keys.length ? 0 : undefined };
    const why = versionMismatch(v);
    if (why) return { display: spec.display, state: `reachable, unusable: ${why}`, ok: false, ms };
    const held = keys.length ? (await pool(keys, 4, (k) => b.exists(recordPathIn(k), signal()))).filter(Boolean).length : undefined;
    return { display: spec.display, state: `reachable${b.writable ? '' : ', read-only'}${spec.trustAny ? ', trust=any' : ''}`, ok: true, ms, held };
  } catch (e) {
    const why = e instanceof CacheFault || e instanceof RapidoError ? e.message : String((e as Error)?.message ?? e);
    return { display: spec.display, state: `unreachable: ${why}`, ok: false };
  }
}

/** `rapido-store substituters [RECIPE]`: each configured cache, reachable or not, its latency, how many of RECIPE's layers it holds. */
export async function substitutersCommand(a: { recipe?: string }): Promise<number> {
  const conf = loadConfig();
  const specs = parseSubstituterList(conf.get('RAPIDO_SUBSTITUTERS'));
  const out = (s: string) => process.stdout.write(s + '\n');
  if (specs.length === 0) {
    out('no substituters: RAPIDO_SUBSTITUTERS is empty or unset');
    return 0;
  }
  let keys: string[] = [];
  if (a.recipe) {
    keys = await withStore(conf, { readOnly: true }, (store) => {
      const cut = lastCut(store, a.recipe!);
      if (!cut) {
        throw new RapidoError('USAGE', `recipe ${a.recipe} was never cut into this store: its layer keys are not known`, {
          hint: `rapido cut -B --no-substitute ${a.recipe} first, or leave the recipe out`, exitCode: EXIT.USAGE,
        });
      }
      return [...new Set(cut.layers.map((l) => l.key))];
    });
  }
  const probes = await Promise.all(specs.map((s) => probe(s, keys)));
  const w = Math.max(...probes.map((p) => p.display.length));
  for (const p of probes) {
    const ms = p.ms === undefined ? '' : `  ${p.ms.toFixed(0)} ms`;
    const held = p.held === undefined ? '' : `  ${p.held}/${keys.length} layers of ${a.recipe}`;
    out(`${p.display.padEnd(w)}  ${p.state}${ms}${held}`);
  }
  return probes.every((p) => p.ok) ? 0 : 1;
}

export const commands: CommandModule[] = [
  {
    command: 'substituters [recipe]',
    aliases: ['ping'],
    describe: 'each cache in RAPIDO_SUBSTITUTERS: reachable or not, latency, and how many of RECIPE\'s layers it holds',
    builder: (y) =>
      y
        .positional('recipe', { type: 'string', describe: 'count the layers of this recipe\'s last cut that each cache holds' })
        .example('$0 substituters fstests-btrfs', 'is the team cache up, and would it serve my next cut?')
        .epilogue('Exit status 1 when a cache is unreachable or unusable. A cache URL option ?trust=any (shown here) accepts records not signed by a key in trusted-keys/.'),
    handler: async (argv) => {
      process.exitCode = await substitutersCommand({ recipe: argv.recipe as string | undefined });
    },
  },
];
