/**
 * The KERNEL_SRC loop end to end, with a tree assembled from the installed
 * kernel (see helpers/kernelSrcTree.ts): the guest boots the tree's bzImage
 * with the tree's modules, and a changed module rebuilds only the kmods layer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeProject, RAPIDO_STORE_BIN, type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { depmod, makeKernelSrcTree, type KernelSrcTree } from '../helpers/kernelSrcTree.js';
import { ImageView } from '../helpers/imageView.js';

describe('KERNEL_SRC: your own kernel tree', skipUnless(haveQemu(), QEMU_NEEDS), () => {
  let tmp: string;
  let tree: KernelSrcTree;
  let p: Project;
  before(() => {
    requireHost(haveQemu(), QEMU_NEEDS);
    tmp = mkdtempSync(join(tmpdir(), 'rapido-ksrc-'));
    tree = makeKernelSrcTree(join(tmp, 'linux'));
    // No KERNEL_INSTALL_MOD_PATH: ${KERNEL_SRC}/mods is found by default.
    p = makeProject(`KERNEL_SRC="${tree.dir}"\n`);
  });
  after(() => {
    p?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('boots the tree\'s bzImage with its modules; --kernel-param and --gdb reach the guest', async () => {
    const port = 20000 + (process.pid % 20000);
    const r = await p.runAsync(['cut', '--accel', 'tcg', '--timeout', '240', '--kernel-param', 'rapido_test.one=1', '--kernel-param', 'rapido_test.two=2',
      `--gdb=${port}`, '-x', 'echo "uname: $(uname -r)"; echo "cmdline: $(cat /proc/cmdline)"', 'simple-example']);
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-2000));
    assert.match(r.stdout, new RegExp(`uname: ${tree.release.replace(/\./g, '\\.')}\\r?\\n`));
    assert.match(r.stdout, /rapido: zram0 ready, 131072 sectors/, 'zram loaded from the tree\'s modules');
    assert.match(r.stdout, /cmdline: .* nokaslr (.* )?rapido_test\.one=1 rapido_test\.two=2/);
    assert.ok(r.stderr.includes(`rapido: gdb stub on tcp::${port} (kernel booted with nokaslr); attach: gdb ${tree.vmlinux} -ex 'target remote localhost:${port}'`), r.stderr);
    const view = new ImageView(readFileSync(p.out));
    assert.ok(view.has(`/lib/modules/${tree.release}/kernel/drivers/block/zram/zram.ko`));
  });

  test('one changed .ko after modules_install: why names it, the re-cut rebuilds only kmods', () => {
    // Settle: inputs older than the racy window, so the next cut decides from stat data alone.
    const old = new Date(Date.now() - 10_000);
    const settle = (path: string) => utimesSync(path, old, old);
    for (const f of ['rapido.conf']) settle(join(p.dir, f));
    assert.equal(p.run(['cut', '-B', 'simple-example']).status, 0);
    const noop = p.run(['cut', '-B', 'simple-example']);
    assert.match(noop.stderr, /up to date/, noop.stderr);

    const zram = join(tree.modDir, 'kernel/drivers/block/zram/zram.ko');
    const before = statSync(zram).size;
    appendFileSync(zram, '\0'); // a different module, as after an edit of zram_drv.c
    depmod(tree.dir, tree.release); // modules_install rewrites the index files too (same content)
    const why = p.run(['why', 'simple-example'], { bin: RAPIDO_STORE_BIN });
    assert.equal(why.status, 0, why.stderr);
    assert.match(why.stdout, /kmods\s+\S+\s+MISS .*\n\s+content of \S*\/lib\/modules\/\S+\/zram\.ko \(from .*\/mods\/lib\/modules\/.*zram\.ko\)/);
    const recut = p.run(['cut', '-B', 'simple-example']);
    assert.equal(recut.status, 0, recut.stderr);
    assert.match(recut.stderr, /\(1 built, \d+ reused\), rebuilt: kmods, /);
    const inImage = new ImageView(readFileSync(p.out)).lookup(`/lib/modules/${tree.release}/kernel/drivers/block/zram/zram.ko`)!;
    assert.equal(inImage.data!.length, before + 1);
  });
});
