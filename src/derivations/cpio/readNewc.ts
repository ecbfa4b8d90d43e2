import { RapidoError } from '../../errors.js';
import { typeOfModeBits, type CpioEntry } from './cpioEntry.js';

const HEADER_LEN = 110;
const TRAILER = 'TRAILER!!!';

/**
 * Parses newc ("070701", and the crc variant "070702") archives for tests and
 * diagnostics. Like the kernel, it accepts several archives back to back,
 * each starting 4-byte aligned, with zero bytes allowed between them; the
 * entries of all of them come back in archive order, trailers left out.
 *
 * Hardlinked files (nlink > 1, same dev and inode within one archive) get a
 * shared `hardlinkGroup`, and every member gets the group's data (which the
 * archive stores on one link only), so a listing shows what the guest sees.
 */
export function readNewc(buf: Buffer): CpioEntry[] {
  const out: CpioEntry[] = [];
  let off = 0;
  let archive = 0;
  for (;;) {
    while (off < buf.length && buf[off] === 0) off++;
    if (off >= buf.length) return out;
    if (off % 4 !== 0) corrupt(off, 'archive does not start on a 4-byte boundary');
    off = readArchive(buf, off, archive++, out);
  }
}

/** Reads one archive starting at `off` into `out`; returns the offset after its trailer. */
function readArchive(buf: Buffer, off: number, archive: number, out: CpioEntry[]): number {
  const groups = new Map<string, CpioEntry[]>();
  for (;;) {
    const start = off;
    if (off + HEADER_LEN > buf.length) corrupt(start, 'truncated header');
    const magic = buf.toString('latin1', off, off + 6);
    if (magic !== '070701' && magic !== '070702') corrupt(start, `bad magic ${JSON.stringify(magic)}`);
    const f: number[] = [];
    for (let i = 0; i < 13; i++) {
      const s = buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8);
      if (!/^[0-9A-Fa-f]{8}$/.test(s)) corrupt(start, `bad header field ${JSON.stringify(s)}`);
      f.push(parseInt(s, 16));
    }
    const [ino, mode, uid, gid, nlink, mtime, size, devMajor, devMinor, rdevMajor, rdevMinor, nameSize] = f;
    off += HEADER_LEN;
    if (nameSize === 0 || off + nameSize > buf.length) corrupt(start, 'truncated name');
    if (buf[off + nameSize - 1] !== 0) corrupt(start, 'name not NUL-terminated');
    const name = buf.toString('utf8', off, off + nameSize - 1);
    off = align4(off + nameSize);
    if (off > buf.length || off + size > buf.length) corrupt(start, `truncated data of '${name}'`);
    const data = buf.subarray(off, off + size);
    off = align4(off + size);
    if (off > buf.length) corrupt(start, `truncated padding of '${name}'`);
    if (name === TRAILER) break;

    const type = typeOfModeBits(mode);
    if (!type) corrupt(start, `'${name}' has unknown file type bits in mode ${mode.toString(8)}`);
    const e: CpioEntry = { path: name, type: type!, mode: mode & 0o7777, uid, gid, mtime, nlink };
    if (type === 'file') {
      e.data = Buffer.from(data);
      e.size = size;
      if (nlink > 1) {
        const key = `${devMajor}:${devMinor}:${ino}`;
        e.hardlinkGroup = `${archive}:${key}`;
        const g = groups.get(key);
        if (g) g.push(e);
        else groups.set(key, [e]);
      }
    } else if (type === 'symlink') {
      e.target = data.toString('utf8');
    } else if (type === 'char' || type === 'block') {
      e.rdevMajor = rdevMajor;
      e.rdevMinor = rdevMinor;
    }
    out.push(e);
  }
  for (const g of groups.values()) {
    const holder = [...g].reverse().find((m) => m.data!.length > 0);
    if (!holder) continue;
    for (const m of g) {
      m.data = holder.data;
      m.size = holder.size;
    }
  }
  return off;
}

/** One member of an archive as bytes: its name, inode field, data size, and where its header starts and its padding ends. */
export interface NewcMember {
  path: string;
  ino: number;
  size: number;
  bytes: Buffer;
}

/**
 * The members of the one archive in `buf`, trailer excluded, as views of
 * `buf`; undefined when it is not a well-formed newc archive. Header fields
 * only (no data copied): a writer can take members over unchanged.
 */
export function newcMembers(buf: Buffer): NewcMember[] | undefined {
  const out: NewcMember[] = [];
  let off = 0;
  // By hand rather than toString + parseInt: this runs over thousands of members in a short-lived process.
  const field = (at: number) => {
    let v = 0;
    for (let i = at; i < at + 8; i++) {
      const c = buf[i];
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (d < 0) return NaN;
      v = v * 16 + d;
    }
    return v;
  };
  for (;;) {
    const start = off;
    if (off + HEADER_LEN > buf.length || buf.readUInt32BE(off) !== 0x30373037 || buf.readUInt16BE(off + 4) !== 0x3031) return undefined;
    const ino = field(off + 6);
    const size = field(off + 6 + 6 * 8);
    const nameSize = field(off + 6 + 11 * 8);
    if (!(ino >= 0 && size >= 0 && nameSize > 0)) return undefined;
    off += HEADER_LEN;
    if (off + nameSize > buf.length || buf[off + nameSize - 1] !== 0) return undefined;
    const path = buf.toString('utf8', off, off + nameSize - 1);
    off = align4(align4(off + nameSize) + size);
    if (off > buf.length) return undefined;
    if (path === TRAILER) return out;
    out.push({ path, ino, size, bytes: buf.subarray(start, off) });
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function corrupt(offset: number, what: string): never {
  throw new RapidoError('CPIO_CORRUPT', `corrupt cpio archive at offset ${offset}: ${what}`, {
    hint: 'the archive is damaged or not a newc cpio archive',
  });
}
