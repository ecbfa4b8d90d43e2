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
      // S3-ENGINE: the s3:// engine (src/store/substituters/s3Backend.ts, openS3Backend) is wired in here.
      throw new RapidoError('SUBSTITUTER_SCHEME', `substituter ${spec.display}: s3:// support is not in this build`, {
        hint: 'use a file:// directory or an http(s):// server for now',
      });
    default:
      throw new RapidoError('SUBSTITUTER_URL', `substituter ${spec.display}: unsupported scheme ${spec.url.protocol}`);
  }
}
