import fs from 'node:fs';
import path from 'node:path';
import { RapidoError } from '../errors.js';

/**
 * LMDB maps data.mdb and trusts it: a truncated file makes it touch pages
 * past the end (SIGBUS), garbage makes it follow wild pointers (SIGSEGV),
 * and either kills the process before any error can be reported. So the
 * file is checked with plain reads before open() maps it.
 *
 * The layout is that of the LMDB lmdb-js 3.x bundles (MDB_DATA_VERSION 2,
 * 64-bit page numbers; see its mdb.c), checked against files this code wrote:
 *
 *   page header (PAGEHDRSZ = 24): pgno u64 @0, txnid u64 @8, pad u16 @16,
 *     flags u16 @18, lower u16 @20 / upper u16 @22 (overflow pages: count u32 @20)
 *   pages 0 and 1 are meta pages (flags P_META), the meta right after the header:
 *     magic u32 @24 (0xBEEFC0DE), version u32 @28, address @32, mapsize @40,
 *     dbs[2] @48: free-page db then main db, 48 bytes each
 *       (pad u32 @0 (the free db's is the page size), flags u16 @4, depth u16 @6,
 *        branch, leaf, overflow pages, entries, root: u64 @8..@40),
 *     last used page u64 @144, txnid u64 @152
 *   node pointers (u16, relative to the end of the header) follow the header;
 *   a node: lo u16, hi u16, flags u16, key size u16, key, data.
 */
const MDB_MAGIC = 0xbeefc0de;
export const MDB_DATA_VERSION = 2;
const PAGEHDRSZ = 24;
const META_END = 160;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_META = 0x08;
const P_LEAF2 = 0x20;
const F_BIGDATA = 0x01;
const F_SUBDATA = 0x02;
const P_INVALID = 0xffffffffffffffffn;

interface Meta {
  txnid: bigint;
  lastPg: bigint;
  roots: bigint[];
}

export type DataFileState = { state: 'absent' } | { state: 'ok' } | { state: 'corrupt'; why: string };

export function dataFilePath(dbDir: string): string {
  return path.join(dbDir, 'data.mdb');
}

class Corrupt extends Error {}

const NO_MAGIC = 'no LMDB magic in its first meta page: overwritten, or not an LMDB data file';

function readAt(fd: number, len: number, pos: number): Buffer {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  if (got < len) throw new Corrupt(`truncated: it ends at byte ${pos + got}, inside a page it needs`);
  return buf;
}

/** Page `pgno`'s meta, checked for the page flag, its number, magic and version. */
function readMeta(fd: number, pgno: number, psize: number): Meta {
  const b = readAt(fd, META_END, pgno * psize);
  const which = pgno === 0 ? 'first' : 'second';
  if (b.readUInt32LE(24) !== MDB_MAGIC) throw new Corrupt(pgno === 0 ? NO_MAGIC : 'its second meta page is overwritten (no LMDB magic)');
  const version = b.readUInt32LE(28) & 0xffff;
  if (version !== MDB_DATA_VERSION) throw new Corrupt(`its ${which} meta page says LMDB data format ${version}, this rapido reads format ${MDB_DATA_VERSION}`);
  if (!(b.readUInt16LE(18) & P_META) || b.readBigUInt64LE(0) !== BigInt(pgno)) throw new Corrupt(`its ${which} meta page has a damaged page header`);
  if (pgno === 1 && b.readUInt32LE(48) !== psize) throw new Corrupt(`its two meta pages disagree on the page size`);
  const meta = { txnid: b.readBigUInt64LE(152), lastPg: b.readBigUInt64LE(144), roots: [b.readBigUInt64LE(88), b.readBigUInt64LE(136)] };
  if (meta.lastPg < 1n) throw new Corrupt(`its ${which} meta page has a damaged last page number`);
  for (const r of meta.roots) {
    if (r !== P_INVALID && (r < 2n || r > meta.lastPg)) throw new Corrupt(`its ${which} meta page has a damaged root page number`);
  }
  return meta;
}

/**
 * Every page the trees of `meta` reach (both roots, named databases, overflow
 * runs) lies among the file's first `pages` pages. Only needed when the file
 * is shorter than the last page the meta records: LMDB may leave pages it
 * freed in the same transaction unwritten at the end, which is harmless.
 */
