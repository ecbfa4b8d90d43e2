import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { openHttpBackend } from '../../../src/store/substituters/httpBackend.js';
import { serveCache } from '../../helpers/cacheServer.js';
import { tempDir } from '../tempStore.js';

const sig = () => AbortSignal.timeout(30_000);
const open = (url: string, ms = 5000) => openHttpBackend(new URL(url), url, { connectMs: ms, idleMs: ms });

async function fixture(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'objects'));
  fs.writeFileSync(path.join(dir, 'objects/aaaaaaaaaaaaaaaa'), Buffer.alloc(100_000, 3));
  const s = await serveCache(dir);
  t.after(() => s.close());
  return s;
}

test('http backend: GET and HEAD of a present and an absent path; read-only', async (t) => {
  const s = await fixture(t);
  const b = open(s.url + '/');
  assert.deepEqual(await b.get('objects/aaaaaaaaaaaaaaaa', sig()), Buffer.alloc(100_000, 3));
  assert.equal(await b.get('objects/bbbbbbbbbbbbbbbb', sig()), null);
  assert.equal(await b.exists('objects/aaaaaaaaaaaaaaaa', sig()), true);
  assert.equal(await b.exists('objects/bbbbbbbbbbbbbbbb', sig()), false);
  assert.equal(b.writable, false);
  await assert.rejects(b.put('objects/x', Buffer.alloc(1), sig()), { name: 'CacheFault', kind: 'denied' });
  assert.deepEqual(s.requests.slice(0, 2), ['GET /objects/aaaaaaaaaaaaaaaa', 'GET /objects/bbbbbbbbbbbbbbbb']);
});

test('http backend: 403 is denied, 500 a server fault', async (t) => {
  const s = await fixture(t);
  const b = open(s.url);
  s.misbehave({ status: 403 });
  await assert.rejects(b.get('objects/aaaaaaaaaaaaaaaa', sig()), { name: 'CacheFault', kind: 'denied', message: /HTTP 403/ });
  s.misbehave({ status: 500 });
  await assert.rejects(b.get('objects/aaaaaaaaaaaaaaaa', sig()), { name: 'CacheFault', kind: 'server', message: /HTTP 500/ });
});

test('http backend: a body shorter than its Content-Length is a fault, never data', async (t) => {
  const s = await fixture(t);
  s.misbehave({ truncateTo: 1000 });
  await assert.rejects(open(s.url).get('objects/aaaaaaaaaaaaaaaa', sig()), { name: 'CacheFault', kind: 'protocol' });
});

test('http backend: a server that does not answer times out after the connect timeout', async (t) => {
  const s = await fixture(t);
  s.misbehave({ delayMs: 5000 });
  const t0 = Date.now();
  await assert.rejects(open(s.url, 300).get('objects/aaaaaaaaaaaaaaaa', sig()), { name: 'CacheFault', kind: 'timeout' });
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

test('http backend: nothing listening is unreachable', async () => {
  // A port that was free a moment ago: bind, note it, close.
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  await assert.rejects(open(`http://127.0.0.1:${port}`).get('rapido-cache.json', sig()), { name: 'CacheFault', kind: 'unreachable', message: /ECONNREFUSED/ });
});
