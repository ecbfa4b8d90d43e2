import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestKey, editDistance, KNOWN_CONF_KEYS } from '../../src/config/knownKeys.js';

test('edit distance counts insertions, deletions, substitutions and adjacent swaps as one', () => {
  assert.equal(editDistance('KERNEL_REALEASE', 'KERNEL_RELEASE'), 1);
  assert.equal(editDistance('FSTESTS_SCR', 'FSTESTS_SRC'), 1);
  assert.equal(editDistance('KERNL_SRC', 'KERNEL_SRC'), 1);
  assert.equal(editDistance('DRACUT_OUTT', 'DRACUT_OUT'), 1);
  assert.equal(editDistance('ABC', 'XYZ'), 3);
  assert.equal(editDistance('', 'ABC'), 3);
});

test('closest known key: likely misspellings get a suggestion, unrelated names do not', () => {
  assert.equal(closestKey('KERNEL_REALEASE', KNOWN_CONF_KEYS), 'KERNEL_RELEASE');
  assert.equal(closestKey('kernel_src', KNOWN_CONF_KEYS), 'KERNEL_SRC', 'case only');
  assert.equal(closestKey('QEMU_EXTRA_ARG', KNOWN_CONF_KEYS), 'QEMU_EXTRA_ARGS');
  assert.equal(closestKey('RAPIDO_STROE', KNOWN_CONF_KEYS), 'RAPIDO_STORE');
  assert.equal(closestKey('WHATEVER_ELSE', KNOWN_CONF_KEYS), undefined);
  assert.equal(closestKey('MY_SRCX', new Set(['MY_SRC', 'MY_SRCXY'])), 'MY_SRC', 'ties go alphabetically');
});
