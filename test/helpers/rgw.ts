/**
 * A real S3 server for tests: Ceph RGW from Debian's packages, started by
 * bin/rapido-ceph-cluster (--services rgw: one mon, one memstore OSD,
 * radosgw, an S3 user and a bucket), bound to 127.0.0.1 on free ports in the
 * host's network namespace: Ceph binds only the address it is given, so
 * nothing listens on the host's other interfaces, and this process can talk
 * to it directly. All state in one temp dir; stopped by its own pid files.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './cliHarness.js';

const CLUSTER = join(REPO, 'bin/rapido-ceph-cluster');
const TOOLS = ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/ceph-authtool', '/usr/bin/monmaptool', '/usr/bin/radosgw', '/usr/bin/radosgw-admin', '/usr/bin/curl'];
export const RGW_NEEDS = 'Ceph RGW (ceph-mon ceph-osd ceph-common radosgw curl: scripts/setup-test-services.sh)';
export const canRunRgw = (): boolean => TOOLS.every((t) => existsSync(t));

export interface Rgw {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** s3://BUCKET/PREFIX?endpoint=... for this server. */
  url(prefix: string): string;
  /** The radosgw process (to SIGSTOP it in a test). */
  rgwPid(): number;
  /** Stops every daemon now (idempotent); withRgw calls it in any case. */
  stop(): Promise<void>;
  /** Seconds from start to S3 answering with the user and bucket in place. */
  startSeconds: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function run(args: string[]): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    execFile(CLUSTER, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr });
    });
  });
}

/** Kills what the cluster's pid files name, synchronously (for process exit). */
function killByPidFiles(dir: string): void {
  const run = join(dir, 'run');
  if (!existsSync(run)) return;
  for (const f of readdirSync(run).filter((n) => n.endsWith('.pid'))) {
    try {
      process.kill(Number(readFileSync(join(run, f), 'utf8')), 'SIGKILL');
    } catch { /* gone */ }
  }
}

const live = new Set<string>();
process.on('exit', () => {
  for (const d of live) killByPidFiles(d);
});

/** Runs fn with a fresh RGW and always stops it and removes its state. */
export async function withRgw<T>(fn: (rgw: Rgw) => Promise<T>): Promise<T> {
  const tmp = mkdtempSync(join(tmpdir(), 'rapido-rgw-'));
  const dir = join(tmp, 'c');
  live.add(dir);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(dir, 'ceph.conf'))) await run(['stop', '-d', dir]);
    killByPidFiles(dir);
  };
  try {
    // Free ports are picked, then bound by Ceph: another process may take one in between, so try again.
    let last = '';
    const t0 = Date.now();
    for (let attempt = 0; attempt < 3 && !existsSync(join(dir, 'rgw.env')); attempt++) {
      const [monPort, rgwPort] = [await freePort(), await freePort()];
      rmSync(dir, { recursive: true, force: true });
      const r = await run(['start', '-a', '127.0.0.1', '-d', dir, '--services', 'rgw', '--osd-size', '256M',
        '--mon-port', String(monPort), '--rgw-port', String(rgwPort)]);
      last = r.out;
      if (r.status !== 0) killByPidFiles(dir);
    }
    if (!existsSync(join(dir, 'rgw.env'))) throw new Error(`RGW did not start: ${last}`);
    const startSeconds = (Date.now() - t0) / 1000;
    const env = new Map(readFileSync(join(dir, 'rgw.env'), 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
    const get = (k: string) => env.get(k) ?? '';
    const rgw: Rgw = {
      endpoint: get('RGW_ENDPOINT'),
      region: get('RGW_REGION'),
      bucket: get('RGW_BUCKET'),
      accessKey: get('RGW_ACCESS_KEY'),
      secretKey: get('RGW_SECRET_KEY'),
      url: (prefix) => `s3://${get('RGW_BUCKET')}/${prefix}?endpoint=${get('RGW_ENDPOINT')}&region=${get('RGW_REGION')}`,
      rgwPid: () => Number(readFileSync(join(dir, 'run', 'client.rgw.x.pid'), 'utf8')),
      stop,
      startSeconds,
    };
    return await fn(rgw);
  } finally {
    await stop();
    live.delete(dir);
    rmSync(tmp, { recursive: true, force: true });
  }
}
