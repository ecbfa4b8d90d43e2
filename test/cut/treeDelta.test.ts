import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, lstatSync, lutimesSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { treeDelta } from '../../src/cut/treeDelta.js';
import type { CutContext } from '../../src/derivations/builders/context.js';
import type { LayerPlan } from '../../src/derivations/layerPlan.js';
import type { TreeShape } from '../../src/derivations/treeSnapshot.js';
import { changedInputs, readStamp } from '../../src/image/stamp.js';
import { readTreeSnapshots, snapshotKey } from '../../src/image/treeSnapshotFile.js';
import { digestFileSync, initHasher } from '../../src/store/digest.js';
import { makeProject, type Project } from '../helpers/cliHarness.js';

const PLAN = 'tree:/data';

/** As if edited a while ago (a symlink's own times, not its target's). */
function age(path: string): void {
  const t = new Date(Date.now() - 10_000);
  if (lstatSync(path).isSymbolicLink()) lutimesSync(path, t, t);
  else utimesSync(path, t, t);
}

/** ~`mib` MiB of deterministic files in groups, plus what the walk treats apart: a program (an ELF), a symlink, a left-out `.o`. */
function bigTree(p: Project, mib: number): string[] {
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const pool = Buffer.alloc(2 << 20);
  for (let i = 0; i < pool.length; i++) pool[i] = (rnd() * 256) | 0;
  const all: string[] = [];
  let bytes = 0;
  for (let g = 0; bytes < mib << 20; g++) {
    for (let f = 0; f < 40; f++) {
      const size = f === 0 ? 600_000 : 1000 + ((rnd() * 30_000) | 0);
      const off = (rnd() * (pool.length - size)) | 0;
      const path = p.write(`data/g${String(g).padStart(2, '0')}/${String(f).padStart(3, '0')}`, '');
      writeFileSync(path, pool.subarray(off, off + size));
      all.push(path);
      bytes += size;
    }
  }
  const prog = p.write('data/bin/prog', '');
  copyFileSync('/bin/true', prog);
  chmodSync(prog, 0o755);
  p.write('data/g01/helper.o', 'object\n');
  symlinkSync('../g00/001', join(p.dir, 'data/g01/link'));
  all.push(prog, join(p.dir, 'data/g01/helper.o'), join(p.dir, 'data/g01/link'), join(p.dir, 'data/bin'));
  for (const dir of new Set(all.map((f) => f.slice(0, f.lastIndexOf('/'))))) all.push(dir);
  all.push(join(p.dir, 'data'));
  return all;
}

/** What the cut would do with the tree now: a delta (its keys) or a walk (undefined). */
async function delta(p: Project): Promise<string[] | undefined> {
  await initHasher();
  const stamp = readStamp(p.out)!;
  const olds = stamp.layers.filter((l) => (l.plan ?? l.name) === PLAN);
  const snap = readTreeSnapshots(p.out)[PLAN];
  assert.ok(snap, 'the last cut left a snapshot of the tree');
  assert.equal(snapshotKey(snap), olds[0].memo?.snapshot?.key, 'the stamp vouches for it');
  const plan: LayerPlan = { name: PLAN, kind: 'tree', directives: [{ kind: 'tree', args: ['/data', join(p.dir, 'data')], file: 'r.rapido', line: 2 }] };
  const shape = olds[0].memo!.snapshot.value as TreeShape;
  const d = treeDelta(plan, { epoch: 0 } as CutContext, { digest: (path) => digestFileSync(path) }, snap, shape, olds, olds.flatMap((l) => changedInputs(l)), Date.now());
  return d?.parts.map((x) => x.key);
}

/** Each chunk layer's recorded inputs (paths and signatures; digests are kept or not by raciness). */
function chunkInputs(p: Project): [string, string | null][][] {
  return readStamp(p.out)!.layers.filter((l) => (l.plan ?? l.name) === PLAN).map((l) => l.inputs.map(([path, sig]) => [path, sig]));
}

function treeKeys(p: Project): string[] {
  return readStamp(p.out)!.layers.filter((l) => (l.plan ?? l.name) === PLAN).map((l) => l.key);
}

/**
 * A project with a 20 MiB tree, cut twice (nothing racy any more), and one
 * that cuts the same tree afresh each time (no stamp, no snapshot, another store).
 */
function twoProjects(): { p: Project; fresh: Project; cut: (q: Project) => void; cleanup: () => void } {
  const p = makeProject();
  const fresh = makeProject();
  for (const f of bigTree(p, 20)) age(f);
  p.write('r.rapido', 'bin cat\ntree /data data\nautorun /bin/true\n');
  fresh.write('r.rapido', `bin cat\ntree /data ${join(p.dir, 'data')}\nautorun /bin/true\n`);
  age(join(p.dir, 'r.rapido'));
  const cut = (q: Project) => {
    const r = q.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 0, r.stderr);
  };
  cut(p);
  cut(p);
  return { p, fresh, cut, cleanup: () => { p.cleanup(); fresh.cleanup(); } };
}

