/**
 * `secret VAR`: the guest gets the value (in /rapido.env), a change re-cuts
 * only the overlay, and nothing rapido records or prints holds it: the
 * stamp, the store's index, `rapido-store info` and `why`, `rapido list`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeProject, RAPIDO_STORE_BIN } from '../helpers/cliHarness.js';
import { hostKernel, skipUnless } from '../helpers/hostPrereqs.js';
import { ImageView } from '../helpers/imageView.js';

const PW1 = 'hunter2-first-Secret';
const PW2 = 'hunter2-second-Secret';
const RECIPE = '# The share password.\nsecret SHARE_PW\n# Who logs in.\nenv SHARE_USER rapido\nbin cat\n';

/** Every file under dir, recursively (the store: LMDB index, objects, journal). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('secret values', { ...skipUnless(hostKernel() !== null, 'a kernel with modules (scripts/setup.sh)') }, () => {
  it('reach the guest, re-cut the overlay when changed, and are never recorded or shown', () => {
    const p = makeProject(`SHARE_PW="${PW1}"\n`);
    try {
      p.write('sec.rapido', RECIPE);
      const cut = p.run(['cut', '-B', './sec.rapido']);
      assert.equal(cut.status, 0, cut.stderr);
      const env = new ImageView(readFileSync(p.out)).lookup('/rapido.env');
      assert.match(env!.data!.toString(), new RegExp(`export SHARE_PW='${PW1}'`), 'the guest gets the value');

      const info = p.run(['info', './sec.rapido'], { bin: RAPIDO_STORE_BIN });
      assert.equal(info.status, 0, info.stderr);
      assert.match(info.stdout, /SHARE_PW=<secret scrypt:[0-9a-f]{32}> SHARE_USER=rapido/);
      const list = p.run(['list', '--verbose', './sec.rapido']);
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, /SHARE_PW {4}required, no default; set \(secret: not shown\); secret/);
      assert.match(list.stdout, /SHARE_USER {2}default "rapido"; unset\n\s+Who logs in\./);

      p.write('rapido.conf', readFileSync(join(p.dir, 'rapido.conf'), 'utf8').replace(PW1, PW2));
      const why = p.run(['why', './sec.rapido'], { bin: RAPIDO_STORE_BIN });
      assert.equal(why.status, 0, why.stderr);
      assert.match(why.stdout, /overlay +native-overlay +MISS/);
      assert.match(why.stdout, /config value SHARE_PW: "<secret scrypt:[0-9a-f]{32}>" -> "<secret scrypt:[0-9a-f]{32}>"/);
      assert.match(why.stdout, /system +native-system +hit/);
      const recut = p.run(['cut', '-B', './sec.rapido']);
      assert.equal(recut.status, 0, recut.stderr);
      assert.match(recut.stderr + recut.stdout, /1 built, \d+ reused/);

      for (const out of [cut, info, list, why, recut]) assert.doesNotMatch(out.stdout + out.stderr, /hunter2/);
      // Only the overlay objects (the image's own bytes) hold the value; no record, stamp or index does.
      const holders = [...filesUnder(p.store), ...filesUnder(join(p.dir, 'initrds'))]
        .filter((f) => readFileSync(f).includes('hunter2'))
        .map((f) => f.slice(p.dir.length + 1));
      assert.ok(holders.every((f) => /^store\/objects\//.test(f) || /^initrds\/\.?myinitrd(\.spare)?$/.test(f)), holders.join(', '));
      assert.ok(holders.some((f) => f.startsWith('store/objects/')));
    } finally {
      p.cleanup();
    }
  });
});
