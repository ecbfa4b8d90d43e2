import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for S3 requests (header form), with node:crypto:
 * what the AWS SDK does for one request, without loading the SDK (measured:
 * the SDK's S3 client costs ~260 ms to import and ~440 ms with a client;
 * see the s3Backend commit). Checked against AWS's published S3 examples
 * in test/store/substituters/s3Backend.test.ts.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  /** The request URL; its pathname must already be URI-encoded the S3 way (s3Path). */
  url: URL;
  /** Headers to send and sign besides host and the x-amz-* ones added here. */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body (sha256Hex), or 'UNSIGNED-PAYLOAD'. */
  payloadHash: string;
  region: string;
  service?: string;
  now: Date;
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding, as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ is %XX (upper case). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An S3 object path for a URL and the canonical request: each segment encoded, the slashes kept (S3 does not encode twice). */
export function s3Path(segments: string[]): string {
  return '/' + segments.map((s) => s.split('/').map(uriEncode).join('/')).join('/');
}

function canonicalQuery(url: URL): string {
  const pairs = [...url.searchParams].map(([k, v]) => [uriEncode(k), uriEncode(v)]);
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** 20130524T000000Z */
const amzDate = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/**
 * The headers to send: the caller's, plus x-amz-date, x-amz-content-sha256,
 * x-amz-security-token (with a session token) and Authorization. Host is
 * signed as url.host, which is what fetch sends (the port only when it is
 * not the scheme's default).
 */
export function signV4(req: SignInput, creds: AwsCredentials): Record<string, string> {
  const service = req.service ?? 's3';
  const date = amzDate(req.now);
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {
    ...req.headers,
    'x-amz-date': date,
    'x-amz-content-sha256': req.payloadHash,
    ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
  };
  const canon = new Map<string, string>([['host', req.url.host]]);
  for (const [k, v] of Object.entries(headers)) canon.set(k.toLowerCase(), v.trim().replace(/\s+/g, ' '));
  const names = [...canon.keys()].sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    req.method,
    req.url.pathname || '/',
    canonicalQuery(req.url),
    names.map((n) => `${n}:${canon.get(n)}\n`).join(''),
    signedHeaders,
    req.payloadHash,
  ].join('\n');
  const scope = `${day}/${req.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), req.region), service), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return headers;
}
