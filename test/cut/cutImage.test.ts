import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNewc } from '../../src/derivations/cpio/readNewc.js';
import { spawnSync } from 'node:child_process';
import { requireKernel } from '../helpers/hostPrereqs.js';
import { makeProject, RAPIDO_STORE_BIN, REPO } from '../helpers/cliHarness.js';
import { ImageView } from '../helpers/imageView.js';

const KVER = requireKernel().release;

function recipe(extra = '') {
  return `description test recipe\nbin bash cat\nkmod zram\ntree /data data\nautorun run.sh\nvm-mem 256M\n${extra}`;
}

/** Make an edited file look older than the racy window, as if edited a while ago. */
function age(path: string) {
  const t = new Date(Date.now() - 10_000);
  utimesSync(path, t, t);
}

function paths(image: string): Set<string> {
  return new Set(readNewc(readFileSync(image)).map((e) => e.path));
}

test('cut: builds every layer, then a no-op re-cut is decided from stat alone, then an autorun edit rebuilds only the overlay', () => {
  const p = makeProject();
  try {
    p.write('r.rapido', recipe());
    p.write('run.sh', '#!/bin/sh\necho one\n');
    p.write('data/a.txt', 'a'.repeat(5000));
    p.write('data/sub/b.txt', 'b');
    const first = p.run(['cut', '-B', './r.rapido']);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /6 layers \(6 built, 0 reused\)/);
    // What the guest sees once the kernel has unpacked every layer, symlinks followed.
    const view = new ImageView(readFileSync(p.out));
    for (const f of ['/bin/bash', '/usr/bin/bash', '/bin/sh', '/rapido-init', '/rapido-autorun/001-run.sh', '/data/a.txt', '/data/sub/b.txt', '/dev/console',
      `/lib/modules/${KVER}/kernel/drivers/block/zram/zram.ko`, `/lib/modules/${KVER}/kernel/mm/zsmalloc.ko`, `/lib/modules/${KVER}/modules.dep`,
      '/rapido-rsc/mem/256M', '/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/libc.so.6']) {
      assert.ok(view.has(f), `the guest sees ${f}`);
    }
    assert.equal(view.lookup('/lib64/ld-linux-x86-64.so.2')!.type, 'file');
    // The guest as a test environment: the kernel's config, the suites' users, a terminal description.
    const kconfig = requireKernel().config;
    if (existsSync(kconfig)) assert.deepEqual(view.lookup(`/boot/config-${KVER}`)!.data, readFileSync(kconfig));
    const passwd = view.lookup('/etc/passwd')!.data!.toString();
    for (const u of ['root:x:0:0:', 'fsgqa:x:1000:1000:', 'fsgqa2:x:1001:1001:', '123456-fsgqa:x:2000:2000:', 'nobody:x:65534:65534:']) assert.ok(passwd.includes(`\n${u}`) || passwd.startsWith(u), u);
    assert.match(view.lookup('/etc/group')!.data!.toString(), /^fsgqa:x:1000:$/m);
    assert.ok(['/etc/terminfo', '/lib/terminfo', '/usr/share/terminfo'].some((d) => view.has(`${d}/l/linux`)), 'terminfo for linux');
    assert.equal(view.lookup('/rapido-autorun/001-run.sh')!.mode, 0o755);

    for (const f of ['r.rapido', 'run.sh', 'data/a.txt', 'data/sub/b.txt', 'data/sub', 'data', 'rapido.conf']) age(join(p.dir, f));
    p.run(['cut', '-B', './r.rapido']); // refresh the stamp now that nothing is racy
    const noop = p.run(['cut', '-B', './r.rapido']);
    assert.equal(noop.status, 0, noop.stderr);
    assert.match(noop.stderr, /up to date/);
    // The CommonJS fast path (dist/bin/fast.cjs) answers it by itself; 99 would mean it handed over.
    const fastCut = (args: string[]) =>
      spawnSync(process.execPath, ['-e', `const f = require(${JSON.stringify(join(REPO, 'dist/bin/fast.cjs'))}).fastCheck(${JSON.stringify(args)}); process.exitCode = f?.done ? f.code : 99`], { cwd: p.dir, env: p.env, encoding: 'utf8' });
    const fast = fastCut(['cut', '-B', './r.rapido']);
    assert.equal(fast.status, 0, fast.stderr);
    assert.match(fast.stderr, /up to date/);
    assert.equal(fastCut(['cut', '-B', 'simple-example']).status, 99, 'a recipe never cut here goes to the full CLI');

    writeFileSync(join(p.dir, 'run.sh'), '#!/bin/sh\necho two\n');
    age(join(p.dir, 'run.sh'));
    const why = p.run(['why', './r.rapido'], { bin: RAPIDO_STORE_BIN });
    assert.equal(why.status, 0, why.stderr);
    assert.match(why.stdout, /overlay\s+native-overlay\s+MISS/);
    assert.match(why.stdout, /content of \/rapido-autorun\/001-run\.sh \(from .*run\.sh\)/);
    assert.match(why.stdout, /system\s+native-system\s+hit/);

    const edit = p.run(['cut', '-B', './r.rapido']);
    assert.equal(edit.status, 0, edit.stderr);
    assert.match(edit.stderr, /6 layers \(1 built, 5 reused\), rebuilt: overlay, /, 'the summary line names the rebuilt layer, not on a TTY too');
    assert.equal(new ImageView(readFileSync(p.out)).lookup('/rapido-autorun/001-run.sh')!.data!.toString(), '#!/bin/sh\necho two\n');

    const ls = p.run(['ls'], { bin: RAPIDO_STORE_BIN });
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, /7 layers/, 'the old overlay stays in the store');
  } finally {
    p.cleanup();
  }
});

