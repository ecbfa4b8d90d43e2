/**
 * Issue: the edit → boot loop as a developer lives it. Time from starting
 * the command to the first line the autorun script prints, for
 * (a) rapido: a warm re-cut after an autorun edit, then the boot;
 * (b) Rapido's old loop: plain dracut builds the image from scratch, then the
 *     same boot. Both under TCG here. "Our part" is everything before QEMU
 *     starts (cut, compose, accel choice), which must stay under 10%.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, type Row } from './stats.js';



const MARK = 'rapido-bench: autorun started';

interface Timing { total: number; ours: number }

function timeToMark(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ours = NaN;
    let total = NaN;
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (Number.isNaN(total) && out.includes(MARK)) total = performance.now() - t0;
    });
    child.stderr.on('data', (d) => {
      err += d;
      // bootVm says which accelerator it uses right before it starts QEMU.
      if (Number.isNaN(ours) && /rapido: using (TCG|KVM)/.test(err)) ours = performance.now() - t0;
    });
    child.on('close', (code) => {
      if (code !== 0 || Number.isNaN(total)) reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-1500)}`));
      else resolve({ total, ours });
    });
  });
}


export async function bootBench(repo: string, root: string, runs: number): Promise<Row[]> {
  const proj = join(root, 'boot');
  mkdirSync(proj, { recursive: true });
  cpSync(join(repo, 'recipes'), join(proj, 'recipes'), { recursive: true });
  const autorun = join(proj, 'recipes/autorun/simple-example.sh');
  // The mark is the autorun's first line.
  const body = spawnSync('sed', ['-n', '2,$p', autorun], { encoding: 'utf8' }).stdout;
  writeFileSync(autorun, `#!/bin/bash\necho "${MARK}"\n${body}`, { mode: 0o755 });
  const conf = join(proj, 'rapido.conf');
  writeFileSync(conf, `RAPIDO_STORE="${join(proj, 'store')}"\nDRACUT_OUT="${join(proj, 'initrds/myinitrd')}"\n`);
  const env = { ...process.env, RAPIDO_CONF: conf };
  const rapido = join(repo, 'bin/rapido.js');
  const manifest = join(proj, 'recipes/simple-example.rapido');
  const boot = ['--accel', 'tcg', '--timeout', '180'];
  spawnSync(process.execPath, [rapido, 'cut', '-B', manifest], { env, cwd: proj });

  const ours: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    appendFileSync(autorun, `# edit ${i}\n`);
    ours.push(await timeToMark(process.execPath, [rapido, 'cut', ...boot, manifest], env, proj));
  }

  // Rapido's loop: dracut builds the whole image, then the same boot.
  const dracutConf = join(proj, 'dracut.conf');
  const dracutOut = join(proj, 'dracut', 'myinitrd');
  mkdirSync(join(proj, 'dracut'), { recursive: true });
  writeFileSync(dracutConf, `RAPIDO_STORE="${join(proj, 'store')}"\nDRACUT_OUT="${dracutOut}"\n`);
  const kver = spawnSync('sh', ['-c', 'ls /lib/modules | sort -V | tail -1'], { encoding: 'utf8' }).stdout.trim();
  // dracut --include keeps the source's mode: the init must be executable in the image.
  const init = join(proj, 'rapido-init');
  copyFileSync(join(repo, 'src/runner/guest/rapido-init.sh'), init);
  chmodSync(init, 0o755);
  const which = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`], { encoding: 'utf8' }).stdout.trim();
  const bins = ['bash', 'cat', 'ls', 'ps', 'dmesg', 'uname', 'mkdir', 'sleep', 'grep', 'modprobe', 'lsmod', 'mount', 'setsid', 'sh'].map(which).filter(Boolean);
  const script = [
    'set -e',
    `SOURCE_DATE_EPOCH=0 dracut --no-compress --no-early-microcode --no-hostonly --force --quiet --kver ${kver} --modules base` +
      ` --install "${bins.join(' ')}" --add-drivers zram --include ${init} /rapido-init` +
      ` --include ${autorun} /rapido-autorun/001-simple-example.sh --tmpdir ${proj} ${dracutOut}`,
    `exec ${process.execPath} ${rapido} boot ${boot.join(' ')}`,
  ].join('\n');
  const plain: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    appendFileSync(autorun, `# edit d${i}\n`);
    plain.push(await timeToMark('bash', ['-c', script], { ...process.env, RAPIDO_CONF: dracutConf }, proj));
  }

  const t = median(ours.map((x) => x.total));
  const o = median(ours.map((x) => x.ours));
  const pt = median(plain.map((x) => x.total));
  const po = median(plain.map((x) => x.ours));
  return [
    { name: 'boot: rapido re-cut after autorun edit -> first autorun line', ms: t, note: `ours (cut+compose+QEMU start) ${o.toFixed(0)} ms = ${((100 * o) / t).toFixed(1)}% of total` },
    { name: 'boot: plain dracut from scratch -> first autorun line', ms: pt, note: `dracut + start ${po.toFixed(0)} ms = ${((100 * po) / pt).toFixed(1)}%; rapido ${(pt / t).toFixed(2)}x faster` },
  ];
}
