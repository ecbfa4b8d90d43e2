/**
 * A host path a recipe builds from a rapido.conf key (`bin ${KEY}/...`),
 * where the key has an `env KEY DEFAULT` above it: unset, the default is the
 * value; the path missing, the error names the key, its default and the
 * recipe's comment on it (which says what makes that path).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNewc } from '../../src/derivations/cpio/readNewc.js';
import { makeProject } from '../helpers/cliHarness.js';
import { requireKernel } from '../helpers/hostPrereqs.js';

const TRUE = ['/usr/bin/true', '/bin/true'].find((p) => { try { return readFileSync(p).length > 0; } catch { return false; } })!;

test('bin ${KEY}/...: the env default is the value when the key is unset; rapido.conf wins; a missing path names the key, its default and its comment', () => {
  const p = makeProject();
  try {
    const dflt = join(p.dir, 'default-tools');
    const other = join(p.dir, 'other-tools');
    for (const d of [dflt, other]) {
      mkdirSync(join(d, 'bin'), { recursive: true });
      copyFileSync(TRUE, join(d, 'bin', 'tool'));
    }
    p.write('r.rapido', [
      '# Unpacked by scripts/make-tools.sh (run it once).',
      `env MY_TOOLS_DIR ${dflt}`,
      'bin ${MY_TOOLS_DIR}/bin/tool',
      '',
    ].join('\n'));

    const byDefault = p.run(['cut', '-B', './r.rapido']);
    assert.equal(byDefault.status, 0, byDefault.stderr);
    const paths = new Set(readNewc(readFileSync(p.out)).map((e) => e.path));
    assert.ok(paths.has(`${dflt.slice(1)}/bin/tool`), 'the default directory\'s tool is in the image');

    const set = p.run(['cut', '-B', './r.rapido'], { env: { MY_TOOLS_DIR: other } });
    assert.equal(set.status, 0, set.stderr);
    assert.ok(new Set(readNewc(readFileSync(p.out)).map((e) => e.path)).has(`${other.slice(1)}/bin/tool`), 'the configured directory wins');

    const missing = join(p.dir, 'missing');
    const r = p.run(['cut', '-B', './r.rapido'], { env: { MY_TOOLS_DIR: missing } });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, [
      `rapido: error: ${join(p.dir, 'r.rapido')}:3: '${missing}/bin/tool' not found`,
      `  hint: the path comes from MY_TOOLS_DIR (rapido.conf or the environment; default ${dflt}): Unpacked by scripts/make-tools.sh (run it once).`,
      '',
    ].join('\n'));
  } finally {
    p.cleanup();
  }
});

test('ksmbd without its unpacked tools: the cut fails naming KSMBD_TOOLS_DIR and scripts/setup-ksmbd-tools.sh', () => {
  requireKernel();
  const p = makeProject('CIFS_PW="pw"\n');
  try {
    const missing = join(p.dir, 'no-ksmbd-tools');
    const r = p.run(['cut', '-B', 'ksmbd'], { env: { KSMBD_TOOLS_DIR: missing } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^rapido: error: \\S+/ksmbd\\.rapido:\\d+: '${missing}/usr/libexec/ksmbd\\.tools' not found\\n`));
    assert.match(r.stderr, /\n {2}hint: the path comes from KSMBD_TOOLS_DIR \(rapido\.conf or the environment; default \/var\/cache\/rapido\/ksmbd-tools\): .*run scripts\/setup-ksmbd-tools\.sh once/);
  } finally {
    p.cleanup();
  }
});
