/**
 * Faults in a Ceph client recipe's configuration, caught by the cut on the
 * host before anything boots: no cluster configured, the config or keyring
 * missing (a cluster that is not running), a keyring without CEPH_USER's key.
 * Each leaves no image behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { makeProject } from '../helpers/cliHarness.js';
import { requireKernel } from '../helpers/hostPrereqs.js';

const KEY = 'AQBBwgxr4664GhAAa8U5Z39p6xPLyR9Aj1rj+g==';
const CONF = '[global]\nfsid = 1234\nmon host = [v2:192.168.155.1:3300,v1:192.168.155.1:6789]\n';

function cutCephfs(conf: string, files: Record<string, string> = {}) {
  requireKernel();
  const p = makeProject(conf);
  try {
    for (const [rel, text] of Object.entries(files)) p.write(rel, text);
    const r = p.run(['cut', '-B', 'cephfs']);
    return { ...r, imageLeft: existsSync(p.out) };
  } finally {
    p.cleanup();
  }
}

test('cephfs without CEPH_CONF or CEPH_SRC: exit 1 naming the key, and where the lines come from', () => {
  const r = cutCephfs('');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /CEPH_CONF is not set, nor CEPH_SRC \(needed by the ceph directive at .*ceph-common\.inc:\d+\)/);
  assert.match(r.stderr, /rapido-ceph-cluster start writes both lines/);
  assert.equal(r.imageLeft, false);
});

test('cephfs with CEPH_CONF naming a missing file (the cluster is not running): exit 1 before any boot', () => {
  const r = cutCephfs('CEPH_CONF="gone/ceph.conf"\nCEPH_KEYRING="k"\n', { k: `[client.admin]\nkey = ${KEY}\n` });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /CEPH_CONF \/\S+\/gone\/ceph\.conf is missing \(needed by the ceph directive/);
  assert.match(r.stderr, /is the cluster running\?/);
  assert.equal(r.imageLeft, false);
});

test('cephfs with CEPH_SRC: build/ceph.conf and build/keyring of the tree; a keyring without CEPH_USER is an error naming both', () => {
  const files = { 'ceph/build/ceph.conf': CONF, 'ceph/build/keyring': `[client.admin]\nkey = ${KEY}\n` };
  const ok = cutCephfs('CEPH_SRC="ceph"\n', files);
  assert.equal(ok.status, 0, ok.stderr);
  const bad = cutCephfs('CEPH_SRC="ceph"\nCEPH_USER="bob"\n', files);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /\/ceph\/build\/keyring has no key for client\.bob \(CEPH_USER\)/);
  assert.equal(bad.imageLeft, false);
});
