/** V8's code cache for the cut bundle: used when it matches, never another build's bytecode, and never in the way. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CODE_CACHE = resolve('dist/src/cli/codeCache.js');

/** Loads `file` through requireWithCodeCache in a fresh process with HOME=`home`; prints what its answer() returns. `keep`: what the run says at exit. */
function load(file: string, env: NodeJS.ProcessEnv, keep = true): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { requireWithCodeCache } = await import(${JSON.stringify(CODE_CACHE)});
    let keep = false;
    process.stdout.write(String(requireWithCodeCache(${JSON.stringify(file)}, () => keep).answer()));
    keep = ${keep};`], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no warning');
  return r.stdout;
}

test('code cache: written once at exit, then used; a rebuilt bundle of the same length never runs the old bytecode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-codecache-'));
  try {
    const home = join(dir, 'home');
    const file = join(dir, 'bundle.cjs');
    const body = (v: string) => `'use strict';\nconst path = require('node:path');\nmodule.exports = { answer: () => path.basename(__filename) + ':${v}' };\n`;
    writeFileSync(file, body('1'));
    const cacheDir = join(home, '.cache/rapido/v8');
    // A run that is not typical of the loop (a cold cut) leaves no cache: the next one writes it.
    assert.equal(load(file, { HOME: home }, false), 'bundle.cjs:1');
    assert.equal(existsSync(cacheDir) && readdirSync(cacheDir).length > 0, false, 'no cache from a run that says not to keep it');
    assert.equal(load(file, { HOME: home }), 'bundle.cjs:1', 'require, __filename and exports work inside the cached script');
    const written = readdirSync(cacheDir);
    assert.equal(written.length, 1, 'one cache file');
    const first = statSync(join(cacheDir, written[0]));
    assert.ok(first.size > 0);
    assert.equal(first.mode & 0o777, 0o600, 'bytecode runs as code: private to the user');

    assert.equal(load(file, { HOME: home }), 'bundle.cjs:1');
    assert.equal(statSync(join(cacheDir, written[0])).mtimeMs, first.mtimeMs, 'an accepted cache is not written again');

    // Same length, other content (V8 itself checks only the length): the new code runs, and the old cache goes.
    writeFileSync(file, body('2'));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.equal(load(file, { HOME: home }), 'bundle.cjs:2');
    const after = readdirSync(cacheDir);
    assert.equal(after.length, 1);
    assert.notEqual(after[0], written[0]);

    // No usable cache directory: a plain require.
    assert.equal(load(file, { HOME: 'relative/home' }), 'bundle.cjs:2');
    writeFileSync(join(dir, 'blocked'), '');
    assert.equal(load(file, { HOME: join(dir, 'blocked') }), 'bundle.cjs:2', 'a cache dir that cannot be made is no error');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
