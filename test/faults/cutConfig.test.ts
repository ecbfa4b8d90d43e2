/** Faults in what the user wrote: rapido.conf keys nothing reads, try-bin of a binary that is not there. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { makeProject, RAPIDO } from '../helpers/cliHarness.js';
import { requireKernel } from '../helpers/hostPrereqs.js';

const count = (s: string, re: RegExp) => s.split('\n').filter((l) => re.test(l)).length;

test('a misspelled rapido.conf key is warned about once per cut, with the closest known key', () => {
  requireKernel();
  // Lines 1-2 are the harness's RAPIDO_STORE and DRACUT_OUT.
  const p = makeProject(
    [
      'KERNEL_REALEASE="6.1.0-no-such"', // 3: Rapido's key, misspelled
      'MY_TOOLS="/opt/tools"', //          4: used by a recipe in the search path
      'BASE="/home/me"', //                5: used by another value
      'FSTESTS_SRC="${BASE}/xfstests"', // 6
      'MY_TOOLZ="/opt/tools"', //          7: close to a recipe's variable
      'WHATEVER_ELSE=1', //                8: close to nothing
      '',
    ].join('\n'),
  );
  try {
    p.write('myrecipes/tools.rapido', 'tree /tools ${MY_TOOLS}\n');
    p.write('r.rapido', 'bin cat\n');
    const env = { RAPIDO_RECIPES: `${p.dir}/myrecipes` };
    const cut = p.run(['cut', '-B', './r.rapido'], { env });
    assert.equal(cut.status, 0, cut.stderr);
    assert.equal(count(cut.stderr, /^rapido: rapido\.conf:3: unknown key KERNEL_REALEASE \(did you mean KERNEL_RELEASE\?\)$/), 1, cut.stderr);
    assert.equal(count(cut.stderr, /^rapido: rapido\.conf:7: unknown key MY_TOOLZ \(did you mean MY_TOOLS\?\)$/), 1, cut.stderr);
    assert.equal(count(cut.stderr, /^rapido: rapido\.conf:8: unknown key WHATEVER_ELSE \(no rapido setting or recipe in the search path uses it\)$/), 1, cut.stderr);
    assert.equal(count(cut.stderr, /unknown key/), 3, 'keys that are read (by rapido, a recipe, another value) are not warned about');
    assert.match(cut.stderr, /\d+ built/, 'the cut itself goes on');

    // The warm no-op path warns too (the misspelling is why nothing changed).
    const noop = p.run(['cut', '-B', './r.rapido'], { env });
    assert.equal(noop.status, 0, noop.stderr);
    assert.equal(count(noop.stderr, /unknown key KERNEL_REALEASE/), 1, noop.stderr);
  } finally {
    p.cleanup();
  }
});

test('a misspelled key whose absence fails the cut: the warning comes once, before the error', () => {
  requireKernel();
  const p = makeProject('FSTESTS_SCR="/home/me/xfstests"\n');
  try {
    const r = p.run(['cut', '-B', 'fstests-xfs']);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(count(r.stderr, /unknown key FSTESTS_SCR \(did you mean FSTESTS_SRC\?\)/), 1, r.stderr);
    assert.ok(lines.findIndex((l) => /unknown key/.test(l)) < lines.findIndex((l) => /error: FSTESTS_SRC is not set/.test(l)), r.stderr);
  } finally {
    p.cleanup();
  }
});

test('try-bin of a binary that is not there: one line on a TTY, nothing in a pipe, never an error', () => {
  requireKernel();
  const p = makeProject();
  try {
    p.write('t.rapido', 'bin cat\ntry-bin no-such-tool-xyz cat no-such-tool-abc\n');
    // script(1) gives the cut a pseudo-terminal for stdout and stderr.
    const cmd = `'${process.execPath}' '${RAPIDO}' cut -B ./t.rapido`;
    const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: p.dir, env: p.env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(tty.status, 0, tty.stdout + tty.stderr);
    const notes = tty.stdout.split(/\r?\n/).filter((l) => l.includes('try-bin'));
    assert.equal(notes.length, 1, tty.stdout);
    assert.match(notes[0], /rapido: \.\/t\.rapido: try-bin skipped, not found: no-such-tool-xyz no-such-tool-abc$/);
    assert.doesNotMatch(tty.stdout, /error/);

    p.write('t.rapido', 'bin cat\ntry-bin no-such-tool-xyz ls\n'); // a change, so the system layer is derived again
    const piped = p.run(['cut', '-B', './t.rapido']);
    assert.equal(piped.status, 0, piped.stderr);
    assert.doesNotMatch(piped.stderr, /try-bin/);
  } finally {
    p.cleanup();
  }
});
