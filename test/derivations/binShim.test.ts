/**
 * `bin NAME` that PATH resolves to a script shim (pyenv's python3, say)
 * outside the system directories: the system binary wins, or the cut refuses.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNewc } from '../../src/derivations/cpio/readNewc.js';
import { makeProject } from '../helpers/cliHarness.js';

const SHIM = '#!/usr/bin/env bash\nexec pyenv exec "$(basename "$0")" "$@"\n';

test('bin NAME: a script shim first on PATH gives way to the system binary; a shim alone is refused by bin, skipped by try-bin', () => {
  const p = makeProject();
  try {
    const shims = join(p.dir, 'shims');
    for (const name of ['cat', 'only-a-shim']) chmodSync(p.write(`shims/${name}`, SHIM), 0o755);
    const env = { PATH: `${shims}:/usr/sbin:/usr/bin:/sbin:/bin` };
    assert.ok(existsSync('/usr/bin/cat') || existsSync('/bin/cat'));

    p.write('sys.rapido', 'bin cat\n');
    const sys = p.run(['cut', '-B', './sys.rapido'], { env });
    assert.equal(sys.status, 0, sys.stderr);
    const paths = new Set(readNewc(readFileSync(p.out)).map((e) => e.path));
    assert.ok(!paths.has(join(shims, 'cat').slice(1)), 'the shim is not in the image');
    assert.ok(paths.has('usr/bin/cat') || paths.has('bin/cat'), 'the system cat is');

    p.write('shim.rapido', 'bin only-a-shim\n');
    const refused = p.run(['cut', '-B', './shim.rapido'], { env });
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /shim\.rapido:1: 'only-a-shim' resolves to .*\/shims\/only-a-shim, a script outside the system directories/);
    assert.match(refused.stderr, /BIN_SHIM|install the real only-a-shim/);

    p.write('try.rapido', 'bin cat\ntry-bin only-a-shim\n');
    const skipped = p.run(['cut', '-B', './try.rapido'], { env });
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.ok(!readNewc(readFileSync(p.out)).some((e) => e.path.endsWith('only-a-shim')));

    // Its full path takes the script as it is.
    p.write('path.rapido', `bin ${join(shims, 'only-a-shim')}\n`);
    const byPath = p.run(['cut', '-B', './path.rapido'], { env });
    assert.equal(byPath.status, 0, byPath.stderr);
    assert.ok(readNewc(readFileSync(p.out)).some((e) => e.path === join(shims, 'only-a-shim').slice(1)));
  } finally {
    p.cleanup();
  }
});
