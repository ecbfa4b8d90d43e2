import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { currentSig, statSig } from '../../src/derivations/hostInputs.js';
import { lstatNumbers, lstatSource } from '../../src/derivations/lstatSig.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rapido-lstatsig-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function fixture() {
  const f = join(tmp, 'file');
  writeFileSync(f, 'contents\n');
  // Sub-millisecond times, where another ms conversion than Node's would show.
  utimesSync(f, 1_700_000_000.123456, 1_700_000_000.987654);
  const d = join(tmp, 'dir');
  mkdirSync(d);
  const l = join(tmp, 'link');
  symlinkSync('file', l);
  const dangling = join(tmp, 'dangling');
  symlinkSync('nowhere', dangling);
  const x = join(tmp, 'exe');
  writeFileSync(x, '#!/bin/sh\n');
  chmodSync(x, 0o755);
  return { f, d, l, dangling, x };
}

test("every kind of path gets the signature lstatSync's Stats give, and the fast lstat is the one in use on this Node", () => {
  const { f, d, l, dangling, x } = fixture();
  for (const p of [f, d, l, dangling, x, '/', '/dev/null', process.execPath]) {
    const st = lstatSync(p);
    assert.equal(statSig(lstatNumbers(p)!), statSig(st), p);
    assert.equal(currentSig(p, statSig(st)), statSig(st), p);
  }
  // A kind-only signature: directories and other paths by kind, symlinks in full.
  assert.equal(currentSig(d, 'kind:dir'), 'kind:dir');
  assert.equal(currentSig(f, 'kind:dir'), 'kind:other');
  assert.equal(currentSig(l, 'kind:other'), statSig(lstatSync(l)));
  // Node's binding answered as lstatSync did, so it is used (a Node where it does not falls back, and this says so);
  // where lstatSync passes throwIfNoEntry to it (Node 20.20 does), a missing path is answered without a thrown error.
  const quiet = /binding\.lstat\([\s\S]*?options\.throwIfNoEntry/.test(lstatSync.toString());
  assert.equal(lstatSource(), quiet ? 'binding, quiet' : 'binding');
  if (process.version === 'v20.20.2') assert.equal(quiet, true, 'this Node answers missing paths quietly');
});

test('a missing path, or one under a file, has no signature; a write changes it', () => {
  const { f } = fixture();
  assert.equal(lstatNumbers(join(tmp, 'missing')), undefined);
  assert.equal(currentSig(join(tmp, 'missing'), 'kind:dir'), null);
  assert.equal(lstatNumbers(join(f, 'under-a-file')), undefined);
  const before = currentSig(f, null);
  writeFileSync(f, 'contents, longer\n');
  assert.notEqual(currentSig(f, before), before);
  assert.equal(currentSig(f, before), statSig(lstatSync(f)));
});

test('other failures are reported as lstatSync reports them', () => {
  const long = join(tmp, 'x'.repeat(300));
  assert.throws(() => lstatSync(long), { code: 'ENAMETOOLONG' });
  assert.throws(() => lstatNumbers(long), { code: 'ENAMETOOLONG' });
  const a = join(tmp, 'a');
  symlinkSync('b', a);
  symlinkSync('a', join(tmp, 'b'));
  assert.throws(() => lstatNumbers(join(a, 'x')), { code: 'ELOOP' });
});

test('under --pending-deprecation (where process.binding warns) lstatSync answers, with the same signatures and no warning', () => {
  const { f, l } = fixture();
  const mod = new URL('../../src/derivations/lstatSig.js', import.meta.url).pathname;
  const script = `import { lstatNumbers, lstatSource } from ${JSON.stringify(mod)};
    const out = [${JSON.stringify(f)}, ${JSON.stringify(l)}, '/nonexistent'].map((p) => JSON.stringify(lstatNumbers(p) ?? null));
    console.log(lstatSource() + '\\n' + out.join('\\n'));`;
  const want = [lstatNumbers(f), lstatNumbers(l), null];
  // The flag, in NODE_OPTIONS, or its environment variable.
  for (const [args, env] of [[['--pending-deprecation'], {}], [[], { NODE_OPTIONS: '--pending-deprecation' }], [[], { NODE_PENDING_DEPRECATION: '1' }]] as const) {
    const r = spawnSync(process.execPath, [...args, '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', `${args} ${JSON.stringify(env)}`);
    const [source, ...lines] = r.stdout.trim().split('\n');
    assert.equal(source, 'lstatSync');
    assert.deepEqual(lines.map((x) => JSON.parse(x)), want);
  }
});
