/**
 * `npm run bench`: the edit → re-cut loop, measured side by side in one run.
 * Every figure is the median wall time of several runs of a whole process,
 * as a developer experiences it. Plain dracut (what Rapido ran until 2025)
 * builds the same binaries, modules, tree and autorun script.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, utimesSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootBench } from './bootBench.js';
import { cephBench } from './cephBench.js';
import { editCostBench } from './editCostBench.js';
import { pairBench } from './pairBench.js';
import { netNoopBench, netUpBench } from './netBench.js';
import { storeBench } from './storeBench.js';
import { substitutersBench } from './substBench.js';
import { median, type Row } from './stats.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RAPIDO = join(REPO, 'bin/rapido.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}


function measure(n: number, before: (i: number) => void, run: () => number): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    before(i);
    xs.push(run());
  }
  return median(xs);
}

/**
 * The real xfstests tree built by scripts/build-suites.sh (FSTESTS_SRC wins,
 * else the newest built one in the cache), copied so the bench can edit a
 * test file in it.
 */
function copyXfstests(dest: string): { src: string; files: number; bytes: number } {
  let src = process.env.FSTESTS_SRC ?? '';
  if (!src) {
    const cache = process.env.RAPIDO_SUITES_CACHE ?? (process.getuid?.() === 0 ? '/var/cache/rapido/suites' : join(process.env.HOME ?? '/', '.cache/rapido/suites'));
    const built = existsSync(cache) ? readdirSync(cache).filter((n) => n.startsWith('xfstests-') && existsSync(join(cache, n, '.rapido-built'))).sort() : [];
    if (built.length) src = join(cache, built[built.length - 1]);
  }
  if (!src || !existsSync(join(src, 'check'))) throw new Error('no built xfstests: run scripts/build-suites.sh (or set FSTESTS_SRC)');
  sh('cp', ['-a', src, dest]);
  const count = spawnSync('sh', ['-c', `find "${dest}" -type f | wc -l; du -sb "${dest}" | cut -f1`], { encoding: 'utf8' }).stdout.trim().split('\n');
  return { src, files: Number(count[0]), bytes: Number(count[1]) };
}

function kernelRelease(): string {
  return spawnSync('sh', ['-c', 'ls /lib/modules | sort -V | tail -1'], { encoding: 'utf8' }).stdout.trim();
}


