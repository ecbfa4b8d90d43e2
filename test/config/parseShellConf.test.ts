import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseShellConf } from '../../src/config/parseShellConf.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import { RapidoError } from '../../src/errors.js';

const env = (o: Record<string, string>) => (k: string) => o[k];

test('rapido.conf: quotes, comments, export and ${VAR} expansion', () => {
  const v = parseShellConf(
    [
      '# a comment',
      'KERNEL_SRC="/home/me/linux"',
      "export LIT='${NOT} expanded'",
      'MODS="${KERNEL_SRC}/mods"   # trailing comment',
      'BARE=plain',
      'FROM_ENV="$HOME/x"',
      'ESC="a \\"quoted\\" \\$word"',
      'EMPTY=',
      '',
    ].join('\n'),
    'rapido.conf',
    env({ HOME: '/root' }),
  );
  assert.equal(v.get('KERNEL_SRC'), '/home/me/linux');
  assert.equal(v.get('LIT'), '${NOT} expanded');
  assert.equal(v.get('MODS'), '/home/me/linux/mods');
  assert.equal(v.get('BARE'), 'plain');
  assert.equal(v.get('FROM_ENV'), '/root/x');
  assert.equal(v.get('ESC'), 'a "quoted" $word');
  assert.equal(v.get('EMPTY'), '');
});

test('rapido.conf: a malformed line is an error naming file and line', () => {
  assert.throws(
    () => parseShellConf('A=1\nthis is not an assignment\n', '/x/rapido.conf', env({})),
    (e: unknown) => e instanceof RapidoError && e.code === 'CONF_SYNTAX' && e.message.startsWith('/x/rapido.conf:2:'),
  );
  assert.throws(() => parseShellConf('A="open\n', 'c', env({})), /c:1: unterminated/);
  assert.throws(() => parseShellConf('A=two words\n', 'c', env({})), /unquoted space/);
});

test('loadConfig: missing ./rapido.conf means defaults; RAPIDO_CONF must exist; env fills unset keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-conf-'));
  try {
    const none = loadConfig(dir, {});
    assert.equal(none.path, undefined);
    assert.equal(none.get('KERNEL_SRC'), undefined);
    assert.throws(() => loadConfig(dir, { RAPIDO_CONF: join(dir, 'nope.conf') }), (e: unknown) => e instanceof RapidoError && e.code === 'CONF_UNREADABLE');
    writeFileSync(join(dir, 'rapido.conf'), 'FSTESTS_SRC="${HOME}/fstests"\n');
    const c = loadConfig(dir, { HOME: '/h', BLKTESTS_SRC: '/b' });
    assert.equal(c.get('FSTESTS_SRC'), '/h/fstests');
    assert.equal(c.get('BLKTESTS_SRC'), '/b');
    assert.equal(c.path, join(dir, 'rapido.conf'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
