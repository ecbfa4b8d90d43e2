/**
 * Issue 8: networking, measured.
 * (a) Time from QEMU start to "network up" (the guest's first successful
 *     ping of the bridge address), applying the same Rapido-style
 *     vm1/rapido-tap1.network with rapido's own script (ip from busybox) and
 *     with systemd-networkd (plus systemd-udevd, which it waits for) as
 *     Rapido does. TCG, in a network namespace with setup-network's bridge.
 * (b) The warm no-op re-cut of simple-example with and without the
 *     `network` line: the net layer must not slow the edit -> re-cut loop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, type Row } from './stats.js';

const MARK = 'rapido-bench: network up';
const NETWORKD = '/lib/systemd/systemd-networkd';

interface UpTime {
  /** ms from `rapido: using TCG` (QEMU is spawned right after) to the guest's MARK line. */
  total: number;
  /** The guest's own clock from running our init to the MARK: the networking part, without firmware and kernel boot. */
  fromInit: number;
}

function upTime(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<UpTime> {
  return new Promise((resolve, reject) => {
    let qemuAt = NaN;
    let upAt = NaN;
    let out = '';
    let err = '';
    const child = spawn(args[0], args.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => {
      out += d;
      if (Number.isNaN(upAt) && out.includes(MARK)) upAt = performance.now();
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (Number.isNaN(qemuAt) && /rapido: using (TCG|KVM)/.test(err)) qemuAt = performance.now();
    });
    child.on('close', (code) => {
      const init = /\[\s*([\d.]+)\] Run \/rapido-init as init process/.exec(out);
      const up = new RegExp(`${MARK} at ([\\d.]+)`).exec(out);
      if (code !== 0 || Number.isNaN(upAt) || Number.isNaN(qemuAt) || !init || !up) reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-1000)}${out.slice(-1500)}`));
      else resolve({ total: upAt - qemuAt, fromInit: (Number(up[1]) - Number(init[1])) * 1000 });
    });
  });
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { ...opts, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function netUpBench(repo: string, root: string, runs: number): Promise<Row[]> {
  if (process.getuid?.() !== 0) return [{ name: 'network up: skipped (needs root for a network namespace)', ms: NaN }];
  const proj = join(root, 'net');
  mkdirSync(join(proj, 'net-conf/vm1'), { recursive: true });
  writeFileSync(join(proj, 'net-conf/vm1/rapido-tap1.network'), '[Network]\nAddress=192.168.155.101/24\nLinkLocalAddressing=no\nLLMNR=no\n');
  writeFileSync(join(proj, 'up.sh'), `#!/bin/sh
n=0
until busybox ping -c 1 -W 1 192.168.155.1 >/dev/null 2>&1; do
	n=$((n + 1)); [ $n -lt 1200 ] || exit 1; busybox usleep 20000
done
read -r up rest < /proc/uptime
echo "${MARK} at $up"
`, { mode: 0o755 });
  writeFileSync(join(proj, 'ip.rapido'), 'network\nautorun up.sh\n');
  writeFileSync(join(proj, 'networkd.rapido'), `network\nbin ${NETWORKD} /lib/systemd/systemd-udevd udevadm\nautorun up.sh\n`);
  const conf = join(proj, 'rapido.conf');
  writeFileSync(conf, `RAPIDO_STORE="${join(proj, 'store')}"\n` +
    'BR_DEV="br-bench"\nBR_ADDR="192.168.155.1/24"\nTAP_USER="root"\n');
  const env = { ...process.env, RAPIDO_CONF: conf };
  const rapido = join(repo, 'bin/rapido.js');
  const ns = `rapido-bench-${process.pid}`;
  run('ip', ['netns', 'add', ns]);
  try {
    const inNs = (args: string[]) => ['ip', 'netns', 'exec', ns, process.execPath, rapido, ...args];
    run(inNs(['setup-network'])[0], inNs(['setup-network']).slice(1), { env, cwd: proj });
    const boot = ['boot', '--accel', 'tcg', '--timeout', '180', '--exit'];
    // One image per way, booted alternately: load from elsewhere on the machine hits both alike.
    const ways = [{ name: 'ip', args: [] as string[] }];
    if (existsSync(NETWORKD)) ways.push({ name: 'networkd', args: ['--kernel-param', 'rapido.net_apply=networkd'] });
    // Each way cuts into an image of its own (same store), so they can alternate without re-cutting.
    const envs = ways.map((w) => {
      const c = join(proj, `${w.name}.conf`);
      writeFileSync(c, readFileSync(conf, 'utf8') + `DRACUT_OUT="${join(proj, w.name, 'myinitrd')}"\n`);
      const e = { ...process.env, RAPIDO_CONF: c };
      run(process.execPath, [rapido, 'cut', '-B', `./${w.name}.rapido`], { env: e, cwd: proj });
      return e;
    });
    const times: UpTime[][] = ways.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (const [k, w] of ways.entries()) {
        times[k].push(await upTime(inNs([...boot, ...w.args]), envs[k], proj));
      }
    }
    const show = (t: UpTime[]) => `${t.map((x) => (x.total / 1000).toFixed(1)).join(' ')} s; init -> up ${(median(t.map((x) => x.fromInit)) / 1000).toFixed(2)} s`;
    const ours = median(times[0].map((x) => x.total));
    const rows: Row[] = [{ name: 'network up after QEMU start: rapido-net (busybox ip)', ms: ours, note: `TCG, first ping of the bridge; ${show(times[0])}` }];
    if (ways.length > 1) {
      const netd = median(times[1].map((x) => x.total));
      rows.push({ name: 'network up after QEMU start: systemd-networkd + udevd', ms: netd, note: `${(netd / ours).toFixed(2)}x rapido-net's; ${show(times[1])}` });
    } else rows.push({ name: `network up: systemd-networkd not measured (no ${NETWORKD})`, ms: NaN });
    return rows;
  } finally {
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).forEach((pid) => {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    });
    spawnSync('ip', ['netns', 'delete', ns]);
  }
}

