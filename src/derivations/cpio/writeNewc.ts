import { closeSync, fstatSync, openSync, readSync, writeSync, type BigIntStats } from 'node:fs';
import { RapidoError } from '../../errors.js';
import { createDigest, digestBuffer } from '../../store/digest.js';
import { TYPE_BITS, type CpioEntry } from './cpioEntry.js';

export interface NewcOptions {
  /** mtime (seconds) of entries that give none. Default 0. */
  epoch?: number;
  /**
   * The bytes of a member exactly as this writer would write it (header, name,
   * data, padding) for the entry at archive position `index`, when the caller
   * has them from an earlier archive of the same entries: copied instead of
   * reading its source file. Not used for hard links.
   */
  member?: (e: CpioEntry, index: number) => Buffer | undefined;
  /**
   * Fed every byte writeNewcSync writes, in order, as written (a short write
   * feeds only what the kernel took): the object's digest without reading
   * the archive back (createDigest in store/digest.ts).
   */
  hash?: { update(buf: Uint8Array): void };
  /**
   * Called with the digest (xxh64) of each file streamed from its `source`,
   * over the very bytes written, before the next entry. A caller whose
   * archive is keyed by digests taken earlier checks them here and throws
   * on a difference: a file rewritten in between (same size) must not land
   * in an object under a key that names other contents.
   */
  sourceDigest?: (e: CpioEntry, digest: string, read?: SourceRead) => void;
  /** With sourceDigest: fstat each source after opening it, before reading, and pass it on (a stat cache can keep the digest). */
  sourceStat?: boolean;
}

/** A source's fstat taken before it was read, and the wall-clock time just after (statCache's HashedRead, without the digest). */
interface SourceRead {
  st: BigIntStats;
  atNs: bigint;
}

const MAGIC = Buffer.from('070701', 'latin1');
const HEADER_LEN = 110;
const TRAILER = 'TRAILER!!!';
/** GNU cpio writes in 512-byte blocks and zero-fills the last one; we match its output length. */
const BLOCK = 512;
/** Batch buffer: big enough that a few thousand small files cost a handful of write(2) calls. */
const BATCH = 1 << 20;
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/**
 * Writes `entries` to `fd` as a newc archive and returns the bytes written.
 * The output is byte-identical to `cpio -o -H newc --reproducible` over real
 * files with the same names and metadata: entries sorted by name, inodes
 * renumbered from 0, dev 0, hardlinked file data on the last link only,
 * TRAILER!!! and zero fill to a 512-byte boundary.
 */
export function writeNewcSync(fd: number, entries: CpioEntry[], opts: NewcOptions = {}): number {
  const hash = opts.hash;
  const sink = new Sink(BATCH, hash ? (buf) => writeFully(fd, buf, hash) : (buf) => writeFully(fd, buf));
  emitArchive(sink, entries, opts);
  return sink.total();
}

/** The same archive as writeNewcSync, in memory; for small archives and tests. */
export function encodeNewc(entries: CpioEntry[], opts: NewcOptions = {}): Buffer {
  const chunks: Buffer[] = [];
  const sink = new Sink(64 * 1024, (buf) => chunks.push(Buffer.from(buf)));
  emitArchive(sink, entries, opts);
  return Buffer.concat(chunks);
}

interface Header {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
}

