import { BoundedRequest, type FetchBounds } from './boundedFetch.js';
import { CacheFault, type CacheBackend } from './cacheBackend.js';
import { assertCachePath } from './fileBackend.js';

/**
 * `http://` and `https://`: a read-only cache served by any web server
 * (nginx over a pushed directory, a CDN), with Node's fetch, each request
 * bounded (boundedFetch.ts).
 */
export function openHttpBackend(url: URL, display: string, opts: FetchBounds): CacheBackend {
  const base = url.href.replace(/\/*$/, '/').replace(/\?.*$/, '');
  const query = url.search;

  async function request(method: 'GET' | 'HEAD', p: string, signal: AbortSignal): Promise<Buffer | null> {
    assertCachePath(p);
    const req = new BoundedRequest(display, `${method} ${p}`, signal, opts);
    try {
      const res = await fetch(base + p + query, { method, signal: req.signal, redirect: 'follow', headers: { 'accept-encoding': 'identity' } });
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel();
        return null;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        const kind = res.status === 401 || res.status === 403 ? 'denied' : res.status >= 500 ? 'server' : 'protocol';
        throw new CacheFault(display, kind, `${method} ${p}: HTTP ${res.status} ${res.statusText}`.trimEnd());
      }
      if (method === 'HEAD') return Buffer.alloc(0);
      return await req.read(res);
    } catch (e) {
      throw req.fault(e);
    } finally {
      req.done();
    }
  }

  return {
    display,
    writable: false,
    get: (p, signal) => request('GET', p, signal),
    exists: async (p, signal) => (await request('HEAD', p, signal)) !== null,
    async put(p) {
      throw new CacheFault(display, 'denied', `cannot write ${p}: an http(s) substituter is read-only (push to its file:// directory or an s3:// bucket)`);
    },
  };
}
