import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CpioEntry } from '../../../src/derivations/cpio/cpioEntry.js';
import { newcMembers, readNewc } from '../../../src/derivations/cpio/readNewc.js';
import { encodeNewc } from '../../../src/derivations/cpio/writeNewc.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rapido-readnewc-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const sample: CpioEntry[] = [
  { path: 'bin', type: 'dir', mode: 0o755, mtime: 10 },
  { path: 'bin/sh', type: 'file', mode: 0o755, uid: 1, gid: 2, mtime: 11, data: Buffer.from('#!shell\n') },
  { path: 'bin/ash', type: 'symlink', mode: 0o777, mtime: 12, target: 'sh' },
  { path: 'dev', type: 'dir', mode: 0o755, mtime: 13, nlink: 3 },
  { path: 'dev/console', type: 'char', mode: 0o600, mtime: 14, rdevMajor: 5, rdevMinor: 1 },
  { path: 'dev/vda', type: 'block', mode: 0o660, mtime: 15, rdevMajor: 254, rdevMinor: 0 },
  { path: 'dev/initctl', type: 'fifo', mode: 0o600, mtime: 16 },
  { path: 'run.sock', type: 'socket', mode: 0o755, mtime: 17 },
  { path: 'empty', type: 'file', mode: 0o4711, mtime: 18, data: Buffer.alloc(0) },
  { path: 'x1', type: 'file', mode: 0o644, mtime: 19, data: Buffer.from('linked'), hardlinkGroup: 'L' },
  { path: 'x0', type: 'file', mode: 0o644, mtime: 19, data: Buffer.from('linked'), hardlinkGroup: 'L' },
];

describe('readNewc', () => {
  it('round-trips what the writer wrote', () => {
    const got = readNewc(encodeNewc(sample, { epoch: 1 }));
    const byPath = new Map(got.map((e) => [e.path, e]));
    assert.deepEqual(
      got.map((e) => e.path),
      sample.map((e) => e.path).sort(),
    );
    for (const want of sample) {
      const e = byPath.get(want.path)!;
      assert.equal(e.type, want.type, want.path);
      assert.equal(e.mode, want.mode, want.path);
      assert.equal(e.uid, want.uid ?? 0);
      assert.equal(e.gid, want.gid ?? 0);
      assert.equal(e.mtime, want.mtime);
      if (want.type === 'file') assert.deepEqual(e.data, want.data, want.path);
      if (want.type === 'symlink') assert.equal(e.target, want.target);
      if (want.type === 'char' || want.type === 'block') {
        assert.equal(e.rdevMajor, want.rdevMajor);
        assert.equal(e.rdevMinor, want.rdevMinor);
      }
    }
    assert.equal(byPath.get('dev')!.nlink, 3);
    assert.equal(byPath.get('bin')!.nlink, 2);
    // Both links share a group, nlink 2, and both show the data.
    assert.equal(byPath.get('x0')!.nlink, 2);
    assert.ok(byPath.get('x0')!.hardlinkGroup);
    assert.equal(byPath.get('x0')!.hardlinkGroup, byPath.get('x1')!.hardlinkGroup);
    assert.equal(byPath.get('bin/sh')!.hardlinkGroup, undefined);
  });

  it('reads an archive written by GNU cpio', () => {
    const root = join(tmp, 'root');
    mkdirSync(join(root, 'd'), { recursive: true });
    writeFileSync(join(root, 'd/f'), 'seven!!');
    linkSync(join(root, 'd/f'), join(root, 'g'));
    symlinkSync('d/f', join(root, 's'));
    utimesSync(join(root, 'd/f'), 4242, 4242);
    const r = spawnSync('sh', ['-c', 'cd "$1" && exec cpio -o -H newc --reproducible --quiet', 'sh', root], { input: 'd\nd/f\ng\ns\n' });
    assert.equal(r.status, 0, String(r.stderr));
    const got = readNewc(r.stdout);
    assert.deepEqual(
      got.map((e) => [e.path, e.type]),
      [
        ['d', 'dir'],
        ['d/f', 'file'],
        ['g', 'file'],
        ['s', 'symlink'],
      ],
    );
    const [, f, g, s] = got;
    assert.equal(f.data!.toString(), 'seven!!');
    assert.equal(g.data!.toString(), 'seven!!');
    assert.equal(f.mtime, 4242);
    assert.equal(f.nlink, 2);
    assert.equal(f.hardlinkGroup, g.hardlinkGroup);
    assert.equal(s.target, 'd/f');
  });

  it('reads concatenated archives, with zero padding between them', () => {
    const a = encodeNewc([{ path: 'a', type: 'file', mode: 0o644, data: Buffer.from('A') }]);
    const b = encodeNewc([
      { path: 'b', type: 'dir', mode: 0o755 },
      { path: 'a', type: 'file', mode: 0o600, data: Buffer.from('override') },
    ]);
    // Trailer-only end without block fill, then 8 zero bytes, then the next archive.
    const unpadded = a.subarray(0, 112 + 4 + 124);
    const got = readNewc(Buffer.concat([unpadded, Buffer.alloc(8), b, a]));
    assert.deepEqual(
      got.map((e) => `${e.path}:${e.data?.toString() ?? ''}`),
      ['a:A', 'a:override', 'b:', 'a:A'],
    );
    // Hardlink groups do not leak across archives.
    const link = (d: string) => encodeNewc([
      { path: 'p', type: 'file', mode: 0o644, data: Buffer.from(d), hardlinkGroup: 'x' },
      { path: 'q', type: 'file', mode: 0o644, data: Buffer.from(d), hardlinkGroup: 'x' },
    ]);
    const two = readNewc(Buffer.concat([link('one'), link('two')]));
    assert.deepEqual(two.map((e) => e.data!.toString()), ['one', 'one', 'two', 'two']);
    assert.notEqual(two[0].hardlinkGroup, two[2].hardlinkGroup);
  });

  it('reports the offset of bad magic, misalignment and truncation', () => {
    const good = encodeNewc(sample);
    const bad = Buffer.from(good);
    // Corrupt the magic of the second entry: 'bin' takes 110 + 4 bytes, padded to 116.
    const off2 = 116;
    assert.equal(bad.toString('latin1', off2, off2 + 6), '070701');
    bad.write('123456', off2, 'latin1');
    assert.throws(() => readNewc(bad), (e: any) => e.code === 'CPIO_CORRUPT' && /offset 116\b/.test(e.message) && /magic/.test(e.message));

    assert.throws(() => readNewc(good.subarray(0, 300)), (e: any) => e.code === 'CPIO_CORRUPT' && /truncated/.test(e.message));
    assert.throws(() => readNewc(good.subarray(0, 50)), (e: any) => e.code === 'CPIO_CORRUPT' && /offset 0\b/.test(e.message));
    // A second archive must start 4-byte aligned.
    const misaligned = Buffer.concat([good, Buffer.alloc(1), good]);
    assert.throws(() => readNewc(misaligned), (e: any) => e.code === 'CPIO_CORRUPT' && new RegExp(`offset ${good.length + 1}\\b`).test(e.message));
    assert.deepEqual(readNewc(Buffer.alloc(0)), []);
    assert.deepEqual(readNewc(Buffer.alloc(512)), []);
  });
});

