import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeProject } from '../helpers/cliHarness.js';
import { ImageView } from '../helpers/imageView.js';

const REL = '9.9.9-fixture';

/**
 * A modules tree like a developer's own build with CRYPTO_LZO_RLE=m: zram
 * does not depend on its compressor in modules.dep (the crypto API requests
 * `crypto-lzo-rle` at run time), so only the recipe's try-kmod brings it.
 * lzo is built in here, as on Debian's kernel, to show that stays silent.
 */
function fixtureModules(root: string): string {
  const modDir = join(root, 'lib/modules', REL);
  const ko = (rel: string) => {
    const p = join(modDir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, `fake module ${rel}\n`);
  };
  for (const m of ['kernel/drivers/block/zram/zram.ko', 'kernel/mm/zsmalloc.ko', 'kernel/crypto/lzo-rle.ko', 'kernel/lib/lzo/lzo_compress.ko']) ko(m);
  writeFileSync(join(modDir, 'modules.dep'), [
    'kernel/drivers/block/zram/zram.ko: kernel/mm/zsmalloc.ko',
    'kernel/mm/zsmalloc.ko:',
    'kernel/crypto/lzo-rle.ko: kernel/lib/lzo/lzo_compress.ko',
    'kernel/lib/lzo/lzo_compress.ko:',
    '',
  ].join('\n'));
  writeFileSync(join(modDir, 'modules.alias'), 'alias crypto-lzo-rle lzo_rle\nalias lzo-rle lzo_rle\n');
  writeFileSync(join(modDir, 'modules.builtin'), 'kernel/crypto/lzo.ko\nkernel/lib/lzo/lzo_decompress.ko\n');
  return modDir;
}

test('zram recipes: with lzo-rle a module, the kmods layer holds it (and its dep); the built-in lzo stays silent', () => {
  const p = makeProject();
  try {
    const modRoot = join(p.dir, 'kbuild/mods');
    fixtureModules(modRoot);
    p.write('rapido.conf', readFileSync(join(p.dir, 'rapido.conf'), 'utf8') + `KERNEL_RELEASE="${REL}"\nKERNEL_INSTALL_MOD_PATH="${modRoot}"\n`);
    const r = p.run(['cut', '-B', 'simple-example']);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /lzo/, 'a built-in try-kmod is not mentioned');
    const view = new ImageView(readFileSync(p.out));
    for (const m of ['drivers/block/zram/zram.ko', 'mm/zsmalloc.ko', 'crypto/lzo-rle.ko', 'lib/lzo/lzo_compress.ko']) {
      assert.ok(view.has(`/lib/modules/${REL}/kernel/${m}`), `the image holds ${m}`);
    }
    assert.ok(!view.has(`/lib/modules/${REL}/kernel/crypto/lzo.ko`), 'nothing is added for a built-in module');
  } finally {
    p.cleanup();
  }
});
