/**
 * Issue 10: server/client pairs, measured, for nvme-tcp and cifs.
 * (a) From `rapido cut --vms 2 RECIPE` to the client's first successful I/O
 *     on the remote device or share (a step that writes and reads back
 *     4 MiB, then prints a mark): once with an empty store (every layer
 *     built), once warm (the same cut again: a no-op). TCG, two VMs on a
 *     bridge in a network namespace of the bench's own.
 * (b) The warm re-cut of the pair's image after an edit to the client's
 *     autorun: only the overlay is rebuilt (checked from the cut's summary).
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, type Row } from './stats.js';

const MARK = 'rapido-bench: first io';

const PAIRS: Record<string, { conf: string; io: string }> = {
  'nvme-tcp': { conf: '', io: 'dev=$(cat /run/nvme-tcp-dev); dd if=/dev/urandom of=/tmp/p bs=1M count=4 status=none; dd if=/tmp/p of="$dev" bs=1M oflag=direct status=none; dd if="$dev" of=/tmp/b bs=1M count=4 iflag=direct status=none; cmp /tmp/p /tmp/b' },
  cifs: { conf: 'CIFS_PW="bench-pw"\n', io: 'mnt=$(cat /run/cifs-mnt); dd if=/dev/urandom of=/tmp/p bs=1M count=4 status=none; dd if=/tmp/p of="$mnt/p" bs=1M status=none; sync; echo 3 > /proc/sys/vm/drop_caches; cmp /tmp/p "$mnt/p"' },
};

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ms: number; out: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { ...opts, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out: r.stdout + r.stderr };
}

/** ms from spawning the cut to the client's MARK; the run must then end with status 0. */
function toFirstIo(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let at = NaN;
    let out = '';
    let err = '';
    const child = spawn(args[0], args.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => {
      out += d;
      if (Number.isNaN(at) && out.includes(`[vm2] ${MARK}`)) at = performance.now();
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0 || Number.isNaN(at)) reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-1000)}${out.slice(-1500)}`));
      else resolve(at - t0);
    });
  });
}

export async function pairBench(repo: string, root: string, recipes = Object.keys(PAIRS)): Promise<Row[]> {
  if (process.getuid?.() !== 0) return [{ name: 'pairs: skipped (needs root for a network namespace)', ms: NaN }];
  const rapido = join(repo, 'bin/rapido.js');
  const rows: Row[] = [];
  const ns = `rapido-bpair-${process.pid}`;
  run('ip', ['netns', 'add', ns]);
  try {
    const inNs = (args: string[]) => ['ip', 'netns', 'exec', ns, process.execPath, rapido, ...args];
    for (const recipe of recipes) {
      const proj = join(root, `pair-${recipe}`);
      // A copy of the shipped recipes: the bench edits the autorun.
      cpSync(join(repo, 'recipes'), join(proj, 'recipes'), { recursive: true });
      for (const n of [1, 2]) {
        mkdirSync(join(proj, `net-conf/vm${n}`), { recursive: true });
        writeFileSync(join(proj, `net-conf/vm${n}/rapido-tap${n}.network`), `[Network]\nAddress=192.168.155.10${n}/24\n`);
      }
      writeFileSync(join(proj, 'io.sh'), `#!/bin/bash
[ "$RAPIDO_VM_NUM" = 2 ] || exit 0
set -e
. /usr/lib/rapido/pair-lib.sh
${PAIRS[recipe].io}
echo "${MARK}"
pair_ask bye >/dev/null
`, { mode: 0o755 });
      const conf = join(proj, 'rapido.conf');
      writeFileSync(conf, `RAPIDO_STORE="${join(proj, 'store')}"\nDRACUT_OUT="${join(proj, 'initrds/myinitrd')}"\n` +
        'BR_DEV="br-bench"\nBR_ADDR="192.168.155.1/24"\nTAP_USER="root"\n' + PAIRS[recipe].conf);
      const env = { ...process.env, RAPIDO_CONF: conf };
      const setup = inNs(['setup-network']);
      run(setup[0], setup.slice(1), { env, cwd: proj });
      const manifest = join(proj, `recipes/${recipe}.rapido`);
      const cut = inNs(['cut', '--vms', '2', '--accel', 'tcg', '--timeout', '400', '-f', 'io.sh', manifest]);
      const cold = await toFirstIo(cut, env, proj);
      const warm = await toFirstIo(cut, env, proj);
      rows.push({ name: `${recipe}: rapido cut --vms 2 -> client's first I/O, empty store`, ms: cold, note: 'TCG, two VMs on a bridge' });
      rows.push({ name: `${recipe}: rapido cut --vms 2 -> client's first I/O, warm`, ms: warm, note: `the cut a no-op; ${(warm / cold).toFixed(2)}x the cold one` });
      // Edits to the client's branch of the autorun: only the overlay may be rebuilt.
      const autorun = join(proj, `recipes/autorun/${recipe}.sh`);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        appendFileSync(autorun, `# bench edit ${i}\n`);
        const r = run(process.execPath, [rapido, 'cut', '-B', '-f', 'io.sh', manifest], { env, cwd: proj });
        if (!/\(1 built, \d+ reused\), rebuilt: overlay,/.test(r.out)) throw new Error(`${recipe}: an autorun edit rebuilt more than the overlay: ${r.out}`);
        times.push(r.ms);
      }
      rows.push({ name: `${recipe}: re-cut after an edit to the client's autorun`, ms: median(times), note: 'only the overlay rebuilt (1 built); both VMs boot this image' });
    }
    return rows;
  } finally {
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).forEach((pid) => {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    });
    spawnSync('ip', ['netns', 'delete', ns]);
  }
}
