import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { readElfInfo, readElfInfoHashing, resolveElfClosure, WHOLE_READ_MAX } from '../../src/derivations/elfClosure.js';
import { digestFileSync, initHasher } from '../../src/store/digest.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rapido-elf-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function sh(cmd: string, cwd = tmp): string {
  const r = spawnSync('sh', ['-c', cmd], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  return r.stdout;
}

/** What the real loader maps for `bin`, per ldd (vdso left out). */
function lddPaths(bin: string): string[] {
  const out = sh(`ldd ${bin}`);
  const paths: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=> (\/\S+)/.exec(line) ?? /^\s+(\/\S+) \(/.exec(line);
    if (m) paths.push(m[1]);
  }
  return paths.sort();
}

/**
 * A shared lib libNAME.so in `dir` whose function returns `v`, optionally
 * needing other libs; extra linker flags after.
 */
function buildLib(dir: string, name: string, v: number, needs: string[] = [], flags = ''): string {
  mkdirSync(dir, { recursive: true });
  const src = join(tmp, `${name}.c`);
  const decls = needs.map((n) => `int ${n}_fn(void);`).join('\n');
  const calls = needs.map((n) => ` + ${n}_fn()`).join('');
  writeFileSync(src, `${decls}\nint ${name}_fn(void) { return ${v}${calls}; }\n`);
  const links = needs.map((n) => `-l${n}`).join(' ');
  sh(`cc -shared -fPIC -o ${join(dir, `lib${name}.so`)} ${src} -L${dir} ${links} ${flags}`);
  return join(dir, `lib${name}.so`);
}

/** A program exiting with (sum of the libs' values) - `expect`, i.e. 0 when all loaded right. */
function buildProgram(out: string, libs: string[], libDir: string, expect: number, flags: string): string {
  const src = join(tmp, 'main.c');
  writeFileSync(src, `${libs.map((l) => `int ${l}_fn(void);`).join('\n')}\nint main(void) { return (0${libs.map((l) => ` + ${l}_fn()`).join('')}) - ${expect}; }\n`);
  sh(`cc -o ${out} ${src} -L${libDir} ${libs.map((l) => `-l${l}`).join(' ')} ${flags}`);
  return out;
}

describe('readElfInfo', () => {
  it('reads interpreter and DT_NEEDED of /bin/bash', () => {
    const info = readElfInfo('/bin/bash')!;
    assert.equal(info.elfClass, 64);
    assert.equal(info.machine, 62);
    assert.equal(info.interp, '/lib64/ld-linux-x86-64.so.2');
    assert.ok(info.needed.includes('libc.so.6'));
    assert.ok(info.needed.some((n) => n.startsWith('libtinfo.so')));
    assert.equal(readElfInfo('/lib/x86_64-linux-gnu/libc.so.6')!.soname, 'libc.so.6');
  });

  it('returns null for what is not ELF, and throws for what does not exist', () => {
    writeFileSync(join(tmp, 'script'), '#!/bin/sh\necho hi\n');
    writeFileSync(join(tmp, 'tiny'), '\x7fE');
    writeFileSync(join(tmp, 'empty'), '');
    assert.equal(readElfInfo(join(tmp, 'script')), null);
    assert.equal(readElfInfo(join(tmp, 'tiny')), null);
    assert.equal(readElfInfo(join(tmp, 'empty')), null);
    assert.equal(readElfInfo(tmp), null);
    assert.throws(() => readElfInfo(join(tmp, 'nope')), { code: 'ELF_NOT_FOUND' });
  });

  it('reports a truncated ELF as corrupt', () => {
    const cut = join(tmp, 'cut');
    const bash = spawnSync('head', ['-c', '200', '/bin/bash']).stdout;
    writeFileSync(cut, bash);
    assert.throws(() => readElfInfo(cut), { code: 'ELF_CORRUPT' });
  });

  it('parses ELF32 objects', () => {
    const src = join(tmp, 'l.c');
    writeFileSync(src, 'int f(void) { return 1; }\n');
    writeFileSync(join(tmp, 's.c'), 'int f(void); void _start(void) { f(); }\n');
    sh(`cc -m32 -fPIC -c l.c -o l.o && cc -m32 -shared -nostdlib -Wl,-soname,libz32.so -o libz32.so l.o`);
    sh(`cc -m32 -fPIC -c s.c -o s.o && cc -m32 -nostdlib -o prog32 s.o -L. -lz32 -Wl,-rpath,'$ORIGIN/x:/opt/y' -Wl,--dynamic-linker,/lib/ld-linux.so.2`);
    const lib = readElfInfo(join(tmp, 'libz32.so'))!;
    assert.deepEqual({ c: lib.elfClass, m: lib.machine, s: lib.soname }, { c: 32, m: 3, s: 'libz32.so' });
    const prog = readElfInfo(join(tmp, 'prog32'))!;
    assert.equal(prog.elfClass, 32);
    assert.equal(prog.interp, '/lib/ld-linux.so.2');
    assert.deepEqual(prog.needed, ['libz32.so']);
    assert.deepEqual(prog.runpath, ['$ORIGIN/x', '/opt/y']);
    assert.deepEqual(prog.rpath, []);
  });
});

