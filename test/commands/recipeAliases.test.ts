/** Rapido's recipe names (`fstests_btrfs`) find ours (`fstests-btrfs`); `rapido list` shows the alias. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject } from '../helpers/cliHarness.js';
import { requireKernel } from '../helpers/hostPrereqs.js';

test('recipe aliases: _ and - are interchangeable when only one spelling exists; an exact name wins', () => {
  requireKernel();
  const p = makeProject();
  try {
    const env = { RAPIDO_RECIPES: `${p.dir}/mine` };
    p.write('mine/my-thing.rapido', 'description dash\nbin cat\n');
    p.write('mine/other_one.rapido', 'description underscore\nbin cat\n');
    p.write('mine/both-ways.rapido', 'description the dash one\nbin cat\n');
    p.write('mine/both_ways.rapido', 'description the underscore one\nbin ls\n');

    const a = p.run(['cut', '-B', 'my_thing'], { env });
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout + a.stderr, /my_thing: \d+ layers/);
    assert.equal(p.run(['cut', '-B', 'other-one'], { env }).status, 0);
    assert.equal(p.run(['cut', '-B', 'fstests_xfs'], { env: { ...env, FSTESTS_SRC: '/nonexistent' } }).stderr.includes("no recipe named"), false,
      'a shipped recipe is found by its alias (it then fails for its own reasons)');
    const miss = p.run(['cut', '-B', 'no_such_thing'], { env });
    assert.equal(miss.status, 1);
    assert.match(miss.stderr, /no recipe named 'no_such_thing'/);

    const list = p.run(['list'], { env });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^my-thing \(my_thing\) +dash$/m);
    assert.match(list.stdout, /^other_one \(other-one\) +underscore$/m);
    assert.match(list.stdout, /^both-ways +the dash one$/m, 'no alias shown when another recipe has that name');
    assert.match(list.stdout, /^fstests-btrfs \(fstests_btrfs\) /m);
  } finally {
    p.cleanup();
  }
});
