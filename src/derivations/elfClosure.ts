import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { RapidoError } from '../errors.js';
import { fnmatchToRegExp } from '../glob.js';
import { digestBuffer } from '../store/digest.js';
import type { HashedRead } from '../store/statCache.js';

/** What the dynamic loader needs to know about one ELF object. */
export interface ElfInfo {
  /** PT_INTERP: the program interpreter the kernel starts. */
  interp?: string;
  /** DT_NEEDED, in order. */
  needed: string[];
  /** DT_RPATH / DT_RUNPATH elements, unexpanded ($ORIGIN left in). */
  rpath: string[];
  runpath: string[];
  /** DT_SONAME: how already-loaded objects are matched against later DT_NEEDED names. */
  soname?: string;
  elfClass: 32 | 64;
  machine: number;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const PN_XNUM = 0xffff;

const EM_386 = 3;
const EM_ARM = 40;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const EM_RISCV = 243;

/**
 * Parses the ELF header, program headers and dynamic section of `path`,
 * reading only those (a few pread calls, never the whole file). Returns null
 * when the file is not ELF (scripts, data, directories).
 */
export function readElfInfo(path: string): ElfInfo | null {
  const fd = openElf(path);
  try {
    return parseElf(fdHeader(fd), fdReader(fd, path), path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Files up to this size are read whole by readElfInfoHashing. For them the
 * open/read/close of a second pass (the key's digest) costs more than the
 * bytes; past it the hash's cost is bandwidth either way, so reading a big
 * binary whole would only grow memory. 64 KiB holds nearly all of a test
 * suite's scripts and helpers (fstests: 2,311 of its 2,327 executables)
 * in one reused buffer.
 */
export const WHOLE_READ_MAX = 64 * 1024;
// One shared buffer (one spare byte to notice growth): every use below is synchronous.
let wholeBuf: Buffer | undefined;

/**
 * readElfInfo for a regular file the caller lstat'ed as `size` bytes and will
 * need hashed: a file of at most WHOLE_READ_MAX bytes is read whole, in one
 * read, and `read` is its digest with the fstat taken before the read (what
 * statDigest would have done). A file whose size is not `size` gets no digest.
 */
export function readElfInfoHashing(path: string, size: number): { info: ElfInfo | null; read?: HashedRead } {
  const fd = openElf(path);
  try {
    if (size <= WHOLE_READ_MAX) {
      const st = fstatSync(fd, { bigint: true });
      if (st.isFile() && st.size === BigInt(size)) {
        const buf = (wholeBuf ??= Buffer.allocUnsafe(WHOLE_READ_MAX + 1));
        let got = 0;
        // Until EOF, or one byte past `size` (it grew).
        while (got <= size) {
          const n = readSync(fd, buf, got, buf.length - got, got);
          if (n === 0) break;
          got += n;
        }
        if (got === size) {
          const whole = buf.subarray(0, size);
          const read: HashedRead = { st, digest: digestBuffer(whole), atNs: BigInt(Date.now()) * 1_000_000n };
          return { info: parseElf(whole.subarray(0, 64), bufferReader(whole, path), path), read };
        }
        // It changed size under us: no digest, and the header comes from a fresh read below.
      }
    }
    return { info: parseElf(fdHeader(fd), fdReader(fd, path), path) };
  } finally {
    closeSync(fd);
  }
}

function openElf(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
      throw new RapidoError('ELF_NOT_FOUND', `${path} does not exist`, { hint: 'check the path, or install the package that provides it', cause: err });
    }
    throw new RapidoError('ELF_UNREADABLE', `cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** readElfInfo for loader candidates: anything unusable is skipped, as ld.so skips it. */
function probeElf(path: string): ElfInfo | null {
  try {
    // Most candidates do not exist: ask without throwing, exceptions are slow.
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return null;
    return readElfInfo(path);
  } catch {
    return null;
  }
}

/** Little- or big-endian field access over one header buffer. */
class Fields {
  constructor(private readonly b: Buffer, private readonly le: boolean, private readonly is64: boolean) {}
  u16(o: number): number {
    return this.le ? this.b.readUInt16LE(o) : this.b.readUInt16BE(o);
  }
  u32(o: number): number {
    return this.le ? this.b.readUInt32LE(o) : this.b.readUInt32BE(o);
  }
  u64(o: number): number {
    const v = this.le ? this.b.readBigUInt64LE(o) : this.b.readBigUInt64BE(o);
    // Offsets and sizes beyond 2^53 cannot be real files; such tags are ignored by callers.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  /** A word: 8 bytes in ELF64, 4 in ELF32. */
  word(o: number): number {
    return this.is64 ? this.u64(o) : this.u32(o);
  }
}

/** `len` bytes at file offset `pos`, or ELF_CORRUPT naming `what` when the file ends first. */
type ReadAt = (pos: number, len: number, what: string) => Buffer;

/** The first (up to) 64 bytes of an open file; null for a directory. */
function fdHeader(fd: number): Buffer | null {
  const ident = Buffer.alloc(64);
  try {
    return ident.subarray(0, readSync(fd, ident, 0, 64, 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw err;
  }
}

function fdReader(fd: number, path: string): ReadAt {
  return (pos, len, what) => {
    checkLen(len, path, what);
    const b = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, b, got, len - got, pos + got);
      if (n === 0) throw corrupt(path, `${what} beyond the end of the file`);
      got += n;
    }
    return b;
  };
}

/** The same reads over a whole file in memory (views: parseElf copies what it keeps into strings). */
function bufferReader(whole: Buffer, path: string): ReadAt {
  return (pos, len, what) => {
    checkLen(len, path, what);
    if (len > 0 && pos + len > whole.length) throw corrupt(path, `${what} beyond the end of the file`);
    return whole.subarray(pos, pos + len);
  };
}

function checkLen(len: number, path: string, what: string): void {
  if (len > 16 * 1024 * 1024) throw corrupt(path, `${what} of ${len} bytes`);
}

function parseElf(ident: Buffer | null, readAt: ReadAt, path: string): ElfInfo | null {
  if (!ident) return null;
  const got = ident.length;
  if (got < 16 || ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) return null;
  const cls = ident[4];
  const dataEnc = ident[5];
  if ((cls !== 1 && cls !== 2) || (dataEnc !== 1 && dataEnc !== 2)) return null;
  const is64 = cls === 2;
  if (got < (is64 ? 64 : 52)) throw corrupt(path, 'truncated ELF header');
  const h = new Fields(ident, dataEnc === 1, is64);
  const machine = h.u16(18);
  const phoff = is64 ? h.u64(32) : h.u32(28);
  const phentsize = h.u16(is64 ? 54 : 42);
  const phnum = h.u16(is64 ? 56 : 44);
  const info: ElfInfo = { needed: [], rpath: [], runpath: [], elfClass: is64 ? 64 : 32, machine };
  if (phnum === 0 || phoff === 0) return info; // relocatable objects and the like: nothing to load
  if (phnum === PN_XNUM) throw corrupt(path, 'more program headers than PN_XNUM is not supported');
  if (phentsize < (is64 ? 56 : 32)) throw corrupt(path, `program header size ${phentsize}`);

  const ph = readAt(phoff, phnum * phentsize, 'program headers');
  const p = new Fields(ph, dataEnc === 1, is64);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dyn: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    const type = p.u32(o);
    const offset = is64 ? p.u64(o + 8) : p.u32(o + 4);
    const vaddr = is64 ? p.u64(o + 16) : p.u32(o + 8);
    const filesz = is64 ? p.u64(o + 32) : p.u32(o + 16);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (type === PT_DYNAMIC) dyn = { offset, size: filesz };
    else if (type === PT_INTERP) info.interp = cString(readAt(offset, filesz, 'PT_INTERP'), 0);
  }
  if (!dyn) return info; // static

  const d = readAt(dyn.offset, dyn.size, 'dynamic section');
  const df = new Fields(d, dataEnc === 1, is64);
  const entSize = is64 ? 16 : 8;
  let strtab = -1;
  let strsz = 0;
  const tags: { tag: number; val: number }[] = [];
  for (let o = 0; o + entSize <= d.length; o += entSize) {
    const tag = df.word(o);
    const val = df.word(o + entSize / 2);
    if (tag === DT_NULL) break;
    if (tag === DT_STRTAB) strtab = val;
    else if (tag === DT_STRSZ) strsz = val;
    else if (tag === DT_NEEDED || tag === DT_SONAME || tag === DT_RPATH || tag === DT_RUNPATH) tags.push({ tag, val });
  }
  if (tags.length === 0) return info;
  if (strtab < 0 || strsz === 0) throw corrupt(path, 'dynamic section without a string table');
  // DT_STRTAB is a virtual address: map it back to the file through the PT_LOAD segments.
  const seg = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
  if (!seg) throw corrupt(path, 'string table outside every loaded segment');
  const strs = readAt(seg.offset + (strtab - seg.vaddr), Math.min(strsz, seg.vaddr + seg.filesz - strtab), 'string table');
  for (const { tag, val } of tags) {
    if (val >= strs.length) throw corrupt(path, 'string offset beyond the string table');
    const s = cString(strs, val);
    if (tag === DT_NEEDED) info.needed.push(s);
    else if (tag === DT_SONAME) info.soname = s;
    else if (tag === DT_RPATH) info.rpath.push(...s.split(':').filter(Boolean));
    else info.runpath.push(...s.split(':').filter(Boolean));
  }
  return info;
}

function cString(b: Buffer, off: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 ? b.length : end);
}

function corrupt(path: string, what: string): RapidoError {
  return new RapidoError('ELF_CORRUPT', `${path}: malformed ELF file (${what})`, { hint: 'the file is damaged or truncated' });
}

/** One object in a simulated process: what loaded it matters for DT_RPATH inheritance. */
interface Loaded {
  path: string;
  info: ElfInfo;
  /** $ORIGIN: the main program's real directory, a library's directory as opened. */
  origin: string;
  loader?: Loaded;
}

export interface ElfClosure {
  files: string[];
  missing: { lib: string; neededBy: string }[];
}

/**
 * Every path given plus, transitively, the libraries ld.so would load for
 * each and its PT_INTERP, each as the loader opens it (search dir + name, not
 * symlink-resolved: the caller mirrors symlinks). Each path given is treated
 * as its own program, since that is how it will run. Non-ELF paths (scripts)
 * are kept in `files` with nothing added for them. `known`: headers the
 * caller already read for some of `paths`.
 */
export function resolveElfClosure(paths: string[], known?: ReadonlyMap<string, ElfInfo>): ElfClosure {
  const infos = new Map<string, ElfInfo | null>();
  const info = (p: string) => {
    if (!infos.has(p)) infos.set(p, probeElf(p));
    return infos.get(p)!;
  };
  const searches = new Map<string, string | null>();
  const files = new Set<string>();
  const missing = new Map<string, { lib: string; neededBy: string }>();
  const miss = (lib: string, neededBy: string) => missing.set(`${lib}\0${neededBy}`, { lib, neededBy });

  for (const root of paths) {
    // The caller may have read the programs' headers already (a tree's ELF check).
    const rootInfo = known?.get(root) ?? readElfInfo(root);
    infos.set(root, rootInfo);
    files.add(root);
    if (!rootInfo) continue;

    // Names already satisfied in this process: what each was asked for as, and sonames.
    const byName = new Map<string, string>();
    const loadedPaths = new Set<string>([root]);
    const main: Loaded = { path: root, info: rootInfo, origin: posix.dirname(realpathSync(root)) };
    if (rootInfo.soname) byName.set(rootInfo.soname, root);
    const queue: Loaded[] = [main];
    if (rootInfo.interp) {
      const interp = rootInfo.interp;
      const ii = info(interp);
      if (!ii) miss(interp, root);
      else {
        files.add(interp);
        loadedPaths.add(interp);
        byName.set(interp, interp);
        byName.set(ii.soname ?? posix.basename(interp), interp);
        queue.push({ path: interp, info: ii, origin: posix.dirname(interp) });
      }
    }
    // Breadth-first, as ld.so maps dependencies.
    for (let i = 0; i < queue.length; i++) {
      const obj = queue[i];
      for (const name of obj.info.needed) {
        if (byName.has(name)) continue;
        const found = searchLibrary(name, obj, info, searches);
        if (!found) {
          miss(name, obj.path);
          continue;
        }
        byName.set(name, found);
        if (loadedPaths.has(found)) continue;
        loadedPaths.add(found);
        files.add(found);
        const fi = info(found)!;
        if (fi.soname && !byName.has(fi.soname)) byName.set(fi.soname, found);
        queue.push({ path: found, info: fi, origin: posix.dirname(found), loader: obj });
      }
    }
  }
  return {
    files: [...files].sort(),
    missing: [...missing.values()].sort((a, b) => (a.lib === b.lib ? cmp(a.neededBy, b.neededBy) : cmp(a.lib, b.lib))),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ld.so's search for DT_NEEDED `name` on behalf of `obj`; null when nothing fits. */
function searchLibrary(
  name: string,
  obj: Loaded,
  info: (p: string) => ElfInfo | null,
  cache: Map<string, string | null>,
): string | null {
  const fits = (p: string) => {
    const i = info(p);
    return i !== null && i.elfClass === obj.info.elfClass && i.machine === obj.info.machine;
  };
  if (name.includes('/')) {
    const expanded = expandDst(name, obj);
    if (expanded === null) return null;
    const p = posix.resolve(expanded);
    return fits(p) ? p : null;
  }

  const dirs: string[] = [];
  // DT_RPATH counts only while the requester has no DT_RUNPATH; it is inherited
  // up the chain of loaders (skipping any loader that has a RUNPATH).
  if (obj.info.runpath.length === 0) {
    for (let l: Loaded | undefined = obj; l; l = l.loader) {
      if (l.info.runpath.length === 0) dirs.push(...expandList(l.info.rpath, l));
    }
  }
  dirs.push(...expandList(obj.info.runpath, obj));
  const key = `${obj.info.elfClass}/${obj.info.machine}/${name}\0${dirs.join('\0')}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;

  let found: string | null = null;
  for (const dir of [...dirs, ...ldSoConfDirs(), ...defaultDirs(obj.info)]) {
    const p = posix.join(dir, name);
    if (fits(p)) {
      found = p;
      break;
    }
  }
  cache.set(key, found);
  return found;
}

function expandList(elems: string[], obj: Loaded): string[] {
  const out: string[] = [];
  for (const e of elems) {
    const x = expandDst(e, obj);
    // An element with a token ld.so cannot expand is dropped, as ld.so does.
    if (x !== null && x !== '') out.push(x);
  }
  return out;
}

/** Expands $ORIGIN, $LIB and $PLATFORM (also in ${...} form); null if one has no value here. */
function expandDst(s: string, obj: Loaded): string | null {
  if (!s.includes('$')) return s;
  let failed = false;
  const out = s.replace(/\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?=\/|$))/g, (_m, braced?: string, bare?: string) => {
    const token = braced ?? bare;
    const v = token === 'ORIGIN' ? obj.origin : token === 'LIB' ? dstLib(obj.info) : dstPlatform(obj.info);
    if (v === undefined) failed = true;
    return v ?? '';
  });
  return failed ? null : out;
}

/** GNU multiarch triplet of an ELF class/machine, when we know it. */
function multiarchTriplet(i: ElfInfo): string | undefined {
  if (i.machine === EM_X86_64) return i.elfClass === 64 ? 'x86_64-linux-gnu' : 'x86_64-linux-gnux32';
  if (i.machine === EM_386) return 'i386-linux-gnu';
  if (i.machine === EM_AARCH64) return 'aarch64-linux-gnu';
  if (i.machine === EM_ARM) return 'arm-linux-gnueabihf';
  if (i.machine === EM_RISCV && i.elfClass === 64) return 'riscv64-linux-gnu';
  return undefined;
}

/** $LIB: Debian's multiarch glibc expands it to lib/<triplet>, others to lib64 or lib. */
function dstLib(i: ElfInfo): string {
  const t = multiarchTriplet(i);
  if (t && existsSync(`/lib/${t}`)) return `lib/${t}`;
  return i.elfClass === 64 ? 'lib64' : 'lib';
}

function dstPlatform(i: ElfInfo): string | undefined {
  if (i.machine === EM_X86_64 && i.elfClass === 64) return 'x86_64';
  if (i.machine === EM_386) return 'i686';
  if (i.machine === EM_AARCH64) return 'aarch64';
  return undefined;
}

/** The trusted system directories, searched after ld.so.conf's (what the ld.so.cache would hold). */
function defaultDirs(i: ElfInfo): string[] {
  const t = multiarchTriplet(i);
  const multi = t ? [`/lib/${t}`, `/usr/lib/${t}`] : [];
  return [...multi, '/lib', '/usr/lib', '/lib64', '/usr/lib64'];
}

let confDirsCache: string[] | undefined;

/** Directories from /etc/ld.so.conf and its includes, read once per process. */
function ldSoConfDirs(): string[] {
  if (!confDirsCache) {
    const dirs: string[] = [];
    parseLdSoConf('/etc/ld.so.conf', dirs, new Set());
    confDirsCache = [...new Set(dirs)];
  }
  return confDirsCache;
}

function parseLdSoConf(file: string, dirs: string[], seen: Set<string>): void {
  if (seen.has(file)) return;
  seen.add(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // ldconfig ignores missing config files too
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^include\s+(.+)$/.exec(line);
    if (m) {
      for (const pat of m[1].split(/\s+/)) {
        const abs = pat.startsWith('/') ? pat : posix.join(posix.dirname(file), pat);
        for (const f of expandGlob(abs)) parseLdSoConf(f, dirs, seen);
      }
      continue;
    }
    if (/^hwcap\s/.test(line)) continue;
    for (const d of line.split(/[\s:,]+/)) {
      if (d.startsWith('/')) dirs.push(d.length > 1 ? d.replace(/\/+$/, '') : d);
    }
  }
}

/** Absolute glob (`*`, `?`, `[...]` per component, matched like fnmatch(3)) to the sorted existing paths, like glob(3). */
function expandGlob(pattern: string): string[] {
  const parts = pattern.split('/').filter(Boolean);
  let cur = ['/'];
  for (const part of parts) {
    const next: string[] = [];
    if (!/[*?[]/.test(part)) {
      for (const c of cur) next.push(posix.join(c, part));
    } else {
      const re = fnmatchToRegExp(part);
      for (const c of cur) {
        let names: string[];
        try {
          names = readdirSync(c);
        } catch {
          continue;
        }
        for (const n of names.sort()) {
          if (n.startsWith('.') && !part.startsWith('.')) continue;
          if (re.test(n)) next.push(posix.join(c, n));
        }
      }
    }
    cur = next;
  }
  return cur.filter((p) => existsSync(p));
}