function benchRecipe(recipe: string, root: string, kver: string, modRoot: string, nodeFloor: number): Row[] {
  const proj = join(root, recipe);
  mkdirSync(proj, { recursive: true });
  const store = join(proj, 'store');
  const out = join(proj, 'initrds/myinitrd');
  const fstests = join(root, 'fstests');
  const conf = join(proj, 'rapido.conf');
  writeFileSync(conf, `RAPIDO_STORE="${store}"\nDRACUT_OUT="${out}"\nFSTESTS_SRC="${fstests}"\nKERNEL_RELEASE="${kver}"\nKERNEL_INSTALL_MOD_PATH="${modRoot}"\n`);
  // A private copy of the recipe and its autorun script, so the bench can edit the script.
  const recipeDir = join(proj, 'recipes');
  cpSync(join(REPO, 'recipes'), recipeDir, { recursive: true });
  const env = { ...process.env, RAPIDO_CONF: conf };
  const manifest = join(recipeDir, `${recipe}.rapido`);
  const cut = () => sh(process.execPath, [RAPIDO, 'cut', '-B', manifest], { cwd: proj, env });
  const autorun = join(recipeDir, 'autorun', recipe === 'simple-example' ? 'simple-example.sh' : 'fstests.sh');
  const zram = join(modRoot, 'lib/modules', kver, 'kernel/drivers/block/zram/zram.ko');
  // One test file of the suite, as a developer edits it between runs.
  const testFile = join(fstests, 'tests/generic/001');
  const ageAll = () => {
    // As if the last edit was a while ago: the racy-clean window has passed.
    const t = new Date(Date.now() - 5000);
    for (const f of [autorun, zram, manifest, ...(recipe === 'simple-example' ? [] : [testFile])]) utimesSync(f, t, t);
  };

  // What plain dracut builds for the same recipe: the binaries, modules, tree and autorun.
  const parsed = JSON.parse(
    spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { loadConfig } = await import('${REPO}/dist/src/config/loadConfig.js');
      const { parseRecipe } = await import('${REPO}/dist/src/derivations/recipe/parseRecipe.js');
      const r = parseRecipe('x', '${manifest}', loadConfig());
      console.log(JSON.stringify(r.directives.map((d) => [d.kind, ...d.args])));
    `], { env, cwd: proj, encoding: 'utf8', input: '' }).stdout || '[]',
  ) as string[][];
  const which = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`], { encoding: 'utf8' }).stdout.trim();
  const bins = parsed.filter((d) => d[0] === 'bin' || d[0] === 'try-bin').flatMap((d) => d.slice(1)).map(which).filter(Boolean);
  const mods = parsed.filter((d) => d[0] === 'kmod' || d[0] === 'try-kmod').flatMap((d) => d.slice(1));
  const includes = parsed.filter((d) => d[0] === 'tree').flatMap((d) => ['--include', d[2], d[1]]);
  const dracutOut = join(proj, 'dracut.img');
  const dracutArgs = ['--no-compress', '--no-early-microcode', '--no-hostonly', '--force', '--quiet', '--kver', kver, '--kmoddir', join(modRoot, 'lib/modules', kver),
    '--modules', 'base', '--install', bins.join(' '), '--add-drivers', mods.join(' '), '--include', autorun, '/.profile', ...includes,
    '--tmpdir', proj, dracutOut];
  const dracut = measure(RUNS, () => {}, () => sh('dracut', dracutArgs, { env: { ...process.env, SOURCE_DATE_EPOCH: '0' } }));

  const cold = measure(RUNS, () => {
    rmSync(store, { recursive: true, force: true });
    rmSync(join(proj, 'initrds'), { recursive: true, force: true });
  }, cut);
  ageAll();
  cut(); // re-derive once with nothing racy, so the stamp is trusted
  const noop = measure(RUNS * 2, () => {}, cut);
  let n = 0;
  const editAutorun = measure(RUNS, () => appendFileSync(autorun, `# edit ${n++}\n`), cut);
  // Rebuilding one kernel module: new bytes at the same path.
  const editModule = measure(RUNS, () => {
    const b = readFileSync(zram);
    rmSync(zram); // break the hard link to the system's copy
    writeFileSync(zram, Buffer.concat([b, Buffer.from([n++ & 0xff])]));
  }, cut);
  ageAll();
  const rows: Row[] = [];
  if (recipe !== 'simple-example') {
    cut();
    const editTest = measure(RUNS, () => appendFileSync(testFile, `# edit ${n++}\n`), cut);
    ageAll();
    rows.push({ name: `${recipe}: re-cut after editing one test file`, ms: editTest, note: `${(editTest / noop).toFixed(2)}x no-op; dracut rebuilds all: ${(dracut / editTest).toFixed(1)}x slower` });
  }
  const size = (f: string) => (existsSync(f) ? `${(readFileSync(f).length / 1048576).toFixed(1)} MiB` : '?');
  return [
    { name: `${recipe}: plain dracut (no cache)`, ms: dracut, note: `image ${size(dracutOut)}` },
    { name: `${recipe}: rapido cold cut (empty store)`, ms: cold, note: `${(dracut / cold).toFixed(2)}x dracut speed, image ${size(out)}` },
    { name: `${recipe}: rapido warm no-op re-cut`, ms: noop, note: `${(dracut / noop).toFixed(1)}x faster than dracut, ${(noop / nodeFloor).toFixed(2)}x node floor` },
    { name: `${recipe}: re-cut after autorun edit`, ms: editAutorun, note: `${(editAutorun / noop).toFixed(2)}x no-op, ${(editAutorun / nodeFloor).toFixed(2)}x node floor` },
    { name: `${recipe}: re-cut after a module rebuild`, ms: editModule, note: `${(editModule / noop).toFixed(2)}x no-op, ${(editModule / nodeFloor).toFixed(2)}x node floor` },
    ...rows,
  ];
}

