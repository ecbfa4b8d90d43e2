import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hostKernel, requireHost, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';
import { NGINX, NGINX_NEEDS, startNginx } from '../helpers/nginxCache.js';
import { cachePair, imageOf, type CachePair } from '../helpers/substituterProjects.js';

const OK = existsSync(NGINX) && hostKernel() !== null;
const NEEDS = `${NGINX_NEEDS} and a kernel in /boot with modules in /lib/modules`;
const RECIPE = 'simple-example';

function pointAt(c: CachePair, url: string): void {
  const conf = join(c.b.dir, 'rapido.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(/RAPIDO_SUBSTITUTERS=.*/, `RAPIDO_SUBSTITUTERS="${url}"`));
}

describe('substituters through nginx', { concurrency: 1, skip: skipUnless(OK, NEEDS).skip }, () => {
  test('push to a directory, nginx serves it read-only: a cut with an empty store builds nothing, the image is byte-identical', async () => {
    requireHost(existsSync(NGINX), NGINX_NEEDS);
    requireKernel();
    const c = cachePair(RECIPE);
    const nginx = await startNginx(join(c.a.dir, 'nginx'), c.cache);
    try {
      pointAt(c, nginx.url);
      const r = await c.b.runAsync(['cut', '-B', RECIPE]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`(\\d+) layers \\(0 built, 0 reused, \\1 fetched from http://127\\.0\\.0\\.1:\\d+\\)`));
      assert.ok(imageOf(c.a).equals(imageOf(c.b)));
      assert.match(readFileSync(nginx.accessLog, 'utf8'), /GET \/objects\/[0-9a-f]{16} HTTP\/1\.1" 200/);
      // nginx is read-only: push refuses an http URL before trying.
      const p = c.store(c.a, ['push', '--to', nginx.url, '--key', c.keyFile, RECIPE]);
      assert.equal(p.status, 2);
      assert.match(p.stderr, /read-only/);
      const ping = c.store(c.b, ['substituters', RECIPE]);
      assert.equal(ping.status, 0, ping.stderr);
      assert.match(ping.stdout, /reachable, read-only\s+\d+ ms\s+(\d+)\/\1 layers of simple-example/);
    } finally {
      await nginx.stop();
      c.cleanup();
    }
  });

  test('nginx stopped in the middle of a cut\'s downloads: one warning, the rest is built, the cut succeeds and the store verifies', async () => {
    requireHost(existsSync(NGINX), NGINX_NEEDS);
    requireKernel();
    const c = cachePair(RECIPE);
    // 4 MiB/s: the biggest objects take seconds, so the stop lands mid-transfer.
    const nginx = await startNginx(join(c.a.dir, 'nginx'), c.cache, { rateLimit: '4m' });
    try {
      pointAt(c, nginx.url);
      const cut = c.b.runAsync(['cut', '-B', RECIPE]);
      // Records are small: once one was served, object downloads are under way.
      for (let i = 0; i < 400 && !(existsSync(nginx.accessLog) && /GET \/records\//.test(readFileSync(nginx.accessLog, 'utf8'))); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      await nginx.stop();
      const r = await cut;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.split('\n').filter((l) => /warning: substituter/.test(l)).length, 1, r.stderr);
      assert.match(r.stderr, /[1-9]\d* built/);
      assert.ok(imageOf(c.a).equals(imageOf(c.b)));
      const v = c.store(c.b, ['verify']);
      assert.equal(v.status, 0, v.stdout + v.stderr);
    } finally {
      await nginx.stop();
      c.cleanup();
    }
  });
});
