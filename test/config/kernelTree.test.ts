import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RapidoConfig } from '../../src/config/loadConfig.js';
import { depmodCommand, missingKernelError } from '../../src/config/kernelTree.js';
import { resolveKernel } from '../../src/config/resolveKernel.js';
import { RapidoError } from '../../src/errors.js';

function conf(baseDir: string, values: Record<string, string>): RapidoConfig {
  const m = new Map(Object.entries(values));
  return { baseDir, values: m, get: (k: string) => m.get(k) };
}

function withTree(fn: (dir: string, tree: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-ktree-'));
  try {
    const tree = join(dir, 'linux');
    mkdirSync(join(tree, 'include/config'), { recursive: true });
    writeFileSync(join(tree, 'include/config/kernel.release'), '6.1.192\n');
    fn(dir, tree);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('KERNEL_SRC: the tree\'s release and bzImage; modules in /lib/modules unless ${KERNEL_SRC}/mods exists', () => {
  withTree((dir, tree) => {
    const k = resolveKernel(conf(dir, { KERNEL_SRC: 'linux' }), join(dir, 'boot'), join(dir, 'lm'));
    assert.deepEqual(k, { release: '6.1.192', image: join(tree, 'arch/x86/boot/bzImage'), modDir: join(dir, 'lm/6.1.192'), config: join(tree, '.config'), source: 'KERNEL_SRC' });
    mkdirSync(join(tree, 'mods'));
    assert.equal(resolveKernel(conf(dir, { KERNEL_SRC: 'linux' })).modDir, join(tree, 'mods/lib/modules/6.1.192'));
    // An explicit KERNEL_INSTALL_MOD_PATH still wins over the default.
    assert.equal(resolveKernel(conf(dir, { KERNEL_SRC: 'linux', KERNEL_INSTALL_MOD_PATH: 'elsewhere' })).modDir, join(dir, 'elsewhere/lib/modules/6.1.192'));
    // The same release in both keys is no conflict.
    assert.equal(resolveKernel(conf(dir, { KERNEL_SRC: 'linux', KERNEL_RELEASE: '6.1.192' })).release, '6.1.192');
  });
});

test('KERNEL_RELEASE with KERNEL_INSTALL_MOD_PATH: an unpacked kernel package\'s own boot/vmlinuz and config when there, else /boot\'s', () => {
  withTree((dir) => {
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'lib/modules/6.12.9'), { recursive: true });
    const c = conf(dir, { KERNEL_RELEASE: '6.12.9', KERNEL_INSTALL_MOD_PATH: 'pkg' });
    // No image beside the modules: /boot's, as before.
    assert.deepEqual(resolveKernel(c, join(dir, 'boot'), join(dir, 'lm')), {
      release: '6.12.9', image: join(dir, 'boot/vmlinuz-6.12.9'), modDir: join(pkg, 'lib/modules/6.12.9'), config: join(dir, 'boot/config-6.12.9'), source: 'KERNEL_RELEASE',
    });
    mkdirSync(join(pkg, 'boot'));
    writeFileSync(join(pkg, 'boot/vmlinuz-6.12.9'), 'image');
    assert.deepEqual(resolveKernel(c, join(dir, 'boot'), join(dir, 'lm')), {
      release: '6.12.9', image: join(pkg, 'boot/vmlinuz-6.12.9'), modDir: join(pkg, 'lib/modules/6.12.9'), config: join(pkg, 'boot/config-6.12.9'), source: 'KERNEL_RELEASE',
    });
    // Another release's image there is not taken.
    assert.equal(resolveKernel(conf(dir, { KERNEL_RELEASE: '6.1.1', KERNEL_INSTALL_MOD_PATH: 'pkg' }), join(dir, 'boot')).image, join(dir, 'boot/vmlinuz-6.1.1'));
  });
});

test('KERNEL_SRC and a different KERNEL_RELEASE: one error naming both, which wins and why', () => {
  withTree((dir, tree) => {
    assert.throws(() => resolveKernel(conf(dir, { KERNEL_SRC: 'linux', KERNEL_RELEASE: '9.99.0-conflict' })), (e: RapidoError) => {
      assert.equal(e.code, 'KERNEL_CONFLICT');
      assert.match(e.message, new RegExp(`KERNEL_SRC=${tree} \\(release 6\\.1\\.192\\) and KERNEL_RELEASE=9\\.99\\.0-conflict: KERNEL_SRC wins, because`));
      assert.match(e.hint!, /remove KERNEL_RELEASE .*or set it to 6\.1\.192/);
      return true;
    });
  });
});

test('hints point the right way: a built tree without bzImage, depmod with the real root and release', () => {
  withTree((_dir, tree) => {
    const e = missingKernelError(join(tree, 'arch/x86/boot/bzImage'));
    assert.equal(e.code, 'KERNEL_NOT_FOUND');
    assert.match(e.hint!, new RegExp(`make -C ${tree} bzImage`));
    assert.doesNotMatch(e.hint!, /set KERNEL_SRC/);
    rmSync(join(tree, 'include/config/kernel.release'));
    assert.match(missingKernelError(join(tree, 'arch/x86/boot/bzImage')).hint!, /set KERNEL_SRC/);
  });
  assert.equal(depmodCommand('/src/linux/mods/lib/modules/6.1.192'), 'depmod -b /src/linux/mods 6.1.192');
  assert.equal(depmodCommand('/lib/modules/9.9.0-fixture'), 'depmod 9.9.0-fixture');
});
