import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readNewc } from '../../../src/derivations/cpio/readNewc.js';
import { initHasher, openStore } from '../../../src/store/index.js';
import { RAPIDO, RAPIDO_STORE_BIN } from '../../helpers/cliHarness.js';
import { addLayer } from '../../store/gcFixtures.js';
import { altConf, builtCount, cut, makeProject, objectFile, stampKeys, store, storeJson, type Project } from './storeCli.js';

const GC_WITH_HOOKS = fileURLToPath(new URL('./helpers/gcWithHooks.js', import.meta.url));

function recipes(p: Project): void {
  for (const n of [1, 2, 3]) {
    p.write(`d${n}/file`, `data of recipe ${n}\n`.repeat(1000));
    p.write(`r${n}.rapido`, `bin cat\ntree /d d${n}\nautorun /bin/true\n`);
  }
}

function objectKeys(p: Project): string[] {
  const root = join(p.store, 'objects');
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d))).sort();
}

test('gc via the CLI: images, recent cuts and pins are roots; --dry-run removes nothing; the image re-cuts without building', () => {
  const p = makeProject();
  try {
    recipes(p);
    cut(p, './r1.rapido'); // into initrds/myinitrd: an image root
    const conf2 = altConf(p, 'two.conf', { out: join(p.dir, 'initrds', 'two') });
    const conf3 = altConf(p, 'three.conf', { out: join(p.dir, 'initrds', 'three') });
    cut(p, './r2.rapido', { RAPIDO_CONF: conf2 });
    cut(p, './r3.rapido', { RAPIDO_CONF: conf3 });
    const k1 = stampKeys(p.out);
    const k2 = stampKeys(join(p.dir, 'initrds', 'two'));
    const k3 = stampKeys(join(p.dir, 'initrds', 'three'));
    for (const n of ['two', 'three']) rmSync(join(p.dir, 'initrds', n)); // images gone: no longer roots
    assert.equal(store(p, ['pin', 'keep3', './r3.rapido']).status, 0);

    const before = objectKeys(p);
    const dry = storeJson(p, ['gc', '--dry-run', '--grace', '0', '--keep-last', '0']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.deepEqual(objectKeys(p), before, '--dry-run removed nothing');
    assert.deepEqual(dry.json.removed.items.map((i: { key: string }) => i.key), [k2['tree:/d']], 'only r2\'s own layer is unrooted');
    assert.deepEqual(dry.json.kept.rooted.byKind.image.roots, [p.out]);
    assert.deepEqual(dry.json.kept.rooted.byKind.pin.roots, ['keep3']);
    assert.equal(dry.json.kept.rooted.byKind.image.layers, 4);

    // The recent cuts of each recipe are roots too.
    const recent = storeJson(p, ['gc', '--dry-run', '--grace', '0', '--keep-last', '1']);
    assert.equal(recent.json.removed.items.length, 0);
    assert.deepEqual(recent.json.kept.rooted.byKind.recent.roots, ['./r1.rapido', './r2.rapido', './r3.rapido']);

    const text = store(p, ['gc', '--dry-run', '--grace', '0', '--keep-last', '0']);
    assert.match(text.stdout, /gc --dry-run: would remove 1 layer: [\d.]+ KiB/);
    assert.match(text.stdout, /^ {2}images +4 layers, .*: 1 image .*initrds\/myinitrd$/m);
    assert.match(text.stdout, /^ {2}last 0 cuts +none$/m);
    assert.match(text.stdout, /^ {2}pins +4 layers, .*: keep3$/m);

    const real = store(p, ['gc', '--grace', '0', '--keep-last', '0']);
    assert.equal(real.status, 0, real.stderr);
    assert.match(real.stdout, /^gc: removed 1 layer: /m);
    assert.equal(existsSync(objectFile(p, k2['tree:/d']!)), false);
    for (const k of [...Object.values(k1), ...Object.values(k3)]) assert.ok(existsSync(objectFile(p, k)), `${k} kept`);
    assert.equal(store(p, ['verify']).status, 0);

    // The grace period protects everything fresh by default.
    rmSync(p.out);
    const graced = storeJson(p, ['gc', '--dry-run', '--keep-last', '0']);
    assert.equal(graced.json.removed.items.length, 0);
    assert.ok(graced.json.kept.young.layers > 0);

    assert.equal(store(p, ['unpin', 'keep3']).status, 0);
    const r2 = p.run(['cut', '-B', './r2.rapido'], { env: { RAPIDO_CONF: conf2 } });
    assert.equal(builtCount(r2.stderr), 1, 'only the collected layer is rebuilt');
  } finally {
    p.cleanup();
  }
});

test('gc: bad --max-size, --older-than and --keep-last are usage errors', () => {
  const p = makeProject();
  try {
    for (const [args, re] of [
      [['gc', '--max-size', 'lots'], /--max-size: cannot read "lots" as a size/],
      [['gc', '--older-than', '7 days'], /--older-than: cannot read "7 days" as a duration/],
      [['gc', '--keep-last', '-1'], /--keep-last must be a whole number/],
      [['gc', '--bogus'], /Unknown argument: bogus/],
    ] as [string[], RegExp][]) {
      const r = store(p, args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /hint: /);
    }
  } finally {
    p.cleanup();
  }
});

/** A project whose store holds n unrooted layers of 64 KiB. */
async function storeWithGarbage(p: Project, n: number): Promise<void> {
  await initHasher();
  const s = openStore(p.store);
  try {
    for (let i = 0; i < n; i++) addLayer(s, `garbage-${i}`, Buffer.alloc(64 << 10, i), 3_600_000);
  } finally {
    await s.close();
  }
}

test('a gc killed midway leaves a store verify accepts, and the next gc finishes the job', async () => {
  const p = makeProject();
  try {
    await storeWithGarbage(p, 40);
    // Deterministic: killed right after unlinking the 7th object, before any record is removed.
    const killed = spawnSync(process.execPath, [GC_WITH_HOOKS, 'kill-after', '7', JSON.stringify({ grace: '0' })], { cwd: p.dir, env: p.env, encoding: 'utf8' });
    assert.notEqual(killed.status, 0, 'the gc was killed');
    assert.equal(objectKeys(p).length, 33);
    const v = storeJson(p, ['verify']);
    assert.equal(v.status, 0, `verify accepts the half-done gc: ${JSON.stringify(v.json.problems)}`);
    assert.equal(v.json.notes.length, 7);
    const info = store(p, ['info']);
    assert.match(info.stdout, /an interrupted gc left 40 layers half removed/);
    const next = store(p, ['gc', '--grace', '0']);
    assert.match(next.stdout, /finished the removal of 40 layers left by an interrupted gc/);
    assert.match(next.stdout, /removed 33 layers/);
    const clean = storeJson(p, ['verify']);
    assert.equal(clean.status, 0);
    assert.deepEqual([clean.json.problems, clean.json.notes], [[], []]);
    assert.deepEqual(objectKeys(p), []);

    // Killed at arbitrary moments: never anything verify rejects.
    for (const delay of [60, 120, 180, 240, 320]) {
      await storeWithGarbage(p, 60);
      const child = spawn(process.execPath, [RAPIDO_STORE_BIN, 'gc', '--grace', '0'], { cwd: p.dir, env: p.env, stdio: 'ignore' });
      const closed = new Promise((r) => child.on('close', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL'); // a no-op if it already finished
      await closed;
      const after = storeJson(p, ['verify']);
      assert.equal(after.status, 0, `killed after ${delay} ms: ${JSON.stringify(after.json.problems)}`);
      assert.equal(store(p, ['gc', '--grace', '0']).status, 0);
      assert.deepEqual(objectKeys(p), []);
    }
  } finally {
    p.cleanup();
  }
});

/** A plain `rapido cut -B` in its own process: the cut wraps itself in the cut guard. */
function guardedCut(p: Project, recipe: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RAPIDO, 'cut', '-B', recipe], { cwd: p.dir, env: { ...p.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('close', (c) => resolve({ code: c ?? -1, stderr }));
  });
}

/** `rapido-store ARGS`, or with argv[0] a node script (the gc with hooks), in its own process. */
function runStore(p: Project, args: string[], onStderr?: (s: string) => void): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const argv = args[0].endsWith('.js') ? args : [RAPIDO_STORE_BIN, ...args];
    const child = spawn(process.execPath, argv, { cwd: p.dir, env: p.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr);
    });
    child.on('close', (c) => resolve({ code: c ?? -1, stdout, stderr }));
  });
}

