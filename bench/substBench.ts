/**
 * Issue 12: substituters, measured. A cold cut of fstests-btrfs (the largest
 * shipped recipe) with an empty local store, building everything here vs
 * fetching everything from nginx on loopback (serving a pushed file://
 * directory) and from that directory itself; then the warm no-op re-cut with
 * RAPIDO_SUBSTITUTERS set vs unset (it must cost the same: no substituter
 * code is loaded and no request is sent).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, utimesSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startNginx } from '../test/helpers/nginxCache.js';
import { canRunRgw, withRgw, type Rgw } from '../test/helpers/rgw.js';
import { median, type Row } from './stats.js';

function run(args: string[], env: NodeJS.ProcessEnv, cwd: string): { ms: number; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stderr: r.stderr };
}

export async function substitutersBench(o: { repo: string; root: string; kver: string; modRoot: string; fstests: string; runs: number; nodeFloor: number }): Promise<Row[]> {
  const RAPIDO = join(o.repo, 'bin/rapido.js');
  const STORE = join(o.repo, 'bin/rapido-store.js');
  const dir = join(o.root, 'substituters');
  const store = join(dir, 'store');
  const out = join(dir, 'initrds/myinitrd');
  const cache = join(dir, 'cache');
  mkdirSync(dir, { recursive: true });
  const base = `RAPIDO_STORE="${store}"\nDRACUT_OUT="${out}"\nFSTESTS_SRC="${o.fstests}"\nKERNEL_RELEASE="${o.kver}"\nKERNEL_INSTALL_MOD_PATH="${o.modRoot}"\n`;
  const conf = (name: string, extra: string) => {
    const p = join(dir, name);
    writeFileSync(p, base + extra);
    return { ...process.env, RAPIDO_CONF: p };
  };
  const plain = conf('plain.conf', '');
  const cut = (env: NodeJS.ProcessEnv, ...flags: string[]) => run([RAPIDO, 'cut', '-B', ...flags, 'fstests-btrfs'], env, dir);
  const wipe = () => {
    rmSync(store, { recursive: true, force: true });
    rmSync(join(dir, 'initrds'), { recursive: true, force: true });
  };
  const trust = () => run([STORE, 'trust', join(dir, 'bench.pub')], plain, dir);

  // Build once, push it all (signed), serve the directory with nginx.
  wipe();
  cut(plain);
  run([STORE, 'keygen', 'bench', '--dir', dir], plain, dir);
  run([STORE, 'push', '--to', pathToFileURL(cache).href, '--key', join(dir, 'bench.key'), 'fstests-btrfs'], plain, dir);
  const objects = readdirSync(join(cache, 'objects')).length;
  // RGW where its packages are installed (setup-test-services.sh): the same layers pushed to s3://.
  if (!canRunRgw()) return measure(null);
  return withRgw(async (rgw) => {
    const s3 = rgw.url('bench');
    const keys = { AWS_ACCESS_KEY_ID: rgw.accessKey, AWS_SECRET_ACCESS_KEY: rgw.secretKey };
    run([STORE, 'push', '--to', s3, '--key', join(dir, 'bench.key'), 'fstests-btrfs'], { ...plain, ...keys }, dir);
    return measure({ rgw, env: { ...conf('s3.conf', `RAPIDO_SUBSTITUTERS="${s3}"\n`), ...keys } });
  });

  async function measure(s3: { rgw: Rgw; env: NodeJS.ProcessEnv } | null): Promise<Row[]> {
    const nginx = await startNginx(join(dir, 'nginx'), cache);
    try {
      const viaHttp = conf('http.conf', `RAPIDO_SUBSTITUTERS="${nginx.url}"\n`);
      const viaFile = conf('file.conf', `RAPIDO_SUBSTITUTERS="${pathToFileURL(cache).href}"\n`);
      const xs = { local: [] as number[], http: [] as number[], file: [] as number[], s3: [] as number[] };
      // Interleaved, so a slow moment of the machine hits all three alike.
      for (let i = 0; i < o.runs; i++) {
        wipe();
        xs.local.push(cut(viaHttp, '--no-substitute').ms);
        wipe();
        trust();
        const h = cut(viaHttp);
        if (!/\(0 built/.test(h.stderr)) throw new Error(`the cut through nginx built layers: ${h.stderr}`);
        xs.http.push(h.ms);
        wipe();
        trust();
        xs.file.push(cut(viaFile).ms);
        if (s3) {
          wipe();
          trust();
          const r = cut(s3.env);
          if (!/\(0 built/.test(r.stderr)) throw new Error(`the cut through RGW built layers: ${r.stderr}`);
          xs.s3.push(r.ms);
        }
      }
      // The warm no-op, with and without substituters (the stamp does not depend on them).
      const t = new Date(Date.now() - 5000);
      utimesSync(out, t, t);
      cut(viaHttp);
      cut(plain);
      const noopWith: number[] = [];
      const noopWithout: number[] = [];
      for (let i = 0; i < o.runs * 2; i++) {
        noopWith.push(cut(viaHttp).ms);
        noopWithout.push(cut(plain).ms);
      }
      const [local, http, file, nw, nwo] = [xs.local, xs.http, xs.file, noopWith, noopWithout].map(median);
      const fromS3 = s3 ? median(xs.s3)! : null;
      return [
        { name: 'fstests-btrfs: cold cut, empty store, built here', ms: local!, note: `${objects} layers` },
        { name: 'fstests-btrfs: cold cut, empty store, all from nginx (loopback)', ms: http!, note: `${(http! / local!).toFixed(2)}x the time of building here` },
        { name: 'fstests-btrfs: cold cut, empty store, all from file://', ms: file!, note: `${(file! / local!).toFixed(2)}x the time of building here` },
        ...(fromS3 === null
          ? []
          : [{ name: 'fstests-btrfs: cold cut, empty store, all from Ceph RGW s3:// (loopback)', ms: fromS3, note: `${(fromS3 / local!).toFixed(2)}x the time of building here` }]),
        { name: 'fstests-btrfs: no-op re-cut, RAPIDO_SUBSTITUTERS set', ms: nw!, note: `${(nw! / o.nodeFloor).toFixed(2)}x node floor` },
        { name: 'fstests-btrfs: no-op re-cut, no substituters', ms: nwo!, note: `${(nwo! / o.nodeFloor).toFixed(2)}x node floor` },
      ];
    } finally {
      await nginx.stop();
    }
  }
}
