// Fault: on a TTY, ^C while an autorun or -x step hung was echoed but not
// delivered (the steps ran without a controlling terminal); only ctrl-a x got
// out. Now ^C interrupts the running step as in a shell: the step fails with
// 130, the init goes on (here: to the shell), and 130 is the guest's status.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { makeProject, RAPIDO } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

function qemuMentioning(needle: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return cmd.startsWith('/usr/bin/qemu-system') && cmd.includes(needle);
    } catch {
      return false;
    }
  }).map(Number);
}

describe('^C on a TTY while a step hangs', skipUnless(haveQemu(), QEMU_NEEDS), () => {
  it('interrupts the step (status 130) and the run goes on to the shell', async () => {
    requireHost(haveQemu(), QEMU_NEEDS);
    const p = makeProject();
    const rapido = [process.execPath, RAPIDO, 'cut', '--accel', 'tcg', '--timeout', '300',
      '-x', 'echo CTRLC-HANGING; sleep 1000; echo not-interrupted', '-x', 'echo second-step-ran', 'simple-example'];
    // script(1) gives rapido (and so QEMU) a terminal, as a user would have.
    const child = spawn('script', ['-qfec', `exec ${rapido.map(shq).join(' ')}`, '/dev/null'], {
      cwd: p.dir, env: { ...p.env, SHELL: '/bin/sh' }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.resume();
    const waitFor = async (re: RegExp, from: number, ms: number) => {
      const t0 = Date.now();
      while (!re.test(out.slice(from)) && Date.now() - t0 < ms && child.exitCode === null) await sleep(100);
      assert.match(out.slice(from), re, out.slice(-3000));
    };
    try {
      await waitFor(/CTRLC-HANGING\r*\n/, 0, 60_000);
      await sleep(1000);
      const mark = out.length;
      const t0 = Date.now();
      child.stdin.write('\x03');
      await waitFor(/rapido-init: step \/rapido-post\/001 failed with status 130[\s\S]*rapido1:\/# /, mark, 15_000);
      assert.ok(Date.now() - t0 < 10_000, 'the step stopped at once');
      assert.doesNotMatch(out, /not-interrupted|second-step-ran/);
      // The shell works, and it has job control (^C will work there too).
      const mark2 = out.length;
      child.stdin.write('echo shell-ok-$((6*7))\r');
      await waitFor(/shell-ok-42/, mark2, 15_000);
      assert.doesNotMatch(out.slice(mark), /job control turned off|can't access tty/);
      child.stdin.write('poweroff\r');
      const [code] = await once(child, 'exit');
      assert.equal(code, 130, 'the guest status is the interrupted step\'s');
      assert.deepEqual(qemuMentioning(p.out), []);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      p.cleanup();
    }
  });
});