test('cut: a re-cut patched from the tree snapshot gives the keys and image bytes of a fresh cut, through edits, racy edits, renames, adds and removes', async () => {
  const { p, fresh, cut, cleanup } = twoProjects();
  try {
    assert.ok(treeKeys(p).length >= 4, 'a 20 MiB tree is several chunks');
    const lists = chunkInputs(p);
    assert.ok(lists.every((l) => l.length > 0), 'every chunk records its own files');
    assert.ok(lists[2].every(([path]) => !lists[0].some(([q]) => q === path)), 'and only there');
    const d = (rel: string) => join(p.dir, 'data', rel);
    const steps: [what: string, edit: () => void, expectDelta: boolean][] = [
      ['append to one file', () => { writeFileSync(d('g03/005'), '# edit\n', { flag: 'a' }); age(d('g03/005')); }, true],
      ['edit within the racy window', () => writeFileSync(d('g03/005'), '# racy\n', { flag: 'a' }), true],
      ['a re-cut while it is still racy', () => {}, true],
      ['save by rename (a new inode, the directory touched)', () => {
        writeFileSync(d('g01/002.tmp'), 'renamed over\n');
        renameSync(d('g01/002.tmp'), d('g01/002'));
        age(d('g01/002'));
        age(d('g01'));
      }, true],
      ['edit a left-out .o', () => { writeFileSync(d('g01/helper.o'), 'other\n'); age(d('g01/helper.o')); }, true],
      ['edit files in two chunks, one growing a lot', () => {
        writeFileSync(d('g00/003'), Buffer.alloc(3 << 20, 7));
        writeFileSync(d('g04/007'), '# two\n', { flag: 'a' });
        age(d('g00/003'));
        age(d('g04/007'));
      }, true],
      ['add a file', () => { writeFileSync(d('g02/new'), 'new\n'); age(d('g02/new')); age(d('g02')); }, false],
      ['remove a file', () => { rmSync(d('g04/003')); age(d('g04')); }, false],
      ['rename a file', () => { renameSync(d('g05/001'), d('g05/zzz')); age(d('g05')); }, false],
      ['make a file executable', () => { chmodSync(d('g02/010'), 0o755); }, false],
      ['retarget a symlink', () => { rmSync(d('g01/link')); symlinkSync('../g00/002', d('g01/link')); age(d('g01/link')); age(d('g01')); }, false],
      ['replace the program', () => { copyFileSync('/bin/false', d('bin/prog')); age(d('bin/prog')); }, false],
      ['after the walk, an edit again', () => { writeFileSync(d('g02/new'), 'changed\n'); age(d('g02/new')); }, true],
      ['an edit over a damaged snapshot (its blocks cut short): walked', () => {
        writeFileSync(d('g03/005'), '# again\n', { flag: 'a' });
        age(d('g03/005'));
        const sidecar = join(p.dir, 'initrds', '.myinitrd.rapido.tree.json');
        const lines = readFileSync(sidecar, 'utf8').split('\n');
        writeFileSync(sidecar, [lines[0], ...lines.slice(1).map((l) => l.slice(0, l.length >> 1))].join('\n'));
      }, false],
      ['and an edit after that walk: patched again', () => { writeFileSync(d('g04/007'), '# three\n', { flag: 'a' }); age(d('g04/007')); }, true],
    ];
    for (const [what, edit, expectDelta] of steps) {
      edit();
      const keys = await delta(p);
      assert.equal(keys !== undefined, expectDelta, `${what}: ${expectDelta ? 'patched' : 'walked'}`);
      cut(p);
      if (keys) assert.deepEqual(keys, treeKeys(p), `${what}: the delta's keys are the cut's`);
      // A fresh derivation of the same tree: no stamp, no snapshot, another store.
      rmSync(join(fresh.dir, 'initrds'), { recursive: true, force: true });
      cut(fresh);
      assert.deepEqual(treeKeys(p), treeKeys(fresh), `${what}: same keys as a fresh cut`);
      assert.ok(readFileSync(p.out).equals(readFileSync(fresh.out)), `${what}: same image bytes as a fresh cut`);
      assert.deepEqual(chunkInputs(p), chunkInputs(fresh), `${what}: each chunk's layer records the inputs a fresh cut's does`);
    }
    const view = readFileSync(p.out).includes(Buffer.from('# racy\n'));
    assert.ok(view, 'the racy edit is in the image');
  } finally {
    cleanup();
  }
});

test('cut: a stamp from before per-chunk inputs (all of a tree\'s inputs on its first layer, one line) is patched from as well', async () => {
  const { p, fresh, cut, cleanup } = twoProjects();
  try {
    // The older layout: every input of the plan on its first chunk's layer, in path order; the file one JSON line.
    const stampPath = join(p.dir, 'initrds', '.myinitrd.rapido.json');
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as { layers: { name: string; plan?: string; inputs: [string, string | null, string?][] }[] };
    const tree = stamp.layers.filter((l) => (l.plan ?? l.name) === PLAN);
    const all = tree.flatMap((l) => l.inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    assert.ok(tree.length >= 4 && tree[3].inputs.length > 0);
    tree.forEach((l, i) => (l.inputs = i === 0 ? all : []));
    writeFileSync(stampPath, JSON.stringify(stamp));

    // An edit in a later chunk: found though its input is on the first layer.
    const edited = join(p.dir, 'data', 'g05', '007');
    writeFileSync(edited, '# old stamp\n', { flag: 'a' });
    age(edited);
    const keys = await delta(p);
    assert.ok(keys, 'patched, not walked');
    cut(p);
    assert.deepEqual(keys, treeKeys(p));
    cut(fresh);
    assert.deepEqual(treeKeys(p), treeKeys(fresh), 'same keys as a fresh cut');
    assert.ok(readFileSync(p.out).equals(readFileSync(fresh.out)), 'same image bytes as a fresh cut');
  } finally {
    cleanup();
  }
});
