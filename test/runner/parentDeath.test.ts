import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dieWithParent, setprivWithPdeathsig } from '../../src/runner/parentDeath.js';
import { requireHost, skipUnless } from '../helpers/hostPrereqs.js';

const MODULE = new URL('../../src/runner/parentDeath.js', import.meta.url).href;
const SETPRIV = setprivWithPdeathsig() !== null;
const NEEDS = 'util-linux setpriv with --pdeathsig';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    // A zombie no longer runs: it counts as gone.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('dieWithParent', skipUnless(SETPRIV, NEEDS), () => {
  it('runs the command with its arguments and status', () => {
    requireHost(SETPRIV, NEEDS);
    const w = dieWithParent('/bin/sh', ['-c', 'echo "ran $1 [$2]"; exit 7', 'sh', 'a b', ''])!;
    const r = spawnSync(w.command, w.args, { encoding: 'utf8' });
    assert.equal(r.stdout, 'ran a b []\n');
    assert.equal(r.status, 7);
  });

  it('gives up when its parent is not the one named (it died before the death signal was set)', () => {
    requireHost(SETPRIV, NEEDS);
    const w = dieWithParent('/bin/sh', ['-c', 'echo ran'], 1)!;
    const r = spawnSync(w.command, w.args, { encoding: 'utf8' });
    assert.equal(r.stdout, '');
    assert.equal(r.status, 137);
  });

  it('the command dies when the process that spawned it is SIGKILLed', async () => {
    requireHost(SETPRIV, NEEDS);
    // A Node parent spawns the wrapped command, reports its pid, and is killed.
    const code = `import { dieWithParent } from ${JSON.stringify(MODULE)};
      const w = dieWithParent('/bin/sleep', ['300']);
      const s = (await import('node:child_process')).spawn(w.command, w.args, { stdio: 'ignore' });
      process.stdout.write(s.pid + '\\n');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    for (let i = 0; i < 100 && !/^\d+\n/.test(out); i++) await sleep(50);
    const pid = Number(out.trim());
    assert.ok(pid > 0 && alive(pid), `sleeper ${out}`);
    child.kill('SIGKILL');
    await once(child, 'exit');
    for (let i = 0; i < 40 && alive(pid); i++) await sleep(50);
    assert.equal(alive(pid), false, 'the sleeper outlived its parent');
  });
});

