/**
 * One remote layer cache (a substituter) as the store sees it: a flat
 * namespace of paths under the cache's root (`objects/KEY`, `records/KEY`, ...;
 * the layout is in store-layout.md). file://, http(s):// and s3:// each
 * implement it; nothing above this interface knows which one it talks to.
 *
 * Every call is bounded: the caller passes an AbortSignal (its connect and
 * read timeouts), and a backend turns any failure other than "not there"
 * into a CacheFault, so a cut can warn once and build the layer locally.
 */
export interface CacheBackend {
  /** What messages show: scheme, host and prefix, never credentials or query secrets. */
  readonly display: string;
  /** Whether put() is possible (plain HTTP is read-only). */
  readonly writable: boolean;
  /** The bytes at PATH, or null when it does not exist (HTTP 404, ENOENT, S3 NoSuchKey). */
  get(path: string, signal: AbortSignal): Promise<Buffer | null>;
  /** Whether PATH exists, as cheaply as the engine allows (HEAD, stat). */
  exists(path: string, signal: AbortSignal): Promise<boolean>;
  /** Stores BODY at PATH; a reader sees either nothing or all of it (S3 PUT; file:// temp + rename). */
  put(path: string, body: Buffer, signal: AbortSignal): Promise<void>;
}

/** Why a cache call failed, other than "not there": unreachable, timed out, refused (403), server error, bad reply. */
export class CacheFault extends Error {
  constructor(
    readonly cache: string,
    readonly kind: 'unreachable' | 'timeout' | 'denied' | 'server' | 'protocol',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CacheFault';
  }
}
