/**
 * What an edit costs, for the real xfstests tree (the fstests-btrfs recipe)
 * and synthetic 50 and 500 MiB trees: a no-op re-cut against a re-cut after
 * appending one line to one file of the tree, after rebuilding one kernel
 * module (a `.ko` with new bytes) and after a new `-x` step (the overlay
 * only), and a cold cut (empty store) against GNU cpio writing the same
 * entries once. Medians of whole processes; ratios to the no-op of the same
 * build in the same run; each case's peak RSS (GNU time's %M).
 *
 * BENCH_RAPIDO_BEFORE=/other/checkout/bin/rapido.js measures that build too,
 * interleaved with this one run by run (each edit is seen by both, in
 * alternating order), so before/after come from one run on one loaded
 * machine. BENCH_RAPIDO=... replaces this build. EDIT_COST_TREES=50,500
 * picks the synthetic sizes (MiB). EDIT_COST_DIR=/mnt/xfs puts the projects
 * (store, image) and trees on another filesystem, e.g. an XFS or btrfs
 * mount, where the image shares its objects' blocks (image/cloneRanges.ts).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNewc } from '../src/derivations/cpio/readNewc.js';
import { median, type Row } from './stats.js';

interface Case {
  name: string;
  recipe: string;
  conf: string;
  edited: string;
}

interface Build {
  label: string;
  rapido: string;
}

const TIME = '/usr/bin/time';

interface Run { ms: number; rssKb: number; line: string }

/** One process: wall ms, peak RSS (KiB, when GNU time is there) and the last stderr line. */
function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const rssFile = join(cwd, `.rss.${process.pid}`);
  const withTime = existsSync(TIME);
  const [c, a] = withTime ? [TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c, a, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
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

const rssOf = (rs: Run[]) => Math.max(...rs.map((r) => r.rssKb)) / 1024;

/** GNU cpio writing the image's entries once, from an unpacked copy on the same filesystem: the floor of a cold cut. */
function cpioFloor(image: string, root: string, runs: number): number {
  const dir = join(root, 'unpacked');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  // The entries as the guest sees them: later archives override earlier ones (devices are left out: GNU cpio needs no root for the rest).
  for (const e of readNewc(readFileSync(image))) {
    const p = join(dir, e.path);
    if (e.type === 'dir') {
      mkdirSync(p, { recursive: true, mode: e.mode });
      continue;
    }
    if (e.type !== 'file' && e.type !== 'symlink') continue;
    rmSync(p, { recursive: true, force: true });
    if (e.type === 'file') writeFileSync(p, e.data ?? Buffer.alloc(0), { mode: e.mode });
    else symlinkSync(e.target!, p);
  }
  const list = join(root, 'list');
  spawnSync('sh', ['-c', `cd "${dir}" && find . -mindepth 1 | LC_ALL=C sort > "${list}"`]);
  const out = join(root, 'cpio.out');
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    rmSync(out, { force: true });
    xs.push(timed('sh', ['-c', `cd "${dir}" && cpio -o -H newc --reproducible --quiet < "${list}" > "${out}"`], root, process.env).ms);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { force: true });
  return median(xs);
}