function emitArchive(sink: Sink, input: CpioEntry[], opts: NewcOptions): void {
  const epoch = opts.epoch ?? 0;
  const entries = sortedEntries(input);
  const groups = hardlinkGroups(entries);
  const groupIno = new Map<string, number>();
  const deferred = new Map<string, { entry: CpioEntry; header: Header }[]>();
  let nextIno = 0;

  for (const [index, e] of entries.entries()) {
    const same = e.hardlinkGroup === undefined ? opts.member?.(e, index) : undefined;
    if (same) {
      nextIno++;
      sink.bytes(same);
      continue;
    }
    const group = e.hardlinkGroup === undefined ? undefined : groups.get(e.hardlinkGroup);
    let ino: number;
    if (group) {
      // --renumber-inodes hands out a number when a link is first seen.
      let known = groupIno.get(e.hardlinkGroup!);
      if (known === undefined) groupIno.set(e.hardlinkGroup!, (known = nextIno++));
      ino = known;
    } else {
      ino = nextIno++;
    }
    const header = headerOf(e, ino, epoch, group?.length);

    if (!group || group.length < 2 || e.type !== 'file') {
      // GNU cpio only defers regular files; other hardlinked nodes go out in place.
      writeEntry(sink, e, header, e, opts);
      continue;
    }
    const pending = deferred.get(e.hardlinkGroup!) ?? [];
    if (pending.length + 1 < group.length) {
      pending.push({ entry: e, header });
      deferred.set(e.hardlinkGroup!, pending);
      continue;
    }
    // The last link: GNU cpio first flushes the earlier links with size 0,
    // newest first (its defer list is LIFO), then this one with the data.
    for (let i = pending.length - 1; i >= 0; i--) {
      writeEntry(sink, pending[i].entry, { ...pending[i].header, size: 0 }, undefined, opts);
    }
    deferred.delete(e.hardlinkGroup!);
    const content = contentHolder(group, e);
    writeEntry(sink, e, { ...header, size: contentSize(content) }, content, opts);
  }

  writeHeader(sink, TRAILER, { ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0, rdevMajor: 0, rdevMinor: 0 });
  sink.zeros((BLOCK - (sink.total() % BLOCK)) % BLOCK);
  sink.flush();
}

/** Sorted by the UTF-8 bytes of the name (as `sort` in the C locale would feed cpio); duplicates rejected. */
export function sortedEntries(input: CpioEntry[]): CpioEntry[] {
  let astral = false;
  for (const e of input) {
    checkPath(e.path);
    // UTF-16 code-unit order differs from UTF-8 byte order only around surrogates.
    if (!astral && /[\uD800-\uFFFF]/.test(e.path)) astral = true;
  }
  const out = input.slice();
  out.sort(astral ? (a, b) => utf8Compare(a.path, b.path) : (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < out.length; i++) {
    if (out[i].path === out[i - 1].path) {
      throw new RapidoError('CPIO_DUPLICATE_PATH', `two archive entries for '${out[i].path}'`, {
        hint: 'each path may appear once in a layer; this is a bug in the layer builder',
      });
    }
  }
  return out;
}

function checkPath(p: string): void {
  if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.startsWith('./') || p.includes('\0') || p === TRAILER) {
    throw new RapidoError('CPIO_BAD_PATH', `invalid archive path ${JSON.stringify(p)}`, {
      hint: "archive paths are relative ('usr/bin/bash'), non-empty and not the trailer name",
    });
  }
}

function utf8Compare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Surrogates encode code points above U+FFFF, so they rank after U+E000..U+FFFF. */
function codePointRank(u: number): number {
  if (u >= 0xe000) return u - 0x800;
  if (u >= 0xd800) return u + 0x2000;
  return u;
}

function hardlinkGroups(entries: CpioEntry[]): Map<string, CpioEntry[]> {
  const groups = new Map<string, CpioEntry[]>();
  for (const e of entries) {
    if (e.hardlinkGroup === undefined) continue;
    const g = groups.get(e.hardlinkGroup);
    if (!g) groups.set(e.hardlinkGroup, [e]);
    else {
      if (g[0].type !== e.type) {
        throw new RapidoError('CPIO_BAD_ENTRY', `hardlink group '${e.hardlinkGroup}' mixes a ${g[0].type} (${g[0].path}) and a ${e.type} (${e.path})`);
      }
      g.push(e);
    }
  }
  return groups;
}

/** The group member whose contents the last link carries: itself if it has any, else the first that does. */
function contentHolder(group: CpioEntry[], last: CpioEntry): CpioEntry {
  if (last.data !== undefined || last.source !== undefined) return last;
  return group.find((m) => m.data !== undefined || m.source !== undefined) ?? last;
}

function contentSize(e: CpioEntry): number {
  if (e.data !== undefined) return e.data.length;
  if (e.source !== undefined) return e.size ?? 0;
  return e.size ?? 0;
}

