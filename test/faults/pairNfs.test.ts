// Faults of the NFS pair (nfsd: VM 1 serves, VM 2 mounts), each with the
// client booted alone under TCG in a network namespace of the test's own:
// the server never answers, or NFS_VERS names a version NFS does not have.
// Each must end the boot soon with a message that says what is wrong, and a
// non-zero status, never hang until the boot's --timeout.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { haveQemu, QEMU_NEEDS, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, NETNS_NEEDS } from '../helpers/netns.js';
import { bootClientAlone, CLIENT_BOOT_SECS as BOOT_SECS, inPairNetns } from '../helpers/pairNetns.js';

const NFS_NEEDS = 'Debian\'s nfs-kernel-server, nfs-common and rpcbind (scripts/setup-test-services.sh)';
const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}; ${NFS_NEEDS}`;
const OK = canUseNetns() && haveQemu() && ['/usr/sbin/rpc.nfsd', '/usr/sbin/mount.nfs', '/usr/sbin/rpcbind'].every((p) => existsSync(p));

describe('nfs pair faults', { concurrency: 1, skip: skipUnless(OK, NEEDS).skip }, () => {
  test('the server never answers: the client gives up after PAIR_WAIT_SECS with pair-lib\'s message naming nfsd, its address and the key; status 1, long before --timeout', () => inPairNetns(OK, NEEDS, 'PAIR_WAIT_SECS=10\n', async (ns, p) => {
    const r = await bootClientAlone(ns, p, 'nfsd');
    const say = r.say;
    assert.equal(r.status, 1, say);
    assert.match(r.stdout, /pair: nfsd at 192\.168\.155\.101:2049 did not answer within 10 s \(PAIR_WAIT_SECS\): is VM 1 up with this image\? \(rapido boot --vms 2 boots both\)/, say);
    assert.match(r.stdout, /rapido-init: step \/rapido-autorun\/\d+-nfs\.sh failed with status 1/, say);
    assert.doesNotMatch(r.stdout, /nfs: client: .* mounted on/, say);
    assert.match(r.stderr, /VM 2 finished with status 1/, say);
    assert.ok(r.secs >= 10 && r.secs < 10 + BOOT_SECS, `the boot took ${r.secs} s`);
  }));

  test('NFS_VERS=9: the client refuses it before waiting for the server, naming the key and the accepted versions; status 1', () => inPairNetns(OK, NEEDS, 'NFS_VERS="4.2 9"\n', async (ns, p) => {
    const r = await bootClientAlone(ns, p, 'nfsd');
    const say = r.say;
    assert.equal(r.status, 1, say);
    assert.match(r.stdout, /nfs: client: NFS_VERS has '9': accepted versions are 3, 4, 4\.0, 4\.1 and 4\.2 \(a list, e\.g\. NFS_VERS="4\.2 3"\)/, say);
    assert.doesNotMatch(r.stdout, /did not answer within/, 'it failed before waiting for the server');
    assert.match(r.stderr, /VM 2 finished with status 1/, say);
    // PAIR_WAIT_SECS is 120: a client that waited first would take longer than this.
    assert.ok(r.secs < BOOT_SECS, `the boot took ${r.secs} s`);
  }));
});
