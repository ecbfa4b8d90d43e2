/** Lines written straight to fd 2: whole, in order with process.stderr, and no crash on a closed pipe. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const MOD = JSON.stringify(resolve('dist/src/writeStderr.js'));

function run(body: string, shell?: string) {
  const script = `const { writeStderr, stderrIsTTY } = await import(${MOD}); ${body}`;
  const args = ['--input-type=module', '-e', script];
  return shell
    ? spawnSync('bash', ['-c', shell.replace('NODE', [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '))], { encoding: 'utf8' })
    : spawnSync(process.execPath, args, { encoding: 'utf8' });
}

test('writeStderr: a big line arrives whole and in order with process.stderr; a pipe or file is not a TTY', () => {
  const big = 'x'.repeat(300_000);
  const r = run(`writeStderr('one\\n'); process.stderr.write('two\\n'); writeStderr('x'.repeat(300000) + '\\n'); writeStderr('tty=' + stderrIsTTY() + '\\n');`);
  assert.equal(r.status, 0, r.stderr.slice(0, 500));
  assert.equal(r.stderr, `one\ntwo\n${big}\ntty=false\n`);
});

test('writeStderr: a reader that went away (EPIPE) drops the line; the process goes on and exits 0', () => {
  const r = run(`for (let i = 0; i < 2000; i++) writeStderr('line ' + i + ' ' + 'y'.repeat(1000) + '\\n'); process.stdout.write('done');`, 'NODE 2>&1 >/dev/null | head -c 10 >/dev/null; echo "rc=${PIPESTATUS[0]}"');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /rc=0/);
});
