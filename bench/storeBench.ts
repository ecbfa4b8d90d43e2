/**
 * Store maintenance against plain tools on the same files, as a user runs
 * them (whole processes, page cache warm, median of several runs):
 * `rapido-store verify` against sha256sum / xxhsum (or b2sum, md5sum) over
 * the same object files, and `export` / `import` against `tar -cf` / `tar -xf`.
 * The store is made by cutting a recipe with a ~110 MiB tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, type Row } from './stats.js';



const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RAPIDO = join(REPO, 'bin/rapido.js');
const STORE = join(REPO, 'bin/rapido-store.js');

let lastStdout = '';

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} ... failed (${r.status}): ${r.stderr}`);
  lastStdout = r.stdout;
  return ms;
}


function measure(n: number, before: () => void, fn: () => number): number {
  before();
  fn(); // warm-up: page cache, and the first run of each tool
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    before();
    xs.push(fn());
  }
  return median(xs);
}

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** ~110 MiB in ~2000 files of deterministic, incompressible-looking bytes. */
function makeTree(dir: string): number {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const chunk = Buffer.alloc(4 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (rnd() * 256) | 0;
  let bytes = 0;
  for (let d = 0; d < 20; d++) {
    const sub = join(dir, `group${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) {
      // Mostly scripts and small outputs, two larger binaries per group.
      const size = f % 50 === 0 ? 700_000 + ((rnd() * 600_000) | 0) : 10_000 + ((rnd() * 50_000) | 0);
      const off = (rnd() * (chunk.length - size)) | 0;
      writeFileSync(join(sub, `f${f}`), chunk.subarray(off, off + size));
      bytes += size;
    }
  }
  return bytes;
}

function objectFiles(store: string): string[] {
  const root = join(store, 'objects');
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f))).sort();
}

export async function storeBench(opts: { runs?: number } = {}): Promise<Row[]> {
  const runs = opts.runs ?? Number(process.env.BENCH_RUNS ?? 5);
  const root = mkdtempSync(join(tmpdir(), 'rapido-store-bench-'));
  try {
    const proj = join(root, 'proj');
    const store = join(proj, 'store');
    const store2 = join(root, 'store2');
    mkdirSync(proj, { recursive: true });
    const conf = join(proj, 'rapido.conf');
    const conf2 = join(proj, 'second.conf');
    writeFileSync(conf, `RAPIDO_STORE="${store}"\nDRACUT_OUT="${join(proj, 'initrds/myinitrd')}"\n`);
    writeFileSync(conf2, `RAPIDO_STORE="${store2}"\nDRACUT_OUT="${join(proj, 'initrds/second')}"\n`);
    const env = { ...process.env, RAPIDO_CONF: conf };
    const env2 = { ...process.env, RAPIDO_CONF: conf2 };
    makeTree(join(proj, 'data'));
    writeFileSync(join(proj, 'big.rapido'), 'bin bash cat ls grep\nkmod zram\ntree /data data\nautorun /bin/true\n');
    run(process.execPath, [RAPIDO, 'cut', '-B', './big.rapido'], { cwd: proj, env });
    const files = objectFiles(store);
    const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
    const mib = bytes / 2 ** 20;
    const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
    const label = `${files.length} objects, ${mib.toFixed(0)} MiB`;

    // What every rapido-store command pays before its work: node, yargs, LMDB.
    const floor = measure(runs, () => {}, () => run(process.execPath, [STORE, 'pins'], { cwd: proj, env }));
    // Plain hashing of the same files; verify --json also says how long its hashing alone took.
    const hashMs: number[] = [];
    const verify = measure(runs, () => {}, () => {
      const ms = run(process.execPath, [STORE, 'verify', '--json'], { cwd: proj, env });
      hashMs.push((JSON.parse(lastStdout) as { ms: number }).ms);
      return ms;
    });
    const hashers = ['sha256sum', have('xxhsum') ? 'xxhsum' : 'b2sum', 'md5sum'].filter(have);
    const plain = hashers.map((h) => ({ h, ms: measure(runs, () => {}, () => run(h, files)) }));

    // Archive: rapido's signed export vs tar of the same object files; import into a fresh store vs tar -xf.
    run(process.execPath, [STORE, 'keygen', 'bench', '--dir', root], { cwd: proj, env });
    const archive = join(root, 'layers.tar');
    const tarball = join(root, 'plain.tar');
    const exp = measure(runs, () => rmSync(archive, { force: true }), () =>
      run(process.execPath, [STORE, 'export', '-o', archive, '--sign', join(root, 'bench.key')], { cwd: proj, env }));
    const tarC = measure(runs, () => rmSync(tarball, { force: true }), () => run('tar', ['-cf', tarball, '-C', store, 'objects']));
    const imp = measure(runs, () => {
      rmSync(store2, { recursive: true, force: true });
      run(process.execPath, [STORE, 'trust', join(root, 'bench.pub')], { cwd: proj, env: env2 });
    }, () => run(process.execPath, [STORE, 'import', archive], { cwd: proj, env: env2 }));
    const untar = join(root, 'untar');
    const tarX = measure(runs, () => {
      rmSync(untar, { recursive: true, force: true });
      mkdirSync(untar);
    }, () => run('tar', ['-xf', tarball, '-C', untar]));
    // The import above is durable (fsync per object, as the store requires); tar -xf is not.
    const tarXSync = measure(runs, () => {
      rmSync(untar, { recursive: true, force: true });
      mkdirSync(untar);
    }, () => run('sh', ['-c', `tar -xf "${tarball}" -C "${untar}" && sync -f "${untar}"`]));

    const vsPlain = plain.map((p) => `${(verify / p.ms).toFixed(2)}x ${p.h}`).join(', ');
    return [
      { name: 'rapido-store start-up (pins: node, yargs, LMDB)', ms: floor },
      { name: `store verify (${label})`, ms: verify, note: `${mbps(verify).toFixed(0)} MB/s (hashing alone ${mbps(median(hashMs)).toFixed(0)} MB/s); time ${vsPlain}` },
      ...plain.map((p) => ({ name: `${p.h} of the same files`, ms: p.ms, note: `${mbps(p.ms).toFixed(0)} MB/s` })),
      { name: 'store export --sign (tar, manifest, SHA-256)', ms: exp, note: `${(exp / tarC).toFixed(2)}x tar -cf (${((exp - floor) / tarC).toFixed(2)}x without start-up), ${mbps(exp).toFixed(0)} MB/s` },
      { name: 'tar -cf of the same objects', ms: tarC, note: `${mbps(tarC).toFixed(0)} MB/s` },
      { name: 'store import (verified, fsynced, atomic)', ms: imp, note: `${(imp / tarX).toFixed(2)}x tar -xf, ${(imp / tarXSync).toFixed(2)}x tar -xf + sync (${((imp - floor) / tarXSync).toFixed(2)}x without start-up)` },
      { name: 'tar -xf of the same objects', ms: tarX, note: `${mbps(tarX).toFixed(0)} MB/s` },
      { name: 'tar -xf + sync -f', ms: tarXSync },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// `node dist/bench/storeBench.js` runs it alone.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await storeBench();
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) console.log(`${r.name.padEnd(w)}  ${r.ms.toFixed(1).padStart(8)} ms  ${r.note ?? ''}`);
}
