import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { kmodIndexLoads, resolveModules } from '../../src/derivations/kmodClosure.js';
import { hostKernel, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';

// The kernel rapido would use here, found as the product finds it.
const KERNEL = hostKernel();
const RELEASE = KERNEL?.release ?? '';
const MODDIR = KERNEL?.modDir ?? '';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rapido-kmod-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Module files modprobe would insert for `name`, relative to MODDIR; null when it knows none. */
function modprobeDeps(name: string): { modules: string[]; builtin: boolean } | null {
  // An empty config dir keeps the host's modprobe.d (blacklists, aliases) out of it.
  const conf = join(tmp, 'no-modprobe.d');
  mkdirSync(conf, { recursive: true });
  const r = spawnSync('modprobe', ['-C', conf, '-S', RELEASE, '--show-depends', name], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const modules = new Set<string>();
  let builtin = false;
  for (const line of r.stdout.split('\n')) {
    const m = /^insmod (\S+)/.exec(line);
    if (m) modules.add(m[1].slice(MODDIR.length + 1));
    if (line.startsWith('builtin ')) builtin = true;
  }
  return { modules: [...modules].sort(), builtin };
}

function names(paths: string[]): string[] {
  return paths.map((p) => p.slice(p.lastIndexOf('/') + 1).replace(/\.ko(\.\w+)?$/, ''));
}

describe('resolveModules on the installed Debian kernel', skipUnless(KERNEL !== null, 'an installed kernel with modules'), () => {
  before(() => requireKernel());
  it('zram pulls in zsmalloc', () => {
    const r = resolveModules(MODDIR, ['zram']);
    assert.deepEqual(r.modules, ['kernel/drivers/block/zram/zram.ko', 'kernel/mm/zsmalloc.ko']);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.builtin, []);
  });

  it('btrfs pulls its hard deps and, via softdeps, the crc32c implementations', () => {
    const r = resolveModules(MODDIR, ['btrfs']);
    const n = names(r.modules);
    for (const want of ['btrfs', 'xor', 'raid6_pq', 'libcrc32c', 'zstd_compress', 'crc32c_generic', 'crc32c-intel', 'blake2b_generic']) {
      assert.ok(n.includes(want), `${want} missing from ${n.join(' ')}`);
    }
    assert.ok(r.modules.includes('kernel/fs/btrfs/btrfs.ko'));
    assert.deepEqual(r.modules, [...new Set(r.modules)].sort());
  });

  it('xfs pulls libcrc32c and its softdeps', () => {
    const r = resolveModules(MODDIR, ['xfs']);
    assert.deepEqual(names(r.modules).sort(), ['crc32c-intel', 'crc32c_generic', 'libcrc32c', 'xfs']);
  });

  it('reports unknown names as missing and built-in ones as builtin', () => {
    const firstBuiltin = readFileSync(join(MODDIR, 'modules.builtin'), 'utf8').split('\n')[0];
    const builtinName = names([firstBuiltin])[0];
    const r = resolveModules(MODDIR, ['no_such_module_xyz', builtinName, 'zram', 'crypto-hmac']);
    assert.deepEqual(r.missing, ['no_such_module_xyz']);
    // crypto-hmac is an alias of the built-in hmac, known from modules.builtin.modinfo.
    assert.deepEqual(r.builtin, [builtinName, 'crypto-hmac'].sort());
    assert.deepEqual(names(r.modules).sort(), ['zram', 'zsmalloc']);
  });

  it('accepts - and _ alike, and aliases', () => {
    const a = resolveModules(MODDIR, ['crc32c_intel']);
    const b = resolveModules(MODDIR, ['crc32c-intel']);
    assert.deepEqual(a.modules, ['kernel/arch/x86/crypto/crc32c-intel.ko']);
    assert.deepEqual(b.modules, a.modules);
    const alias = resolveModules(MODDIR, ['crypto-crc32c']);
    assert.deepEqual(names(alias.modules).sort(), ['crc32c-intel', 'crc32c_generic']);
    const dev = resolveModules(MODDIR, ['pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00']);
    assert.ok(names(dev.modules).includes('virtio_pci'), dev.modules.join(' '));
  });

  it('agrees with modprobe --show-depends', () => {
    const softdepLines = new Map<string, number>();
    for (const line of readFileSync(join(MODDIR, 'modules.softdep'), 'utf8').split('\n')) {
      const w = line.split(/\s+/);
      if (w[0] === 'softdep') softdepLines.set(w[1].replace(/-/g, '_'), (softdepLines.get(w[1].replace(/-/g, '_')) ?? 0) + 1);
    }
    const sample = [
      ...softdepLines.keys(),
      'zram', 'btrfs', 'xfs', 'ext4', 'nvme', 'virtio_net', 'virtio-blk', '9p', 'overlay', 'dm-crypt', 'crypto-crc32c',
      'platform:idma64', 'fs-debugfs', 'loop', 'nfs', 'e1000', 'crc32c', 'zswap', 'hmac',
    ];
    let exact = 0;
    for (const name of sample) {
      const want = modprobeDeps(name);
      const got = resolveModules(MODDIR, [name]);
      if (!want) {
        assert.deepEqual(got.missing, [name], name);
        continue;
      }
      if (want.builtin && want.modules.length === 0) {
        assert.deepEqual(got.builtin, [name], name);
        continue;
      }
      for (const m of want.modules) assert.ok(got.modules.includes(m), `${name}: modprobe loads ${m}, we do not`);
      // kmod 30 follows only the first softdep line of a module; we follow all of them,
      // so only closures touching such a module may be larger.
      const merged = names(got.modules).some((n) => (softdepLines.get(n.replace(/-/g, '_')) ?? 0) > 1);
      if (!merged) {
        assert.deepEqual(got.modules, want.modules, name);
        exact++;
      }
    }
    assert.ok(exact > 20, `only ${exact} exact comparisons`);
  });

  it('answers from the per-process cache without parsing modules.dep again', () => {
    resolveModules(MODDIR, ['btrfs']);
    const loads = kmodIndexLoads();
    const r = resolveModules(MODDIR, ['btrfs', 'xfs', 'ext4']);
    assert.equal(kmodIndexLoads(), loads, 'modules.dep parsed again');
    assert.ok(names(r.modules).includes('ext4'));
  });
});

describe('resolveModules on a synthetic modules directory', () => {
  function fixture(): string {
    const dir = join(tmp, 'lib/modules/9.9.9');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'modules.dep'),
      [
        'kernel/a/foo-bar.ko.xz: kernel/b/dep_one.ko.zst',
        'kernel/b/dep_one.ko.zst:',
        'kernel/c/glob_target.ko.gz:',
        'kernel/c/soft-pre.ko:',
        'kernel/c/soft_post.ko:',
        'kernel/d/other.ko:',
        'kernel/d/ignored.ko:',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'modules.softdep'),
      [
        '# comment',
        'softdep foo_bar pre: soft_pre missing-soft post: alias-for-post',
        'softdep dep-one pre: crypto-thing',
        'softdep other ignored',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'modules.alias'),
      [
        '# Aliases extracted from modules themselves.',
        'alias alias-for-post soft_post',
        'alias crypto-thing* glob_target',
        'alias pci:v00001234d*sv*sd*bc*sc*i* other',
        'alias dual-name foo_bar',
        'alias dual-name other',
        'alias [ab]-class other',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'modules.builtin'), 'kernel/fs/built-in-fs.ko\n');
    writeFileSync(join(dir, 'modules.builtin.modinfo'), 'builtin_thing.license=GPL\0builtin_thing.alias=fs-builtin\0');
    return dir;
  }

  it('follows hard deps, softdeps (pre and post, through aliases) and softdeps of deps', () => {
    const dir = fixture();
    const r = resolveModules(dir, ['foo_bar']);
    assert.deepEqual(r.modules, [
      'kernel/a/foo-bar.ko.xz',
      'kernel/b/dep_one.ko.zst',
      'kernel/c/glob_target.ko.gz',
      'kernel/c/soft-pre.ko',
      'kernel/c/soft_post.ko',
    ]);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(resolveModules(dir, ['foo-bar']).modules, r.modules);
    assert.deepEqual(resolveModules(dir, ['dep-one']).modules, ['kernel/b/dep_one.ko.zst', 'kernel/c/glob_target.ko.gz']);
    // Words before pre:/post: are not dependencies (kmod ignores them too).
    assert.deepEqual(resolveModules(dir, ['other']).modules, ['kernel/d/other.ko']);
  });

  it('resolves aliases, globs included, to every module they match', () => {
    const dir = fixture();
    assert.deepEqual(resolveModules(dir, ['crypto-thing-v2']).modules, ['kernel/c/glob_target.ko.gz']);
    assert.deepEqual(resolveModules(dir, ['crypto_thing']).modules, ['kernel/c/glob_target.ko.gz']);
    assert.deepEqual(resolveModules(dir, ['pci:v00001234d00005678sv0sd0bc01sc02i03']).modules, ['kernel/d/other.ko']);
    assert.deepEqual(resolveModules(dir, ['pci:v00004321d00005678sv0sd0bc01sc02i03']).missing, ['pci:v00004321d00005678sv0sd0bc01sc02i03']);
    assert.deepEqual(resolveModules(dir, ['b-class']).modules, ['kernel/d/other.ko']);
    assert.deepEqual(resolveModules(dir, ['c-class']).missing, ['c-class']);
    const dual = resolveModules(dir, ['dual_name']);
    assert.ok(dual.modules.includes('kernel/d/other.ko') && dual.modules.includes('kernel/a/foo-bar.ko.xz'));
    assert.ok(dual.modules.includes('kernel/c/soft_post.ko'), 'the softdeps of an alias target come along');
  });

  it('sorts names into missing and builtin', () => {
    const dir = fixture();
    const r = resolveModules(dir, ['nothing-here', 'built_in-fs', 'fs_builtin', 'soft-pre']);
    assert.deepEqual(r.missing, ['nothing-here']);
    assert.deepEqual(r.builtin, ['built_in-fs', 'fs_builtin']);
    assert.deepEqual(r.modules, ['kernel/c/soft-pre.ko']);
  });

  it('re-reads the index when modules.dep changes', () => {
    const dir = fixture();
    assert.deepEqual(resolveModules(dir, ['ignored']).modules, ['kernel/d/ignored.ko']);
    writeFileSync(join(dir, 'modules.dep'), 'kernel/d/ignored.ko: kernel/d/other.ko\nkernel/d/other.ko:\n');
    utimesSync(join(dir, 'modules.dep'), 2_000_000_000, 2_000_000_000);
    assert.deepEqual(resolveModules(dir, ['ignored']).modules, ['kernel/d/ignored.ko', 'kernel/d/other.ko']);
  });

  it('fails clearly without modules.dep', () => {
    assert.ok(!existsSync(join(tmp, 'modules.dep')));
    assert.throws(() => resolveModules(tmp, ['x']), { code: 'KMOD_INDEX_MISSING' });
  });
});
