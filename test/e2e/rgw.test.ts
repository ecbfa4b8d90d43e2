/**
 * The s3:// cache engine against a real S3 server: Ceph RGW from Debian's
 * packages (test/helpers/rgw.ts), on 127.0.0.1. One server for the file;
 * the case that stops it runs last.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { CacheFault } from '../../src/store/substituters/cacheBackend.js';
import { openS3Backend } from '../../src/store/substituters/s3Backend.js';
import { s3Path, sha256Hex, signV4 } from '../../src/store/substituters/sigv4.js';
import { RAPIDO_STORE_BIN } from '../helpers/cliHarness.js';
import { hostKernel, requireHost, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';
import { cachePair, imageOf } from '../helpers/substituterProjects.js';
import { canRunRgw, RGW_NEEDS, withRgw, type Rgw } from '../helpers/rgw.js';

const fault = (kind: CacheFault['kind'], re: RegExp) => (e: unknown) => e instanceof CacheFault && e.kind === kind && re.test(e.message);
const sig = () => AbortSignal.timeout(20_000);
const RECIPE = 'simple-example';
const KERNEL_NEEDS = 'a kernel in /boot with modules in /lib/modules (scripts/setup.sh)';
const keysOf = (rgw: Rgw) => ({ AWS_ACCESS_KEY_ID: rgw.accessKey, AWS_SECRET_ACCESS_KEY: rgw.secretKey });

describe('s3:// against Ceph RGW', { ...skipUnless(canRunRgw(), RGW_NEEDS) }, () => {
  test('RGW on loopback', async (t) => {
    requireHost(canRunRgw(), RGW_NEEDS);
    await withRgw(async (rgw) => {
      console.log(`rgw start: ${rgw.startSeconds.toFixed(1)} s`);
      assert.match(rgw.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      const cache = openS3Backend(rgw.url('team cache/v1'), keysOf(rgw));

      await t.test('put, exists and get of 5 MiB round-trip byte for byte; a missing key is null / false', async () => {
        const data = randomBytes(5 << 20);
        assert.equal(await cache.exists('objects/a+b$c', sig()), false);
        assert.equal(await cache.get('objects/a+b$c', sig()), null);
        await cache.put('objects/a+b$c', data, sig());
        assert.equal(await cache.exists('objects/a+b$c', sig()), true);
        const back = await cache.get('objects/a+b$c', sig());
        assert.ok(back && back.equals(data), 'the same bytes');
        // The prefix is part of the key: another prefix does not see it.
        assert.equal(await openS3Backend(rgw.url('other'), keysOf(rgw)).exists('objects/a+b$c', sig()), false);
      });

      await t.test('a wrong secret is denied with SignatureDoesNotMatch, an unknown key id with InvalidAccessKeyId; neither shows the secret', async () => {
        const wrong = openS3Backend(rgw.url('team cache/v1'), { AWS_ACCESS_KEY_ID: rgw.accessKey, AWS_SECRET_ACCESS_KEY: 'not-the-secret-0123456789' });
        const hidden = (e: unknown) => !(e as Error).message.includes('not-the-secret') && !(e as Error).message.includes(rgw.secretKey);
        await assert.rejects(wrong.get('objects/a+b$c', sig()), (e) => fault('denied', /GET objects\/a\+b\$c: HTTP 403 SignatureDoesNotMatch/)(e) && hidden(e));
        await assert.rejects(wrong.put('objects/new', Buffer.from('x'), sig()), fault('denied', /SignatureDoesNotMatch/));
        const unknown = openS3Backend(rgw.url('p'), { AWS_ACCESS_KEY_ID: 'AKIDNOSUCHUSER000000', AWS_SECRET_ACCESS_KEY: rgw.secretKey });
        await assert.rejects(unknown.get('objects/x', sig()), (e) => fault('denied', /HTTP 403 InvalidAccessKeyId/)(e) && hidden(e));
      });

      await t.test('a bucket that does not exist is a fault naming it, not a miss', async () => {
        const none = openS3Backend(`s3://no-such-bucket/p?endpoint=${rgw.endpoint}`, keysOf(rgw));
        await assert.rejects(none.get('objects/x', sig()), fault('protocol', /HTTP 404 NoSuchBucket \(no bucket no-such-bucket at http:\/\/127\.0\.0\.1:\d+\)/));
      });

      await t.test('the payload is signed: a body that does not match its signed SHA-256 is refused (XAmzContentSHA256Mismatch)', async () => {
        const url = new URL(s3Path([rgw.bucket, 'damaged/x']), rgw.endpoint);
        const headers = signV4({ method: 'PUT', url, payloadHash: sha256Hex('the body as sent'), region: rgw.region, now: new Date() }, { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey });
        const res = await fetch(url, { method: 'PUT', headers, body: 'the body as received', signal: sig() });
        assert.equal(res.status, 400);
        assert.match(await res.text(), /<Code>XAmzContentSHA256Mismatch<\/Code>/);
        assert.equal(await openS3Backend(`s3://${rgw.bucket}/damaged?endpoint=${rgw.endpoint}`, keysOf(rgw)).exists('x', sig()), false, 'nothing stored');
      });

      await t.test('two concurrent puts of the same key both succeed, and a reader gets one of them whole', async () => {
        const a = randomBytes(3 << 20);
        const b = randomBytes(3 << 20);
        await Promise.all([cache.put('objects/race', a, sig()), cache.put('objects/race', b, sig())]);
        const got = await cache.get('objects/race', sig());
        assert.ok(got && (got.equals(a) || got.equals(b)), 'one upload, whole, not a mix');
      });

      await t.test('rapido-store push to s3:// from store A; a cut with an empty store B and RAPIDO_SUBSTITUTERS on the RGW builds nothing, byte-identical; a second push uploads nothing', { skip: skipUnless(hostKernel() !== null, KERNEL_NEEDS).skip }, () => {
        requireKernel();
        const url = rgw.url('rapido-e2e');
        const c = cachePair(RECIPE, { push: false, substituters: () => url });
        try {
          const env = keysOf(rgw);
          const push = () => c.a.run(['push', '--to', url, '--key', c.keyFile, RECIPE], { bin: RAPIDO_STORE_BIN, env });
          const first = push();
          assert.equal(first.status, 0, first.stderr);
          const pushed = /pushed (\d+) layers? .*, 0 already there/.exec(first.stdout + first.stderr);
          assert.ok(pushed && Number(pushed[1]) > 0, first.stdout + first.stderr);
          assert.doesNotMatch(first.stdout + first.stderr, new RegExp(rgw.secretKey));
          const again = push();
          assert.equal(again.status, 0, again.stderr);
          assert.match(again.stdout + again.stderr, new RegExp(`pushed 0 layers .*, ${pushed[1]} already there`));
          const r = c.b.run(['cut', '-B', RECIPE], { env });
          assert.equal(r.status, 0, r.stderr);
          assert.match(r.stderr, new RegExp(`${pushed[1]} layers \\(0 built, 0 reused, ${pushed[1]} fetched from s3://`), r.stderr);
          assert.doesNotMatch(r.stderr, new RegExp(rgw.secretKey));
          assert.ok(imageOf(c.a).equals(imageOf(c.b)), 'the images differ');
          const v = c.store(c.b, ['verify']);
          assert.equal(v.status, 0, v.stdout + v.stderr);
        } finally {
          c.cleanup();
        }
      });

      await t.test('a server that stops answering: the caller\'s AbortSignal and the connect bound are timeout faults', async () => {
        await cache.put('objects/t', randomBytes(1024), sig());
        process.kill(rgw.rgwPid(), 'SIGSTOP');
        try {
          const t0 = Date.now();
          await assert.rejects(cache.get('objects/t', AbortSignal.timeout(500)), fault('timeout', /GET objects\/t: timed out/));
          const bounded = openS3Backend(rgw.url('team cache/v1'), keysOf(rgw), { connectMs: 500 });
          await assert.rejects(bounded.exists('objects/t', sig()), fault('timeout', /HEAD objects\/t: no answer for 0\.5 s/));
          assert.ok(Date.now() - t0 < 5000, `bounded: ${Date.now() - t0} ms`);
        } finally {
          process.kill(rgw.rgwPid(), 'SIGCONT');
        }
        assert.equal(await cache.exists('objects/t', sig()), true, 'answers again once resumed');
      });

      await t.test('a stopped server is unreachable, at once (connection refused), not a timeout', async () => {
        await rgw.stop();
        const t0 = Date.now();
        await assert.rejects(cache.exists('objects/a+b$c', sig()), fault('unreachable', /HEAD objects\/a\+b\$c: 127\.0\.0\.1:\d+: ECONNREFUSED/));
        await assert.rejects(cache.get('objects/a+b$c', sig()), fault('unreachable', /ECONNREFUSED/));
        assert.ok(Date.now() - t0 < 2000, `refused in ${Date.now() - t0} ms`);
      });
    });
  });
});