function headerOf(e: CpioEntry, ino: number, epoch: number, groupSize: number | undefined): Header {
  const bits = TYPE_BITS[e.type];
  if (bits === undefined) throw new RapidoError('CPIO_BAD_ENTRY', `${e.path}: unknown entry type '${e.type}'`);
  let size = 0;
  if (e.type === 'file') {
    if (e.data !== undefined && e.size !== undefined && e.size !== e.data.length) {
      throw new RapidoError('CPIO_BAD_ENTRY', `${e.path}: size ${e.size} but ${e.data.length} bytes of data`);
    }
    if (e.source !== undefined && e.size === undefined) {
      throw new RapidoError('CPIO_BAD_ENTRY', `${e.path}: a source file needs its size`);
    }
    if (e.data === undefined && e.source === undefined && (e.size ?? 0) !== 0) {
      throw new RapidoError('CPIO_BAD_ENTRY', `${e.path}: size ${e.size} but no data or source`);
    }
    size = contentSize(e);
  } else if (e.type === 'symlink') {
    if (!e.target) throw new RapidoError('CPIO_BAD_ENTRY', `${e.path}: symlink without a target`);
    size = Buffer.byteLength(e.target, 'utf8');
  }
  const device = e.type === 'char' || e.type === 'block';
  return {
    ino,
    mode: bits | (e.mode & 0o7777),
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    nlink: groupSize ?? e.nlink ?? (e.type === 'dir' ? 2 : 1),
    mtime: e.mtime ?? epoch,
    size,
    rdevMajor: device ? e.rdevMajor ?? 0 : 0,
    rdevMinor: device ? e.rdevMinor ?? 0 : 0,
  };
}

/** Header, name and contents of one member; `content` undefined writes no data (size must be 0). */
function writeEntry(sink: Sink, e: CpioEntry, h: Header, content: CpioEntry | undefined, opts: NewcOptions): void {
  writeHeader(sink, e.path, h);
  if (content === undefined) return;
  if (e.type === 'symlink') {
    sink.string(e.target!);
  } else if (e.type !== 'file') {
    return;
  } else if (content.data !== undefined) {
    sink.bytes(content.data);
  } else if (content.source !== undefined) {
    // Opened even when empty: a source that is no longer empty must be noticed too.
    const read = opts.sourceDigest && opts.sourceStat ? ({} as Partial<SourceRead>) : undefined;
    const digest = sink.file(content.source, h.size, e.path, opts.sourceDigest !== undefined, read);
    if (digest !== undefined) opts.sourceDigest!(content, digest, read as SourceRead | undefined);
  }
  sink.zeros((4 - (h.size % 4)) % 4);
}

function writeHeader(sink: Sink, name: string, h: Header): void {
  // The name goes in first so its UTF-8 length is known without a second pass;
  // 3 bytes per UTF-16 unit is the worst case.
  const buf = sink.reserve(HEADER_LEN + name.length * 3 + 4);
  const start = sink.pos;
  const nameLen = buf.write(name, start + HEADER_LEN, 'utf8') + 1;
  let p = start;
  for (let i = 0; i < 6; i++) buf[p++] = MAGIC[i];
  p = hex8(buf, p, h.ino, name);
  p = hex8(buf, p, h.mode, name);
  p = hex8(buf, p, h.uid, name);
  p = hex8(buf, p, h.gid, name);
  p = hex8(buf, p, h.nlink, name);
  p = hex8(buf, p, h.mtime, name);
  p = hex8(buf, p, h.size, name);
  p = hex8(buf, p, 0, name); // devmajor: --ignore-devno
  p = hex8(buf, p, 0, name); // devminor
  p = hex8(buf, p, h.rdevMajor, name);
  p = hex8(buf, p, h.rdevMinor, name);
  p = hex8(buf, p, nameLen, name);
  hex8(buf, p, 0, name); // check: only the crc format uses it
  // NUL terminator, then zeros up to the 4-byte boundary.
  p = start + HEADER_LEN + nameLen - 1;
  const end = start + ((HEADER_LEN + nameLen + 3) & ~3);
  while (p < end) buf[p++] = 0;
  sink.pos = end;
}

