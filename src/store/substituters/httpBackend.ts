import { CacheFault, type CacheBackend } from './cacheBackend.js';
import { assertCachePath } from './fileBackend.js';

export interface HttpOptions {
  /** Until the response headers arrive. */
  connectMs: number;
  /** The longest pause between two chunks of a body. */
  idleMs: number;
}

/** The deepest cause's code: fetch wraps ECONNREFUSED and friends in a TypeError('fetch failed'). */
function causeCode(e: unknown): string | undefined {
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * `http://` and `https://`: a read-only cache served by any web server
 * (nginx over a pushed directory, a CDN), with Node's fetch. Every request
 * is bounded twice: a connect timeout until the headers, then an idle
 * timeout that every received chunk re-arms, so a slow but moving download
 * finishes and a stalled one does not hang the cut.
 */
export function openHttpBackend(url: URL, display: string, opts: HttpOptions): CacheBackend {
  const base = url.href.replace(/\/*$/, '/').replace(/\?.*$/, '');
  const query = url.search;

  async function request(method: 'GET' | 'HEAD', p: string, signal: AbortSignal): Promise<Buffer | null> {
    assertCachePath(p);
    const timer = new AbortController();
    let phase = 'connecting';
    let arm = setTimeout(() => timer.abort(), opts.connectMs);
    const rearm = (ms: number) => {
      clearTimeout(arm);
      arm = setTimeout(() => timer.abort(), ms);
    };
    const both = AbortSignal.any([signal, timer.signal]);
    try {
      const res = await fetch(base + p + query, { method, signal: both, redirect: 'follow', headers: { 'accept-encoding': 'identity' } });
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
      phase = 'reading';
      rearm(opts.idleMs);
      const declared = res.headers.get('content-length');
      const chunks: Buffer[] = [];
      let n = 0;
      if (res.body) {
        for await (const c of res.body as AsyncIterable<Uint8Array>) {
          chunks.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength)); // a view, not a copy: objects are megabytes
          n += c.byteLength;
          rearm(opts.idleMs);
        }
      }
      if (declared !== null && Number(declared) !== n) {
        throw new CacheFault(display, 'protocol', `GET ${p}: ${n} bytes received, Content-Length said ${declared} (truncated)`);
      }
      return Buffer.concat(chunks, n);
    } catch (e) {
      if (e instanceof CacheFault) throw e;
      if (timer.signal.aborted) {
        const ms = phase === 'connecting' ? opts.connectMs : opts.idleMs;
        throw new CacheFault(display, 'timeout', `${method} ${p}: no ${phase === 'connecting' ? 'answer' : 'data'} for ${(ms / 1000).toFixed(1)} s`, { cause: e });
      }
      if (signal.aborted) throw new CacheFault(display, 'timeout', `${method} ${p}: cancelled`, { cause: e });
      const code = causeCode(e);
      // undici reports a body cut short (the server closed early) as a socket error while reading.
      if (phase === 'reading') throw new CacheFault(display, 'protocol', `GET ${p}: the transfer broke off (${code ?? (e as Error).message})`, { cause: e });
      throw new CacheFault(display, 'unreachable', `${method} ${p}: ${code ?? (e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(arm);
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
