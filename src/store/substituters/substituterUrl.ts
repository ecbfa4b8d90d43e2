import { RapidoError } from '../../errors.js';
import { EXIT } from '../../exitCodes.js';

/** One entry of RAPIDO_SUBSTITUTERS (or push --to), with rapido's own query options taken out of the URL. */
export interface SubstituterSpec {
  /** The URL as given (may hold secrets in its query: never shown). */
  raw: string;
  /** The URL the engine talks to: rapido's options removed. */
  url: URL;
  /** scheme://host/path, no credentials, no query: what messages and negative-lookup names use. */
  display: string;
  /** `?trust=any`: records need no trusted signature (their key, size and SHA-256 are still checked). */
  trustAny: boolean;
  /** `?timeout=SECONDS`: connect timeout, and the longest pause while reading a body. */
  timeoutMs: number;
}

/**
 * 5 s to connect (a loopback or LAN cache answers in milliseconds; a cache
 * that has not answered in 5 s costs less to build around), 10 s without a
 * byte while reading (a stalled transfer, not a slow one).
 */
export const DEFAULT_CONNECT_MS = 5_000;
export const DEFAULT_IDLE_MS = 10_000;

function usage(raw: string, why: string): RapidoError {
  return new RapidoError('SUBSTITUTER_URL', `substituter ${JSON.stringify(raw)}: ${why}`, {
    hint: 'RAPIDO_SUBSTITUTERS holds space-separated URLs: file:///DIR, https://HOST/PATH, http://HOST:PORT/PATH, s3://BUCKET/PREFIX?endpoint=URL (options: ?trust=any, ?timeout=SECONDS)',
    exitCode: EXIT.USAGE,
  });
}

export function parseSubstituter(raw: string): SubstituterSpec {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usage(raw, 'not a URL');
  }
  if (!['file:', 'http:', 'https:', 's3:'].includes(url.protocol)) throw usage(raw, `unsupported scheme ${url.protocol.replace(/:$/, '')}`);
  const trust = url.searchParams.get('trust');
  if (trust !== null && trust !== 'any' && trust !== 'keys') throw usage(raw, `trust=${trust}: use trust=any (no signature check) or leave it out`);
  const timeout = url.searchParams.get('timeout');
  const seconds = timeout === null ? undefined : Number(timeout);
  if (seconds !== undefined && !(seconds > 0 && seconds <= 600)) throw usage(raw, `timeout=${timeout}: give seconds, more than 0, at most 600`);
  url.searchParams.delete('trust');
  url.searchParams.delete('timeout');
  const display = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  return { raw, url, display, trustAny: trust === 'any', timeoutMs: seconds !== undefined ? seconds * 1000 : 0 };
}

/**
 * RAPIDO_SUBSTITUTERS: space separated, tried in order; empty or unset: none.
 * With `onBad`, a malformed entry is reported and left out (a cut goes on
 * without it); without, it throws SUBSTITUTER_URL.
 */
export function parseSubstituterList(value: string | undefined, onBad?: (e: RapidoError) => void): SubstituterSpec[] {
  const specs: SubstituterSpec[] = [];
  for (const raw of (value ?? '').split(/\s+/).filter(Boolean)) {
    try {
      specs.push(parseSubstituter(raw));
    } catch (e) {
      if (!onBad || !(e instanceof RapidoError)) throw e;
      onBad(e);
    }
  }
  return specs;
}
