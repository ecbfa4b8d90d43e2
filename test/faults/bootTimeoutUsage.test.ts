// Fault: `--timeout abc`, `--timeout 0`, `--timeout -1` silently meant "no
// timeout", so a `git bisect run` could hang forever. Now a usage error.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { makeProject } from '../helpers/cliHarness.js';
import { hostKernel, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';

describe('--timeout takes a positive number of seconds', () => {
  for (const cmd of ['cut', 'boot'] as const) {
    for (const bad of ['abc', '0', '-1', '', '10s', 'Infinity']) {
      it(`rapido ${cmd} --timeout ${JSON.stringify(bad)}: usage error, exit 2, nothing cut or booted`, () => {
        const p = makeProject();
        try {
          const args = cmd === 'cut' ? ['cut', '--accel', 'tcg', '--timeout', bad, 'simple-example'] : ['boot', '--accel', 'tcg', '--timeout', bad];
          const r = p.run(args);
          assert.equal(r.status, 2, r.stderr);
          assert.equal(r.stderr, `rapido: error: invalid --timeout ${JSON.stringify(bad)}: want a number of seconds, > 0 and <= 2147483\n` +
            '  hint: e.g. --timeout 300; leave the option out for no limit\n');
          assert.equal(r.stdout, '');
          assert.ok(!existsSync(p.out), 'nothing was cut');
          assert.ok(!existsSync(dirname(p.out)) || readdirSync(dirname(p.out)).length === 0);
        } finally {
          p.cleanup();
        }
      });
    }
  }

  it('--timeout=-1 and a bare --timeout are usage errors too', () => {
    const p = makeProject();
    try {
      for (const args of [['cut', '-B', '--timeout=-1', 'simple-example'], ['cut', '-B', 'simple-example', '--timeout']]) {
        const r = p.run(args);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^rapido: error: invalid --timeout "(-1|)": /);
      }
      assert.ok(!existsSync(p.out));
    } finally {
      p.cleanup();
    }
  });

  it('a good value passes (with -B nothing boots): 1.5 and 300', skipUnless(hostKernel() !== null, 'a kernel in /boot with modules'), () => {
    requireKernel();
    const p = makeProject();
    try {
      for (const v of ['1.5', '300']) {
        const r = p.run(['cut', '-B', '--timeout', v, 'simple-example']);
        assert.equal(r.status, 0, r.stderr);
      }
      assert.ok(existsSync(p.out));
    } finally {
      p.cleanup();
    }
  });
});

describe('yargs\' own parse errors are usage errors', () => {
  it('rapido cut NAME -x with no value: exit 2 and a usage line, no internal error', () => {
    const p = makeProject();
    try {
      const r = p.run(['cut', '--accel', 'tcg', 'simple-example', '-x']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^rapido: error: .*\bx\b/);
      assert.match(r.stderr, /hint: rapido --help/);
      assert.doesNotMatch(r.stderr, /internal error|YError|\n\s+at /);
      assert.ok(!existsSync(p.out), 'nothing was cut');
    } finally {
      p.cleanup();
    }
  });
});