function reachableWithin(fd: number, psize: number, pages: number, meta: Meta): void {
  const stack = meta.roots.filter((r) => r !== P_INVALID).map(Number);
  const seen = new Set<number>();
  const beyond = (pg: number) => new Corrupt(`truncated: ${pages} pages of ${psize} bytes left, but its index uses page ${pg}`);
  while (stack.length > 0) {
    const pg = stack.pop()!;
    if (pg >= pages) throw beyond(pg);
    if (seen.has(pg)) continue;
    seen.add(pg);
    const p = readAt(fd, psize, pg * psize);
    const flags = p.readUInt16LE(18);
    const n = p.readUInt16LE(20) >> 1;
    if (!(flags & (P_BRANCH | P_LEAF)) || PAGEHDRSZ + 2 * n > psize) throw new Corrupt(`page ${pg} of its index is damaged`);
    if (flags & P_LEAF2) continue; // fixed-size keys, no nodes to follow
    for (let i = 0; i < n; i++) {
      const node = PAGEHDRSZ + p.readUInt16LE(PAGEHDRSZ + 2 * i);
      if (node + 8 > psize) throw new Corrupt(`page ${pg} of its index is damaged`);
      const lo = p.readUInt16LE(node);
      const hi = p.readUInt16LE(node + 2);
      const nflags = p.readUInt16LE(node + 4);
      if (flags & P_BRANCH) {
        stack.push(lo + hi * 0x10000 + nflags * 0x100000000);
        continue;
      }
      const data = node + 8 + p.readUInt16LE(node + 6);
      if (nflags & F_BIGDATA) {
        if (data + 8 > psize) throw new Corrupt(`page ${pg} of its index is damaged`);
        const first = Number(p.readBigUInt64LE(data));
        const count = Math.floor((PAGEHDRSZ - 1 + lo + hi * 0x10000) / psize) + 1;
        if (first + count > pages) throw beyond(first + count - 1);
      } else if (nflags & F_SUBDATA) {
        if (data + 48 > psize) throw new Corrupt(`page ${pg} of its index is damaged`);
        const root = p.readBigUInt64LE(data + 40);
        if (root !== P_INVALID) stack.push(Number(root));
      }
    }
  }
}

function inspectFd(fd: number, size: number): void {
  if (size < META_END) throw new Corrupt(`${size} bytes, too short for an LMDB data file`);
  const head = readAt(fd, META_END, 0);
  if (head.readUInt32LE(24) !== MDB_MAGIC) throw new Corrupt(NO_MAGIC);
  const psize = head.readUInt32LE(48);
  if (psize < 256 || psize > 65536 || (psize & (psize - 1)) !== 0) throw new Corrupt(`its meta page gives an impossible page size ${psize}`);
  if (size < 2 * psize) throw new Corrupt(`truncated: ${size} bytes, less than its two meta pages of ${psize} bytes`);
  // LMDB reads the newer of the two metas (higher txnid); both must be sound, or it may pick a broken one.
  const metas = [readMeta(fd, 0, psize), readMeta(fd, 1, psize)];
  const newest = metas[0]!.txnid >= metas[1]!.txnid ? metas[0]! : metas[1]!;
  // Sized after the metas were read: a writer writes its pages before its meta.
  // A partial page at the end (a write cut short by a full disk) is past every page LMDB uses: ignored.
  const pages = Math.floor(fs.fstatSync(fd).size / psize);
  if (newest.lastPg < BigInt(pages)) return;
  reachableWithin(fd, psize, pages, newest);
}

/**
 * Whether `<dbDir>/data.mdb` is safe to hand to LMDB: absent or empty (LMDB
 * creates it), sound, or corrupt (and why). Reads at most a few pages,
 * unless the file is shorter than its last used page.
 */
export function inspectDataFile(dbDir: string): DataFileState {
  const file = dataFilePath(dbDir);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    // Unreadable for another reason (permissions): LMDB reports that itself, without crashing.
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? { state: 'absent' } : { state: 'ok' };
  }
  try {
    // A writer may commit meanwhile; the file only grows, and a meta is written after its pages.
    for (let attempt = 0; ; attempt++) {
      const size = fs.fstatSync(fd).size;
      if (size === 0) return { state: 'absent' };
      try {
        inspectFd(fd, size);
        return { state: 'ok' };
      } catch (e) {
        if (!(e instanceof Corrupt)) throw e;
        if (attempt < 2 && fs.fstatSync(fd).size !== size) continue;
        return { state: 'corrupt', why: e.message };
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function dbCorruptError(dbDir: string, why: string): RapidoError {
  return new RapidoError(
    'STORE_DB_CORRUPT',
    `the store index ${dataFilePath(dbDir)} is damaged (${why}); run rapido-store verify --repair to move it aside and rebuild the index from the layer objects`,
  );
}
