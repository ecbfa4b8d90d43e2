import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RapidoError } from '../src/errors.js';
import { parseDuration, parseSize } from '../src/format.js';

function usage(re: RegExp) {
  return (e: unknown) => e instanceof RapidoError && e.code === 'USAGE' && e.exitCode === 2 && re.test(e.message);
}

test('durations: units, sums, bare seconds; negative and garbage are usage errors naming the option', () => {
  assert.equal(parseDuration('10m', '--grace'), 600_000);
  assert.equal(parseDuration('1d12h', '--grace'), 36 * 3_600_000);
  assert.equal(parseDuration('0', '--grace'), 0);
  assert.equal(parseDuration('90', '--wait'), 90_000);
  assert.throws(() => parseDuration('-5m', '--grace'), usage(/^--grace: a duration cannot be negative: "-5m"$/));
  assert.throws(() => parseDuration(' -0', '--wait'), usage(/^--wait: a duration cannot be negative/));
  assert.throws(() => parseDuration('5 minutes', '--grace'), usage(/^--grace: cannot read "5 minutes" as a duration$/));
});

test('sizes: binary units; negative is a usage error', () => {
  assert.equal(parseSize('1.5GiB'), 1.5 * 2 ** 30);
  assert.equal(parseSize('500M'), 500 * 2 ** 20);
  assert.throws(() => parseSize('-5G'), usage(/^--max-size: a size cannot be negative: "-5G"$/));
});
