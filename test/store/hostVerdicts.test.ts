import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHostVerdict, putHostVerdict } from '../../src/store/index.js';
import { tempStore } from './tempStore.js';

test('host verdicts round-trip as free-form JSON', async (t) => {
  const store = await tempStore(t);
  assert.equal(getHostVerdict(store, 'kvm'), undefined);
  const v = { usable: false, reason: '/dev/kvm: EACCES', checkedAt: 123, list: [1, 'two', null] };
  putHostVerdict(store, 'kvm', v);
  assert.deepEqual(getHostVerdict(store, 'kvm'), v);
  putHostVerdict(store, 'kvm', { usable: true });
  assert.deepEqual(getHostVerdict<{ usable: boolean }>(store, 'kvm'), { usable: true });
});
