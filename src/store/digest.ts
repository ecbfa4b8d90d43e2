import fs from 'node:fs';
import xxhash from 'xxhash-wasm';
import { RapidoError } from '../errors.js';

/**
 * xxh64 (seed 0) everywhere: object digests, stat-cache digests and
 * derivation keys. Always rendered as 16 lowercase hex chars.
 *
 * xxhash-wasm can only be instantiated asynchronously, but the store core is
 * synchronous, so callers await initHasher() once at startup and everything
 * after that is sync.
 */
type Api = Awaited<ReturnType<typeof xxhash>>;

let api: Api | undefined;
let pending: Promise<void> | undefined;

export function initHasher(): Promise<void> {
  pending ??= xxhash().then((a) => {
    api = a;
  });
  return pending;
}

function hasher(): Api {
  if (!api) {
    throw new RapidoError('HASHER_NOT_READY', 'digest requested before initHasher() finished', {
      hint: 'await initHasher() once before using the store',
    });
  }
  return api;
}

function hex(h: bigint): string {
  return h.toString(16).padStart(16, '0');
}

export function digestBuffer(buf: Uint8Array): string {
  return hex(hasher().h64Raw(buf));
}

/** Derivation keys: xxh64 of the UTF-8 bytes, so hashString(s) === digestBuffer(Buffer.from(s)). */
export function hashString(s: string): string {
  return digestBuffer(Buffer.from(s, 'utf8'));
}

// 1 MiB measured fastest for wasm streaming (larger chunks thrash the cache).
// One shared buffer is safe: every user below is synchronous.
const CHUNK = 1 << 20;
let chunkBuf: Buffer | undefined;

function readFull(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Digest of everything readable from an open fd, from offset 0 to EOF (the fd's own offset is not used). */
export function digestFd(fd: number): string {
  const a = hasher();
  const buf = (chunkBuf ??= Buffer.allocUnsafe(CHUNK));
  let n = readFull(fd, buf, 0);
  // Small files (most kernel modules, firmware, config): one shot, no streaming state.
  if (n < CHUNK) return hex(a.h64Raw(buf.subarray(0, n)));
  const h = a.create64();
  let pos = 0;
  while (n > 0) {
    h.update(n === CHUNK ? buf : buf.subarray(0, n));
    pos += n;
    if (n < CHUNK) break;
    n = readFull(fd, buf, pos);
  }
  return hex(h.digest());
}

export function digestFileSync(path: string): string {
  const fd = fs.openSync(path, 'r');
  try {
    return digestFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Incremental digest, for hashing bytes while they are copied (composeImage checks layers as it writes them). */
export function createDigest(): { update(buf: Uint8Array): void; digest(): string } {
  const h = hasher().create64();
  return {
    update: (buf) => void h.update(buf),
    digest: () => hex(h.digest()),
  };
}