export function editCostBench(opts: { repo: string; rapido?: string; runs: number; kver: string; fstestsSrc?: string }): Row[] {
  const builds: Build[] = [{ label: 'after', rapido: process.env.BENCH_RAPIDO ?? opts.rapido ?? join(opts.repo, 'bin/rapido.js') }];
  if (process.env.BENCH_RAPIDO_BEFORE) builds.unshift({ label: 'before', rapido: process.env.BENCH_RAPIDO_BEFORE });
  const root = mkdtempSync(join(process.env.EDIT_COST_DIR ?? tmpdir(), 'rapido-edit-bench-'));
  const rows: Row[] = [];
  const runs = opts.runs;
  try {
    // A private modules tree (hard links) so that one module can be "rebuilt".
    const modRoot = join(root, 'mods');
    mkdirSync(join(modRoot, 'lib/modules'), { recursive: true });
    spawnSync('cp', ['-al', `/lib/modules/${opts.kver}`, join(modRoot, 'lib/modules/')]);
    const ko = join(modRoot, 'lib/modules', opts.kver, 'kernel/drivers/block/zram/zram.ko');
    const modConf = `KERNEL_RELEASE="${opts.kver}"\nKERNEL_INSTALL_MOD_PATH="${modRoot}"\n`;
    const nodeFloor = median(Array.from({ length: runs * 2 }, () => timed(process.execPath, ['-e', '0'], root, process.env).ms));
    rows.push({ name: 'edit cost: node empty process (floor)', ms: nodeFloor });
    // What any Node CLI run from a file pays before its first line (the main module's resolution and the CommonJS loader): the floor a no-op can reach.
    const emptyScript = join(root, 'empty.cjs');
    writeFileSync(emptyScript, '');
    const scriptFloor = median(Array.from({ length: runs * 2 }, () => timed(process.execPath, [emptyScript], root, process.env).ms));
    rows.push({ name: 'edit cost: node running an empty script file', ms: scriptFloor, note: `${(scriptFloor / nodeFloor).toFixed(2)}x node -e 0` });
    const cases: Case[] = [];
    if (opts.fstestsSrc) {
      const dir = join(root, 'fstests');
      spawnSync('cp', ['-a', opts.fstestsSrc, dir]);
      const recipes = join(root, 'recipes');
      cpSync(join(opts.repo, 'recipes'), recipes, { recursive: true });
      // zram too, so that the module case rebuilds one module of the image.
      appendFileSync(join(recipes, 'fstests-btrfs.rapido'), 'kmod zram\n');
      cases.push({ name: 'real xfstests tree', recipe: join(recipes, 'fstests-btrfs.rapido'), conf: `FSTESTS_SRC="${dir}"\n${modConf}`, edited: join(dir, 'tests/generic/001') });
    }
    for (const size of (process.env.EDIT_COST_TREES ?? '50,500').split(',').map(Number).filter((n) => n > 0)) {
      const dir = join(root, `tree${size}`);
      const edited = makeTree(dir, size);
      const recipe = join(root, `tree${size}.rapido`);
      writeFileSync(recipe, `bin bash cat\nkmod zram\ntree /data ${dir}\nautorun /bin/true\n`);
      cases.push({ name: `${mib(size * 2 ** 20)} tree`, recipe, conf: modConf, edited });
    }
    for (const [ci, c] of cases.entries()) {
      const projs = builds.map((b) => {
        const proj = join(root, `proj-${ci}-${b.label}`);
        mkdirSync(proj);
        const confPath = join(proj, 'rapido.conf');
        writeFileSync(confPath, `RAPIDO_STORE="${join(proj, 'store')}"\nDRACUT_OUT="${join(proj, 'initrds/myinitrd')}"\n${c.conf}`);
        return { b, proj, env: { ...process.env, RAPIDO_CONF: confPath } };
      });
      const cut = (k: number, extra: string[] = []) => timed(process.execPath, [projs[k].b.rapido, 'cut', '-B', ...extra, c.recipe], projs[k].proj, projs[k].env);
      /** Each build once per round, alternating which goes first; `each` runs before each build's cut. */
      const interleaved = (n: number, before: (i: number) => void, extra: (i: number) => string[] = () => [], each?: (k: number) => void): Run[][] => {
        const out: Run[][] = projs.map(() => []);
        for (let i = 0; i < n; i++) {
          before(i);
          const order = projs.map((_, k) => k);
          if (i % 2) order.reverse();
          for (const k of order) {
            each?.(k);
            out[k].push(cut(k, extra(i)));
          }
        }
        return out;
      };
      // An even number of rounds, and the other build's writes flushed first: a cold cut right after another one's waits for its writeback.
      const cold = interleaved(2 * Math.max(1, Math.ceil(runs / 4)), () => {}, () => [], (k) => {
        rmSync(join(projs[k].proj, 'store'), { recursive: true, force: true });
        rmSync(join(projs[k].proj, 'initrds'), { recursive: true, force: true });
        spawnSync('sync');
      });
      age([c.edited, ko]);
      interleaved(1, () => {}); // nothing racy any more: the stamp is trusted from here on
      const noops = interleaved(runs * 2, () => {});
      let n = 0;
      // The first edit after a cold cut has no spare image yet: a warm-up, as every later edit finds one.
      const edit = () => appendFileSync(c.edited, `# edit ${n++}\n`);
      interleaved(1, edit);
      const edits = interleaved(runs, edit);
      age([c.edited]);
      interleaved(1, () => {});
      const kos = interleaved(runs, () => {
        const b = readFileSync(ko);
        rmSync(ko); // break the hard link to the system's copy
        writeFileSync(ko, Buffer.concat([b, Buffer.from([n++ & 0xff])]));
      });
      age([ko]);
      interleaved(1, () => {});
      const xs = interleaved(runs, () => {}, (i) => ['-x', `echo step ${i}`]);
      const floor = cpioFloor(join(projs[projs.length - 1].proj, 'initrds/myinitrd'), root, Math.max(1, Math.ceil(runs / 2)));
      const image = /, ([\d.]+ \S+), [\d.]+ \S+ written/.exec(edits[0][edits[0].length - 1].line)?.[1] ?? '?';
      for (const [k, p] of projs.entries()) {
        const noop = median(noops[k].map((r) => r.ms));
        const tag = builds.length > 1 ? ` [${p.b.label}]` : '';
        const row = (what: string, rs: Run[], note: string) => {
          const ms = median(rs.map((r) => r.ms));
          rows.push({ name: `edit cost, ${c.name}${tag}: ${what}`, ms, note: `${note}${note ? ', ' : ''}${rssOf(rs).toFixed(0)} MiB RSS` });
          return ms;
        };
        const written = (rs: Run[]) => /, ([\d.]+ \S+) written/.exec(rs[rs.length - 1].line)?.[1] ?? '?';
        const coldMs = median(cold[k].map((r) => r.ms));
        row('cold cut', cold[k], `image ${image}, ${(coldMs / floor).toFixed(2)}x GNU cpio (${floor.toFixed(0)} ms)`);
        row('no-op', noops[k], `${(noop / nodeFloor).toFixed(2)}x node floor, ${(noop / scriptFloor).toFixed(2)}x empty script`);
        for (const [what, rs] of [['one-file edit', edits[k]], ['.ko rebuilt', kos[k]], ['-x changed', xs[k]]] as const) {
          row(what, rs, `${(median(rs.map((r) => r.ms)) / noop).toFixed(2)}x no-op, ${written(rs)} written`);
        }
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}
