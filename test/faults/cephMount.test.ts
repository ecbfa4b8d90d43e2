/**
 * Faults a Ceph client VM meets at boot, each a real boot (TCG) on a tap of
 * a bridge in a network namespace of this file's own: the guest's step
 * fails within its bounds, with a message naming what is wrong, and the
 * boot's exit status is the step's. The host cannot know these before
 * booting (the config files are there and well-formed).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeProject, REPO, type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, makeNetns, NETNS_NEEDS, type Netns } from '../helpers/netns.js';

const CLUSTER = join(REPO, 'bin/rapido-ceph-cluster');
const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}; the Ceph packages (scripts/setup-test-services.sh)`;
const OK = canUseNetns() && haveQemu() && existsSync('/usr/bin/ceph-mon');
const NET = 'BR_DEV="br-rapido"\nBR_ADDR="192.168.155.1/24"\nTAP_USER="root"\n';
const FAKE_KEY = 'AQBBwgxr4664GhAAa8U5Z39p6xPLyR9Aj1rj+g==';
const BOOT = ['cut', '--accel', 'tcg', '--timeout', '300', '-x', 'echo SHOULD-NOT-RUN', 'cephfs'];

describe('Ceph client VMs: what fails at boot says which part', { concurrency: 1, ...skipUnless(OK, NEEDS) }, () => {
  let ns: Netns;
  let dir = '';
  before(() => {
    requireHost(OK, NEEDS);
    ns = makeNetns();
    dir = mkdtempSync(join(tmpdir(), 'rapido-ceph-fault-'));
  });
  after(() => {
    if (existsSync(join(dir, 'cluster', 'ceph.conf'))) ns.sh(`${CLUSTER} stop -d ${join(dir, 'cluster')}`);
    ns?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A project on tap rapido-tap1 whose cluster config is MON_HOST with KEY for client.admin; cut and booted in the namespace. */
  async function bootWith(monHost: string, key: string, extraConf = '') {
    const p: Project = makeProject(`${NET}CEPH_CONF="ceph.conf"\nCEPH_KEYRING="keyring"\nCEPH_FS="cephfs"\nCEPH_MOUNT_TIMEOUT="10"\n${extraConf}`);
    try {
      p.write('ceph.conf', `[global]\nfsid = 2eb1b8c2-4400-4e3f-90f3-686443987a97\nmon host = ${monHost}\n`);
      p.write('keyring', `[client.admin]\n\tkey = ${key}\n`);
      p.write('net-conf/vm1/rapido-tap1.network', '[Network]\nAddress=192.168.155.101/24\n');
      const setup = await ns.rapido(p, ['setup-network']);
      assert.equal(setup.status, 0, setup.stderr);
      const t0 = Date.now();
      const r = await ns.rapido(p, BOOT);
      return { ...r, secs: (Date.now() - t0) / 1000 };
    } finally {
      p.cleanup();
    }
  }

  test('the monitor address answers nothing (no such host on the bridge): unreachable, named, within seconds', async () => {
    const r = await bootWith('[v2:192.168.155.9:3300,v1:192.168.155.9:6789]', FAKE_KEY);
    assert.equal(r.status, 1, r.stderr + r.stdout.slice(-2000));
    assert.match(r.stdout, /cephfs: monitor 192\.168\.155\.9:6789 is unreachable from this VM \((No route to host|no answer within 5 s)\): check the VM's network and the mon host in CEPH_CONF/);
    assert.match(r.stdout, /rapido-init: step \/rapido-autorun\/\d+-cephfs\.sh failed with status 1/);
    assert.doesNotMatch(r.stdout, /SHOULD-NOT-RUN\n/);
  });

  test('the cluster is not running (its address is up, nothing listens): refused, named', async () => {
    const r = await bootWith('[v2:192.168.155.1:3300,v1:192.168.155.1:6789]', FAKE_KEY);
    assert.equal(r.status, 1, r.stderr + r.stdout.slice(-2000));
    assert.match(r.stdout, /cephfs: monitor 192\.168\.155\.1:6789 refused the connection: the cluster is not running/);
  });

  test('a key the cluster does not know (another cluster\'s keyring, or one from before a restart): rejected, named, no hang', async () => {
    // The cluster binds to the bridge address: bring the bridge up first (idempotent), whatever ran before.
    const netp: Project = makeProject(NET);
    try {
      netp.write('net-conf/vm1/rapido-tap1.network', '[Network]\nAddress=192.168.155.101/24\n');
      const setup = await ns.rapido(netp, ['setup-network']);
      assert.equal(setup.status, 0, setup.stderr);
    } finally {
      netp.cleanup();
    }
    const cluster = join(dir, 'cluster');
    const start = ns.sh(`${CLUSTER} start -a 192.168.155.1 -d ${cluster}`);
    assert.equal(start.status, 0, start.stderr + start.stdout);
    const real = /key = (\S+)/.exec(readFileSync(join(cluster, 'ceph.client.admin.keyring'), 'utf8'))![1];
    assert.notEqual(real, FAKE_KEY);
    const r = await bootWith('[v2:192.168.155.1:3300,v1:192.168.155.1:6789]', FAKE_KEY);
    assert.equal(r.status, 1, r.stderr + r.stdout.slice(-2000));
    assert.match(r.stdout, /cephfs: mount of cephfs failed: the cluster rejected client\.admin's key: CEPH_KEYRING is not this cluster's/);
    assert.ok(!r.stdout.includes(FAKE_KEY), 'not even a wrong key is printed');
  });
});
