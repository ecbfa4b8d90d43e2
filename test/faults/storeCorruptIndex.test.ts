// Faults: the store's LMDB file (db/data.mdb) truncated or overwritten. LMDB
// maps it and dies with SIGBUS/SIGSEGV on such a file; every command must
// instead name the file and the way out, and `verify --repair` must rebuild
// a working index from the objects without losing an intact one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { builtCount, cut, objectFile, stampKeys, store, storeJson } from '../commands/store/storeCli.js';

/** A project whose cut leaves a multi-page index (thousands of stat-cache entries), larger than 96 KiB. */
function cutProject(): { p: Project; keys: Record<string, string>; objects: Map<string, Buffer>; image: Buffer } {
  const p = makeProject();
  for (let i = 0; i < 4000; i++) p.write(`data/f${i}.txt`, `file ${i}\n`);
  p.write('data/big.bin', randomBytes(300_000).toString('hex'));
  p.write('r.rapido', 'bin cat\ntree /data data\nautorun /bin/true\n');
  cut(p, './r.rapido');
  const keys = stampKeys(p.out);
  const objects = new Map(Object.values(keys).map((k) => [k, readFileSync(objectFile(p, k))]));
  return { p, keys, objects, image: readFileSync(p.out) };
}

const dataFile = (p: Project) => join(p.store, 'db', 'data.mdb');

/** Every store command that opens the index, reading or writing. */
function commands(p: Project): string[][] {
  return [['ls'], ['verify'], ['info'], ['why', './r.rapido'], ['pins'], ['gc', '--dry-run'], ['gc'], ['export', '-o', join(p.dir, 'x.tar')], ['pin', 'keep', './r.rapido']];
}

function assertRefusedCleanly(p: Project, why: RegExp): void {
  const file = dataFile(p).replace(/[.]/g, '\\.');
  const line = new RegExp(`^rapido-store: error: the store index ${file} is damaged \\(${why.source}\\); run rapido-store verify --repair to move it aside and rebuild the index from the layer objects\\n$`);
  for (const args of commands(p)) {
    const r = store(p, args);
    assert.equal(r.status, 1, `rapido-store ${args.join(' ')}: exit 1, not a signal (status ${r.status}): ${r.stderr}`);
    assert.match(r.stderr, line, `rapido-store ${args.join(' ')}`);
    assert.equal(r.stdout, '', `rapido-store ${args.join(' ')} prints nothing else`);
  }
}

