import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { cut, makeProject, stampKeys, store, storeJson } from './storeCli.js';

test('info shows a layer\'s derivation, size, times and the roots that hold it; pins show up and go', () => {
  const p = makeProject();
  try {
    p.write('data/a.txt', 'a'.repeat(5000));
    p.write('r.rapido', 'bin cat\ntree /data data\nkmod zram\nautorun /bin/true\n');
    cut(p, './r.rapido');
    const keys = stampKeys(p.out);

    const byRecipe = store(p, ['info', './r.rapido']);
    assert.equal(byRecipe.status, 0, byRecipe.stderr);
    assert.match(byRecipe.stdout, /^last cut of \.\/r\.rapido, .* -> .*initrds\/myinitrd$/m);
    assert.match(byRecipe.stdout, new RegExp(`^layer ${keys['tree:/data']}: tree:/data \\(native-tree\\)$`, 'm'));
    assert.match(byRecipe.stdout, new RegExp(`held by +image ${p.out}; last cut of \\./r\\.rapido \\(\\d+s ago\\)`));
    assert.match(byRecipe.stdout, /^ {2}kernel +\S+$/m, 'the kmods layer names its kernel release');
    assert.match(byRecipe.stdout, new RegExp(`^ {4}[0-9a-f]{16}  ${p.dir}/data/a\\.txt  -> /data/a\\.txt$`, 'm'));
    assert.match(byRecipe.stdout, /^ {4}[0-9a-f]{16} {2}\/usr\/bin\/cat$/m);

    // A unique key prefix; --json carries the whole record, every input with its digest.
    const one = storeJson(p, ['info', keys.system!.slice(0, 6)]);
    assert.equal(one.status, 0);
    assert.equal(one.json.record.key, keys.system);
    assert.equal(one.json.object.present, true);
    const inputs = (one.json.record.derivation.entries as unknown[][]).filter((e) => e[4]);
    assert.ok(inputs.some((e) => e[4] === '/usr/bin/cat' && /^[0-9a-f]{16}$/.test(String(e[3]))));
    assert.deepEqual(one.json.roots.map((r: { kind: string }) => r.kind).sort(), ['image', 'recent']);

    assert.match(store(p, ['pin', 'good', './r.rapido']).stdout, /pinned good: \d+ layers of the last cut of \.\/r\.rapido/);
    assert.match(store(p, ['pins']).stdout, /^good +\d+ layers +pinned \d+s ago from last cut of \.\/r\.rapido/m);
    rmSync(p.out);
    const pinned = store(p, ['info', keys.system!]);
    assert.match(pinned.stdout, /held by +last cut of \.\/r\.rapido \(\d+s ago\); pin good/);
    const none = store(p, ['info', keys.system!, '--keep-last', '0']);
    assert.match(none.stdout, /held by +pin good$/m);
    assert.equal(store(p, ['unpin', 'good']).status, 0);
    assert.match(store(p, ['info', keys.system!, '--keep-last', '0']).stdout, /held by +no root: the next gc removes it/);
    assert.match(store(p, ['unpin', 'good']).stderr, /no pin named "good"/);

    const summary = store(p, ['info']);
    assert.match(summary.stdout, /^layers +\d+, .*; held by roots: \d+/m);
    assert.match(summary.stdout, /^recipes +\.\/r\.rapido$/m);

    const unknown = store(p, ['info', 'no-such-thing']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /"no-such-thing" is neither a layer key/);
    assert.match(unknown.stderr, /hint: rapido-store ls lists layer keys/);
    const noCut = store(p, ['pin', 'x', 'never-cut']);
    assert.match(noCut.stderr, /recipe "never-cut" has no cut in this store\n {2}hint: .*\.\/r\.rapido/);
  } finally {
    p.cleanup();
  }
});

test('rapido-store --help teaches: every command is listed with an example', () => {
  const p = makeProject();
  try {
    const help = store(p, ['--help']);
    assert.equal(help.status, 0);
    for (const c of ['ls', 'info', 'why', 'gc', 'pin', 'unpin', 'pins', 'verify', 'audit', 'export', 'import', 'keygen', 'trust', 'untrust']) {
      assert.match(help.stdout, new RegExp(`rapido-store ${c}\\b`), c);
    }
    assert.match(store(p, ['gc', '--help']).stdout, /rapido-store gc --max-size 20G/);
    const usage = store(p, ['frobnicate']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /hint: rapido-store --help lists commands/);
  } finally {
    p.cleanup();
  }
});
