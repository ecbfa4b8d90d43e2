/** Faults in the paths a cut is given: DRACUT_OUT where no file can be written, a recipe "name" that is a path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, RAPIDO } from '../helpers/cliHarness.js';
import { requireHost, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';

const IS_ROOT = process.getuid?.() === 0;

function assertOneLineError(r: { status: number; stderr: string }, re: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /internal error| {4}at /, 'no stack trace');
  assert.equal(r.stderr.split('\n').filter((l) => /error/.test(l)).length, 1, r.stderr);
}

test('DRACUT_OUT on a read-only mount: one line, exit 1, before any layer is built', skipUnless(IS_ROOT, 'root (a read-only bind mount)'), () => {
  requireHost(IS_ROOT, 'root (a read-only bind mount in a private mount namespace)');
  requireKernel();
  const p = makeProject();
  try {
    const ro = join(p.dir, 'ro');
    mkdirSync(ro);
    const conf = p.write('ro.conf', `RAPIDO_STORE="${p.store}"\nDRACUT_OUT="${join(ro, 'initrds', 'myinitrd')}"\n`);
    p.write('r.rapido', 'bin cat\n');
    const q = (s: string) => `'${s}'`;
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
      `mount --bind -o ro ${q(ro)} ${q(ro)} && exec ${q(process.execPath)} ${q(RAPIDO)} cut -B ./r.rapido`],
    { cwd: p.dir, env: { ...p.env, RAPIDO_CONF: conf }, encoding: 'utf8', timeout: 60_000 });
    assertOneLineError({ status: r.status ?? -1, stderr: r.stderr },
      /^rapido: error: cannot write the image .*\/ro\/initrds\/myinitrd: read-only file system \(EROFS\)$/m);
    assert.match(r.stderr, /hint: set DRACUT_OUT/);
    assert.ok(!existsSync(join(p.store, 'objects')) || readdirSync(join(p.store, 'objects')).length === 0, 'nothing was built');
  } finally {
    p.cleanup();
  }
});

test('DRACUT_OUT under /proc and /sys, or a directory: one line, exit 1 (no hang, no stack trace)', () => {
  requireKernel();
  const p = makeProject();
  try {
    p.write('r.rapido', 'bin cat\n');
    for (const [out, why] of [
      ['/proc/rapido-no-such-dir/myinitrd', /its directory is missing or cannot hold files .*\(ENOENT\)/],
      ['/proc/myinitrd', /\(ENOENT\)/],
      ['/sys/kernel/myinitrd', /\((EACCES|EPERM|ENOENT)\)/],
      [join(p.dir, 'initrds-dir'), /: it is a directory$/m],
    ] as const) {
      mkdirSync(join(p.dir, 'initrds-dir'), { recursive: true });
      const conf = p.write('proc.conf', `RAPIDO_STORE="${p.store}"\nDRACUT_OUT="${out}"\n`);
      const r = p.run(['cut', '-B', './r.rapido'], { env: { RAPIDO_CONF: conf } });
      assertOneLineError(r, new RegExp(`^rapido: error: cannot write the image ${out}: `, 'm'));
      assert.match(r.stderr, why);
    }
  } finally {
    p.cleanup();
  }
});

test('a recipe name that is a path outside the recipe directories is refused without reading the file', () => {
  requireKernel();
  const p = makeProject();
  try {
    for (const name of ['../../../../etc/passwd', '/etc/passwd', '../../etc']) {
      const r = p.run(['cut', '-B', name]);
      assertOneLineError(r, /is not a recipe: a path must name a \.rapido file/);
      assert.doesNotMatch(r.stderr, /root:/, 'no line of the file is echoed');
    }
    for (const name of ['..', '.hidden', 'a..b']) {
      assertOneLineError(p.run(['cut', '-B', name]), /is not a recipe name/);
    }
    // A file named like a recipe that is not a recipe: no line of it is echoed either.
    p.write('passwd.rapido', 'root:x:0:0:root:/root:/bin/bash\n');
    const fake = p.run(['cut', '-B', './passwd.rapido']);
    assertOneLineError(fake, /passwd\.rapido:1: not a recipe line/);
    assert.doesNotMatch(fake.stderr, /root:/);
    p.write('inc.rapido', 'include /etc/passwd\n');
    const inc = p.run(['cut', '-B', './inc.rapido']);
    assertOneLineError(inc, /\/etc\/passwd:1: not a recipe line/);
    assert.doesNotMatch(inc.stderr, /root:/);
    assertOneLineError(p.run(['cut', '-B', './missing.rapido']), /no recipe file \.\/missing\.rapido/);

    // What is allowed: a bare name inside the recipe directories, an explicit path to a .rapido file.
    p.write('myrecipes/mine.rapido', 'bin cat\n');
    const byName = p.run(['cut', '-B', 'mine'], { env: { RAPIDO_RECIPES: join(p.dir, 'myrecipes') } });
    assert.equal(byName.status, 0, byName.stderr);
    const byPath = p.run(['cut', '-B', './myrecipes/mine.rapido']);
    assert.equal(byPath.status, 0, byPath.stderr);
    assertOneLineError(p.run(['cut', '-B', 'mine']), /no recipe named 'mine'/);
  } finally {
    p.cleanup();
  }
});
