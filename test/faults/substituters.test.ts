import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { canonicalJson } from '../../src/derivations/canonicalJson.js';
import { parseSecretKey, signBytes } from '../../src/store/signingKeys.js';
import { RAPIDO_STORE_BIN } from '../helpers/cliHarness.js';
import { requireKernel } from '../helpers/hostPrereqs.js';
import { serveCache, type Misbehaviour } from '../helpers/cacheServer.js';
import { cachePair, imageOf, type CachePair } from '../helpers/substituterProjects.js';

requireKernel();
const RECIPE = 'simple-example';

const warnings = (stderr: string) => stderr.split('\n').filter((l) => /warning: substituter/.test(l));
const counts = (stderr: string) => {
  const m = /(\d+) layers \((\d+) built, (\d+) reused(?:, (\d+) fetched from [^)]*)?\)/.exec(stderr);
  assert.ok(m, stderr);
  return { layers: Number(m[1]), built: Number(m[2]), fetched: Number(m[4] ?? 0) };
};

/** Cuts in B; the cut must succeed, the image equal A's and B's store verify clean. */
function cutB(c: CachePair): { stderr: string; built: number; fetched: number; layers: number } {
  const r = c.b.run(['cut', '-B', RECIPE]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(imageOf(c.a).equals(imageOf(c.b)), 'image differs from A\'s');
  const v = c.store(c.b, ['verify']);
  assert.equal(v.status, 0, `verify: ${v.stdout}${v.stderr}`);
  return { stderr: r.stderr, ...counts(r.stderr) };
}

/** The cache's biggest object (the one most worth damaging). */
function biggestKey(cache: string): string {
  const dir = join(cache, 'objects');
  return fs.readdirSync(dir).sort((x, y) => fs.statSync(join(dir, y)).size - fs.statSync(join(dir, x)).size)[0]!;
}

test('substituter signed by an untrusted key: one warning, every layer built locally', () => {
  const c = cachePair(RECIPE, { trust: false });
  try {
    const r = cutB(c);
    assert.equal(r.built, r.layers);
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /warning: substituter file:\/\/.*: record [0-9a-f]{16} is signed by key "ci" \(fingerprint [0-9a-f]{16}\), which this store does not trust; building locally/);
  } finally {
    c.cleanup();
  }
});

test('substituter with a tampered object: detected, that layer built locally, nothing bad in the store', () => {
  const c = cachePair(RECIPE);
  try {
    const key = biggestKey(c.cache);
    const p = join(c.cache, 'objects', key);
    const bytes = fs.readFileSync(p);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(p, bytes);
    const r = cutB(c);
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`object ${key}: content does not match its SHA-256`));
    assert.ok(r.built >= 1);
  } finally {
    c.cleanup();
  }
});

test('substituter record re-signed with a wrong SHA-256 (a trusted signer\'s mistake): caught, built locally', () => {
  const c = cachePair(RECIPE);
  try {
    const key = biggestKey(c.cache);
    const rp = join(c.cache, 'records', `${key}.json`);
    const rec = JSON.parse(fs.readFileSync(rp, 'utf8'));
    rec.body.sha256 = crypto.createHash('sha256').update('not the object').digest('hex');
    rec.signature = signBytes(parseSecretKey(fs.readFileSync(c.keyFile, 'utf8')), Buffer.from(canonicalJson(rec.body)));
    fs.writeFileSync(rp, JSON.stringify(rec));
    const r = cutB(c);
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /does not match its SHA-256/);
  } finally {
    c.cleanup();
  }
});

async function withServer(m: Misbehaviour | null, urlOpts: string, check: (r: ReturnType<typeof cutB>, c: CachePair) => void): Promise<void> {
  const c = cachePair(RECIPE);
  const s = await serveCache(c.cache);
  try {
    s.misbehave(m);
    const conf = join(c.b.dir, 'rapido.conf');
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/RAPIDO_SUBSTITUTERS=.*/, `RAPIDO_SUBSTITUTERS="${s.url}/${urlOpts}"`));
    // The server runs in this process: the cut must run beside it, not block it.
    const r = await c.b.runAsync(['cut', '-B', RECIPE]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(imageOf(c.a).equals(imageOf(c.b)));
    const v = c.store(c.b, ['verify']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    check({ stderr: r.stderr, ...counts(r.stderr) }, c);
  } finally {
    await s.close();
    c.cleanup();
  }
}

