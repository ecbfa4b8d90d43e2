/**
 * Native layer keys follow the layer's bytes, not where the inputs sit on the
 * host: two checkouts of rapido and two copies of a tree, at different paths,
 * give the same keys, so the second cut builds nothing (a shared store or cache hits).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { derivationKeyText, type NativeDerivation } from '../../src/derivations/nativeDerivation.js';
import { REPO } from '../helpers/cliHarness.js';
import { hostKernel, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';

const base: NativeDerivation = {
  builder: 'native-overlay',
  version: 1,
  layer: 'overlay',
  directives: [['autorun', '/home/a/rapido/recipes/autorun/x.sh']],
  vars: { A: '1' },
  post: [{ kind: 'file', path: '/home/a/step.sh' }, { kind: 'cmd', cmd: 'true' }],
  epoch: 0,
  entries: [
    ['rapido-autorun/001-x.sh', 'file', 0o755, '0123456789abcdef', '/home/a/rapido/recipes/autorun/x.sh'],
    ['rapido-post/001', 'file', 0o755, 'fedcba9876543210', '/home/a/step.sh'],
  ],
};

test('derivationKeyText: host paths of entries, directives and -f steps leave the key', () => {
  const moved: NativeDerivation = {
    ...base,
    directives: [['autorun', '/srv/ci/checkout/recipes/autorun/x.sh']],
    post: [{ kind: 'file', path: '/tmp/other/step.sh' }, { kind: 'cmd', cmd: 'true' }],
    entries: base.entries.map((e) => [e[0], e[1], e[2], e[3], `/elsewhere/${e[0]}`]),
  };
  assert.equal(derivationKeyText(moved), derivationKeyText(base));
});

test('derivationKeyText: what reaches the bytes stays in the key', () => {
  const key = derivationKeyText(base);
  const changed: NativeDerivation[] = [
    { ...base, entries: [[...base.entries[0].slice(0, 3), 'aaaaaaaaaaaaaaaa'] as never, base.entries[1]] }, // content
    { ...base, entries: [[base.entries[0][0], 'file', 0o644, base.entries[0][3]], base.entries[1]] }, // mode
    { ...base, entries: [['rapido-autorun/002-x.sh', ...base.entries[0].slice(1)] as never, base.entries[1]] }, // image path
    { ...base, epoch: 1 },
    { ...base, version: 2 },
    { ...base, vars: { A: '2' } },
    { ...base, post: [{ kind: 'file', path: '/home/a/step.sh' }, { kind: 'cmd', cmd: 'false' }] },
  ];
  for (const d of changed) assert.notEqual(derivationKeyText(d), key, JSON.stringify(d));
});

function sh(cmd: string[], env: NodeJS.ProcessEnv, cwd: string): string {
  const r = spawnSync(process.execPath, cmd, { cwd, env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/** A copy of the installed package at DIR: what a second checkout or install is to rapido. */
function checkout(dir: string): void {
  for (const part of ['package.json', 'bin', 'dist/bin', 'dist/src', 'recipes', 'src/runner/guest']) {
    cpSync(join(REPO, part), join(dir, part), { recursive: true });
  }
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
}

test('two checkouts and two copies of a tree at different paths: same keys, the second cut builds nothing', skipUnless(hostKernel() !== null, 'a kernel in /boot with modules'), () => {
  requireKernel();
  const tmp = mkdtempSync(join(tmpdir(), 'rapido-portable-'));
  try {
    const store = join(tmp, 'store');
    const cut = (name: string) => {
      const co = join(tmp, name, 'rapido');
      checkout(co);
      // The user's files beside it: a manifest with an autorun, a file and a tree of its own, and a -f step.
      const proj = join(tmp, name, 'work');
      mkdirSync(join(proj, 'suite', 'tests'), { recursive: true });
      writeFileSync(join(proj, 'suite', 'tests', '001'), '#!/bin/sh\necho 001\n', { mode: 0o755 });
      writeFileSync(join(proj, 'run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
      writeFileSync(join(proj, 'data.txt'), 'data\n');
      writeFileSync(join(proj, 'step.sh'), 'echo step\n');
      writeFileSync(join(proj, 'my.rapido'), 'bin sh\ntree /suite suite\nfile /etc/data.txt data.txt\nautorun run.sh\n');
      const out = join(proj, 'initrd');
      writeFileSync(join(proj, 'rapido.conf'), `RAPIDO_STORE="${store}"\nDRACUT_OUT="${out}"\n`);
      const env: NodeJS.ProcessEnv = { ...process.env, RAPIDO_CONF: join(proj, 'rapido.conf') };
      delete env.SOURCE_DATE_EPOCH;
      const said = sh([join(co, 'bin/rapido.js'), 'cut', '-B', '-f', join(proj, 'step.sh'), join(proj, 'my.rapido')], env, proj);
      const bytes = readFileSync(out);
      const simple = sh([join(co, 'bin/rapido.js'), 'cut', '-B', 'simple-example'], env, proj);
      return { said, simple, bytes, ls: sh([join(co, 'bin/rapido-store.js'), 'ls', '--json'], env, proj) };
    };
    const one = cut('one');
    const two = cut('checkout-two');
    assert.match(two.said, /\(0 built, \d+ reused\)/, two.said);
    assert.match(two.simple, /\(0 built, \d+ reused\)/, two.simple);
    assert.ok(one.bytes.equals(two.bytes), 'the two images differ');
    const keys = (ls: string) => (JSON.parse(ls) as { key: string }[]).map((l) => l.key).sort();
    assert.deepEqual(keys(two.ls), keys(one.ls), 'the second checkout added layers');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
