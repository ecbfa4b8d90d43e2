import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chownSync,
  closeSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import type { CpioEntry } from '../../../src/derivations/cpio/cpioEntry.js';
import { encodeNewc, writeNewcSync } from '../../../src/derivations/cpio/writeNewc.js';
import { createDigest, digestBuffer, digestFileSync, initHasher } from '../../../src/store/digest.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rapido-newc-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs GNU cpio in `dir` over `names` (in the given order) and returns its archive. */
function gnuCpio(dir: string, names: string[]): Buffer {
  const r = spawnSync('sh', ['-c', 'cd "$1" && exec cpio -o -H newc --reproducible --quiet', 'sh', dir], {
    input: names.length ? names.join('\n') + '\n' : '',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `cpio failed: ${r.stderr}`);
  return r.stdout;
}

function byteOrder(names: string[]): string[] {
  return [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Deterministic non-trivial contents. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** What our callers do: entries from lstat of host files. */
function entriesFromHost(dir: string, names: string[]): CpioEntry[] {
  return names.map((name) => {
    const p = join(dir, name);
    const st = lstatSync(p);
    const base = { path: name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), nlink: st.nlink };
    if (st.isFile()) {
      const e: CpioEntry = { ...base, type: 'file', source: p, size: st.size };
      if (st.nlink > 1) e.hardlinkGroup = `ino${st.ino}`;
      return e;
    }
    if (st.isDirectory()) return { ...base, type: 'dir' };
    if (st.isSymbolicLink()) return { ...base, type: 'symlink', target: readlinkSync(p) };
    if (st.isFIFO()) return { ...base, type: 'fifo' };
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      return {
        ...base,
        type: st.isCharacterDevice() ? 'char' : 'block',
        rdevMajor: ((st.rdev >>> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff),
        rdevMinor: (st.rdev & 0xff) | ((st.rdev >>> 12) & 0xfff00),
      };
    }
    throw new Error(`unexpected file type: ${p}`);
  });
}

function mknod(path: string, type: 'c' | 'b' | 'p', major?: number, minor?: number): void {
  const args = major === undefined ? [path, type] : [path, type, String(major), String(minor)];
  const r = spawnSync('mknod', args);
  assert.equal(r.status, 0, `mknod failed: ${r.stderr}`);
}

/** A tree with every kind of entry the writer handles; returns its names, byte-sorted. */
function buildTree(root: string): string[] {
  const T = 1_600_000_000;
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/deep/er'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'three'), 'abc');
  writeFileSync(join(root, 'four'), 'abcd');
  writeFileSync(join(root, 'usr/bin/tool'), pattern(70_001, 7));
  // Larger than the writer's batch buffer: exercises streaming.
  writeFileSync(join(root, 'usr/lib/big.bin'), pattern(1_500_003, 9));
  writeFileSync(join(root, 'usr/lib/deep/er/leaf'), 'leaf\n');
  writeFileSync(join(root, 'etc/suid'), '#!/bin/sh\n');
  chmodSync(join(root, 'etc/suid'), 0o4755);
  chmodSync(join(root, 'usr/lib/deep'), 0o750);
  writeFileSync(join(root, 'etc/owned'), 'uid 1000\n');
  chownSync(join(root, 'etc/owned'), 1000, 1001);
  symlinkSync('../etc/owned', join(root, 'usr/link'));
  symlinkSync('tool', join(root, 'usr/bin/t'));
  // A pair, and a triple interleaved with other names (GNU cpio defers all but the last link).
  writeFileSync(join(root, 'hl-a'), 'pair data!');
  linkSync(join(root, 'hl-a'), join(root, 'usr/hl-b'));
  writeFileSync(join(root, 'tri1'), 'triple');
  linkSync(join(root, 'tri1'), join(root, 'etc/tri2'));
  linkSync(join(root, 'tri1'), join(root, 'usr/lib/tri3'));
  mknod(join(root, 'fifo'), 'p');
  mknod(join(root, 'null'), 'c', 1, 3);
  mknod(join(root, 'sda1'), 'b', 8, 1);
  // Byte order differs from UTF-16 order for these two.
  writeFileSync(join(root, 'u-\uff46'), 'bmp');
  writeFileSync(join(root, 'u-\u{1d11e}'), 'astral');
  writeFileSync(join(root, 'caf\u00e9'), 'utf8');

  const names: string[] = [];
  const walk = (rel: string) => {
    for (const d of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${d}` : d;
      names.push(r);
      if (lstatSync(join(root, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  // Fixed times, deepest first so setting a child does not touch its parent afterwards.
  let i = 0;
  for (const n of [...names].sort((a, b) => b.split('/').length - a.split('/').length)) {
    const t = T + 1000 * i++;
    if (lstatSync(join(root, n)).isSymbolicLink()) lutimesSync(join(root, n), t, t);
    else utimesSync(join(root, n), t, t);
  }
  return byteOrder(names);
}

describe('writeNewc', () => {
  it('writes the same bytes as GNU cpio --reproducible for a real tree', () => {
    const root = join(tmp, 'tree');
    mkdirSync(root);
    const names = buildTree(root);
    assert.ok(names.includes('u-\uff46') && names.indexOf('u-\uff46') < names.indexOf('u-\u{1d11e}'));
    const expected = gnuCpio(root, names);
    assert.equal(expected.length % 512, 0);

    // Given in reverse: the writer must do the sorting.
    const entries = entriesFromHost(root, names).reverse();
    const mem = encodeNewc(entries);
    assert.equal(mem.length, expected.length);
    assert.ok(mem.equals(expected), `first difference at byte ${firstDiff(mem, expected)}`);

    const out = join(tmp, 'out.cpio');
    const fd = openSync(out, 'w');
    let n: number;
    try {
      n = writeNewcSync(fd, entries);
    } finally {
      closeSync(fd);
    }
    const onDisk = readFileSync(out);
    assert.equal(n, onDisk.length);
    assert.ok(onDisk.equals(expected), `first difference at byte ${firstDiff(onDisk, expected)}`);
  });

  it('gives in-memory data the same bytes as the host file', () => {
    const root = join(tmp, 'm');
    mkdirSync(root);
    writeFileSync(join(root, 'f'), pattern(4097, 3));
    utimesSync(join(root, 'f'), 12345, 12345);
    const names = ['f'];
    const expected = gnuCpio(root, names);
    const [e] = entriesFromHost(root, names);
    const viaData: CpioEntry = { ...e, source: undefined, data: readFileSync(join(root, 'f')) };
    assert.ok(encodeNewc([viaData]).equals(expected));
  });

  it('matches GNU cpio on an empty archive and at an exact block boundary', () => {
    const root = join(tmp, 'b');
    mkdirSync(root);
    assert.ok(encodeNewc([]).equals(gnuCpio(root, [])));
    assert.equal(encodeNewc([]).length, 512);
    // 110 + 2 (name) + 276 (data) + 124 (trailer) = 512: no second block.
    writeFileSync(join(root, 'a'), pattern(276, 5));
    utimesSync(join(root, 'a'), 1, 1);
    const exact = gnuCpio(root, ['a']);
    assert.equal(exact.length, 512);
    assert.ok(encodeNewc(entriesFromHost(root, ['a'])).equals(exact));
  });

  it('numbers inodes from 0 in name order and writes the trailer as GNU cpio does', () => {
    const buf = encodeNewc([
      { path: 'b', type: 'file', mode: 0o644, data: Buffer.from('x') },
      { path: 'a', type: 'dir', mode: 0o755 },
    ]);
    const h = (off: number, field: number) => parseInt(buf.toString('latin1', off + 6 + field * 8, off + 14 + field * 8), 16);
    assert.equal(buf.toString('latin1', 110, 111), 'a');
    assert.equal(h(0, 0), 0); // ino
    assert.equal(h(0, 4), 2); // dir nlink default
    const second = 112;
    assert.equal(buf.toString('latin1', second + 110, second + 111), 'b');
    assert.equal(h(second, 0), 1);
    const trailer = second + 112 + 4;
    assert.equal(buf.toString('latin1', trailer + 110, trailer + 120), 'TRAILER!!!');
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 11].map((f) => h(trailer, f)), [0, 0, 0, 0, 1, 0, 0, 11]);
  });

  it('is deterministic whatever the input order', () => {
    const entries: CpioEntry[] = [
      { path: 'z', type: 'file', mode: 0o600, data: Buffer.from('zz') },
      { path: 'a/b', type: 'symlink', mode: 0o777, target: '../z' },
      { path: 'a', type: 'dir', mode: 0o755 },
      { path: 'h1', type: 'file', mode: 0o644, data: Buffer.from('h'), hardlinkGroup: 'g' },
      { path: 'h0', type: 'file', mode: 0o644, data: Buffer.from('h'), hardlinkGroup: 'g' },
    ];
    const one = encodeNewc(entries, { epoch: 99 });
    const two = encodeNewc(entries, { epoch: 99 });
    const shuffled = encodeNewc([entries[3], entries[0], entries[4], entries[2], entries[1]], { epoch: 99 });
    assert.ok(one.equals(two));
    assert.ok(one.equals(shuffled));
    assert.ok(!one.equals(encodeNewc(entries, { epoch: 100 })), 'the epoch must reach the mtime fields');
  });

  it('rejects duplicate and malformed paths', () => {
    assert.throws(
      () =>
        encodeNewc([
          { path: 'etc/x', type: 'file', mode: 0o644, data: Buffer.from('1') },
          { path: 'etc', type: 'dir', mode: 0o755 },
          { path: 'etc/x', type: 'dir', mode: 0o755 },
        ]),
      { name: 'RapidoError', code: 'CPIO_DUPLICATE_PATH' },
    );
    for (const path of ['', '/abs', './rel', 'TRAILER!!!']) {
      assert.throws(() => encodeNewc([{ path, type: 'dir', mode: 0o755 }]), { code: 'CPIO_BAD_PATH' });
    }
  });

  it('throws when a source file changed size since it was listed', () => {
    const p = join(tmp, 'grows');
    writeFileSync(p, 'twelve bytes');
    const entry: CpioEntry = { path: 'f', type: 'file', mode: 0o644, source: p, size: 12 };
    assert.equal(encodeNewc([entry]).length, 512);
    writeFileSync(p, 'thirteen byte');
    assert.throws(() => encodeNewc([entry]), { code: 'CPIO_SOURCE_CHANGED' });
    writeFileSync(p, 'eleven byte');
    assert.throws(() => encodeNewc([entry]), { code: 'CPIO_SOURCE_CHANGED' });
    writeFileSync(p, '');
    assert.throws(() => encodeNewc([entry]), { code: 'CPIO_SOURCE_CHANGED' });
    writeFileSync(p, 'x');
    assert.throws(() => encodeNewc([{ ...entry, size: 0 }]), { code: 'CPIO_SOURCE_CHANGED' });
    // A large file that grows by a byte is caught at the end of streaming.
    const big = join(tmp, 'big');
    writeFileSync(big, pattern(3_000_001, 1));
    const fd = openSync(join(tmp, 'out'), 'w');
    try {
      assert.throws(() => writeNewcSync(fd, [{ path: 'b', type: 'file', mode: 0o644, source: big, size: 3_000_000 }]), {
        code: 'CPIO_SOURCE_CHANGED',
      });
    } finally {
      closeSync(fd);
    }
  });

  it('rejects values that do not fit a newc header', () => {
    assert.throws(() => encodeNewc([{ path: 'x', type: 'dir', mode: 0o755, mtime: -1 }]), { code: 'CPIO_FIELD_RANGE' });
    assert.throws(() => encodeNewc([{ path: 'x', type: 'dir', mode: 0o755, uid: 2 ** 32 }]), { code: 'CPIO_FIELD_RANGE' });
  });

  // Its speed is measured by `npm run bench` (cuts of a ~3000-file tree), not here.
  it('writes a few thousand small files through the batching sink as encodeNewc does in memory', () => {
    const entries: CpioEntry[] = [];
    for (let i = 0; i < 5000; i++) {
      entries.push({ path: `usr/share/d${i % 50}/file-${i}`, type: 'file', mode: 0o644, data: Buffer.from(`content ${i}\n`) });
    }
    for (let i = 0; i < 50; i++) entries.push({ path: `usr/share/d${i}`, type: 'dir', mode: 0o755 });
    entries.push({ path: 'usr', type: 'dir', mode: 0o755 }, { path: 'usr/share', type: 'dir', mode: 0o755 });
    const path = join(tmp, 'many');
    const fd = openSync(path, 'w');
    let n: number;
    try {
      n = writeNewcSync(fd, entries);
    } finally {
      closeSync(fd);
    }
    const want = encodeNewc(entries);
    const got = readFileSync(path);
    assert.equal(n, want.length);
    assert.equal(firstDiff(got, want), want.length, 'same bytes');
    assert.equal(got.length, want.length);
  });
});

describe('writeNewc hash', () => {
  before(() => initHasher());

  /** Small files, a 3 MB source streamed past the 1 MiB batch, and members copied from a prior archive. */
  function mixed(): CpioEntry[] {
    const big = join(tmp, 'big');
    writeFileSync(big, pattern(3_000_000, 7));
    const entries: CpioEntry[] = [{ path: 'big', type: 'file', mode: 0o644, source: big, size: 3_000_000 }];
    for (let i = 0; i < 300; i++) entries.push({ path: `f${i}`, type: 'file', mode: 0o644, data: Buffer.from(`content ${i}\n`) });
    entries.push({ path: 'l', type: 'symlink', mode: 0o777, target: 'f1' });
    return entries;
  }

  function writeHashed(entries: CpioEntry[], opts = {}): { n: number; digest: string; path: string } {
    const path = join(tmp, 'out');
    const fd = openSync(path, 'w');
    const hash = createDigest();
    try {
      const n = writeNewcSync(fd, entries, { ...opts, hash });
      return { n, digest: hash.digest(), path };
    } finally {
      closeSync(fd);
    }
  }

  it('hashes exactly the bytes it writes', () => {
    const entries = mixed();
    const { n, digest, path } = writeHashed(entries);
    assert.equal(n, readFileSync(path).length);
    assert.equal(digest, digestFileSync(path));
    assert.equal(digest, digestBuffer(encodeNewc(entries)));
    // Members copied from an earlier archive go through the same hash.
    const copied = writeHashed(entries, { member: (e: CpioEntry) => (e.path === 'f1' ? Buffer.from('copied member') : undefined) });
    assert.ok(readFileSync(copied.path).includes('copied member'));
    assert.equal(copied.digest, digestFileSync(copied.path));
  });

  it('hashes only what a short write took, then the rest as it is written', () => {
    const entries = mixed();
    const real = fs.writeSync;
    let calls = 0;
    // At most 1000 bytes per write(2), as a pipe or a full disk's last blocks would take.
    fs.writeSync = ((fd: number, buf: Buffer, off: number, len: number) => {
      calls++;
      return real(fd, buf, off, Math.min(len, 1000));
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
    let r;
    try {
      r = writeHashed(entries);
    } finally {
      fs.writeSync = real;
      syncBuiltinESMExports();
    }
    assert.ok(calls > 3000, `${calls} short writes`);
    assert.equal(r.n, readFileSync(r.path).length);
    assert.equal(r.digest, digestFileSync(r.path));
  });

  it('reports the digest of each file it streams from a source, over the bytes it wrote; a throw aborts the archive', () => {
    const entries = mixed(); // a 3 MB source read across batches, and in-memory data
    const small = join(tmp, 'small');
    writeFileSync(small, 'small file\n');
    const empty = join(tmp, 'empty');
    writeFileSync(empty, '');
    const linked = join(tmp, 'linked');
    writeFileSync(linked, 'two names\n');
    entries.push(
      { path: 'small', type: 'file', mode: 0o644, source: small, size: 11 },
      { path: 'empty', type: 'file', mode: 0o644, source: empty, size: 0 },
      { path: 'h1', type: 'file', mode: 0o644, source: linked, size: 10, hardlinkGroup: 'g' },
      { path: 'h2', type: 'file', mode: 0o644, source: linked, size: 10, hardlinkGroup: 'g' },
    );
    const seen = new Map<string, string>();
    writeHashed(entries, { sourceDigest: (e: CpioEntry, d: string) => seen.set(e.path, d) });
    // In-memory data has no source to check; a hard link's data is written (and reported) once.
    assert.deepEqual([...seen.keys()].sort(), ['big', 'empty', 'h2', 'small']);
    for (const [path, d] of seen) assert.equal(d, digestFileSync(join(tmp, path === 'h2' ? 'linked' : path)), path);
    // With sourceStat, each report carries the fstat taken before the read and the time after it (a stat cache's entry).
    const stats = new Map<string, { ino: bigint; atNs: bigint }>();
    writeHashed(entries, { sourceStat: true, sourceDigest: (e: CpioEntry, _d: string, at?: { st: fs.BigIntStats; atNs: bigint }) => stats.set(e.path, { ino: at!.st.ino, atNs: at!.atNs }) });
    const st = fs.statSync(small, { bigint: true });
    assert.equal(stats.get('small')!.ino, st.ino);
    assert.ok(stats.get('small')!.atNs >= st.mtimeNs);

    const out = join(tmp, 'aborted');
    const fd = openSync(out, 'w');
    try {
      assert.throws(() => writeNewcSync(fd, entries, { sourceDigest: (e) => {
        if (e.path === 'big') throw new Error('changed');
      } }), /changed/);
    } finally {
      closeSync(fd);
    }
  });
});

function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
