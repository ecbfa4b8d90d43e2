import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { readNewc } from '../../../src/derivations/cpio/readNewc.js';
import { ageFile, builtCount, cut, makeProject, objectFile, stampKeys, store, storeJson } from './storeCli.js';

test('verify via the CLI: flipped byte, truncated and deleted objects, an orphan; --repair; the next cut rebuilds', () => {
  const p = makeProject();
  try {
    p.write('data/a.txt', 'a'.repeat(50_000));
    p.write('r.rapido', 'bin cat\ntree /data data\nautorun /bin/true\n');
    cut(p, './r.rapido');
    const good = readFileSync(p.out);
    const clean = store(p, ['verify']);
    assert.equal(clean.status, 0, clean.stderr);
    assert.match(clean.stdout, /verify: checked 4 objects, .* MB\/s\)\nok: every record has its intact object/);

    const k = stampKeys(p.out);
    const tree = objectFile(p, k['tree:/data']!);
    chmodSync(tree, 0o644);
    const bytes = readFileSync(tree);
    bytes[bytes.length >> 1] ^= 0x40;
    writeFileSync(tree, bytes);
    const system = objectFile(p, k.system!);
    chmodSync(system, 0o644);
    truncateSync(system, 1000);
    rmSync(objectFile(p, k.overlay!));
    const orphan = objectFile(p, '00c0ffee00c0ffee');
    mkdirSync(dirname(orphan), { recursive: true });
    writeFileSync(orphan, 'left by a crash');
    ageFile(orphan, 3_600_000);

    const bad = store(p, ['verify']);
    assert.equal(bad.status, 1, 'exit status 1 on problems');
    assert.match(bad.stdout, new RegExp(`CORRUPT +${k['tree:/data']}  tree:/data \\(native-tree\\)  recipe \\./r\\.rapido: digest [0-9a-f]{16}, expected [0-9a-f]{16}`));
    assert.match(bad.stdout, new RegExp(`CORRUPT +${k.system}  system \\(native-system\\)  recipe \\./r\\.rapido: size 1000, expected \\d+`));
    assert.match(bad.stdout, new RegExp(`MISSING +${k.overlay}  overlay \\(native-overlay\\)  recipe \\./r\\.rapido: object file missing`));
    assert.match(bad.stdout, /ORPHAN +00c0ffee00c0ffee: object file without a record/);
    assert.match(bad.stdout, /4 problems: 2 corrupt, 1 missing, 1 orphan\nrun rapido-store verify --repair/);

    const json = storeJson(p, ['verify']);
    assert.equal(json.status, 1);
    assert.deepEqual(json.json.problems.map((x: { kind: string }) => x.kind).sort(), ['corrupt', 'corrupt', 'missing', 'orphan']);

    const repair = store(p, ['verify', '--repair']);
    assert.equal(repair.status, 1, 'problems were found, even if repaired');
    assert.match(repair.stdout, /repaired: removed 2 corrupt objects with their records, 1 record without object, 1 orphan file/);
    const after = store(p, ['verify']);
    assert.equal(after.status, 0, after.stdout);

    rmSync(p.out);
    const rebuilt = p.run(['cut', '-B', './r.rapido']);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.equal(builtCount(rebuilt.stderr), 3); // tree, system and overlay: kconfig was intact
    assert.deepEqual(readFileSync(p.out), good, 'the rebuilt image is the good one');
    assert.equal(readNewc(readFileSync(p.out)).find((e) => e.path === 'data/a.txt')!.data!.length, 50_000);
    assert.equal(store(p, ['verify']).status, 0);
  } finally {
    p.cleanup();
  }
});
