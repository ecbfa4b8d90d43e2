import { RapidoError } from '../../errors.js';
import { EXIT } from '../../exitCodes.js';

/** Where an s3:// cache lives: path-style, `ENDPOINT/BUCKET/PREFIX/...`. */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slashes ('' for the bucket's root). */
  prefix: string;
  /** scheme://host[:port], no path. */
  endpoint: URL;
  region: string;
  /** s3://BUCKET/PREFIX: no credentials, no query. */
  display: string;
}

// rapido's own per-substituter options, read by the caller (substituterUrl); allowed here so the raw URL parses too.
const CALLER_OPTIONS = new Set(['trust', 'timeout']);

function bad(raw: string, why: string): RapidoError {
  // The query may hold an endpoint with credentials in it: show the URL without it.
  const shown = raw.replace(/\?.*$/, '');
  return new RapidoError('SUBSTITUTER_URL', `substituter ${shown}: ${why}`, {
    hint: 'an S3 cache is s3://BUCKET/PREFIX?endpoint=http(s)://HOST[:PORT]&region=REGION (both optional: AWS, us-east-1); credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials, never the URL',
    exitCode: EXIT.USAGE,
  });
}

/**
 * `s3://BUCKET/PREFIX?endpoint=URL&region=R`. Path-style addressing, so
 * any S3 server works without DNS names per bucket (Ceph RGW, MinIO,
 * Garage); the endpoint defaults to AWS's regional one.
 */
export function parseS3Url(raw: string): S3Location {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(raw, 'not a URL');
  }
  if (url.protocol !== 's3:') throw bad(raw, 'not an s3:// URL');
  if (url.username || url.password) throw bad(raw, 'credentials do not belong in the URL (they would show in logs)');
  const bucket = url.hostname;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$/.test(bucket)) throw bad(raw, `bucket name ${JSON.stringify(bucket)} is not valid`);
  if (url.port) throw bad(raw, 'the bucket takes no port: give the server as ?endpoint=http://HOST:PORT');
  let prefix: string;
  try {
    prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  } catch {
    throw bad(raw, 'the prefix is not valid percent-encoding');
  }
  for (const k of url.searchParams.keys()) {
    if (k !== 'endpoint' && k !== 'region' && !CALLER_OPTIONS.has(k)) throw bad(raw, `unknown option ${k}= (known: endpoint, region)`);
  }
  const region = url.searchParams.get('region') || 'us-east-1';
  if (!/^[a-z0-9-]+$/.test(region)) throw bad(raw, `region ${JSON.stringify(region)} is not valid`);
  const endpointRaw = url.searchParams.get('endpoint') || `https://s3.${region}.amazonaws.com`;
  let endpoint: URL;
  try {
    endpoint = new URL(endpointRaw);
  } catch {
    throw bad(raw, 'endpoint= is not a URL');
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw bad(raw, 'endpoint= must be http:// or https://');
  if (endpoint.username || endpoint.password) throw bad(raw, 'credentials do not belong in endpoint= (they would show in logs)');
  if (endpoint.pathname !== '/' || endpoint.search || endpoint.hash) throw bad(raw, 'endpoint= is the server only (scheme://host[:port]); the bucket and prefix go in s3://BUCKET/PREFIX');
  return { bucket, prefix, endpoint: new URL(endpoint.origin), region, display: `s3://${bucket}${prefix ? `/${prefix}` : ''}` };
}