function hex8(buf: Buffer, p: number, v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RapidoError('CPIO_FIELD_RANGE', `${name}: header value ${v} does not fit the newc format (32-bit unsigned)`, {
      hint: 'newc cannot hold files of 4 GiB or more, negative times or ids above 2^32-1',
    });
  }
  for (let i = 7; i >= 0; i--) {
    buf[p + i] = HEX[v & 15];
    v >>>= 4;
  }
  return p + 8;
}

function writeFully(fd: number, buf: Buffer, hash?: { update(buf: Uint8Array): void }): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off);
    hash?.update(buf.subarray(off, off + n));
    off += n;
  }
}

/** Batches small writes into one buffer; file contents are streamed through it. */
class Sink {
  private buf: Buffer;
  pos = 0;
  private flushed = 0;

  constructor(capacity: number, private readonly out: (chunk: Buffer) => void) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  total(): number {
    return this.flushed + this.pos;
  }

  /** Makes room for `n` contiguous bytes at `pos` and returns the buffer to write them into. */
  reserve(n: number): Buffer {
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    return this.buf;
  }

  flush(): void {
    if (this.pos === 0) return;
    this.out(this.buf.subarray(0, this.pos));
    this.flushed += this.pos;
    this.pos = 0;
  }

  bytes(data: Buffer): void {
    if (data.length <= this.buf.length - this.pos) {
      this.buf.set(data, this.pos);
      this.pos += data.length;
      return;
    }
    this.flush();
    this.out(data);
    this.flushed += data.length;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.reserve(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  zeros(n: number): void {
    if (n === 0) return;
    // Mostly 1-3 bytes of padding: a loop beats fill()'s call overhead.
    const buf = this.reserve(n);
    const end = this.pos + n;
    for (let p = this.pos; p < end; p++) buf[p] = 0;
    this.pos = end;
  }

  /**
   * Streams `size` bytes of `path`. Each read asks for one byte more than
   * is still owed, so a file that grew is noticed without an fstat; a file
   * that shrank hits EOF early. With `digest`, returns the digest of the
   * bytes streamed (one shot when one read took the whole file).
   */
  file(path: string, size: number, name: string, digest: boolean, read?: Partial<SourceRead>): string | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new RapidoError('CPIO_SOURCE_UNREADABLE', `${name}: cannot open ${path}: ${(err as Error).message}`, {
        hint: 'the host file vanished or is unreadable since it was listed; run the cut again',
        cause: err,
      });
    }
    try {
      if (read) read.st = fstatSync(fd, { bigint: true });
      let left = size;
      let filePos = 0;
      let stream: ReturnType<typeof createDigest> | undefined;
      for (;;) {
        const want = left + 1;
        if (this.buf.length - this.pos < Math.min(want, 64 * 1024)) this.flush();
        const room = this.buf.length - this.pos;
        const n = readSync(fd, this.buf, this.pos, Math.min(want, room), filePos);
        if (n > left) throw sizeChanged(name, path, size, 'grew');
        if (n === 0) {
          if (left === 0) return digest ? stream?.digest() ?? digestBuffer(EMPTY) : undefined;
          throw sizeChanged(name, path, size, 'shrank');
        }
        const read = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        filePos += n;
        left -= n;
        const done = left === 0 && n < Math.min(want, room); // short read: EOF right at `size`
        if (digest) {
          if (done && stream === undefined) return digestBuffer(read);
          (stream ??= createDigest()).update(read);
        }
        if (done) return stream?.digest();
      }
    } finally {
      closeSync(fd);
      if (read) read.atNs = BigInt(Date.now()) * 1_000_000n;
    }
  }
}

const EMPTY = Buffer.alloc(0);

function sizeChanged(name: string, path: string, size: number, how: string): RapidoError {
  return new RapidoError('CPIO_SOURCE_CHANGED', `${name}: ${path} ${how} while being archived (expected ${size} bytes)`, {
    hint: 'a host file changed during the cut; run the cut again',
  });
}
