/**
 * Issue 11: Ceph, measured.
 * (a) bin/rapido-ceph-cluster start: to HEALTH_OK with CephFS and the RBD
 *     image, in a network namespace on setup-network's bridge.
 * (b) The edit loop of a Ceph kernel-client developer: `ceph.ko` rebuilt
 *     (new bytes at the same path in a KERNEL_SRC-shaped tree: the Debian
 *     kernel's bzImage and modules), then `rapido cut cephfs` re-cuts and
 *     boots (TCG), until the guest has the cluster's CephFS mounted. "Our
 *     part" is everything before QEMU starts: the cut, the compose, the
 *     accelerator choice.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, type Row } from './stats.js';

const ADDR = '192.168.155.1';
const MOUNTED = /^cephfs: .* mounted at \/mnt\/cephfs/m;

interface Loop { total: number; ours: number; rebuilt: string }

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { ...opts, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout.slice(-1500)}`);
  return { ms: performance.now() - t0, out: r.stdout };
}

/** From the command's start: to `rapido: using TCG` (QEMU is spawned right after) and to the guest's "mounted" line. */
function loop(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Loop> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ours = NaN;
    let total = NaN;
    let out = '';
    let err = '';
    const child = spawn(args[0], args.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => {
      out += d;
      if (Number.isNaN(total) && MOUNTED.test(out)) total = performance.now() - t0;
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (Number.isNaN(ours) && /rapido: using (TCG|KVM)/.test(err)) ours = performance.now() - t0;
    });
    child.on('close', (code) => {
      const rebuilt = /rebuilt: ([^,]+),/.exec(err)?.[1] ?? 'nothing';
      if (code !== 0 || Number.isNaN(total) || Number.isNaN(ours)) reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-1000)}${out.slice(-1500)}`));
      else resolve({ total, ours, rebuilt });
    });
  });
}

/** `kver`: the Debian kernel rapido boots (run.ts's choice), not the host's `uname -r`. */
export async function cephBench(repo: string, root: string, kver: string, runs: number): Promise<Row[]> {
  if (process.getuid?.() !== 0) return [{ name: 'ceph: skipped (needs root for a network namespace)', ms: NaN }];
  if (spawnSync('sh', ['-c', 'command -v ceph-mon']).status !== 0) return [{ name: 'ceph: skipped (no ceph-mon: scripts/setup-test-services.sh)', ms: NaN }];
  const proj = join(root, 'ceph');
  const cluster = join(proj, 'cluster');
  const rel = kver;
  // A KERNEL_SRC-shaped tree from the installed kernel: its bzImage, and its modules hard-linked under mods/.
  const ksrc = join(proj, 'linux');
  mkdirSync(join(ksrc, 'arch/x86/boot'), { recursive: true });
  mkdirSync(join(ksrc, 'include/config'), { recursive: true });
  mkdirSync(join(ksrc, 'mods/lib/modules'), { recursive: true });
  copyFileSync(`/boot/vmlinuz-${rel}`, join(ksrc, 'arch/x86/boot/bzImage'));
  writeFileSync(join(ksrc, 'include/config/kernel.release'), `${rel}\n`);
  run('cp', ['-al', `/lib/modules/${rel}`, join(ksrc, 'mods/lib/modules/')]);
  const cephKo = join(ksrc, 'mods/lib/modules', rel, 'kernel/fs/ceph/ceph.ko');
  const original = readFileSync(cephKo);
  mkdirSync(join(proj, 'net-conf/vm1'), { recursive: true });
  writeFileSync(join(proj, 'net-conf/vm1/rapido-tap1.network'), '[Network]\nAddress=192.168.155.101/24\n');
  const conf = join(proj, 'rapido.conf');
  writeFileSync(conf, `RAPIDO_STORE="${join(proj, 'store')}"\nDRACUT_OUT="${join(proj, 'initrds/myinitrd')}"\nKERNEL_SRC="${ksrc}"\n` +
    `BR_DEV="br-bench"\nBR_ADDR="${ADDR}/24"\nTAP_USER="root"\n`);
  const env = { ...process.env, RAPIDO_CONF: conf };
  const rapido = join(repo, 'bin/rapido.js');
  const ns = `rapido-bench-ceph-${process.pid}`;
  run('ip', ['netns', 'add', ns]);
  const inNs = (args: string[]) => ['ip', 'netns', 'exec', ns, ...args];
  try {
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const setup = inNs([process.execPath, rapido, 'setup-network']);
    run(setup[0], setup.slice(1), { env, cwd: proj });
    const start = inNs([join(repo, 'bin/rapido-ceph-cluster'), 'start', '-a', ADDR, '-d', cluster]);
    const started = run(start[0], start.slice(1));
    const own = /in ([\d.]+) s/.exec(started.out)?.[1];
    writeFileSync(conf, readFileSync(conf, 'utf8') + readFileSync(join(cluster, 'rapido.conf'), 'utf8'));
    run(process.execPath, [rapido, 'cut', '-B', 'cephfs'], { env, cwd: proj });

    const loops: Loop[] = [];
    const boot = inNs([process.execPath, rapido, 'cut', '--accel', 'tcg', '--timeout', '300', 'cephfs']);
    for (let i = 0; i < runs; i++) {
      // ceph.ko rebuilt: new bytes at the same path (a new inode: the system's copy stays as it is).
      // A byte after the ELF data: the module still loads (unsigned, as a developer's build is).
      rmSync(cephKo);
      writeFileSync(cephKo, Buffer.concat([original, Buffer.from([i & 0xff])]));
      const t = new Date(Date.now() - 5000); // outside the racy-clean window, as an edit a moment ago would be by the time of the cut
      utimesSync(cephKo, t, t);
      loops.push(await loop(boot, env, proj));
    }
    const rebuilt = [...new Set(loops.map((l) => l.rebuilt))].join(' | ');
    const total = median(loops.map((l) => l.total));
    const ours = median(loops.map((l) => l.ours));
    return [
      { name: 'ceph: rapido-ceph-cluster start (HEALTH_OK, CephFS, RBD image)', ms: started.ms, note: `its own count ${own ?? '?'} s; memstore OSD, in a netns` },
      { name: 'ceph: ceph.ko rebuilt -> re-cut -> CephFS mounted in the guest', ms: total, note: `TCG; ${loops.map((l) => (l.total / 1000).toFixed(1)).join(' ')} s; re-cut rebuilt: ${rebuilt}` },
      { name: 'ceph: our part of it (cut, compose, accel choice, up to QEMU)', ms: ours, note: `${((100 * ours) / total).toFixed(1)}% of the loop; ${loops.map((l) => l.ours.toFixed(0)).join(' ')} ms` },
    ];
  } finally {
    spawnSync('ip', ['netns', 'exec', ns, join(repo, 'bin/rapido-ceph-cluster'), 'stop', '-d', cluster], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).forEach((pid) => {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    });
    spawnSync('ip', ['netns', 'delete', ns]);
  }
}