async function main(): Promise<void> {
  if (!existsSync(RAPIDO)) throw new Error('build first: npm run build');
  const root = mkdtempSync(join(tmpdir(), 'rapido-bench-'));
  try {
    const kver = kernelRelease();
    // A private modules tree (hard links, no copying) so one module can be "rebuilt".
    const modRoot = join(root, 'mods');
    mkdirSync(join(modRoot, 'lib/modules'), { recursive: true });
    sh('cp', ['-al', `/lib/modules/${kver}`, join(modRoot, 'lib/modules/')]);
    let tree: { src: string; files: number; bytes: number } | null = null;
    let treeError = '';
    try {
      tree = copyXfstests(join(root, 'fstests'));
    } catch (e) {
      treeError = (e as Error).message;
    }
    const nodeFloor = measure(RUNS * 2, () => {}, () => sh(process.execPath, ['-e', '0']));
    console.log(`rapido bench: median of ${RUNS} runs (no-op: ${RUNS * 2}); kernel ${kver}; FSTESTS_SRC ${tree ? `${tree.src}: ${tree.files} files, ${(tree.bytes / 1048576).toFixed(0)} MiB (a copy)` : 'missing'}`);
    // Rows are printed as each section finishes, so a failing section does not hide the others.
    const print = (rows: Row[]) => {
      for (const r of rows) console.log(`${r.name.padEnd(62)}  ${r.ms.toFixed(1).padStart(8)} ms  ${r.note ?? ''}`);
    };
    print([{ name: 'node empty process (floor)', ms: nodeFloor }]);
    const sections: [string, () => Row[] | Promise<Row[]>][] = [
      ['simple-example', () => benchRecipe('simple-example', root, kver, modRoot, nodeFloor)],
      ['fstests-btrfs', () => {
        if (!tree) throw new Error(treeError);
        return benchRecipe('fstests-btrfs', root, kver, modRoot, nodeFloor);
      }],
      // BENCH_ONLY='edit cost' alone; BENCH_RAPIDO=OTHER/bin/rapido.js measures another build (the numbers before a change).
      ['edit cost', () => editCostBench({ repo: REPO, runs: RUNS, kver, fstestsSrc: tree?.src })],
      ['store', () => (process.env.BENCH_STORE === '0' ? [] : storeBench())],
      // BENCH_ONLY=substituters: cold fstests-btrfs built here vs fetched from nginx, file:// and Ceph RGW; the no-op with and without.
      ['substituters', () => {
        if (!tree) throw new Error(treeError);
        return substitutersBench({ repo: REPO, root, kver, modRoot, fstests: join(root, 'fstests'), runs: RUNS, nodeFloor });
      }],
      ['boot', () => (process.env.BENCH_BOOT === '0' ? [] : bootBench(REPO, root, Math.max(3, Math.ceil(RUNS / 2))))],
      ['network no-op', () => netNoopBench(REPO, root, RUNS * 2)],
      ['network up', () => (process.env.BENCH_BOOT === '0' ? [] : netUpBench(REPO, root, Math.max(3, Math.ceil(RUNS / 2))))],
      ['ceph', () => (process.env.BENCH_BOOT === '0' ? [] : cephBench(REPO, root, kver, Math.max(3, Math.ceil(RUNS / 2))))],
      ['pairs', () => (process.env.BENCH_BOOT === '0' ? [] : pairBench(REPO, root, process.env.BENCH_PAIRS?.split(',')))],
    ];
    // BENCH_ONLY=ceph,boot: just those sections (a full run takes a while).
    const only = process.env.BENCH_ONLY?.split(',').map((x) => x.trim());
    let failed = false;
    for (const [name, run] of sections.filter(([n]) => !only || only.includes(n))) {
      try {
        print(await run());
      } catch (e) {
        failed = true;
        console.log(`${name}: FAILED: ${(e as Error).message}`);
      }
    }
    if (failed) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
