import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openBackend } from '../../../src/store/substituters/openBackend.js';
import { parseSubstituter, parseSubstituterList } from '../../../src/store/substituters/substituterUrl.js';

test('substituter URLs: rapido\'s options come out of the URL; the display name has no credentials and no query', () => {
  const s = parseSubstituter('https://user:secret@cache.example/rapido/?trust=any&timeout=2.5&token=abc');
  assert.equal(s.trustAny, true);
  assert.equal(s.timeoutMs, 2500);
  assert.equal(s.display, 'https://cache.example/rapido');
  assert.equal(s.url.search, '?token=abc');
  assert.equal(parseSubstituter('file:///srv/cache').trustAny, false);
});

test('substituter URLs: a bad entry is SUBSTITUTER_URL; in a list with onBad it is reported and left out', () => {
  assert.throws(() => parseSubstituter('ftp://x/y'), { code: 'SUBSTITUTER_URL', message: /unsupported scheme ftp/ });
  assert.throws(() => parseSubstituter('file:///x?trust=maybe'), { code: 'SUBSTITUTER_URL' });
  assert.throws(() => parseSubstituter('http://x/?timeout=0'), { code: 'SUBSTITUTER_URL' });
  assert.throws(() => parseSubstituter('not a url'), { code: 'SUBSTITUTER_URL' });
  const bad: string[] = [];
  const list = parseSubstituterList('  file:///a   gopher://b  http://c/d ', (e) => bad.push(e.message));
  assert.deepEqual(list.map((s) => s.display), ['file:///a', 'http://c/d']);
  assert.equal(bad.length, 1);
  assert.deepEqual(parseSubstituterList(''), []);
  assert.deepEqual(parseSubstituterList(undefined), []);
});

test('openBackend: file://, http(s):// and s3:// engines; s3 loads on its first request, its faults come from there', async () => {
  assert.equal(openBackend(parseSubstituter('file:///tmp/x')).writable, true);
  assert.equal(openBackend(parseSubstituter('https://cache.example/r')).writable, false);
  const saved = { ...process.env };
  try {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[k];
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/rapido-test-credentials';
    const s3 = openBackend(parseSubstituter('s3://bucket/prefix?endpoint=http://127.0.0.1:7480'));
    assert.equal(s3.writable, true);
    assert.doesNotMatch(s3.display, /endpoint|secret/i);
    await assert.rejects(s3.exists('rapido-cache.json', AbortSignal.timeout(5000)), (e: Error & { kind?: string }) => {
      assert.equal(e.name, 'CacheFault');
      assert.equal(e.kind, 'denied');
      assert.match(e.message, /no S3 credentials .*rapido-test-credentials/);
      return true;
    });
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
