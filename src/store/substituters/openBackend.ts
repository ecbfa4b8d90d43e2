import { RapidoError } from '../../errors.js';
import type { CacheBackend } from './cacheBackend.js';
import { openFileBackend } from './fileBackend.js';
import { openHttpBackend } from './httpBackend.js';
import { DEFAULT_CONNECT_MS, DEFAULT_IDLE_MS, type SubstituterSpec } from './substituterUrl.js';

/** The one place a URL's scheme picks an engine. */
export function openBackend(spec: SubstituterSpec): CacheBackend {
  switch (spec.url.protocol) {
    case 'file:':
      return openFileBackend(spec.url, spec.display);
    case 'http:':
    case 'https:':
      return openHttpBackend(spec.url, spec.display, { connectMs: spec.timeoutMs || DEFAULT_CONNECT_MS, idleMs: spec.timeoutMs || DEFAULT_IDLE_MS });
    case 's3:':
      return lazyS3Backend(spec);
    default:
      throw new RapidoError('SUBSTITUTER_URL', `substituter ${spec.display}: unsupported scheme ${spec.url.protocol}`);
  }
}

/**
 * The S3 engine (SigV4, credentials) loads on the first request, not when the
 * cut reads RAPIDO_SUBSTITUTERS: a cut whose layers are all local never pays
 * for it. Its faults (no credentials included) surface from that request, as
 * CacheFaults, like any engine's.
 */
function lazyS3Backend(spec: SubstituterSpec): CacheBackend {
  let engine: Promise<CacheBackend> | undefined;
  const timeouts = { connectMs: spec.timeoutMs || DEFAULT_CONNECT_MS, idleMs: spec.timeoutMs || DEFAULT_IDLE_MS };
  const load = () => (engine ??= import('./s3Backend.js').then((m) => m.openS3Backend(spec.url.href, process.env, timeouts)));
  return {
    display: spec.display,
    writable: true,
    get: async (path, signal) => (await load()).get(path, signal),
    exists: async (path, signal) => (await load()).exists(path, signal),
    put: async (path, body, signal) => (await load()).put(path, body, signal),
  };
}