describe('readElfInfoHashing', () => {
  before(() => initHasher());

  it('digests a small file in the read the ELF check makes, exactly as digestFileSync does, with the same headers', () => {
    writeFileSync(join(tmp, 'main.c'), 'int main(void) { return 0; }\n');
    sh('cc -o prog main.c');
    const prog = join(tmp, 'prog');
    const script = join(tmp, 'script');
    writeFileSync(script, '#!/bin/sh\necho hi\n'.repeat(100));
    const exact = join(tmp, 'exact');
    writeFileSync(exact, Buffer.alloc(WHOLE_READ_MAX, 0x61));
    const empty = join(tmp, 'empty');
    writeFileSync(empty, '');
    for (const f of [prog, script, exact, empty]) {
      const st = lstatSync(f);
      assert.ok(st.size <= WHOLE_READ_MAX, `${f} is small`);
      const r = readElfInfoHashing(f, st.size);
      assert.deepEqual(r.info, readElfInfo(f), f);
      assert.equal(r.read?.digest, digestFileSync(f), f);
      assert.equal(r.read.st.ino, BigInt(st.ino));
      assert.equal(r.read.st.mtimeNs, statSync(f, { bigint: true }).mtimeNs);
    }
    assert.ok(readElfInfoHashing(prog, lstatSync(prog).size).info?.needed.includes('libc.so.6'));
  });

  it('leaves a file over the bound to be hashed later, and still reads its headers', () => {
    const big = join(tmp, 'bash');
    copyFileSync('/bin/bash', big);
    assert.ok(lstatSync(big).size > WHOLE_READ_MAX);
    const r = readElfInfoHashing(big, lstatSync(big).size);
    assert.equal(r.read, undefined);
    assert.deepEqual(r.info, readElfInfo(big));
    const over = join(tmp, 'over');
    writeFileSync(over, Buffer.alloc(WHOLE_READ_MAX + 1, 0x61));
    assert.deepEqual(readElfInfoHashing(over, WHOLE_READ_MAX + 1), { info: null });
  });

  it('gives no digest for a file whose size changed after the lstat (grown or shrunk)', () => {
    const f = join(tmp, 'growing');
    writeFileSync(f, '#!/bin/sh\necho one\n');
    const st = lstatSync(f);
    appendFileSync(f, 'echo two\n');
    const grown = readElfInfoHashing(f, st.size);
    assert.equal(grown.read, undefined, 'the lstat size no longer matches: no stale digest');
    assert.equal(grown.info, null);
    // Grown to past the bound: the one-byte-over read catches it too.
    writeFileSync(f, Buffer.alloc(WHOLE_READ_MAX + 10, 0x61));
    assert.equal(readElfInfoHashing(f, WHOLE_READ_MAX).read, undefined);
    const s2 = lstatSync(f);
    truncateSync(f, 3);
    assert.equal(readElfInfoHashing(f, s2.size).read, undefined);
    // At its current size it is digested again.
    assert.equal(readElfInfoHashing(f, 3).read?.digest, digestFileSync(f));
  });

  it('reports malformed ELF as readElfInfo does, from the whole-file read', () => {
    const cut = join(tmp, 'cut');
    writeFileSync(cut, spawnSync('head', ['-c', '200', '/bin/bash']).stdout);
    assert.throws(() => readElfInfoHashing(cut, 200), { code: 'ELF_CORRUPT', message: /beyond the end of the file/ });
    assert.throws(() => readElfInfo(cut), { code: 'ELF_CORRUPT', message: /beyond the end of the file/ });
    assert.throws(() => readElfInfoHashing(join(tmp, 'nope'), 10), { code: 'ELF_NOT_FOUND' });
  });
});

