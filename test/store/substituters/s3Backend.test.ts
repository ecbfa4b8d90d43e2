/**
 * The s3:// engine without an S3 server: URL parsing, SigV4 against AWS's
 * published examples, where credentials come from, and how transport
 * faults map to CacheFault kinds (a closed port; a node:http server on
 * loopback that answers the way a broken S3 server would). The real
 * server (Ceph RGW) is in test/e2e/rgw.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RapidoError } from '../../../src/errors.js';
import { findAwsCredentials } from '../../../src/store/substituters/awsCredentials.js';
import { CacheFault } from '../../../src/store/substituters/cacheBackend.js';
import { openS3Backend } from '../../../src/store/substituters/s3Backend.js';
import { parseS3Url } from '../../../src/store/substituters/s3Url.js';
import { s3Path, sha256Hex, signV4 } from '../../../src/store/substituters/sigv4.js';

const urlError = (re: RegExp) => (e: unknown) => e instanceof RapidoError && e.code === 'SUBSTITUTER_URL' && e.exitCode === 2 && re.test(e.message);
const fault = (kind: CacheFault['kind'], re: RegExp) => (e: unknown) => e instanceof CacheFault && e.kind === kind && re.test(e.message);
const KEYS = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'sekrit/Value+9' };

describe('s3:// URLs', () => {
  test('defaults: region us-east-1, AWS regional endpoint; the prefix loses its slashes; display has no query', () => {
    const l = parseS3Url('s3://team-cache/rapido/v1/');
    assert.equal(l.bucket, 'team-cache');
    assert.equal(l.prefix, 'rapido/v1');
    assert.equal(l.region, 'us-east-1');
    assert.equal(l.endpoint.href, 'https://s3.us-east-1.amazonaws.com/');
    assert.equal(l.display, 's3://team-cache/rapido/v1');
  });

  test('endpoint= and region= are taken; the endpoint keeps its port; no prefix is the bucket root', () => {
    const l = parseS3Url('s3://cache?endpoint=http://127.0.0.1:7480&region=eu-west-3');
    assert.equal(l.endpoint.origin, 'http://127.0.0.1:7480');
    assert.equal(l.region, 'eu-west-3');
    assert.equal(l.prefix, '');
    assert.equal(l.display, 's3://cache');
    assert.equal(parseS3Url('s3://cache?region=ap-south-1').endpoint.host, 's3.ap-south-1.amazonaws.com');
    // rapido's own options (read by the substituter list) do not trip the S3 parser.
    assert.equal(parseS3Url('s3://cache/p?trust=any&timeout=3').prefix, 'p');
  });

  test('credentials in the URL, a path on the endpoint, unknown options and bad names are usage errors that show no query', () => {
    assert.throws(() => parseS3Url('s3://AKID:secret@cache/p'), urlError(/credentials do not belong in the URL/));
    assert.throws(() => parseS3Url('s3://cache/p?endpoint=http://u:pw@host:1'), (e: unknown) => urlError(/endpoint=/)(e) && !(e as Error).message.includes('pw'));
    assert.throws(() => parseS3Url('s3://cache/p?endpoint=http://host:1/cache'), urlError(/server only/));
    assert.throws(() => parseS3Url('s3://cache/p?endpoint=ftp://host'), urlError(/http:\/\/ or https:\/\//));
    assert.throws(() => parseS3Url('s3://cache/p?acl=public'), urlError(/unknown option acl=/));
    assert.throws(() => parseS3Url('s3://cache:9000/p'), urlError(/takes no port/));
    assert.throws(() => parseS3Url('s3://c/p'), urlError(/bucket name "c"/));
    assert.throws(() => parseS3Url('s3://cache/p?region=Bad_Region'), urlError(/region "Bad_Region"/));
    assert.throws(() => parseS3Url('s3://cache/p?region=x&endpoint=http://h:1/?token=SECRET'), (e: unknown) => e instanceof RapidoError && !e.message.includes('SECRET'));
  });
});

describe('SigV4 (AWS S3 API reference, "Examples: Signature Calculations", header-based auth)', () => {
  // The documented example credentials and time; signatures retyped from the documentation.
  const creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const now = new Date('2013-05-24T00:00:00Z');
  const host = 'https://examplebucket.s3.amazonaws.com';
  const sign = (method: string, path: string, payload: string, headers: Record<string, string> = {}) =>
    signV4({ method, url: new URL(host + path), headers, payloadHash: sha256Hex(payload), region: 'us-east-1', now }, creds);

  test('GET Object with a Range header', () => {
    const h = sign('GET', '/test.txt', '', { Range: 'bytes=0-9' });
    assert.equal(h.authorization, 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,'
      + 'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    assert.equal(h['x-amz-date'], '20130524T000000Z');
    assert.equal(h['x-amz-content-sha256'], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  test('PUT Object: a signed payload, a $ in the key, Date and x-amz-storage-class signed', () => {
    assert.equal(sha256Hex('Welcome to Amazon S3.'), '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    const h = sign('PUT', s3Path(['test$file.text']), 'Welcome to Amazon S3.', { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' });
    assert.match(h.authorization!, /SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,/);
    assert.match(h.authorization!, /Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd$/);
  });

  test('GET Bucket lifecycle and a listing: the query string canonicalised (a bare key, sorted keys)', () => {
    assert.match(sign('GET', '/?lifecycle', '').authorization!, /Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543$/);
    assert.match(sign('GET', '/?prefix=J&max-keys=2', '').authorization!, /Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/);
  });

  test('a session token is sent and signed; any change to the request changes the signature', () => {
    const a = signV4({ method: 'GET', url: new URL(`${host}/k`), payloadHash: sha256Hex(''), region: 'us-east-1', now }, { ...creds, sessionToken: 'TOKEN' });
    assert.equal(a['x-amz-security-token'], 'TOKEN');
    assert.match(a.authorization!, /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
    const base = sign('GET', '/k', '').authorization;
    assert.notEqual(sign('GET', '/K', '').authorization, base);
    assert.notEqual(sign('HEAD', '/k', '').authorization, base);
    assert.notEqual(sign('GET', '/k', 'x').authorization, base);
  });

  test('keys are encoded once, per segment, RFC 3986 style', () => {
    assert.equal(s3Path(['bucket', 'pre fix', "objects/a+b=c!'()*~._-"]), "/bucket/pre%20fix/objects/a%2Bb%3Dc%21%27%28%29%2A~._-");
  });
});

describe('credentials', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapido-awscred-'));
    writeFileSync(join(dir, 'credentials'), [
      '# a comment', '[default]', 'aws_access_key_id = AKIDDEFAULT', 'aws_secret_access_key = defaultSecret', '',
      '[ci]', 'aws_access_key_id=AKIDCI', 'aws_secret_access_key=ciSecret', 'aws_session_token = ciToken', '',
      '[half]', 'aws_access_key_id = AKIDHALF', '',
    ].join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the environment first, with its session token', () => {
    const r = findAwsCredentials({ ...KEYS, AWS_SESSION_TOKEN: 'tok', AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') });
    assert.deepEqual(r.found, { accessKeyId: 'AKIDTEST', secretAccessKey: 'sekrit/Value+9', sessionToken: 'tok' });
  });

  test('else the AWS_PROFILE section (default: [default]) of AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials', () => {
    const file = join(dir, 'credentials');
    assert.deepEqual(findAwsCredentials({ AWS_SHARED_CREDENTIALS_FILE: file }).found, { accessKeyId: 'AKIDDEFAULT', secretAccessKey: 'defaultSecret', sessionToken: undefined });
    assert.deepEqual(findAwsCredentials({ AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'ci' }).found, { accessKeyId: 'AKIDCI', secretAccessKey: 'ciSecret', sessionToken: 'ciToken' });
    // A key id without its secret in the environment does not win over the file.
    assert.equal(findAwsCredentials({ AWS_ACCESS_KEY_ID: 'AKIDLONE', AWS_SHARED_CREDENTIALS_FILE: file }).found?.accessKeyId, 'AKIDDEFAULT');
    const home = join(dir, 'home');
    const r = findAwsCredentials({ HOME: home });
    assert.equal(r.found, null);
    assert.deepEqual(!r.found && r.lookedIn, ['AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (unset)', `${join(home, '.aws', 'credentials')} (ENOENT)`]);
  });

  test('no credentials: opening the cache is a denied CacheFault that says where it looked and shows no secret', () => {
    const file = join(dir, 'credentials');
    assert.throws(() => openS3Backend('s3://cache/p?endpoint=http://127.0.0.1:9', { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'half' }),
      (e: unknown) => fault('denied', /^no S3 credentials for s3:\/\/cache\/p: looked in AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY \(unset\); .*credentials \[half\] \(no aws_access_key_id\/aws_secret_access_key\)$/)(e)
        && !(e as Error).message.includes('AKIDHALF'));
    assert.throws(() => openS3Backend('s3://cache/p', { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'nosuch', AWS_ACCESS_KEY_ID: 'AKIDLONE' }),
      fault('denied', /AWS_ACCESS_KEY_ID \(set, but AWS_SECRET_ACCESS_KEY is not\); .*credentials \(no \[nosuch\] section\)$/));
  });
});

describe('transport faults (a closed port; a loopback HTTP server answering like a broken S3)', () => {
  let server: Server;
  let endpoint = '';
  const seen: { method: string; url: string; auth: string; sha: string; length: string }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, auth: String(req.headers.authorization), sha: String(req.headers['x-amz-content-sha256']), length: String(req.headers['content-length']) });
      req.resume();
      const key = req.url!.split('/').pop();
      const xml = (code: string, msg: string) => `<?xml version="1.0"?><Error><Code>${code}</Code><Message>${msg}</Message></Error>`;
      if (key === 'short') {
        // Declares 100 bytes, sends 10, hangs up: a truncated body must never come back as data.
        res.writeHead(200, { 'content-length': '100' });
        res.write('0123456789');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (key === 'boom') {
        res.writeHead(500, { 'content-type': 'application/xml' }).end(xml('InternalError', 'We encountered an internal error.'));
      } else if (key === 'forbidden') {
        res.writeHead(403, { 'content-type': 'application/xml' }).end(xml('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'));
      } else if (key === 'moved') {
        res.writeHead(301, { location: 'http://elsewhere.invalid/' }).end(xml('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.'));
      } else if (key === 'slow') {
        setTimeout(() => res.writeHead(200, { 'content-length': '2' }).end('ok'), 2000);
      } else if (key === 'stall') {
        res.writeHead(200, { 'content-length': '4' });
        res.write('ab');
      } else if (req.method === 'PUT') {
        res.writeHead(200).end();
      } else {
        res.writeHead(404, { 'content-type': 'application/xml' }).end(req.method === 'HEAD' ? undefined : xml('NoSuchKey', 'The specified key does not exist.'));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const open = (timeouts = {}) => openS3Backend(`s3://cache/pre?endpoint=${endpoint}`, KEYS, timeouts);
  const sig = () => AbortSignal.timeout(5000);
  const noSecret = (e: unknown) => !(e as Error).message.includes(KEYS.AWS_SECRET_ACCESS_KEY);

  test('requests are path-style, signed, with the body SHA-256 and Content-Length on PUT', async () => {
    seen.length = 0;
    const b = open();
    await b.put('objects/k1', Buffer.from('hello'), sig());
    assert.equal(await b.get('objects/nope', sig()), null);
    assert.equal(await b.exists('objects/nope', sig()), false);
    assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ['PUT /cache/pre/objects/k1', 'GET /cache/pre/objects/nope', 'HEAD /cache/pre/objects/nope']);
    assert.match(seen[0]!.auth, /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/s3\/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=[0-9a-f]{64}$/);
    assert.equal(seen[0]!.sha, sha256Hex('hello'));
    assert.equal(seen[0]!.length, '5');
    assert.ok(seen.every((s) => !s.auth.includes(KEYS.AWS_SECRET_ACCESS_KEY)));
  });

  test('a short body (Content-Length 100, 10 bytes, hang-up) is a protocol fault, never data', async () => {
    await assert.rejects(open().get('objects/short', sig()), fault('protocol', /GET objects\/short: .*(broke off|truncated)/));
  });

  test('5xx is a server fault, 403 is denied with the S3 error code, a redirect is a protocol fault (not followed)', async () => {
    await assert.rejects(open().get('objects/boom', sig()), fault('server', /HTTP 500 InternalError: We encountered an internal error\./));
    await assert.rejects(open().get('objects/forbidden', sig()), (e: unknown) => fault('denied', /HTTP 403 InvalidAccessKeyId/)(e) && noSecret(e));
    await assert.rejects(open().get('objects/moved', sig()), fault('protocol', /HTTP 301 PermanentRedirect/));
  });

  test('the caller\'s AbortSignal timeout, and the connect and idle bounds, are timeout faults', async () => {
    const t0 = Date.now();
    await assert.rejects(open().get('objects/slow', AbortSignal.timeout(300)), fault('timeout', /GET objects\/slow: timed out/));
    await assert.rejects(open({ connectMs: 300 }).get('objects/slow', sig()), fault('timeout', /no answer for 0\.3 s/));
    await assert.rejects(open({ idleMs: 300 }).get('objects/stall', sig()), fault('timeout', /no data for 0\.3 s/));
    assert.ok(Date.now() - t0 < 1900, 'each bound well before the 2 s answer');
  });

  test('a closed port, a name that does not resolve and a port fetch refuses are unreachable; a path with . or .. is refused before any request', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const b = openS3Backend(`s3://cache/p?endpoint=http://127.0.0.1:${port}`, KEYS);
    await assert.rejects(b.exists('objects/x', sig()), fault('unreachable', /HEAD objects\/x: 127\.0\.0\.1:\d+: ECONNREFUSED/));
    // .invalid never resolves (RFC 6761); a port fetch refuses outright says so.
    const nxdomain = openS3Backend('s3://cache/p?endpoint=http://no-such-host.invalid:7480', KEYS);
    await assert.rejects(nxdomain.get('objects/x', AbortSignal.timeout(15_000)), fault('unreachable', /GET objects\/x: no-such-host\.invalid:7480: (ENOTFOUND|EAI_AGAIN)$/));
    await assert.rejects(openS3Backend('s3://cache/p?endpoint=http://127.0.0.1:6000', KEYS).get('objects/x', sig()), fault('unreachable', /127\.0\.0\.1:6000: bad port$/));
    seen.length = 0;
    await assert.rejects(open().get('objects/../records/x', sig()), fault('protocol', /not a cache path/));
    await assert.rejects(open().put('./x', Buffer.alloc(1), sig()), fault('protocol', /not a cache path/));
    assert.equal(seen.length, 0);
  });
});
