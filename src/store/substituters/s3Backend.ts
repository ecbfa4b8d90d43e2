import { findAwsCredentials } from './awsCredentials.js';
import { BoundedRequest, type FetchBounds } from './boundedFetch.js';
import { CacheFault, type CacheBackend } from './cacheBackend.js';
import { parseS3Url } from './s3Url.js';
import { s3Path, sha256Hex, signV4 } from './sigv4.js';

/**
 * `s3://BUCKET/PREFIX?endpoint=URL&region=R`: a cache in any S3-compatible
 * store (AWS S3, Ceph RGW, MinIO, Garage), spoken to with Node's fetch and
 * a SigV4 signer of our own instead of the AWS SDK (which costs ~260 ms to
 * import; the numbers are in the commit that added this file). Loaded only
 * when an s3:// substituter is configured (`await import`), so a cut that
 * needs no cache never pays for it.
 *
 * Bodies are signed (x-amz-content-sha256 is the body's SHA-256, not
 * UNSIGNED-PAYLOAD): the body is in memory anyway, hashing it costs
 * milliseconds per MiB, and the server then refuses an upload that was
 * damaged on the way, even over plain http.
 */

const EMPTY_SHA256 = sha256Hex('');
const ERROR_BODY_MAX = 64 * 1024;

/**
 * Why fetch failed: it wraps ECONNREFUSED, ENOTFOUND and friends in a
 * TypeError('fetch failed'), so the first error code down the cause chain,
 * else the deepest message (fetch refuses some ports outright: 'bad port').
 */
/** An S3 error document's Code and Message (`<Error><Code>NoSuchKey</Code>...`). */
function s3Error(xml: string): { code?: string; message?: string } {
  const pick = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1]?.trim() || undefined;
  return { code: pick('Code'), message: pick('Message') };
}

/** A cache path is relative, made of plain segments: `.` and `..` would be folded away by URL parsing and reach another key. */
function validPath(p: string): boolean {
  return p.length > 0 && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

export function openS3Backend(url: string, env: NodeJS.ProcessEnv = process.env, timeouts: FetchBounds = {}): CacheBackend {
  const loc = parseS3Url(url);
  const display = loc.display;
  const lookup = findAwsCredentials(env);
  if (!lookup.found) {
    throw new CacheFault(display, 'denied', `no S3 credentials for ${display}: looked in ${lookup.lookedIn.join('; ')}`);
  }
  const creds = lookup.found;
  const root = loc.prefix ? [loc.bucket, loc.prefix] : [loc.bucket];

  /** One signed request: the body for a 2xx, null for a missing key, else a CacheFault. */
  async function call(method: 'GET' | 'HEAD' | 'PUT', p: string, signal: AbortSignal, body?: Buffer): Promise<Buffer | null> {
    if (!validPath(p)) throw new CacheFault(display, 'protocol', `${method} ${JSON.stringify(p)}: not a cache path`);
    const target = new URL(s3Path([...root, p]), loc.endpoint);
    const headers = signV4({ method, url: target, payloadHash: body ? sha256Hex(body) : EMPTY_SHA256, region: loc.region, now: new Date() }, creds);
    const req = new BoundedRequest(display, `${method} ${p}`, signal, timeouts);
    try {
      // A view of the Buffer, not a copy (fetch's types want an ArrayBuffer-backed view).
      const view = body && new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength);
      // redirect: manual: a redirect (another region) must not carry the signed headers elsewhere.
      const res = await fetch(target, { method, headers, body: view, signal: req.signal, redirect: 'manual' });
      if (res.status === 200 || res.status === 204) {
        if (method !== 'GET') {
          await res.body?.cancel();
          return Buffer.alloc(0);
        }
        return await req.read(res);
      }
      const err = method === 'HEAD' ? {} : s3Error((await req.read(res, ERROR_BODY_MAX)).toString('utf8'));
      await res.body?.cancel().catch(() => {});
      if (res.status === 404 && err.code !== 'NoSuchBucket') return null;
      const what = `${method} ${p}: HTTP ${res.status}${err.code ? ` ${err.code}` : ''}${err.message ? `: ${err.message}` : ''}`;
      if (err.code === 'NoSuchBucket') throw new CacheFault(display, 'protocol', `${what} (no bucket ${loc.bucket} at ${loc.endpoint.origin})`);
      const kind = res.status === 401 || res.status === 403 ? 'denied' : res.status >= 500 ? 'server' : 'protocol';
      throw new CacheFault(display, kind, what);
    } catch (e) {
      throw req.fault(e, loc.endpoint.host);
    } finally {
      req.done();
    }
  }

  return {
    display,
    writable: true,
    get: (p, signal) => call('GET', p, signal),
    exists: async (p, signal) => (await call('HEAD', p, signal)) !== null,
    async put(p, body, signal) {
      await call('PUT', p, signal, body);
    },
  };
}
