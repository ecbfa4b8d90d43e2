/** A big module set is several kmods layers: a rebuilt module rewrites its own chunk, and the result equals a fresh cut's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { ImageView } from '../helpers/imageView.js';

const REL = '9.9.9-chunks';
const MODULES = 12;

/** Twelve 600 KiB modules (7 MiB, past the kmods chunking threshold) of fixed pseudo-random bytes. */
function fixtureModules(root: string): string {
  const modDir = join(root, 'lib/modules', REL);
  let seed = 7;
  const dep: string[] = [];
  for (let i = 0; i < MODULES; i++) {
    const rel = `kernel/drivers/fixture/m${String(i).padStart(2, '0')}.ko`;
    const p = join(modDir, rel);
    mkdirSync(dirname(p), { recursive: true });
    const b = Buffer.alloc(600 << 10);
    for (let j = 0; j < b.length; j++) b[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    writeFileSync(p, b);
    dep.push(`${rel}:`);
  }
  writeFileSync(join(modDir, 'modules.dep'), dep.join('\n') + '\n');
  writeFileSync(join(modDir, 'modules.alias'), '');
  writeFileSync(join(modDir, 'modules.builtin'), '');
  return modDir;
}

function project(): Project {
  const p = makeProject();
  p.write('r.rapido', `bin cat\n${Array.from({ length: MODULES }, (_, i) => `kmod m${String(i).padStart(2, '0')}`).join('\n')}\nautorun /bin/true\n`);
  return p;
}

const stampLayers = (p: Project): { name: string; key: string }[] => JSON.parse(readFileSync(join(p.out, '..', '.myinitrd.rapido.json'), 'utf8')).layers;

test('kmods chunks: a 7 MiB module set is several layers; one rebuilt module rebuilds one of them, as a fresh cut would', () => {
  const p = project();
  const fresh = project();
  try {
    const modDir = fixtureModules(join(p.dir, 'mods'));
    const conf = `RAPIDO_STORE="${p.store}"\nDRACUT_OUT="${p.out}"\nKERNEL_RELEASE="${REL}"\nKERNEL_INSTALL_MOD_PATH="${join(p.dir, 'mods')}"\n`;
    p.write('rapido.conf', conf);
    const first = p.run(['cut', '-B', './r.rapido']);
    assert.equal(first.status, 0, first.stderr);
    const chunks = stampLayers(p).filter((l) => /^kmods#\d+$/.test(l.name));
    assert.ok(chunks.length >= 2, `kmods is chunked: ${stampLayers(p).map((l) => l.name).join(' ')}`);

    const edited = join(modDir, 'kernel/drivers/fixture/m03.ko');
    appendFileSync(edited, 'rebuilt');
    const again = p.run(['cut', '-B', './r.rapido']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /\(1 built, \d+ reused\), rebuilt: kmods#\d+, /);
    const view = new ImageView(readFileSync(p.out));
    assert.equal(view.lookup(`/lib/modules/${REL}/kernel/drivers/fixture/m03.ko`)!.data!.length, (600 << 10) + 7);

    // Another project cutting the edited modules from scratch gets the same layers and the same image.
    fresh.write('rapido.conf', `RAPIDO_STORE="${fresh.store}"\nDRACUT_OUT="${fresh.out}"\nKERNEL_RELEASE="${REL}"\nKERNEL_INSTALL_MOD_PATH="${join(p.dir, 'mods')}"\n`);
    const scratch = fresh.run(['cut', '-B', './r.rapido']);
    assert.equal(scratch.status, 0, scratch.stderr);
    assert.deepEqual(stampLayers(fresh).map((l) => [l.name, l.key]), stampLayers(p).map((l) => [l.name, l.key]));
    assert.deepEqual(readFileSync(fresh.out), readFileSync(p.out));
  } finally {
    p.cleanup();
    fresh.cleanup();
  }
});
