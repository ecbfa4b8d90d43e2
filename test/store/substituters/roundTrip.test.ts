import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../../helpers/cliHarness.js';
import { requireKernel } from '../../helpers/hostPrereqs.js';
import { serveCache } from '../../helpers/cacheServer.js';
import { cachePair, imageOf } from '../../helpers/substituterProjects.js';

requireKernel();

test('file:// round trip: push from store A, cut with an empty store B: nothing built, the image is byte-identical', () => {
  const c = cachePair('simple-example');
  try {
    const r = c.b.run(['cut', '-B', 'simple-example']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`simple-example: (\\d+) layers \\(0 built, 0 reused, \\1 fetched from ${c.cacheUrl.replace(/[/.]/g, '\\$&')}\\)`));
    assert.doesNotMatch(r.stderr, /warning/);
    assert.ok(imageOf(c.a).equals(imageOf(c.b)), 'images differ');
    // What came in is a normal, verified part of B's store.
    const v = c.store(c.b, ['verify']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    // The re-cut is a no-op that never looks at the substituters.
    const again = c.b.run(['cut', '-B', 'simple-example']);
    assert.match(again.stderr, /up to date/);
    // Pushing again skips everything.
    const p2 = c.store(c.a, ['push', '--to', c.cacheUrl, '--key', c.keyFile, 'simple-example']);
    assert.match(p2.stderr, /pushed 0 layers .* (\d+) already there/);
    // --all: every layer of the store; with neither --all nor a target it is a usage error.
    const all = c.store(c.a, ['push', '--all', '--to', c.cacheUrl + '2', '--key', c.keyFile]);
    assert.match(all.stderr, /pushed (\d+) layers .* 0 already there/);
    const none = c.store(c.a, ['push', '--to', c.cacheUrl, '--key', c.keyFile]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /say what to push/);
    const nokey = c.store(c.a, ['push', '--to', c.cacheUrl, 'simple-example']);
    assert.equal(nokey.status, 2);
    assert.match(nokey.stderr, /pushing needs a signing key/);
  } finally {
    c.cleanup();
  }
});

test('--no-substitute builds everything here, in the hand parser and in yargs', () => {
  const c = cachePair('simple-example');
  try {
    const r = c.b.run(['cut', '-B', '--no-substitute', 'simple-example']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /layers \((\d+) built, 0 reused\)/);
    assert.doesNotMatch(r.stderr, /fetched/);
    // Through yargs (an option the hand parser does not take: --timeout) it is the same flag.
    const help = c.b.run(['cut', '--help']);
    assert.match(help.stdout, /--substitute/);
    assert.match(help.stdout, /trust=any/);
  } finally {
    c.cleanup();
  }
});

test('the warm path loads no substituter code and asks no cache: fast.cjs holds none of it; a no-op or local re-cut sends no request', async () => {
  const fast = readFileSync(join(REPO, 'dist/bin/fast.cjs'), 'utf8');
  for (const s of ['CutSubstitution', 'rapido-cache-record', 'openHttpBackend', 'openFileBackend']) assert.ok(!fast.includes(s), `fast.cjs contains ${s}`);
  const empty = cachePair('simple-example', { push: false });
  const server = await serveCache(empty.cache);
  try {
    const b = empty.b;
    b.write('rapido.conf', readFileSync(join(b.dir, 'rapido.conf'), 'utf8').replace(/RAPIDO_SUBSTITUTERS=.*/, `RAPIDO_SUBSTITUTERS="${server.url}"`));
    assert.equal(b.run(['cut', '-B', '--no-substitute', 'simple-example']).status, 0);
    const noop = await b.runAsync(['cut', '-B', 'simple-example']);
    assert.match(noop.stderr, /up to date/);
    // Without its stamp the cut is no no-op, yet finds every layer in the local store.
    rmSync(join(b.dir, 'initrds/.myinitrd.rapido.json'));
    const other = await b.runAsync(['cut', '-B', 'simple-example']);
    assert.equal(other.status, 0, other.stderr);
    assert.match(other.stderr, /0 built/);
    assert.deepEqual(server.requests, []);
  } finally {
    await server.close();
    empty.cleanup();
  }
});

test('a push forgets the misses remembered for its cache; substituters/ping reports reachability and layers held', async () => {
  const c = cachePair('simple-example', { push: false });
  try {
    // Nothing pushed yet: one look at the version file, and no per-layer misses to remember.
    const r1 = c.b.run(['cut', '-B', 'simple-example', '-x', 'true']);
    assert.equal(r1.status, 0, r1.stderr);
    const missesDir = join(c.b.store, 'substituters', 'misses');
    assert.equal(existsSync(missesDir), false, 'an empty cache (no version file) records no per-layer misses');
    const p = c.store(c.a, ['push', '--to', c.cacheUrl, '--key', c.keyFile, 'simple-example']);
    assert.equal(p.status, 0, p.stderr);
    const ping = c.store(c.b, ['substituters', 'simple-example']);
    assert.equal(ping.status, 0, ping.stderr);
    // B's last cut ran -x true: its overlay is not A's; every other layer is in the cache.
    const m = new RegExp(`${c.cacheUrl.replace(/[/.]/g, '\\$&')}\\s+reachable\\s+\\d+ ms\\s+(\\d+)/(\\d+) layers of simple-example`).exec(ping.stdout);
    assert.ok(m, ping.stdout);
    assert.equal(Number(m[1]), Number(m[2]) - 1, ping.stdout);
    const alias = c.store(c.b, ['ping']);
    assert.match(alias.stdout, /reachable/);
    // Now B's last cut (with -x) has an overlay A never pushed: cut B again with another -x: a miss is remembered.
    const r2 = c.b.run(['cut', '-B', 'simple-example', '-x', 'echo two']);
    assert.equal(r2.status, 0, r2.stderr);
    const ids = readdirSync(missesDir);
    assert.equal(ids.length, 1);
    assert.ok(readdirSync(join(missesDir, ids[0]!)).length >= 1);
    // A push to that cache (from B itself) forgets them.
    const pb = c.store(c.b, ['push', '--to', c.cacheUrl, '--key', c.keyFile, 'simple-example']);
    assert.equal(pb.status, 0, pb.stderr);
    assert.equal(existsSync(join(missesDir, ids[0]!)), false);
  } finally {
    c.cleanup();
  }
});

test('dracut\'s two-level lookup works through a cache: the other store\'s cut finds the dracut layer by its closure', () => {
  const c = cachePair('./d.rapido', { files: { 'd.rapido': 'dracut-module base\nautorun /bin/true\n' } });
  try {
    assert.ok(readdirSync(join(c.cache, 'manifests')).length >= 1, 'no dracut manifest pushed');
    const r = c.b.run(['cut', '-B', './d.rapido']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /layers \(0 built, 0 reused, \d+ fetched from/);
    assert.ok(imageOf(c.a).equals(imageOf(c.b)));
    // B's index now has the manifest too: its next cut without the cache finds the layer locally.
    rmSync(join(c.b.dir, 'initrds/.myinitrd.rapido.json'));
    const again = c.b.run(['cut', '-B', '--no-substitute', './d.rapido']);
    assert.match(again.stderr, /\(0 built/);
  } finally {
    c.cleanup();
  }
});