test('substituter over HTTP, healthy: everything fetched', () =>
  withServer(null, '', (r) => {
    assert.equal(r.built, 0, r.stderr);
    assert.equal(r.fetched, r.layers);
  }));

test('substituter answering 403: one warning, every layer built locally', () =>
  withServer({ match: /^\/records\//, status: 403 }, '', (r) => {
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /HTTP 403/);
    assert.equal(r.built, r.layers);
  }));

test('substituter answering 500: one warning, every layer built locally', () =>
  withServer({ status: 500 }, '', (r) => {
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /rapido-cache\.json: HTTP 500/);
    assert.equal(r.built, r.layers);
  }));

test('substituter truncating an object: detected, that layer built locally', () =>
  withServer({ match: /^\/objects\//, truncateTo: 1000 }, '', (r) => {
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /broke off|truncated/);
    assert.ok(r.built >= 1);
  }));

test('slow substituter: bounded by ?timeout, one warning, the cut goes on', () =>
  withServer({ match: /^\/records\//, delayMs: 20_000 }, '?timeout=0.5', (r) => {
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /no answer for 0\.5 s/);
    assert.equal(r.built, r.layers);
  }));

test('unreachable substituter: one warning, the cut goes on', async () => {
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((res) => srv.close(res));
  const c = cachePair(RECIPE, { substituters: () => `http://127.0.0.1:${port}/cache` });
  try {
    const r = cutB(c);
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /ECONNREFUSED/);
    assert.equal(r.built, r.layers);
  } finally {
    c.cleanup();
  }
});

test('two pushers of the same recipe at once: both succeed, the cache serves a 0-built cut', async () => {
  const c = cachePair(RECIPE, { push: false });
  try {
    const push = () =>
      new Promise<number>((resolve) => {
        const ch = spawn(process.execPath, [RAPIDO_STORE_BIN, 'push', '--to', c.cacheUrl, '--key', c.keyFile, RECIPE], { cwd: c.a.dir, env: c.a.env, stdio: 'ignore' });
        ch.on('close', (code) => resolve(code ?? -1));
      });
    assert.deepEqual(await Promise.all([push(), push()]), [0, 0]);
    assert.equal(cutB(c).built, 0);
  } finally {
    c.cleanup();
  }
});

test('a push killed with SIGKILL leaves no record without its whole object; run again, it completes', async () => {
  const c = cachePair(RECIPE, { push: false });
  try {
    const objects = join(c.cache, 'objects');
    fs.mkdirSync(objects, { recursive: true });
    const child = spawn(process.execPath, [RAPIDO_STORE_BIN, 'push', '--to', c.cacheUrl, '--key', c.keyFile, RECIPE], { cwd: c.a.dir, env: c.a.env, stdio: 'ignore' });
    // Killed as the first object lands: some objects in place, others half-written in temp files.
    const w = fs.watch(objects, () => child.kill('SIGKILL'));
    const sig = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, s) => resolve(s)));
    w.close();
    assert.equal(sig, 'SIGKILL', 'the push finished before it could be killed');
    const recs = fs.existsSync(join(c.cache, 'records')) ? fs.readdirSync(join(c.cache, 'records')).filter((f) => f.endsWith('.json')) : [];
    for (const f of recs) {
      const r = JSON.parse(fs.readFileSync(join(c.cache, 'records', f), 'utf8'));
      assert.equal(crypto.createHash('sha256').update(fs.readFileSync(join(objects, r.body.key))).digest('hex'), r.body.sha256);
    }
    // A cut now gets what is complete and builds the rest.
    const mid = cutB(c);
    assert.equal(mid.fetched, recs.length);
    const again = c.store(c.a, ['push', '--to', c.cacheUrl, '--key', c.keyFile, RECIPE]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`(\\d+) already there`));
    fs.rmSync(c.b.store, { recursive: true });
    fs.rmSync(c.b.out);
    assert.equal(c.store(c.b, ['trust', join(c.a.dir, 'ci.pub')]).status, 0);
    assert.equal(cutB(c).built, 0);
  } finally {
    c.cleanup();
  }
});
