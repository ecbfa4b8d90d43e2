import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** How the test server misbehaves for paths matching `match` (all paths when absent). */
export interface Misbehaviour {
  match?: RegExp;
  /** Answer with this status and no body. */
  status?: number;
  /** Wait this long before answering (a slow or hung server). */
  delayMs?: number;
  /** Send this many bytes of the body under the full Content-Length, then close the connection. */
  truncateTo?: number;
}

export interface CacheServer {
  url: string;
  /** Requests seen, as `METHOD /path`. */
  requests: string[];
  misbehave(m: Misbehaviour | null): void;
  close(): Promise<void>;
}

/**
 * A tiny HTTP server over a cache directory (what nginx does in the e2e
 * test), able to fail on purpose: the substituter fault tests use it.
 */
export async function serveCache(root: string): Promise<CacheServer> {
  let bad: Misbehaviour | null = null;
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    const answer = () => {
      const b = bad && (!bad.match || bad.match.test(url.pathname)) ? bad : null;
      if (b?.status) {
        res.writeHead(b.status).end();
        return;
      }
      const file = path.join(root, decodeURIComponent(url.pathname));
      let body: Buffer;
      try {
        body = fs.readFileSync(file);
      } catch {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': body.length });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      if (b?.truncateTo !== undefined) {
        res.write(body.subarray(0, b.truncateTo), () => res.socket?.destroy());
        return;
      }
      res.end(body);
    };
    const delay = bad && (!bad.match || bad.match.test(url.pathname)) ? bad.delayMs : undefined;
    if (delay) setTimeout(answer, delay);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    misbehave: (m) => void (bad = m),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