it('newcMembers: an archive\'s members as byte ranges; a writer given them for unchanged entries writes the same archive', () => {
  const entries: CpioEntry[] = [
    { path: 'd', type: 'dir', mode: 0o755 },
    { path: 'd/a', type: 'file', mode: 0o644, data: Buffer.from('hello\n') },
    { path: 'd/b', type: 'file', mode: 0o755, data: Buffer.from('x'.repeat(1001)) },
    { path: 'd/l', type: 'symlink', mode: 0o777, target: 'a' },
  ];
  const old = encodeNewc(entries, { epoch: 7 });
  const members = newcMembers(old)!;
  assert.deepEqual(members.map((m) => [m.path, m.ino, m.size]), [['d', 0, 0], ['d/a', 1, 6], ['d/b', 2, 1001], ['d/l', 3, 1]]);
  // One entry changed: the others copied from the old archive, the result as if written from scratch.
  const changed = entries.map((e) => (e.path === 'd/a' ? { ...e, data: Buffer.from('hello, again\n') } : e));
  const copied: string[] = [];
  const fresh = encodeNewc(changed, { epoch: 7 });
  const patched = encodeNewc(changed, {
    epoch: 7,
    member: (e, i) => {
      if (e.path === 'd/a') return undefined;
      copied.push(e.path);
      return members[i].bytes;
    },
  });
  assert.deepEqual(copied, ['d', 'd/b', 'd/l']);
  assert.ok(patched.equals(fresh));
  assert.equal(newcMembers(Buffer.from('not an archive')), undefined);
  assert.equal(newcMembers(old.subarray(0, 200)), undefined, 'a truncated archive');
});
