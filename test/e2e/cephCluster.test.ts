/**
 * bin/rapido-ceph-cluster: a throwaway cluster from Debian's Ceph packages,
 * inside a network namespace this test creates, bound to a bridge address
 * there (as the VMs will reach it). Real daemons, real ceph/rbd clients.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/cliHarness.js';
import { requireHost, skipUnless } from '../helpers/hostPrereqs.js';

const CLUSTER = join(REPO, 'bin/rapido-ceph-cluster');
const NEEDS = 'root, iproute2 and the Ceph packages (ceph-mon ceph-osd ceph-mgr ceph-mds ceph-common: scripts/setup-test-services.sh)';
const canRun = () => process.getuid?.() === 0 && ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/sbin/ip'].every((p) => existsSync(p) || existsSync(p.replace('/sbin/', '/usr/sbin/')));
const ADDR = '192.168.155.1';

function sh(ns: string, cmd: string[]) {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: 180_000 });
  return { status: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

describe('rapido-ceph-cluster', { ...skipUnless(canRun(), NEEDS) }, () => {
  const ns = `rapido-ceph-${process.pid}`;
  let dir = '';
  before(() => {
    requireHost(canRun(), NEEDS);
    dir = mkdtempSync(join(tmpdir(), 'rapido-ceph-'));
    for (const c of [
      ['netns', 'add', ns],
      ['-n', ns, 'link', 'set', 'lo', 'up'],
      ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge'],
      ['-n', ns, 'addr', 'add', `${ADDR}/24`, 'dev', 'br0'],
      ['-n', ns, 'link', 'set', 'br0', 'up'],
    ]) {
      const r = spawnSync('ip', c, { encoding: 'utf8' });
      assert.equal(r.status, 0, `ip ${c.join(' ')}: ${r.stderr}`);
    }
  });
  after(() => {
    if (dir && existsSync(join(dir, 'c', 'ceph.conf'))) sh(ns, [CLUSTER, 'stop', '-d', join(dir, 'c')]);
    spawnSync('ip', ['netns', 'del', ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('start: healthy in seconds with CephFS and the RBD image; stop: daemons gone, state removed', () => {
    const c = join(dir, 'c');
    const t0 = Date.now();
    const start = sh(ns, [CLUSTER, 'start', '-a', ADDR, '-d', c]);
    const secs = (Date.now() - t0) / 1000;
    assert.equal(start.status, 0, start.err + start.out);
    assert.match(start.out, new RegExp(`up at ${ADDR.replaceAll('.', '\\.')} in [\\d.]+ s`));
    console.log(`cluster start: ${secs.toFixed(1)} s`);
    assert.ok(secs < 60, `start took ${secs} s`);

    const conf = readFileSync(join(c, 'rapido.conf'), 'utf8');
    assert.match(conf, /^CEPH_CONF=".*\/ceph\.conf"$/m);
    assert.match(conf, /^CEPH_KEYRING=".*ceph\.client\.admin\.keyring"$/m);
    assert.match(conf, /^CEPH_RBD_IMAGE="rapido"$/m);

    const ceph = (...a: string[]) => sh(ns, ['ceph', '-c', join(c, 'ceph.conf'), '--connect-timeout', '15', ...a]);
    assert.equal(ceph('health').out.trim(), 'HEALTH_OK');
    assert.match(ceph('fs', 'ls').out, /name: cephfs, metadata pool: cephfs_metadata, data pools: \[cephfs_data \]/);
    const rbd = sh(ns, ['rbd', '-c', join(c, 'ceph.conf'), 'info', 'rbd/rapido']);
    assert.equal(rbd.status, 0, rbd.err);
    assert.match(rbd.out, /size 256 MiB/);
    assert.match(rbd.out, /features: layering\n/);
    // The mon listens on the bridge address, inside the namespace only.
    assert.match(sh(ns, ['ss', '-ltn']).out, new RegExp(`${ADDR.replaceAll('.', '\\.')}:6789`));

    const again = sh(ns, [CLUSTER, 'start', '-a', ADDR, '-d', c]);
    assert.notEqual(again.status, 0);
    assert.match(again.err, /already holds a cluster/);

    const pids = ['mon.a', 'mgr.x', 'osd.0', 'mds.a'].map((n) => Number(readFileSync(join(c, 'run', `${n}.pid`), 'utf8')));
    const stop = sh(ns, [CLUSTER, 'stop', '-d', c]);
    assert.equal(stop.status, 0, stop.err);
    assert.ok(!existsSync(c), 'state directory removed');
    for (const pid of pids) assert.ok(!existsSync(`/proc/${pid}`), `daemon ${pid} still running`);
  });

  test('start refuses an address this namespace does not have, and says what to do', () => {
    const r = sh(ns, [CLUSTER, 'start', '-a', '10.99.99.99', '-d', join(dir, 'bad')]);
    assert.equal(r.status, 1);
    assert.match(r.err, /no interface in this network namespace has address 10\.99\.99\.99.*rapido setup-network/);
    assert.ok(!existsSync(join(dir, 'bad')));
  });
});
