import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { builtCount, cut, makeProject, objectFile, stampKeys, store, storeJson } from './storeCli.js';

test('audit: a native-only recipe is reproducible layer by layer', () => {
  const p = makeProject();
  try {
    p.write('data/a.txt', 'a'.repeat(5000));
    p.write('data/sub/b.txt', 'b');
    p.write('r.rapido', 'bin bash cat\ntree /data data\nkmod zram\nautorun /bin/true\nvm-mem 256M\n');
    cut(p, './r.rapido');
    const r = store(p, ['audit', './r.rapido']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const layers = Object.keys(stampKeys(p.out));
    for (const l of layers) assert.match(r.stdout, new RegExp(`^${l.replace(/[/.*+?^${}()|[\]\\]/g, '\\$&')} +native-\\S+ +[0-9a-f]{16}  reproducible`, 'm'));
    assert.match(r.stdout, new RegExp(`${layers.length} layers: ${layers.length} reproducible, 0 differ`));

    const one = storeJson(p, ['audit', './r.rapido', '--layer', 'tree:/data', '--keep']);
    assert.equal(one.status, 0);
    assert.equal(one.json.layers.length, 1);
    assert.equal(one.json.layers[0].status, 'reproducible');
    assert.deepEqual(readFileSync(one.json.layers[0].rebuilt), readFileSync(objectFile(p, stampKeys(p.out)['tree:/data']!)), '--keep keeps the rebuilt layer');
    rmSync(one.json.kept, { recursive: true, force: true }); // kept outside the project: its cleanup would miss it

    const none = store(p, ['audit', './r.rapido', '--layer', 'nope']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /has no layer "nope"\n {2}hint: its layers: system, tree:\/data, /);
  } finally {
    p.cleanup();
  }
});

test('audit names the cpio entries that differ from a tampered stored object; repair and a re-cut make it clean', () => {
  const p = makeProject();
  try {
    p.write('data/a.txt', 'a'.repeat(5000));
    p.write('data/b.txt', 'bbbb');
    p.write('r.rapido', 'bin cat\ntree /data data\nautorun /bin/true\n');
    cut(p, './r.rapido');
    const key = stampKeys(p.out)['tree:/data']!;
    const obj = objectFile(p, key);
    chmodSync(obj, 0o644);
    const bytes = readFileSync(obj);
    bytes[bytes.indexOf('a'.repeat(100)) + 1234] = 'X'.charCodeAt(0); // content of data/a.txt
    const name = bytes.indexOf('data/b.txt\0');
    bytes.write('00000001', name - 110 + 6 + 5 * 8, 'latin1'); // the mtime field of data/b.txt's header
    writeFileSync(obj, bytes);

    const r = store(p, ['audit', './r.rapido']);
    assert.equal(r.status, 1, 'exit status 1 on a difference');
    assert.match(r.stdout, new RegExp(`^tree:/data +native-tree +${key}  DIFFERS: stored \\d+ bytes, rebuilt \\d+ bytes, first difference at byte \\d+`, 'm'));
    assert.match(r.stdout, /^ {4}\/data\/a\.txt: content differ$/m);
    assert.match(r.stdout, /^ {4}\/data\/b\.txt: mtime differ$/m);
    assert.match(r.stdout, /system +native-system +[0-9a-f]{16} {2}reproducible/);
    assert.match(r.stdout, /4 layers: 3 reproducible, 1 differs/);
    const j = storeJson(p, ['audit', './r.rapido', '--layer', 'tree:/data']);
    assert.deepEqual(j.json.layers[0].diff.changed, [{ path: 'data/a.txt', fields: ['content'] }, { path: 'data/b.txt', fields: ['mtime'] }]);

    // The stored copy is damaged, not built differently: verify sees it, repair drops it, the cut rebuilds it.
    assert.equal(store(p, ['verify', '--repair']).status, 1);
    assert.equal(existsSync(obj), false);
    const again = p.run(['cut', '-B', './r.rapido', '-x', 'true']);
    assert.equal(builtCount(again.stderr), 2, again.stderr); // the tree layer, and the overlay for -x
    const clean = store(p, ['audit', './r.rapido', '--layer', 'tree:/data']);
    assert.equal(clean.status, 0, clean.stdout);
  } finally {
    p.cleanup();
  }
});

test('audit: the dracut layer is reproducible', () => {
  const p = makeProject();
  try {
    p.write('d.rapido', 'dracut-module base\nautorun /bin/true\n');
    cut(p, './d.rapido');
    const r = store(p, ['audit', './d.rapido', '--layer', 'dracut']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^dracut +dracut +[0-9a-f]{16} {2}reproducible/m);
  } finally {
    p.cleanup();
  }
});
