import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, RAPIDO_STORE_BIN } from '../helpers/cliHarness.js';

test('why: a layer whose inputs were too fresh at the last cut says so; once they are older, it does not', () => {
  const p = makeProject();
  try {
    p.write('r.rapido', 'description racy\nbin cat\nautorun run.sh\n');
    p.write('run.sh', '#!/bin/sh\necho hi\n');
    // Everything but run.sh looks old: only the overlay layer (which holds run.sh) is racy.
    const old = new Date(Date.now() - 10_000);
    for (const f of ['r.rapido', 'rapido.conf']) utimesSync(join(p.dir, f), old, old);
    // run.sh's mtime in the future: too fresh however long a loaded machine takes to reach the cut.
    const ahead = new Date(Date.now() + 3_600_000);
    utimesSync(join(p.dir, 'run.sh'), ahead, ahead);
    const cut = p.run(['cut', '-B', './r.rapido']);
    assert.equal(cut.status, 0, cut.stderr);

    const why = p.run(['why', './r.rapido'], { bin: RAPIDO_STORE_BIN });
    assert.equal(why.status, 0, why.stderr);
    assert.match(why.stdout, /overlay\s+native-overlay\s+hit .*\n\s+an input changed within 1000 ms of the last cut: its stat data was too fresh to trust/);
    assert.doesNotMatch(why.stdout, /system\s+native-system\s+hit .*\n\s+an input changed/);
    const json = JSON.parse(p.run(['why', '--json', './r.rapido'], { bin: RAPIDO_STORE_BIN }).stdout) as { layers: { layer: string; racy?: boolean }[] };
    assert.deepEqual(json.layers.filter((l) => l.racy).map((l) => l.layer), ['overlay']);

    utimesSync(join(p.dir, 'run.sh'), old, old);
    assert.equal(p.run(['cut', '-B', './r.rapido']).status, 0);
    const calm = p.run(['why', './r.rapido'], { bin: RAPIDO_STORE_BIN });
    assert.doesNotMatch(calm.stdout, /too fresh/);
  } finally {
    p.cleanup();
  }
});
