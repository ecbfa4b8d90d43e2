// Faults: the store's filesystem full. An exactly full disk must give the
// same DISK_FULL message as one with a little room left (not "no space left
// on device ()"), and `verify` with a journal it cannot ingest must still
// check what it can read, with a clear note instead of a stack trace.
// The store lives on a small tmpfs in a private mount namespace.
import assert from 'node:assert/strict';
import { chmodSync, closeSync, existsSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { skipUnless, requireHost } from '../helpers/hostPrereqs.js';
import { makeProject } from '../helpers/cliHarness.js';
import { builtCount, stampKeys } from '../commands/store/storeCli.js';
import { canUseMountNs, mountNs, NS_NEEDS, type MountNs, type Project, type Run } from './mountNs.js';

const opts = skipUnless(canUseMountNs(), NS_NEEDS);

function ok(r: Run, what: string): Run {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r;
}

/** The two lines of a DISK_FULL error from `prog` about the store; returns [what could not be written, hint]. */
function diskFull(r: Run, prog: string, store: string): [string, string] {
  assert.equal(r.signal, null);
  assert.equal(r.status, 1, r.stderr);
  const m = new RegExp(`^${prog}: error: no space left on device: cannot write (.+) in ${store}\\n  hint: (.+)\\n$`).exec(r.stderr);
  assert.ok(m, `one DISK_FULL message, got: ${JSON.stringify(r.stderr)}`);
  return [m[1]!, m[2]!];
}

async function onTmpfs(size: string, files: number): Promise<{ ns: MountNs; p: Project }> {
  requireHost(canUseMountNs(), NS_NEEDS);
  const ns = await mountNs();
  const p = makeProject();
  ns.tmpfs(p.store, size);
  for (let i = 0; i < files; i++) p.write(`data/f${i}.txt`, `file ${i}\n`);
  p.write('r.rapido', 'bin cat\ntree /data data\nautorun /bin/true\n');
  return { ns, p };
}

test('the store\'s disk exactly full: the same DISK_FULL message as a disk with a little room left', opts, async () => {
  const { ns, p } = await onTmpfs('32m', 10);
  try {
    ok(ns.run(p, ['cut', '-B', './r.rapido']), 'first cut');

    // A little room left: the edited layer's object does not fit.
    p.write('data/more.bin', 'x'.repeat(3 << 20));
    ns.fill(p.store, 1024);
    const [halfWhat, halfHint] = diskFull(ns.run(p, ['cut', '-B', './r.rapido']), 'rapido', p.store);
    assert.match(halfWhat, /^layer [0-9a-f]{16}$/);

    // Exactly full: the cut fails earlier (its first write to the store), with the same message.
    ns.unfill(p.store);
    ns.fill(p.store);
    const full = ns.run(p, ['cut', '-B', './r.rapido']);
    const [fullWhat, fullHint] = diskFull(full, 'rapido', p.store);
    assert.equal(fullWhat, 'a cut marker');
    assert.equal(fullHint, halfHint);
    assert.doesNotMatch(full.stderr, /\(\)/);

    // Nothing half-written stays behind: no temp file, no empty cut marker.
    assert.deepEqual(readdirSync(ns.path(join(p.store, 'tmp'))), []);
    assert.deepEqual(readdirSync(ns.path(join(p.store, 'locks'))), []);

    ns.unfill(p.store);
    const again = ok(ns.run(p, ['cut', '-B', './r.rapido']), 'cut with room again');
    assert.equal(builtCount(again.stderr), 1);
  } finally {
    ns.close();
    p.cleanup();
  }
});

test('verify with a journal it cannot ingest on a full disk: a note, and every object still checked', opts, async () => {
  // Many files: the tree layer's record (its derivation lists them) needs new index pages to be ingested.
  const { ns, p } = await onTmpfs('32m', 1500);
  try {
    ok(ns.run(p, ['cut', '-B', './r.rapido']), 'first cut');
    p.write('data/f7.txt', 'edited\n');
    ok(ns.run(p, ['cut', '-B', './r.rapido']), 'warm re-cut, recorded in the journal');
    const journal = ns.path(join(p.store, 'journal'));
    assert.equal(readdirSync(journal).length, 1);
    // Damage one object, so there is something to report.
    const overlay = ns.path(join(p.store, 'objects', stampKeys(p.out).overlay!.slice(0, 2), stampKeys(p.out).overlay!));
    chmodSync(overlay, 0o644);
    const fd = openSync(overlay, 'r+');
    writeSync(fd, Buffer.from('XXXX'), 0, 4, 200);
    closeSync(fd);
    ns.fill(p.store);

    const v = ns.run(p, ['verify'], { store: true });
    assert.equal(v.signal, null);
    assert.equal(v.status, 1, `the corrupt object is a problem: ${v.stderr}`);
    assert.doesNotMatch(v.stderr, /internal error|\n\s+at /, 'no stack trace');
    assert.match(v.stderr, /^rapido-store: note: 1 journal entry of recent cuts cannot be ingested \(no space left on device\): the layers and cuts it records are not in the index yet$/m);
    // LMDB itself prints one line when its write fails; nothing else but our note.
    for (const line of v.stderr.trimEnd().split('\n')) assert.match(line, /^(Write error: No space left on device .*|rapido-store: note: .*)$/);
    assert.match(v.stdout, /^verify: checked 5 objects/m, 'the journal\'s layer is checked too');
    assert.match(v.stdout, /^note: 1 layer record checked from the journal, not yet in the index$/m);
    assert.match(v.stdout, /^CORRUPT +[0-9a-f]{16} {2}overlay \(native-overlay\) {2}recipe \.\/r\.rapido: digest/m);
    assert.doesNotMatch(v.stdout, /ORPHAN/, 'the journal\'s object is no orphan');
    assert.equal(readdirSync(journal).length, 1, 'the journal stays for later');

    const ls = ns.run(p, ['ls'], { store: true });
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stderr, /note: 1 journal entry/);

    // A command that must write says so clearly.
    const [what] = diskFull(ns.run(p, ['gc'], { store: true }), 'rapido-store', p.store);
    assert.equal(what, 'a lock file');

    ns.unfill(p.store);
    const after = ns.run(p, ['verify'], { store: true });
    assert.equal(after.status, 1);
    assert.equal(after.stderr, '', 'with room, the journal is ingested silently');
    assert.equal(existsSync(journal) && readdirSync(journal).length, 0);
    assert.doesNotMatch(after.stdout, /from the journal/);
  } finally {
    ns.close();
    p.cleanup();
  }
});