/** verify --repair rebuilds; every intact object survives; the next cut reuses them all and makes the same image. */
function assertRebuilds(p: Project, c: ReturnType<typeof cutProject>, damaged: Buffer): void {
  const repair = store(p, ['verify', '--repair']);
  assert.equal(repair.status, 1, `a damaged index is a problem found (and repaired): ${repair.stderr}`);
  const moved = /^index: damaged \(.*\); moved aside to (\S+)$/m.exec(repair.stdout);
  assert.ok(moved, repair.stdout);
  assert.equal(moved[1], join(p.store, readdirSync(p.store).find((n) => n.startsWith('db.corrupt-'))!));
  assert.deepEqual(readFileSync(join(moved[1]!, 'data.mdb')), damaged, 'the damaged file is kept, as it was');
  assert.match(repair.stdout, /^rebuilt the index: 4 layer records re-created from their objects \(.*\)$/m);
  assert.match(repair.stdout, /pinned as "recovered", so gc keeps them/);
  assert.match(repair.stdout, /lost with the old index: cut history, pins/);
  assert.match(repair.stdout, /^ok: every record has its intact object/m);
  for (const [k, bytes] of c.objects) assert.deepEqual(readFileSync(objectFile(p, k)), bytes, `object ${k} intact`);

  const v = storeJson(p, ['verify']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.json.records, 4);
  assert.deepEqual(v.json.problems, []);
  assert.equal(store(p, ['ls']).status, 0);

  // Without the stamp the cut looks every layer up in the index: all three are found.
  rmSync(join(p.dir, 'initrds', '.myinitrd.rapido.json'));
  const again = p.run(['cut', '-B', './r.rapido']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(builtCount(again.stderr), 0, again.stderr);
  assert.deepEqual(readFileSync(p.out), c.image);
  assert.deepEqual(stampKeys(p.out), c.keys);
  assert.equal(store(p, ['gc', '--grace', '0']).status, 0);
  for (const k of c.objects.keys()) assert.ok(existsSync(objectFile(p, k)), 'gc keeps the re-cut (and pinned) layers');
}

for (const size of [8 * 1024, 96 * 1024]) {
  test(`data.mdb truncated to ${size / 1024} KiB: every command names the file and the way out; verify --repair rebuilds from the objects`, () => {
    const c = cutProject();
    const { p } = c;
    try {
      assert.ok(statSync(dataFile(p)).size > 2 * size, 'the index is bigger than what is left of it');
      truncateSync(dataFile(p), size);
      const damaged = readFileSync(dataFile(p));
      assertRefusedCleanly(p, /truncated: \d+ pages of 4096 bytes left, but its index uses page \d+/);
      assertRebuilds(p, c, damaged);
    } finally {
      p.cleanup();
    }
  });
}

test('data.mdb full of random bytes: every command names the file and the way out; verify --repair rebuilds from the objects', () => {
  const c = cutProject();
  const { p } = c;
  try {
    writeFileSync(dataFile(p), randomBytes(statSync(dataFile(p)).size));
    const damaged = readFileSync(dataFile(p));
    assertRefusedCleanly(p, /no LMDB magic in its first meta page: overwritten, or not an LMDB data file/);
    assertRebuilds(p, c, damaged);
  } finally {
    p.cleanup();
  }
});

test('rapido cut with a damaged index: a no-op and a warm re-cut work without it, a cold cut names the way out; repair keeps the warm cut', () => {
  const c = cutProject();
  const { p } = c;
  try {
    truncateSync(dataFile(p), 8192);
    const noop = p.run(['cut', '-B', './r.rapido']);
    assert.equal(noop.status, 0, noop.stderr);
    // Up to date, or (inputs written within the racy second) re-derived from the stamp: nothing built either way.
    assert.match(noop.stderr, /up to date|\(0 built, 4 reused\)/);

    p.write('data/f7.txt', 'edited\n');
    const warm = p.run(['cut', '-B', './r.rapido']);
    assert.equal(warm.status, 0, warm.stderr);
    assert.equal(builtCount(warm.stderr), 1, 'only the edited layer is rebuilt, without the index');
    const edited = stampKeys(p.out)['tree:/data']!;
    const journaled = readdirSync(join(p.store, 'journal')).length; // this cut's entry, and the re-derived no-op's
    assert.ok(journaled >= 1, 'its records wait in the journal');

    rmSync(join(p.dir, 'initrds', '.myinitrd.rapido.json'));
    const cold = p.run(['cut', '-B', './r.rapido']);
    assert.equal(cold.status, 1, `exit 1, not a signal: ${cold.stderr}`);
    assert.match(cold.stderr, /^rapido: error: the store index \S+data\.mdb is damaged \(truncated: .*\); run rapido-store verify --repair .*\n$/);

    const repair = storeJson(p, ['verify', '--repair']);
    assert.equal(repair.status, 1);
    assert.equal(repair.json.rebuilt.journal.entries, journaled);
    assert.equal(repair.json.rebuilt.journal.layers, 1, 'the edited layer');
    assert.equal(repair.json.rebuilt.journal.cuts, journaled);
    assert.equal(repair.json.rebuilt.recovered.length, 4, 'the first cut\'s four objects');
    const info = storeJson(p, ['info', edited]);
    assert.equal(info.json.record.builder, 'native-tree', 'the journal\'s full record, inputs and all');
    const cutAgain = p.run(['cut', '-B', './r.rapido']);
    assert.equal(cutAgain.status, 0, cutAgain.stderr);
    assert.equal(builtCount(cutAgain.stderr), 0);
  } finally {
    p.cleanup();
  }
});