test('cut: same inputs give the same layer keys and the same image bytes in two stores', () => {
  const a = makeProject();
  const b = makeProject();
  try {
    for (const p of [a, b]) {
      p.write('r.rapido', 'bin bash\ntree /data /usr/share/common-licenses\nautorun /bin/true\n');
      const r = p.run(['cut', '-B', './r.rapido']);
      assert.equal(r.status, 0, r.stderr);
    }
    // The recipe file paths differ between the two projects, but they only name sources, not content.
    assert.deepEqual(readFileSync(a.out), readFileSync(b.out));
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test('cut: errors are one line with a hint, exit non-zero, and leave the store usable', () => {
  const p = makeProject();
  try {
    p.write('run.sh', 'true\n');
    const cases: [string, RegExp][] = [
      ['kmod no_such_module_xyz\n', /kernel module 'no_such_module_xyz' does not exist for kernel/],
      ['bin no-such-binary-xyz\n', /'no-such-binary-xyz' not found on PATH/],
      ['tree /x /nonexistent/dir\n', /tree source \/nonexistent\/dir is missing/],
      ['bogus line\n', /unknown directive 'bogus'/],
      ['autorun missing.sh\n', /autorun script .*missing\.sh not found/],
    ];
    for (const [text, re] of cases) {
      p.write('bad.rapido', text);
      const r = p.run(['cut', '-B', './bad.rapido']);
      assert.notEqual(r.status, 0, text);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /hint: /);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    }
    p.write('good.rapido', 'bin cat\nautorun run.sh\n');
    const ok = p.run(['cut', '-B', './good.rapido']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(readdirSync(join(p.store, 'tmp')), [], 'no temp files left behind');
  } finally {
    p.cleanup();
  }
});

test('cut: a missing modules directory and an unwritable store are clear errors', () => {
  const p = makeProject(`KERNEL_RELEASE="${KVER}"\nKERNEL_INSTALL_MOD_PATH="/nonexistent"\n`);
  try {
    p.write('r.rapido', 'kmod zram\n');
    const r = p.run(['cut', '-B', './r.rapido']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no modules directory \/nonexistent\/lib\/modules\//);
    writeFileSync(join(p.dir, 'notadir'), '');
    const conf2 = p.write('unwritable.conf', `RAPIDO_STORE="${join(p.dir, 'notadir', 'store')}"\nDRACUT_OUT="${p.out}"\n`);
    p.write('ok.rapido', 'bin cat\n');
    const s = p.run(['cut', '-B', './ok.rapido'], { env: { RAPIDO_CONF: conf2 } });
    assert.notEqual(s.status, 0);
    assert.match(s.stderr, /store directory .*notadir\/store is not a writable directory/);
    assert.match(s.stderr, /hint: set RAPIDO_STORE/);
  } finally {
    p.cleanup();
  }
});

test('cut: two cuts at once into one store both succeed and build each layer once', async () => {
  const p = makeProject();
  try {
    p.write('r.rapido', recipe());
    p.write('run.sh', 'true\n');
    p.write('data/x', 'x'.repeat(1 << 20));
    // Same store, different output images: the second conf differs only in DRACUT_OUT.
    const conf2 = p.write('rapido2.conf', readFileSync(join(p.dir, 'rapido.conf'), 'utf8').replace(/DRACUT_OUT=.*/, `DRACUT_OUT="${p.out}2"`));
    const runOne = (env: NodeJS.ProcessEnv) => p.runAsync(['cut', '-B', './r.rapido'], env).then((r) => ({ code: r.status, err: r.stderr }));
    const [r1, r2] = await Promise.all([runOne({}), runOne({ RAPIDO_CONF: conf2 })]);
    assert.equal(r1.code, 0, r1.err);
    assert.equal(r2.code, 0, r2.err);
    const built = (s: string) => Number(/\((\d+) built/.exec(s)?.[1] ?? NaN);
    assert.equal(built(r1.err) + built(r2.err), 6, `each layer built once: ${r1.err} | ${r2.err}`);
    assert.deepEqual(readFileSync(p.out), readFileSync(p.out + '2'));
  } finally {
    p.cleanup();
  }
});

test('cut: a cut killed mid-build leaves no partial object, and the next cut works', async () => {
  const p = makeProject();
  try {
    p.write('r.rapido', recipe());
    p.write('run.sh', 'true\n');
    for (let i = 0; i < 40; i++) p.write(`data/f${i}`, String(i).repeat(1 << 20));
    const child = p.spawn(['cut', '-B', './r.rapido']);
    child.stdout!.resume();
    child.stderr!.resume();
    // Kill it once it is writing objects into the store.
    const tmp = join(p.store, 'tmp');
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(existsSync(tmp) && readdirSync(tmp).length > 0)) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const again = p.run(['cut', '-B', './r.rapido']);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(readdirSync(tmp), [], 'leftovers of the killed cut were cleaned');
    const entries = readNewc(readFileSync(p.out));
    assert.equal(entries.find((e) => e.path === 'data/f39')!.data!.length, 2 << 20);
  } finally {
    p.cleanup();
  }
});

test('cut: a dracut layer is cached with its closure and rebuilt when a file dracut copied changes', () => {
  const p = makeProject();
  try {
    const extra = p.write('extra/tool.txt', 'version 1\n');
    p.write('d.rapido', `dracut-module base\ndracut-install ${extra}\nautorun run.sh\n`);
    p.write('run.sh', 'true\n');
    const first = p.run(['cut', '-B', './d.rapido']);
    assert.equal(first.status, 0, first.stderr);
    assert.ok(paths(p.out).has(extra.slice(1)), 'dracut installed the file');
    age(extra);
    const cached = p.run(['cut', '-B', './d.rapido', '-x', 'true']);
    assert.match(cached.stderr, /\(1 built, 3 reused\)/, cached.stderr);
    writeFileSync(extra, 'version 2\n');
    age(extra);
    const why = p.run(['why', './d.rapido'], { bin: RAPIDO_STORE_BIN });
    assert.match(why.stdout, /dracut\s+dracut\s+MISS/);
    assert.match(why.stdout, new RegExp(`file ${extra}: digest`));
    const rebuilt = p.run(['cut', '-B', './d.rapido']);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /\(1 built, 3 reused\)/);
    const e = readNewc(readFileSync(p.out)).filter((x) => x.path === extra.slice(1));
    assert.equal(e.at(-1)!.data!.toString(), 'version 2\n');
  } finally {
    p.cleanup();
  }
});

test('cut: a corrupt store object (flipped byte, truncated) is rebuilt, never put in the image', () => {
  const p = makeProject();
  try {
    p.write('r.rapido', 'bin cat\ntree /data data\nautorun run.sh\n');
    p.write('run.sh', 'true\n');
    p.write('data/x', 'x'.repeat(100_000));
    const first = p.run(['cut', '-B', './r.rapido']);
    assert.equal(first.status, 0, first.stderr);
    const good = readFileSync(p.out);
    const stamp = JSON.parse(readFileSync(join(p.dir, 'initrds', '.myinitrd.rapido.json'), 'utf8'));
    const objectOf = (name: string) => {
      const key = stamp.layers.find((l: { name: string }) => l.name === name).key as string;
      return { key, path: join(p.store, 'objects', key.slice(0, 2), key) };
    };
    // One flipped byte in the tree layer; force a full compose by removing the image.
    const tree = objectOf('tree:/data');
    chmodSync(tree.path, 0o644);
    const bytes = readFileSync(tree.path);
    bytes[bytes.length >> 1] ^= 0x40;
    writeFileSync(tree.path, bytes);
    rmSync(join(p.dir, 'initrds'), { recursive: true });
    const flipped = p.run(['cut', '-B', './r.rapido']);
    assert.equal(flipped.status, 0, flipped.stderr);
    assert.match(flipped.stderr, new RegExp(`store object ${tree.key} is corrupt \\(digest mismatch\\); rebuilding it`));
    assert.deepEqual(readFileSync(p.out), good, 'the image holds the rebuilt, correct layer');
    // A truncated object is caught by its size.
    const sys = objectOf('system');
    chmodSync(sys.path, 0o644);
    truncateSync(sys.path, 1000);
    writeFileSync(join(p.dir, 'run.sh'), 'echo changed\n');
    const truncated = p.run(['cut', '-B', './r.rapido']);
    assert.equal(truncated.status, 0, truncated.stderr);
    assert.match(truncated.stderr, new RegExp(`store object ${sys.key} is corrupt \\(size 1000, expected \\d+\\); rebuilding it`));
    assert.ok(new ImageView(readFileSync(p.out)).has('/usr/bin/cat'));
  } finally {
    p.cleanup();
  }
});

test('cut: the CommonJS fast path finds the shipped recipes and answers a no-op cut of one', () => {
  const p = makeProject();
  try {
    assert.equal(p.run(['cut', '-B', 'simple-example']).status, 0);
    const r = spawnSync(process.execPath, ['-e', `const f = require(${JSON.stringify(join(REPO, 'dist/bin/fast.cjs'))}).fastCheck(['cut', '-B', 'simple-example']); process.exitCode = f?.done ? f.code : 99`], { cwd: p.dir, env: p.env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /rapido: simple-example: up to date, \d+ layers/);
  } finally {
    p.cleanup();
  }
});

test('the guest init a cut uses is part of its request: another rapido install does not count as up to date', async () => {
  const { cutRequest } = await import('../../src/cut/cutRequest.js');
  const { guestInitPath } = await import('../../src/runner/guestInitPath.js');
  const p = makeProject();
  const cwd = process.cwd();
  try {
    process.chdir(p.dir);
    const req = cutRequest('simple-example', [], p.env);
    assert.equal(JSON.parse(req.key).guestInit, guestInitPath());
  } finally {
    process.chdir(cwd);
    p.cleanup();
  }
});

/** ~`mib` MiB of deterministic, incompressible-looking files in `dir`: test scripts in groups, a few bigger binaries. */
function bigTree(p: ReturnType<typeof makeProject>, dir: string, mib: number): void {
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const pool = Buffer.alloc(2 << 20);
  for (let i = 0; i < pool.length; i++) pool[i] = (rnd() * 256) | 0;
  let bytes = 0;
  for (let g = 0; bytes < mib << 20; g++) {
    for (let f = 0; f < 40; f++) {
      const size = f === 0 ? 600_000 : 1000 + ((rnd() * 30_000) | 0);
      const off = (rnd() * (pool.length - size)) | 0;
      const path = p.write(`${dir}/g${String(g).padStart(2, '0')}/${String(f).padStart(3, '0')}`, '');
      writeFileSync(path, pool.subarray(off, off + size));
      age(path);
      bytes += size;
    }
  }
}

test('cut: a one-file edit in a big tree rebuilds one chunk and writes one slot; the image equals a fresh cut\'s byte for byte', () => {
  const p = makeProject();
  const fresh = makeProject();
  try {
    bigTree(p, 'data', 24);
    const r = 'bin cat\ntree /data data\nautorun /bin/true\n';
    p.write('r.rapido', r);
    const first = p.run(['cut', '-B', './r.rapido']);
    assert.equal(first.status, 0, first.stderr);
    const stampPath = join(p.dir, 'initrds', '.myinitrd.rapido.json');
    const stamp = () => JSON.parse(readFileSync(stampPath, 'utf8')) as { layers: { name: string; size: number }[] };
    const chunks = stamp().layers.filter((l) => l.name.startsWith('tree:/data#'));
    assert.ok(chunks.length >= 4, `a 24 MiB tree is several layers: ${stamp().layers.map((l) => l.name).join(' ')}`);
    const edited = join(p.dir, 'data/g05/017');
    // Two edits: the first leaves the original image as the spare, which the second rewrites in place.
    for (const n of [1, 2]) {
      writeFileSync(edited, `# edit ${n}\n`, { flag: 'a' });
      age(edited);
      const re = p.run(['cut', '-B', './r.rapido']);
      assert.equal(re.status, 0, re.stderr);
      const m = /\((\d+) built, (\d+) reused\), rebuilt: (\S+), [\d.]+ MiB, ([\d.]+) (MiB|KiB|B) written/.exec(re.stderr);
      assert.ok(m, re.stderr);
      assert.equal(m[1], '1', 'one chunk built');
      assert.match(m[3], /^tree:\/data#\d+$/);
      if (n === 2) {
        const size = stamp().layers.find((l) => l.name === m[3])!.size;
        const written = Number(m[4]) * (m[5] === 'MiB' ? 1 << 20 : m[5] === 'KiB' ? 1024 : 1);
        // The edited chunk's slot (64 KiB rounding), and nothing else; the summary rounds to 0.1 MiB.
        assert.ok(written <= Math.ceil(size / 65536) * 65536 + 0.06 * (1 << 20), `${written} bytes written for a ${size}-byte chunk`);
      }
    }
    const view = new ImageView(readFileSync(p.out));
    assert.match(view.lookup('/data/g05/017')!.data!.toString('latin1'), /# edit 1\n# edit 2\n$/);
    // The same tree cut from scratch elsewhere (another store, another path): the same bytes.
    bigTree(fresh, 'data', 24);
    writeFileSync(join(fresh.dir, 'data/g05/017'), readFileSync(edited));
    fresh.write('r.rapido', r);
    const f = fresh.run(['cut', '-B', './r.rapido']);
    assert.equal(f.status, 0, f.stderr);
    assert.ok(readFileSync(fresh.out).equals(readFileSync(p.out)), 'incremental compose equals a fresh cut');
  } finally {
    p.cleanup();
    fresh.cleanup();
  }
});

test('cut: a re-cut that hashes an edited file loads no package from node_modules (xxhash-wasm is in the bundle, under the code cache)', () => {
  const p = makeProject();
  try {
    p.write('r.rapido', recipe());
    p.write('run.sh', '#!/bin/sh\necho one\n');
    p.write('data/a.txt', 'a');
    const first = p.run(['cut', '-B', './r.rapido']);
    assert.equal(first.status, 0, first.stderr);
    p.write('data/a.txt', 'an edit');
    age(join(p.dir, 'data/a.txt'));
    // NODE_DEBUG=module names every CommonJS file Node loads.
    const edit = p.run(['cut', '-B', './r.rapido'], { env: { NODE_DEBUG: 'module' } });
    assert.equal(edit.status, 0, edit.stderr);
    assert.match(edit.stderr, /\(1 built, 5 reused\), rebuilt: tree:\/data/);
    // What the cut bundle requires, as NODE_DEBUG=module names it: Node's own modules only.
    const requests = edit.stderr.split('\n').map((l) => /^MODULE \d+: Module\._load REQUEST (\S+) parent: .*\/dist\/bin\/cut\.cjs$/.exec(l)?.[1]).filter((r) => r !== undefined);
    assert.ok(requests.includes('node:fs'), `NODE_DEBUG shows what cut.cjs requires:\n${edit.stderr.slice(-2000)}`);
    assert.deepEqual(requests.filter((r) => !r.startsWith('node:')), []);
    assert.doesNotMatch(edit.stderr, /^MODULE \d+: load ".*\/node_modules\//m);
  } finally {
    p.cleanup();
  }
});
