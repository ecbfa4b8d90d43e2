/** A program in a `tree` whose shared library is gone: the cut fails naming the program and the library, before any image is written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject } from '../helpers/cliHarness.js';

function sh(cmd: string, cwd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
}

test('tree with a program whose library was removed: TREE_LIB_MISSING names both, no image; filter is the way out', () => {
  const p = makeProject();
  try {
    const lib = join(p.dir, 'extlib');
    mkdirSync(join(p.dir, 'suite/ltp'), { recursive: true });
    mkdirSync(lib);
    writeFileSync(join(p.dir, 'l.c'), 'int gone_fn(void) { return 0; }\n');
    writeFileSync(join(p.dir, 'm.c'), 'int gone_fn(void);\nint main(void) { return gone_fn(); }\n');
    sh(`cc -shared -fPIC -Wl,-soname,libgone.so.2 -o ${lib}/libgone.so.2 l.c && cc -o suite/ltp/fsstress m.c ${lib}/libgone.so.2`, p.dir);
    rmSync(join(lib, 'libgone.so.2'));
    p.write('r.rapido', 'bin cat\ntree /fstests suite\n');
    const r = p.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /r\.rapido:2: \S+\/suite\/ltp\/fsstress \(\/fstests\/ltp\/fsstress in the image\) needs libgone\.so\.2, which is not on the library path/);
    assert.match(r.stderr, /install the library package, or leave the file out with 'filter \/fstests\/ltp\/fsstress'/);
    assert.ok(!existsSync(p.out), 'no image was written');

    p.write('r.rapido', 'bin cat\ntree /fstests suite\nfilter /fstests/ltp/fsstress\n');
    const filtered = p.run(['cut', '-B', './r.rapido']);
    assert.equal(filtered.status, 0, filtered.stderr);
    assert.ok(existsSync(p.out));
  } finally {
    p.cleanup();
  }
});
