/**
 * `rapido list --verbose NAME`: a recipe that includes another and declares
 * one of its keys again (fstests-nfs sets NFS_VERS over nfsd's) shows the
 * default the cut uses, the later one, with the earlier comment kept when
 * the later line has none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeProject } from '../helpers/cliHarness.js';

test('list --verbose: a key declared again after an include shows the later default', () => {
  const p = makeProject('');
  try {
    p.write('base.rapido', '# Versions to mount.\nenv VERS "4.2 3"\n# The size.\nenv SIZE 512M\nbin cat\n');
    p.write('top.rapido', 'include base.rapido\nenv VERS 4.2\n# A bigger one here.\nenv SIZE 1G\n');
    const list = p.run(['list', '--verbose', './top.rapido']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /VERS {2}default "4\.2"; unset\n\s+Versions to mount\./);
    assert.match(list.stdout, /SIZE {2}default "1G"; unset\n\s+A bigger one here\./);
    assert.doesNotMatch(list.stdout, /"4\.2 3"|512M/);
  } finally {
    p.cleanup();
  }
});
