// Faults of the KERNEL_SRC path, on a tree assembled from the installed
// kernel (helpers/kernelSrcTree.ts). None of them boots a guest.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { hostKernel, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';
import { makeKernelSrcTree, type KernelSrcTree } from '../helpers/kernelSrcTree.js';

describe('KERNEL_SRC faults', skipUnless(hostKernel() !== null, 'a kernel in /boot with modules in /lib/modules'), () => {
  let tmp: string;
  let tree: KernelSrcTree;
  let p: Project | undefined;
  beforeEach(() => {
    requireKernel();
    tmp = mkdtempSync(join(tmpdir(), 'rapido-ksrc-'));
    tree = makeKernelSrcTree(join(tmp, 'linux'));
  });
  afterEach(() => {
    p?.cleanup();
    p = undefined;
    rmSync(tmp, { recursive: true, force: true });
  });
  const nothingCut = (q: Project) => assert.ok(!existsSync(dirname(q.out)) || readdirSync(dirname(q.out)).length === 0, 'nothing was cut');

  it('KERNEL_RELEASE naming another release than the tree: one error on the host, saying KERNEL_SRC wins and why', () => {
    p = makeProject(`KERNEL_SRC="${tree.dir}"\nKERNEL_RELEASE="${tree.release}-other"\n`);
    const r = p.run(['cut', '-B', 'simple-example']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr,
      `rapido: error: rapido.conf sets KERNEL_SRC=${tree.dir} (release ${tree.release}) and KERNEL_RELEASE=${tree.release}-other: KERNEL_SRC wins, ` +
      `because the guest boots its bzImage, which loads only ${tree.release}'s modules\n` +
      `  hint: remove KERNEL_RELEASE from rapido.conf (or set it to ${tree.release}); to boot /boot/vmlinuz-${tree.release}-other instead, remove KERNEL_SRC\n`);
    nothingCut(p);
    // The same release in both keys is fine.
    const q = makeProject(`KERNEL_SRC="${tree.dir}"\nKERNEL_RELEASE="${tree.release}"\n`);
    try {
      assert.equal(q.run(['cut', '-B', 'simple-example']).status, 0);
    } finally {
      q.cleanup();
    }
  });

  it('a configured, built tree without bzImage: the cut works, the boot says to build the image', () => {
    rmSync(tree.bzImage);
    p = makeProject(`KERNEL_SRC="${tree.dir}"\n`);
    const r = p.run(['cut', '--accel', 'tcg', '--timeout', '60', 'simple-example']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`rapido: error: KERNEL_SRC=${tree.dir} is configured and built, but has no arch/x86/boot/bzImage\\n` +
      `  hint: build the image: make -C ${tree.dir} bzImage\\n$`));
    assert.ok(existsSync(p.out), 'the image was cut; only the boot needs bzImage');
    const again = p.run(['boot', '--accel', 'tcg']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /hint: build the image: make -C .* bzImage/);
  });

  it('no modules.dep in the tree\'s modules: the depmod hint names the real root and release', () => {
    rmSync(join(tree.modDir, 'modules.dep'));
    p = makeProject(`KERNEL_SRC="${tree.dir}"\n`);
    const r = p.run(['cut', '-B', 'simple-example']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`rapido: error: no modules.dep in ${tree.modDir}\\n` +
      `  hint: run depmod for this kernel \\(depmod -b ${tree.dir}/mods ${tree.release.replace(/\./g, '\\.')}\\), or check the modules directory\\n`));
    nothingCut(p);
  });

  it('the kmods layers depend on the modules\' contents, not the tree\'s path: a moved tree reuses them', () => {
    p = makeProject(`KERNEL_SRC="${tree.dir}"\n`);
    assert.equal(p.run(['cut', '-B', 'simple-example']).status, 0);
    const moved = join(tmp, 'linux-moved');
    cpSync(tree.dir, moved, { recursive: true });
    const q = makeProject(`KERNEL_SRC="${moved}"\nRAPIDO_STORE="${p.store}"\n`);
    try {
      const r = q.run(['cut', '-B', 'simple-example']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /\(0 built, \d+ reused\)/, 'every layer, kmods included, came from the store');
    } finally {
      q.cleanup();
    }
  });
});