test('a gc and a cut at once: both succeed, the image is whole and its layers stay in the store', async () => {
  const p = makeProject();
  try {
    p.write('big/blob', 'x'.repeat(8 << 20));
    p.write('r.rapido', 'bin cat bash\ntree /big big\nautorun /bin/true\n');
    const two = join(p.dir, 'initrds', 'two');
    const conf2 = altConf(p, 'two.conf', { out: two });
    // Three orders: the cut first; gc first, paused after choosing its victims (the cut starts in
    // that pause, so without exclusion it would reuse layers the gc is about to delete); both at once.
    for (const order of ['cut first', 'gc paused first', 'together']) {
      // The layers exist but no root holds them: exactly what a gc collects and this cut reuses.
      cut(p, './r.rapido', { RAPIDO_CONF: conf2 });
      for (const f of readdirSync(join(p.dir, 'initrds'))) rmSync(join(p.dir, 'initrds', f));
      let c: Awaited<ReturnType<typeof guardedCut>>;
      let g: Awaited<ReturnType<typeof runStore>>;
      const gcArgs = ['gc', '--grace', '0', '--keep-last', '0'];
      if (order === 'cut first') {
        const cutting = guardedCut(p, './r.rapido', { RAPIDO_CONF: conf2 });
        await new Promise((r) => setTimeout(r, 30));
        [c, g] = await Promise.all([cutting, runStore(p, gcArgs)]);
      } else if (order === 'gc paused first') {
        let cutting: ReturnType<typeof guardedCut> | undefined;
        const pausedGc = [GC_WITH_HOOKS, 'pause', '1500', JSON.stringify({ grace: '0', keepLast: 0 })];
        g = await runStore(p, pausedGc, (err) => {
          if (!cutting && err.includes('pausing before removal')) cutting = guardedCut(p, './r.rapido', { RAPIDO_CONF: conf2 });
        });
        c = await cutting!;
      } else {
        [c, g] = await Promise.all([guardedCut(p, './r.rapido', { RAPIDO_CONF: conf2 }), runStore(p, gcArgs)]);
      }
      assert.equal(c.code, 0, c.stderr);
      assert.equal(g.code, 0, g.stderr);
      const entries = readNewc(readFileSync(two));
      assert.equal(entries.find((e) => e.path === 'big/blob')?.data?.length, 8 << 20, 'the image is whole');
      for (const [name, key] of Object.entries(stampKeys(two))) assert.ok(existsSync(objectFile(p, key)), `layer ${name} (${key}) is still in the store after gc (${order})`);
      assert.equal(store(p, ['verify']).status, 0);
    }
  } finally {
    p.cleanup();
  }
});
