import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, beforeEach, test } from 'node:test';
import { readElfInfoHashing } from '../../src/derivations/elfClosure.js';
import { HostInputs, statSig, statSigBig } from '../../src/derivations/hostInputs.js';
import { digestFileSync, initHasher } from '../../src/store/digest.js';

let tmp: string;
before(() => initHasher());
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rapido-hostinputs-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

test("a bigint stat's signature is the plain stat's, so a read digest can be matched to the walk's", () => {
  const f = join(tmp, 'f');
  writeFileSync(f, 'x');
  // Sub-millisecond timestamps, where a wrong ms conversion would show.
  utimesSync(f, 1_700_000_000.123456, 1_700_000_000.987654);
  for (const p of [f, '/bin/sh', '/etc/passwd']) assert.equal(statSigBig(statSync(p, { bigint: true })), statSig(statSync(p)), p);
});

test('a digest taken while reading is kept for the signature the walk recorded, and only for it', () => {
  const f = join(tmp, 'script');
  writeFileSync(f, '#!/bin/sh\necho one\n');
  const inputs = new HostInputs();
  const st = inputs.lstat(f)!;
  const r = readElfInfoHashing(f, st.size).read!;
  inputs.noteHashedRead(f, r);
  assert.equal(inputs.hashedRead(f)?.digest, digestFileSync(f));

  // Re-recorded with another signature (the file changed and was lstat'ed again): the digest no longer applies.
  writeFileSync(f, '#!/bin/sh\necho two\n');
  utimesSync(f, 1_600_000_000, 1_600_000_000);
  inputs.lstat(f);
  assert.equal(inputs.hashedRead(f), undefined);
});

test('a file rewritten at the same size between the lstat and the read gets no digest', () => {
  const f = join(tmp, 'script');
  writeFileSync(f, '#!/bin/sh\necho one\n');
  utimesSync(f, 1_600_000_000, 1_600_000_000);
  const inputs = new HostInputs();
  const st = inputs.lstat(f)!;
  writeFileSync(f, '#!/bin/sh\necho two\n'); // same size, new mtime and ctime
  assert.equal(lstatSync(f).size, st.size);
  const r = readElfInfoHashing(f, st.size).read!;
  assert.equal(r.digest, digestFileSync(f), 'the read saw the new bytes');
  inputs.noteHashedRead(f, r);
  assert.equal(inputs.hashedRead(f), undefined, "the new bytes' digest is not paired with the old signature");
});
