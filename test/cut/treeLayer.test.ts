/**
 * `tree`: the shared-library closure of the ELF files it carries, the build
 * droppings it leaves out (unless `--all`), keys free of where the tree is.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeProject, RAPIDO_STORE_BIN, type Project } from '../helpers/cliHarness.js';
import { ImageView } from '../helpers/imageView.js';

function sh(cmd: string, cwd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
}

/** A built tree: a program linked against a library outside the tree (in `libDir`), a test script, droppings and a .git. */
function buildTree(p: Project, libDir: string): string {
  const src = join(p.dir, 'src');
  mkdirSync(join(src, 'bin'), { recursive: true });
  mkdirSync(libDir, { recursive: true });
  writeFileSync(join(p.dir, 'lib.c'), 'int tl_fn(void) { return 0; }\n');
  sh(`cc -shared -fPIC -Wl,-soname,libtreelib.so.1 -o ${libDir}/libtreelib.so.1 lib.c`, p.dir);
  writeFileSync(join(p.dir, 'main.c'), 'int tl_fn(void);\nint main(void) { return tl_fn(); }\n');
  sh(`cc -o ${src}/bin/prog main.c ${libDir}/libtreelib.so.1 -Wl,-rpath,${libDir} && cc -c -o ${src}/bin/main.o main.c`, p.dir);
  p.write('src/tests/001', '#!/bin/sh\necho ok\n', 0o755);
  p.write('src/lib/libx.a', 'ar');
  p.write('src/lib/x.lo', 'lo');
  p.write('src/config.log', 'log');
  p.write('src/autom4te.cache/output.0', 'cache');
  p.write('src/.deps/main.Po', 'deps');
  p.write('src/.git/HEAD', 'ref: refs/heads/main\n');
  p.write('src/.libs/lt-prog', 'libtool keeps real programs here');
  return src;
}

const image = (p: Project) => new ImageView(readFileSync(p.out));

test('tree: carries the libraries its ELF files need, leaves out .git and build droppings', () => {
  const p = makeProject();
  try {
    const libDir = join(p.dir, 'extlib');
    const src = buildTree(p, libDir);
    p.write('r.rapido', `tree /suite ${src}\n`);
    const r = p.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 0, r.stderr);
    const v = image(p);
    assert.equal(v.lookup('/suite/bin/prog')?.type, 'file');
    assert.equal(v.lookup('/suite/tests/001')?.type, 'file');
    assert.equal(v.lookup(`${libDir}/libtreelib.so.1`)?.type, 'file', 'the program\'s library, at its host path');
    assert.ok(v.lookup('/lib64/ld-linux-x86-64.so.2') ?? v.lookup('/lib/ld-linux-x86-64.so.2'), 'the dynamic loader');
    assert.equal(v.lookup('/suite/.libs/lt-prog')?.type, 'file', '.libs stays: libtool runs programs from there');
    for (const gone of ['/suite/.git', '/suite/bin/main.o', '/suite/lib/libx.a', '/suite/lib/x.lo', '/suite/config.log', '/suite/autom4te.cache', '/suite/.deps']) {
      assert.equal(v.lookup(gone), undefined, `${gone} is left out`);
    }

    // --all keeps everything.
    p.write('r.rapido', `tree --all /suite ${src}\n`);
    assert.equal(p.run(['cut', '-B', './r.rapido']).status, 0);
    const all = image(p);
    for (const kept of ['/suite/.git/HEAD', '/suite/bin/main.o', '/suite/lib/libx.a', '/suite/config.log']) {
      assert.equal(all.lookup(kept)?.type, 'file', `${kept} with --all`);
    }
  } finally {
    p.cleanup();
  }
});

test('tree: a changed library re-cuts the tree layer; a changed test file re-cuts only it too', () => {
  const p = makeProject();
  try {
    const libDir = join(p.dir, 'extlib');
    const src = buildTree(p, libDir);
    p.write('r.rapido', `bin cat\ntree /suite ${src}\n`);
    assert.equal(p.run(['cut', '-B', './r.rapido']).status, 0);
    const before = readFileSync(p.out);
    writeFileSync(join(p.dir, 'lib.c'), 'int tl_fn(void) { return 1; }\n');
    sh(`cc -shared -fPIC -Wl,-soname,libtreelib.so.1 -o ${libDir}/libtreelib.so.1.new lib.c && mv ${libDir}/libtreelib.so.1.new ${libDir}/libtreelib.so.1`, p.dir);
    const r = p.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /1 built, \d+ reused/);
    assert.notDeepEqual(readFileSync(p.out), before);
    const why = p.run(['why', './r.rapido'], { bin: RAPIDO_STORE_BIN });
    assert.equal(why.status, 0, why.stderr);
  } finally {
    p.cleanup();
  }
});

test('tree: the same tree in another place gives the same layer key', () => {
  const p = makeProject();
  try {
    const src = buildTree(p, join(p.dir, 'extlib'));
    const moved = join(p.dir, 'moved');
    cpSync(src, moved, { recursive: true, preserveTimestamps: true });
    p.write('a.rapido', `tree /suite ${src}\n`);
    p.write('b.rapido', `tree /suite ${moved}\n`);
    assert.equal(p.run(['cut', '-B', './a.rapido']).status, 0);
    const a = readFileSync(p.out);
    const r = p.run(['cut', '-B', './b.rapido']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /0 built, \d+ reused/);
    assert.deepEqual(readFileSync(p.out), a);
  } finally {
    p.cleanup();
  }
});

test('tree: a bad option is a syntax error', () => {
  const p = makeProject();
  try {
    p.write('r.rapido', 'tree --everything /x /tmp\n');
    const r = p.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /r\.rapido:1: tree takes one option, --all, got '--everything'/);
  } finally {
    p.cleanup();
  }
});