export function netNoopBench(repo: string, root: string, runs: number): Row[] {
  const cuts = (['plain', 'network'] as const).map((variant) => {
    const proj = join(root, `noop-${variant}`);
    cpSync(join(repo, 'recipes'), join(proj, 'recipes'), { recursive: true });
    const manifest = join(proj, 'recipes/simple-example.rapido');
    if (variant === 'network') {
      writeFileSync(manifest, readFileSync(manifest, 'utf8') + 'network\n');
      mkdirSync(join(proj, 'net-conf/vm1'), { recursive: true });
      mkdirSync(join(proj, 'net-conf/vm2'), { recursive: true });
      writeFileSync(join(proj, 'net-conf/vm1/rapido-tap1.network'), '[Network]\nAddress=192.168.155.101/24\n');
      writeFileSync(join(proj, 'net-conf/vm2/rapido-tap2.network'), '[Network]\nAddress=192.168.155.102/24\n');
    }
    const conf = join(proj, 'rapido.conf');
    writeFileSync(conf, `RAPIDO_STORE="${join(proj, 'store')}"\nDRACUT_OUT="${join(proj, 'initrds/myinitrd')}"\n`);
    const env = { ...process.env, RAPIDO_CONF: conf };
    const args = [join(repo, 'bin/rapido.js'), 'cut', '-B', manifest];
    spawnSync(process.execPath, args, { env, cwd: proj });
    // As if written a while ago: out of the racy-clean window.
    const t = new Date(Date.now() - 5000);
    for (const f of spawnSync('find', [proj, '-path', join(proj, 'store'), '-prune', '-o', '-print'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      utimesSync(f, t, t);
    }
    spawnSync(process.execPath, args, { env, cwd: proj });
    return () => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { env, cwd: proj, encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!/up to date/.test(r.stderr)) throw new Error(`${variant}: the re-cut was no no-op: ${r.stderr}`);
      return ms;
    };
  });
  // Alternating, so load from elsewhere on the machine hits both alike.
  const xs: number[][] = [[], []];
  for (let i = 0; i < runs; i++) for (const k of [0, 1]) xs[k].push(cuts[k]());
  const [plain, net] = xs.map(median);
  return [
    { name: 'simple-example warm no-op re-cut, without network', ms: plain },
    { name: 'simple-example warm no-op re-cut, with `network`', ms: net, note: `${(net / plain).toFixed(2)}x without` },
  ];
}
