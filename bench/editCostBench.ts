/**
 * What an edit costs: a no-op re-cut against a re-cut after appending one
 * line to one file of a big `tree`, for the real xfstests tree (the
 * fstests-btrfs recipe) and synthetic 50 and 500 MiB trees. Medians of whole
 * processes, ratios to the no-op of the same run, and each case's peak RSS
 * (GNU time's %M, of the cut process).
 *
 * BENCH_RAPIDO=/other/checkout/bin/rapido.js measures another build with the
 * same script (the numbers before a change); EDIT_COST_TREES=50,500 picks
 * the synthetic sizes (MiB).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, type Row } from './stats.js';

interface Case {
  name: string;
  recipe: string;
  conf: string;
  edited: string;
}

const TIME = '/usr/bin/time';

/** One cut: wall ms, peak RSS (KiB, when GNU time is there) and the summary line. */
function cut(rapido: string, c: Case, cwd: string, env: NodeJS.ProcessEnv): { ms: number; rssKb: number; line: string } {
  const rssFile = join(cwd, '.rss');
  const withTime = existsSync(TIME);
  const [cmd, args] = withTime ? [TIME, ['-f', '%M', '-o', rssFile, process.execPath, rapido, 'cut', '-B', c.recipe]] : [process.execPath, [rapido, 'cut', '-B', c.recipe]];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`cut ${c.name} failed (${r.status}): ${r.stderr}`);
  const rssKb = withTime ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN;
  return { ms, rssKb, line: r.stderr.trim().split('\n').pop() ?? '' };
}

/** `mib` MiB of deterministic, incompressible-looking files: groups of test scripts and some larger binaries. */
function makeTree(dir: string, mib: number): string {
  let seed = 5;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const pool = Buffer.alloc(8 << 20);
  for (let i = 0; i < pool.length; i++) pool[i] = (rnd() * 256) | 0;
  let bytes = 0;
  for (let g = 0; bytes < mib * 2 ** 20; g++) {
    const sub = join(dir, 'tests', `g${String(g).padStart(4, '0')}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) {
      const size = f % 50 === 0 ? 500_000 + ((rnd() * 2_000_000) | 0) : 1000 + ((rnd() * 12_000) | 0);
      const off = (rnd() * (pool.length - size)) | 0;
      writeFileSync(join(sub, String(f).padStart(3, '0')), pool.subarray(off, off + size));
      bytes += size;
    }
  }
  return join(dir, 'tests', 'g0001', '001');
}

function age(paths: string[]): void {
  const t = new Date(Date.now() - 5000);
  for (const p of paths) utimesSync(p, t, t);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

export function editCostBench(opts: { repo: string; rapido?: string; runs: number; kver: string; fstestsSrc?: string }): Row[] {
  const rapido = process.env.BENCH_RAPIDO ?? opts.rapido ?? join(opts.repo, 'bin/rapido.js');
  const root = mkdtempSync(join(tmpdir(), 'rapido-edit-bench-'));
  const rows: Row[] = [];
  try {
    const cases: Case[] = [];
    if (opts.fstestsSrc) {
      const dir = join(root, 'fstests');
      spawnSync('cp', ['-a', opts.fstestsSrc, dir]);
      const recipes = join(root, 'recipes');
      cpSync(join(opts.repo, 'recipes'), recipes, { recursive: true });
      cases.push({
        name: 'fstests-btrfs (real xfstests tree)',
        recipe: join(recipes, 'fstests-btrfs.rapido'),
        conf: `FSTESTS_SRC="${dir}"\nKERNEL_RELEASE="${opts.kver}"\n`,
        edited: join(dir, 'tests/generic/001'),
      });
    }
    for (const size of (process.env.EDIT_COST_TREES ?? '50,500').split(',').map(Number).filter((n) => n > 0)) {
      const dir = join(root, `tree${size}`);
      const edited = makeTree(dir, size);
      const recipe = join(root, `tree${size}.rapido`);
      writeFileSync(recipe, `bin bash cat\ntree /data ${dir}\nautorun /bin/true\n`);
      cases.push({ name: `synthetic ${mib(size * 2 ** 20)} tree`, recipe, conf: `KERNEL_RELEASE="${opts.kver}"\n`, edited });
    }
    for (const c of cases) {
      const proj = join(root, `proj-${cases.indexOf(c)}`);
      mkdirSync(proj);
      const confPath = join(proj, 'rapido.conf');
      writeFileSync(confPath, `RAPIDO_STORE="${join(proj, 'store')}"\nDRACUT_OUT="${join(proj, 'initrds/myinitrd')}"\n${c.conf}`);
      const env = { ...process.env, RAPIDO_CONF: confPath };
      const cold = cut(rapido, c, proj, env);
      age([c.edited]);
      cut(rapido, c, proj, env); // nothing racy any more: the stamp is trusted from here on
      const noops = Array.from({ length: opts.runs * 2 }, () => cut(rapido, c, proj, env));
      let n = 0;
      // The first edit after a cold cut has no spare image yet: a warm-up, as every later edit finds one.
      appendFileSync(c.edited, `# edit ${n++}\n`);
      cut(rapido, c, proj, env);
      const edits = Array.from({ length: opts.runs }, () => {
        appendFileSync(c.edited, `# edit ${n++}\n`);
        return cut(rapido, c, proj, env);
      });
      const noop = median(noops.map((r) => r.ms));
      const edit = median(edits.map((r) => r.ms));
      const rss = (rs: { rssKb: number }[]) => `${(Math.max(...rs.map((r) => r.rssKb)) / 1024).toFixed(0)} MiB RSS`;
      const written = /, ([\d.]+ \S+) written/.exec(edits[edits.length - 1].line)?.[1] ?? '?';
      const image = /, ([\d.]+ \S+), [\d.]+ \S+ written/.exec(edits[edits.length - 1].line)?.[1] ?? '?';
      rows.push(
        { name: `edit cost, ${c.name}: cold cut`, ms: cold.ms, note: `image ${image}, ${rss([cold])}` },
        { name: `edit cost, ${c.name}: no-op`, ms: noop, note: rss(noops) },
        { name: `edit cost, ${c.name}: one-file edit`, ms: edit, note: `${(edit / noop).toFixed(2)}x no-op, ${written} written, ${rss(edits)}` },
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}
