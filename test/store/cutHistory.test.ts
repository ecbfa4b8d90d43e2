import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RapidoError } from '../../src/errors.js';
import { appendCut, lastCut, listCuts, type CutRecord } from '../../src/store/index.js';
import { tempStore } from './tempStore.js';

function cut(recipe: string, at: number, tag = ''): CutRecord {
  return {
    recipe,
    at,
    layers: [{ name: 'base', key: '0123456789abcdef', hit: true }],
    inputs: { base: { tag } },
    outPath: `/tmp/${recipe}-${at}${tag}.cpio`,
  };
}

test('append, last and list newest first, per recipe', async (t) => {
  const store = await tempStore(t);
  assert.equal(lastCut(store, 'fstests'), undefined);
  assert.deepEqual(listCuts(store, 'fstests'), []);
  appendCut(store, cut('fstests', 2000));
  appendCut(store, cut('fstests', 1000));
  appendCut(store, cut('fstests', 30000));
  appendCut(store, cut('fstests-nfs', 99999)); // a recipe whose name extends another
  appendCut(store, cut('fs', 99999));
  assert.deepEqual(
    listCuts(store, 'fstests').map((c) => c.at),
    [30000, 2000, 1000],
  );
  assert.equal(lastCut(store, 'fstests')!.at, 30000);
  assert.deepEqual(listCuts(store, 'fstests', { limit: 2 }).map((c) => c.at), [30000, 2000]);
  assert.deepEqual(listCuts(store, 'fstests-nfs').map((c) => c.recipe), ['fstests-nfs']);
  assert.deepEqual(lastCut(store, 'fs'), cut('fs', 99999));
});

test('two cuts in the same millisecond are both kept, in order', async (t) => {
  const store = await tempStore(t);
  const k1 = appendCut(store, cut('r', 5, 'a'));
  const k2 = appendCut(store, cut('r', 5, 'b'));
  assert.notEqual(k1, k2);
  appendCut(store, cut('r', 4, 'older'));
  assert.deepEqual(
    listCuts(store, 'r').map((c) => (c.inputs.base as { tag: string }).tag),
    ['b', 'a', 'older'],
  );
});

test('recipe names with NUL are refused', async (t) => {
  const store = await tempStore(t);
  assert.throws(() => appendCut(store, cut('a\0b', 1)), (e) => e instanceof RapidoError && e.code === 'BAD_RECIPE');
});
