import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { bareGdbFlag, DEFAULT_GDB_PORT, parseGdbPort } from '../../src/commands/bootOptions.js';
import { makeProject } from '../helpers/cliHarness.js';

test('--gdb: bare means the default port and never takes the next word; --gdb=PORT', () => {
  assert.deepEqual(bareGdbFlag(['cut', '--gdb', 'simple-example']), ['cut', '--gdb=', 'simple-example']);
  assert.deepEqual(bareGdbFlag(['cut', '-x', 'true', '--', '--gdb']), ['cut', '-x', 'true', '--', '--gdb']);
  assert.equal(parseGdbPort(''), DEFAULT_GDB_PORT);
  assert.equal(parseGdbPort('4321'), 4321);
  assert.equal(parseGdbPort(undefined), undefined);
  for (const bad of ['0', '65536', 'abc', '12x']) assert.throws(() => parseGdbPort(bad), /invalid --gdb/);
});

test('rapido cut --gdb=BAD and --kernel-param without a value: usage errors, exit 2, nothing cut', () => {
  const p = makeProject();
  try {
    const bad = p.run(['cut', '--accel', 'tcg', '--gdb=99999', 'simple-example']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr, 'rapido: error: invalid --gdb "99999": want a TCP port, 1-65535\n  hint: --gdb alone listens on 1234; --gdb=PORT on another\n');
    const noArg = p.run(['boot', '--accel', 'tcg', '--kernel-param']);
    assert.equal(noArg.status, 2, noArg.stderr);
    assert.match(noArg.stderr, /kernel-param/);
    assert.ok(!existsSync(p.out));
  } finally {
    p.cleanup();
  }
});