describe('resolveElfClosure', () => {
  it('gives /bin/bash with exactly what the loader maps, as the loader names it', () => {
    const { files, missing } = resolveElfClosure(['/bin/bash']);
    assert.deepEqual(missing, []);
    assert.ok(files.includes('/lib64/ld-linux-x86-64.so.2'));
    assert.ok(files.some((f) => /\/libtinfo\.so\.6$/.test(f)));
    assert.ok(files.includes('/lib/x86_64-linux-gnu/libc.so.6'));
    // libc's DT_NEEDED ld-linux-x86-64.so.2 is the already-loaded interpreter, not a second copy.
    assert.deepEqual(files, ['/bin/bash', ...lddPaths('/bin/bash')].sort());
  });

  it('adds nothing for a static binary', () => {
    const { files, missing } = resolveElfClosure(['/bin/busybox']);
    assert.deepEqual(files, ['/bin/busybox']);
    assert.deepEqual(missing, []);
  });

  it('keeps non-ELF inputs as they are, sorted and de-duplicated with the rest', () => {
    writeFileSync(join(tmp, 'script'), '#!/bin/sh\n');
    const { files } = resolveElfClosure([join(tmp, 'script'), '/bin/busybox', join(tmp, 'script')]);
    assert.deepEqual(files, ['/bin/busybox', join(tmp, 'script')].sort());
    assert.throws(() => resolveElfClosure([join(tmp, 'absent')]), { code: 'ELF_NOT_FOUND' });
  });

  it('resolves RUNPATH $ORIGIN from the real location of the program', () => {
    const app = join(tmp, 'app');
    buildLib(join(app, 'lib'), 'foo', 7);
    mkdirSync(join(app, 'bin'));
    const prog = buildProgram(join(app, 'bin/prog'), ['foo'], join(app, 'lib'), 7, `-Wl,--enable-new-dtags -Wl,-rpath,'$ORIGIN/../lib'`);
    assert.deepEqual(readElfInfo(prog)!.runpath, ['$ORIGIN/../lib']);
    assert.equal(spawnSync(prog).status, 0, 'the real loader finds libfoo');

    const { files, missing } = resolveElfClosure([prog]);
    assert.deepEqual(missing, []);
    assert.ok(files.includes(join(app, 'lib/libfoo.so')), files.join(' '));
    assert.ok(files.includes(prog));

    // Started through a symlink elsewhere, $ORIGIN is still the program's real directory.
    const link = join(tmp, 'prog-link');
    symlinkSync(prog, link);
    assert.equal(spawnSync(link).status, 0);
    const viaLink = resolveElfClosure([link]);
    assert.deepEqual(viaLink.missing, []);
    assert.ok(viaLink.files.includes(join(app, 'lib/libfoo.so')));
    assert.ok(viaLink.files.includes(link));
  });

  it('lets a library inherit the program DT_RPATH, but not its DT_RUNPATH (like ld.so)', () => {
    const dir = join(tmp, 'private');
    buildLib(dir, 'bar', 2);
    buildLib(dir, 'foo', 3, ['bar']); // no rpath of its own
    const withRpath = buildProgram(join(tmp, 'rp'), ['foo'], dir, 5, `-Wl,--disable-new-dtags -Wl,-rpath,${dir}`);
    const withRunpath = buildProgram(join(tmp, 'rn'), ['foo'], dir, 5, `-Wl,--enable-new-dtags -Wl,-rpath,${dir}`);
    assert.deepEqual(readElfInfo(withRpath)!.rpath, [dir]);
    assert.deepEqual(readElfInfo(withRunpath)!.runpath, [dir]);
    // The real loader agrees: the RUNPATH program cannot find libbar.
    assert.equal(spawnSync(withRpath).status, 0);
    assert.notEqual(spawnSync(withRunpath).status, 0);

    const a = resolveElfClosure([withRpath]);
    assert.deepEqual(a.missing, []);
    assert.ok(a.files.includes(join(dir, 'libbar.so')) && a.files.includes(join(dir, 'libfoo.so')));
    const b = resolveElfClosure([withRunpath]);
    assert.deepEqual(b.missing, [{ lib: 'libbar.so', neededBy: join(dir, 'libfoo.so') }]);
    assert.ok(b.files.includes(join(dir, 'libfoo.so')));
  });

  it('skips a candidate of the wrong ELF class and keeps searching', () => {
    const good = join(tmp, 'second');
    buildLib(good, 'zz', 4);
    const wrong = join(tmp, 'first');
    mkdirSync(wrong);
    writeFileSync(join(tmp, 'l.c'), 'int zz_fn(void) { return 1; }\n');
    sh(`cc -m32 -fPIC -c l.c -o l32.o && cc -m32 -shared -nostdlib -o ${join(wrong, 'libzz.so')} l32.o`);
    const prog = buildProgram(join(tmp, 'prog'), ['zz'], good, 4, `-Wl,-rpath,'$ORIGIN/first:$ORIGIN/second'`);
    assert.equal(spawnSync(prog).status, 0);
    const { files, missing } = resolveElfClosure([prog]);
    assert.deepEqual(missing, []);
    assert.ok(files.includes(join(good, 'libzz.so')));
    assert.ok(!files.includes(join(wrong, 'libzz.so')));
  });

  it('reports DT_NEEDED libraries and interpreters it cannot find', () => {
    const dir = join(tmp, 'gone');
    buildLib(dir, 'gone', 1);
    const prog = buildProgram(join(tmp, 'prog'), ['gone'], dir, 1, '');
    renameSync(join(dir, 'libgone.so'), join(tmp, 'elsewhere.so'));
    const { files, missing } = resolveElfClosure([prog]);
    assert.deepEqual(missing, [{ lib: 'libgone.so', neededBy: prog }]);
    assert.ok(files.includes('/lib/x86_64-linux-gnu/libc.so.6'));

    // A 32-bit program on this 64-bit-only host: its interpreter is absent, its RUNPATH lib found.
    writeFileSync(join(tmp, 'l.c'), 'int f(void) { return 1; }\n');
    writeFileSync(join(tmp, 's.c'), 'int f(void); void _start(void) { f(); }\n');
    mkdirSync(join(tmp, 'd32'));
    sh(`cc -m32 -fPIC -c l.c -o l.o && cc -m32 -shared -nostdlib -Wl,-soname,libz32.so -o d32/libz32.so l.o`);
    sh(`cc -m32 -fPIC -c s.c -o s.o && cc -m32 -nostdlib -o prog32 s.o -Ld32 -lz32 -Wl,-rpath,'$ORIGIN/d32' -Wl,--dynamic-linker,/nonexistent/ld.so.1`);
    const r32 = resolveElfClosure([join(tmp, 'prog32')]);
    assert.deepEqual(r32.missing, [{ lib: '/nonexistent/ld.so.1', neededBy: join(tmp, 'prog32') }]);
    assert.deepEqual(r32.files, [join(tmp, 'd32/libz32.so'), join(tmp, 'prog32')]);
  });

  it('follows a DT_NEEDED that is a path, with $ORIGIN', () => {
    const dir = join(tmp, 'p');
    const lib = buildLib(dir, 'pp', 9);
    const copy = join(tmp, 'sub', 'libpp.so');
    mkdirSync(join(tmp, 'sub'));
    copyFileSync(lib, copy);
    // Link against a path: DT_NEEDED then carries the slash and ld.so opens it as given.
    writeFileSync(join(tmp, 'main.c'), 'int pp_fn(void); int main(void) { return pp_fn() - 9; }\n');
    sh(`cc -o prog main.c sub/libpp.so`);
    const needed = readElfInfo(join(tmp, 'prog'))!.needed;
    assert.ok(needed.includes('sub/libpp.so'), needed.join(','));
    const prev = process.cwd();
    process.chdir(tmp);
    try {
      const { files, missing } = resolveElfClosure([join(tmp, 'prog')]);
      assert.deepEqual(missing, []);
      assert.ok(files.includes(copy));
    } finally {
      process.chdir(prev);
    }
  });
});
