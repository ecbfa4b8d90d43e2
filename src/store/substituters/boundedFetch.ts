import { CacheFault } from './cacheBackend.js';

export interface FetchBounds {
  /** Until the response headers arrive. */
  connectMs?: number;
  /** The longest pause between two chunks of a body. */
  idleMs?: number;
}

/** The deepest cause's code, else its message: fetch wraps ECONNREFUSED and friends in a TypeError('fetch failed'). */
function fetchFailure(e: unknown): string {
  let deepest = (e as Error).message;
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    deepest = (c as Error).message ?? deepest;
  }
  return deepest;
}

/**
 * One fetch of the http(s) and s3 engines, bounded twice: a connect bound
 * until the headers, then an idle bound that every received chunk re-arms, so
 * a slow but moving download finishes and a stalled one does not hang the
 * cut. `fault` turns whatever fetch threw into the CacheFault a cut reports.
 */
export class BoundedRequest {
  private readonly timer = new AbortController();
  private arm: NodeJS.Timeout | undefined;
  private phase: 'connecting' | 'reading' = 'connecting';
  /** For fetch: the caller's signal or either bound. */
  readonly signal: AbortSignal;

  constructor(
    private readonly display: string,
    /** `METHOD PATH`, the start of every message. */
    private readonly what: string,
    private readonly caller: AbortSignal,
    private readonly bounds: FetchBounds,
  ) {
    this.signal = AbortSignal.any([caller, this.timer.signal]);
    this.rearm(bounds.connectMs);
  }

  private rearm(ms: number | undefined): void {
    clearTimeout(this.arm);
    if (ms) this.arm = setTimeout(() => this.timer.abort(), ms);
  }

  /**
   * The body, up to `max` bytes (an error document) or all of it; all of it
   * must match a declared Content-Length: a short body is never data.
   */
  async read(res: Response, max = Infinity): Promise<Buffer> {
    this.phase = 'reading';
    this.rearm(this.bounds.idleMs);
    const chunks: Buffer[] = [];
    let n = 0;
    if (res.body) {
      for await (const c of res.body as AsyncIterable<Uint8Array>) {
        chunks.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength)); // a view, not a copy: objects are megabytes
        n += c.byteLength;
        this.rearm(this.bounds.idleMs);
        if (n >= max) break;
      }
    }
    const declared = res.headers.get('content-length');
    if (max === Infinity && declared !== null && Number(declared) !== n) {
      throw new CacheFault(this.display, 'protocol', `${this.what}: ${n} bytes received, Content-Length said ${declared} (truncated)`);
    }
    return Buffer.concat(chunks, n);
  }

  /** What fetch or the body threw, as a CacheFault; `host` names where an unreachable request went. */
  fault(e: unknown, host?: string): CacheFault {
    if (e instanceof CacheFault) return e;
    const { display, what } = this;
    if (this.timer.signal.aborted) {
      const ms = this.phase === 'connecting' ? this.bounds.connectMs! : this.bounds.idleMs!;
      return new CacheFault(display, 'timeout', `${what}: no ${this.phase === 'connecting' ? 'answer' : 'data'} for ${(ms / 1000).toFixed(1)} s`, { cause: e });
    }
    if (this.caller.aborted) {
      const reason = this.caller.reason instanceof Error && this.caller.reason.name === 'TimeoutError' ? 'timed out' : 'cancelled';
      return new CacheFault(display, 'timeout', `${what}: ${reason}`, { cause: e });
    }
    // undici reports a body cut short (the server closed early) as a socket error while reading.
    if (this.phase === 'reading') return new CacheFault(display, 'protocol', `${what}: the transfer broke off (${fetchFailure(e)})`, { cause: e });
    return new CacheFault(display, 'unreachable', `${what}: ${host ? `${host}: ` : ''}${fetchFailure(e)}`, { cause: e });
  }

  /** Clears the bound; call it in `finally`. */
  done(): void {
    clearTimeout(this.arm);
  }
}
