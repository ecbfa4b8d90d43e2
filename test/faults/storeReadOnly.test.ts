// Fault: a store on a read-only mount (a shared store, mounted for reading).
// The commands that only read must work on it; those that write must say
// the store is not writable. The mount is a read-only bind mount in a
// private mount namespace.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeProject } from '../helpers/cliHarness.js';
import { requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { cut, stampKeys } from '../commands/store/storeCli.js';
import { canUseMountNs, mountNs, NS_NEEDS, type Project } from './mountNs.js';

/** Every file under dir with its size and mtime: what "unchanged" means here. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((d) => join(d.parentPath, d.name))
    .map((f) => `${f} ${statSync(f).size} ${statSync(f).mtimeMs}`)
    .sort();
}

test('a read-only store: ls, verify, info, why, pins, gc --dry-run, export, audit, trust work; writers say it is not writable', skipUnless(canUseMountNs(), NS_NEEDS), async () => {
  requireHost(canUseMountNs(), NS_NEEDS);
  const p: Project = makeProject();
  const ns = await mountNs();
  try {
    p.write('data/a.txt', 'a'.repeat(5000));
    p.write('r.rapido', 'bin cat\ntree /data data\nautorun /bin/true\n');
    cut(p, './r.rapido');
    p.write('data/b.txt', 'b\n');
    cut(p, './r.rapido'); // a warm re-cut: its records wait in the journal
    const keys = stampKeys(p.out);
    assert.equal(readdirSync(join(p.store, 'journal')).length, 1);
    const r = ns.sh(`mount --bind '${p.store}' '${p.store}' && mount -o remount,bind,ro '${p.store}'`);
    assert.equal(r.status, 0, r.stderr);
    const before = snapshot(p.store);

    const read = (args: string[]) => {
      const x = ns.run(p, args, { store: true });
      assert.equal(x.status, 0, `rapido-store ${args.join(' ')} on a read-only store: ${x.stderr}`);
      return x;
    };
    const journalNote = /^rapido-store: note: 1 journal entry of recent cuts cannot be ingested \(the store is not writable here\)/m;
    const ls = read(['ls']);
    assert.match(ls.stdout, /^4 layers, /m);
    assert.match(ls.stderr, journalNote);
    const verify = read(['verify']);
    assert.match(verify.stdout, /^verify: checked 5 objects/m);
    assert.match(verify.stdout, /^note: 1 layer record checked from the journal, not yet in the index$/m);
    assert.match(verify.stdout, /^ok: every record has its intact object/m);
    assert.match(read(['info']).stdout, /^layers +4, /m);
    assert.match(read(['info', keys.system!]).stdout, new RegExp(`^layer ${keys.system}: system \\(native-system\\)$`, 'm'));
    const why = read(['why', './r.rapido']);
    assert.match(why.stdout, /^system +native-system +hit /m);
    assert.match(read(['pins']).stdout, /^0 pins$/m);
    assert.match(read(['gc', '--dry-run', '--grace', '0']).stdout, /^gc --dry-run: would remove/m);
    assert.match(read(['export', '-o', join(p.dir, 'x.tar'), keys.system!]).stderr, /exported 1 layer/);
    assert.match(read(['audit', './r.rapido', '--layer', 'system']).stdout, /reproducible/);
    assert.match(read(['trust']).stdout, /^0 trusted keys/m);

    for (const args of [['gc'], ['verify', '--repair'], ['pin', 'keep', './r.rapido'], ['import', '--no-verify-signature', join(p.dir, 'x.tar')]]) {
      const w = ns.run(p, args, { store: true });
      assert.equal(w.status, 1, `rapido-store ${args.join(' ')}`);
      assert.equal(w.stderr, `rapido-store: error: store directory ${p.store} is not a writable directory (EROFS)\n  hint: set RAPIDO_STORE to a writable directory, or fix the permissions of this one\n`);
    }
    const cutRo = ns.run(p, ['cut', '-B', './r.rapido']);
    assert.match(cutRo.stderr, /up to date|not a writable directory \(EROFS\)/, 'a cut needs a writable store unless nothing changed');
    assert.deepEqual(snapshot(ns.path(p.store)), before.map((l) => l.replace(p.store, ns.path(p.store))), 'nothing in the store changed');
  } finally {
    ns.close();
    p.cleanup();
  }
});
