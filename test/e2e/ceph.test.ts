/**
 * End to end: the Ceph client recipes against a real cluster
 * (bin/rapido-ceph-cluster, Debian's packages) in a network namespace this
 * file creates, with the VMs on taps of the bridge the cluster listens on
 * (`rapido setup-network`, static addresses from net-conf). One namespace,
 * one cluster for the whole file: starting it is the slow part. Each proof
 * goes through the cluster: what a VM wrote is read back on the host with
 * the cluster's own tools, never from the VM's side.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeProject, REPO, RAPIDO_STORE_BIN, type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { ImageView } from '../helpers/imageView.js';
import { builtSuite, SUITE_NEEDS } from '../helpers/suites.js';
import { canUseNetns, makeNetns, NETNS_NEEDS, type Netns } from '../helpers/netns.js';

const CLUSTER = join(REPO, 'bin/rapido-ceph-cluster');
const ADDR = '192.168.155.1';
const CEPH_NEEDS = 'the Ceph packages (ceph-mon ceph-osd ceph-mgr ceph-mds ceph-common ceph-fuse: scripts/setup-test-services.sh)';
const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}; ${CEPH_NEEDS}`;
const OK = canUseNetns() && haveQemu() && ['/usr/bin/ceph-mon', '/usr/bin/ceph-fuse', '/usr/bin/rbd'].every(existsSync);
const BOOT = ['boot', '--accel', 'tcg', '--timeout', '300', '--exit'];
const NET = 'BR_DEV="br-rapido"\nBR_ADDR="192.168.155.1/24"\nTAP_USER="root"\n';
const network = (addr: string) => `[Network]\nAddress=${addr}/24\n`;

interface Env { ns: Netns; p: Project; dir: string; cluster: string; conf: string; keyring: string }

/** The admin key of the running cluster: what must never show up in logs or store output. */
function adminKey(e: Env): string {
  return /key = (\S+)/.exec(readFileSync(e.keyring, 'utf8'))![1];
}

function startCluster(e: Env): void {
  const r = e.ns.sh(`${CLUSTER} start -a ${ADDR} -d ${e.cluster}`);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  console.log(r.stdout.split('\n')[0]);
}

/** A sh script on the host, in the namespace and a private mount namespace, with the cluster's CephFS at $M (ceph-fuse). */
function withCephFuse(e: Env, script: string) {
  const m = join(e.dir, 'fuse');
  return e.ns.sh(`set -e; mkdir -p ${m}; M=${m}
timeout 120 ceph-fuse -c ${e.conf} -k ${e.keyring} --id admin ${m} >/dev/null 2>&1
trap 'umount ${m}' EXIT
${script}`);
}

/** A file's sha256 in the ext4 on the cluster's RBD image: exported with `rbd export`, read with debugfs (the host maps nothing). */
function readBack(e: Env, path: string): string {
  const img = join(e.dir, 'export.img');
  const r = e.ns.sh(`rm -f ${img} && rbd -c ${e.conf} export rbd/rapido ${img} >/dev/null 2>&1 && debugfs -R 'cat ${path}' ${img} 2>/dev/null | sha256sum`);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.slice(0, 64);
}

/** The guest's console line `TAG value`, from a boot's output. */
function tagged(out: string, tag: string): string | undefined {
  return new RegExp(`^${tag} (\\S+)`, 'm').exec(out)?.[1];
}

describe('Ceph client recipes against a throwaway cluster', { concurrency: 1, ...skipUnless(OK, NEEDS) }, () => {
  let e: Env;
  before(async () => {
    requireHost(OK, NEEDS);
    const dir = mkdtempSync(join(tmpdir(), 'rapido-ceph-e2e-'));
    const ns = makeNetns();
    const p = makeProject(NET);
    const cluster = join(dir, 'cluster');
    e = { ns, p, dir, cluster, conf: join(cluster, 'ceph.conf'), keyring: join(cluster, 'ceph.client.admin.keyring') };
    p.write('net-conf/vm1/rapido-tap1.network', network('192.168.155.101'));
    p.write('net-conf/vm2/rapido-tap2.network', network('192.168.155.102'));
    const setup = await ns.rapido(p, ['setup-network']);
    assert.equal(setup.status, 0, setup.stderr);
    startCluster(e);
    // The lines the cluster script says to add, as a user would.
    p.write('rapido.conf', readFileSync(join(p.dir, 'rapido.conf'), 'utf8') + readFileSync(join(cluster, 'rapido.conf'), 'utf8'));
  });
  after(() => {
    if (!e) return;
    if (existsSync(e.conf)) e.ns.sh(`${CLUSTER} stop -d ${e.cluster}`);
    e.ns.cleanup();
    e.p.cleanup();
    rmSync(e.dir, { recursive: true, force: true });
  });

  test('cephfs: VM 1 writes through the kernel client, the host reads it back with ceph-fuse, VM 2 (booted alongside) sees it; the key stays out of logs and store output', async () => {
    const { ns, p } = e;
    const d = '/mnt/cephfs/e2e';
    // VM 1 writes, then unmounts (its caps go back to the MDS at once); VM 2 waits for the marker and reads.
    const step = `case $(cat /proc/sys/kernel/hostname) in
rapido1) mkdir -p ${d} && dd if=/dev/urandom of=${d}/data bs=64k count=16 status=none && echo "SUM1 $(sha256sum < ${d}/data | cut -c1-64)" && touch ${d}/done && umount /mnt/cephfs ;;
*) n=0; until [ -e ${d}/done ]; do n=$((n + 1)); [ $n -lt 240 ] || exit 1; sleep 1; done; echo "SUM2 $(sha256sum < ${d}/data | cut -c1-64)" ;;
esac`;
    const cut = p.run(['cut', '-B', '-x', step, 'cephfs']);
    assert.equal(cut.status, 0, cut.stderr);
    const [a, b] = await Promise.all([ns.rapido(p, BOOT), ns.rapido(p, BOOT)]);
    const out = a.stdout + b.stdout;
    assert.equal(a.status, 0, a.stderr + a.stdout.slice(-3000));
    assert.equal(b.status, 0, b.stderr + b.stdout.slice(-3000));
    assert.match(out, new RegExp(`cephfs: cephfs:/ mounted at /mnt/cephfs \\(monitors ${ADDR.replaceAll('.', '\\.')}:6789, client\\.admin\\)`));
    const sum1 = tagged(out, 'SUM1');
    assert.match(sum1 ?? '', /^[0-9a-f]{64}$/, out.slice(-3000));
    assert.equal(tagged(out, 'SUM2'), sum1, 'VM 2 reads what VM 1 wrote');

    const host = withCephFuse(e, 'sha256sum < $M/e2e/data');
    assert.equal(host.status, 0, host.stderr);
    assert.equal(host.stdout.slice(0, 64), sum1, 'the host reads back through the cluster what VM 1 wrote');

    // The secret: not on the kernel command line or the console, not in the store's account of the layer, not in /rapido.env.
    const key = adminKey(e);
    const info = p.run(['info', 'cephfs'], { bin: RAPIDO_STORE_BIN });
    const why = p.run(['why', 'cephfs'], { bin: RAPIDO_STORE_BIN });
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /directives .*ceph \/\S+\/ceph\.conf \/\S+\/ceph\.client\.admin\.keyring admin/);
    // The console logs have the kernel's messages (its command line among them), which stdout leaves out.
    const logs = ['myinitrd.console.log', 'myinitrd.vm2.console.log'].map((f) => readFileSync(join(p.out, '..', f), 'utf8'));
    const consoles = logs.join('');
    // Each log is its own VM's: say what each holds if not (a failure once showed VM 2's without its command line).
    const described = logs.map((l, i) => `VM ${i + 1}'s log: ${l.length} chars, ${l.split('\n').length} lines; ` +
      `command lines: ${JSON.stringify(l.match(/Command line: .*/g) ?? [])}; starts: ${JSON.stringify(l.slice(0, 1500))}; ends: ${JSON.stringify(l.slice(-1500))}`);
    assert.match(logs[0], /Command line: .*rapido\.vm_num=1/, described[0]);
    assert.match(logs[1], /Command line: .*rapido\.vm_num=2/, `${described[1]}\n` +
      [a, b].map((r) => `a boot: status ${r.status}, stderr ${JSON.stringify(r.stderr)}, stdout starts ${JSON.stringify(r.stdout.slice(0, 800))}`).join('\n'));
    for (const [what, text] of [['boot output', out + a.stderr + b.stderr], ['the console logs', consoles], ['rapido-store info', info.stdout], ['rapido-store why', why.stdout + why.stderr]]) {
      assert.ok(!text.includes(key), `the key shows in ${what}`);
    }
    const image = new ImageView(readFileSync(p.out));
    const text = (path: string) => image.lookup(path)?.data?.toString() ?? '';
    assert.ok(!text('/rapido.env').includes(key));
    const guestConf = text('/etc/ceph/ceph.conf');
    assert.match(guestConf, new RegExp(`^mon host = \\[v2:${ADDR}:3300,v1:${ADDR}:6789\\]$`, 'm'));
    assert.doesNotMatch(guestConf, /keyring|log file|admin socket|run dir/, 'no host paths in the guest\'s ceph.conf');
    assert.equal(text('/etc/ceph/ceph.client.admin.keyring'), `[client.admin]\n\tkey = ${key}\n`);
    assert.equal(image.lookup('/etc/ceph/ceph.client.admin.keyring')?.mode, 0o600);
  });

  test('rbd: the kernel client maps the image, mkfs, mount; what VM 1 wrote comes back through the cluster (rbd export); unmapped clean', async () => {
    const { ns, p } = e;
    const step = 'dd if=/dev/urandom of=/mnt/rbd/data bs=64k count=16 status=none && echo "SUM $(sha256sum < /mnt/rbd/data | cut -c1-64)" && ' +
      'umount /mnt/rbd && dev=$(cat /run/rbd-dev) && echo ${dev#/dev/rbd} > /sys/bus/rbd/remove_single_major && [ -z "$(ls /sys/bus/rbd/devices)" ] && echo UNMAPPED';
    const r = await ns.rapido(p, ['cut', '--accel', 'tcg', '--timeout', '300', '-x', step, 'rbd']);
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /rbd: rbd\/rapido at \/dev\/rbd0, new ext4 mounted at \/mnt\/rbd/);
    assert.match(r.stdout, /UNMAPPED/);
    assert.ok(!(r.stdout + r.stderr).includes(adminKey(e)));
    const sum = tagged(r.stdout, 'SUM');
    assert.match(sum ?? '', /^[0-9a-f]{64}$/);
    assert.equal(readBack(e, '/data'), sum, 'the image exported from the cluster holds what the VM wrote');
    assert.match(ns.sh(`rbd -c ${e.conf} status rbd/rapido`).stdout, /Watchers: none/, 'no client left watching the image');
  });

  test('rbd-nbd: librbd maps the same image through nbd; it finds VM 1\'s file system and data; its own write comes back; unmapped clean', async () => {
    const { ns, p } = e;
    const step = 'echo "OLD $(sha256sum < /mnt/rbd/data | cut -c1-64)" && dd if=/dev/urandom of=/mnt/rbd/nbd bs=64k count=8 status=none && ' +
      'echo "SUM $(sha256sum < /mnt/rbd/nbd | cut -c1-64)" && umount /mnt/rbd && rbd-nbd unmap $(cat /run/rbd-dev) && echo UNMAPPED';
    const r = await ns.rapido(p, ['cut', '--accel', 'tcg', '--timeout', '300', '-x', step, 'rbd-nbd']);
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /rbd-nbd: rbd\/rapido at \/dev\/nbd0, existing ext4 mounted at \/mnt\/rbd/);
    assert.equal(tagged(r.stdout, 'OLD'), readBack(e, '/data'));
    assert.equal(readBack(e, '/nbd'), tagged(r.stdout, 'SUM'));
    assert.match(r.stdout, /UNMAPPED/);
    assert.match(ns.sh(`rbd -c ${e.conf} status rbd/rapido`).stdout, /Watchers: none/);
  });

  test('qemu-rbd: QEMU attaches the image through librbd; the guest sees the disk and both earlier VMs\' files; its write comes back', async () => {
    const { ns, p } = e;
    const step = 'echo "DATA $(sha256sum < /mnt/rbd/data | cut -c1-64)" && echo "NBD $(sha256sum < /mnt/rbd/nbd | cut -c1-64)" && ' +
      'dd if=/dev/urandom of=/mnt/rbd/qemu bs=64k count=8 status=none && echo "SUM $(sha256sum < /mnt/rbd/qemu | cut -c1-64)" && umount /mnt/rbd && echo UMOUNTED';
    const r = await ns.rapido(p, ['cut', '--accel', 'tcg', '--timeout', '300', '-x', step, 'qemu-rbd']);
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /qemu-rbd: rbd\/rapido is \/dev\/vda \(256 MiB\), existing ext4 mounted at \/mnt\/rbd/);
    assert.equal(tagged(r.stdout, 'DATA'), readBack(e, '/data'));
    assert.equal(tagged(r.stdout, 'NBD'), readBack(e, '/nbd'));
    assert.match(r.stdout, /UMOUNTED/);
    assert.equal(readBack(e, '/qemu'), tagged(r.stdout, 'SUM'));
  });

  test('cephfs-fuse: ceph-fuse in the guest sees what the kernel clients wrote; its own write comes back on the host', async () => {
    const { ns, p } = e;
    const step = 'echo "OLD $(sha256sum < /mnt/cephfs/e2e/data | cut -c1-64)" && dd if=/dev/urandom of=/mnt/cephfs/e2e/fuse bs=64k count=8 status=none && ' +
      'echo "SUM $(sha256sum < /mnt/cephfs/e2e/fuse | cut -c1-64)" && umount /mnt/cephfs && echo UMOUNTED';
    const r = await ns.rapido(p, ['cut', '--accel', 'tcg', '--timeout', '300', '-x', step, 'cephfs-fuse']);
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /cephfs-fuse: cephfs:\/ mounted at \/mnt\/cephfs by ceph-fuse/);
    assert.match(r.stdout, /UMOUNTED/);
    const host = withCephFuse(e, 'sha256sum < $M/e2e/data; sha256sum < $M/e2e/fuse');
    assert.equal(host.status, 0, host.stderr);
    const [data, fuse] = host.stdout.split('\n').map((l) => l.slice(0, 64));
    assert.equal(tagged(r.stdout, 'OLD'), data);
    assert.equal(tagged(r.stdout, 'SUM'), fuse);
  });

  test('fstests-cephfs: xfstests\' check against this VM\'s directories of the file system; the quick set runs and passes', { skip: skipUnless(builtSuite('xfstests') !== null, SUITE_NEEDS('xfstests')).skip }, async () => {
    const { ns, p } = e;
    const fstests = builtSuite('xfstests');
    requireHost(fstests !== null, SUITE_NEEDS('xfstests'));
    const r = await ns.rapido(p, ['cut', '--accel', 'tcg', '--timeout', '900', 'fstests-cephfs'], { env: { FSTESTS_SRC: fstests! } });
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-4000));
    assert.match(r.stdout, new RegExp(`fstests-cephfs: TEST_DEV ${ADDR.replaceAll('.', '\\.')}:6789:/rapido-fstests/rapido1/test, SCRATCH_DEV .*:/rapido-fstests/rapido1/scratch`));
    assert.match(r.stdout, /^FSTYP +-- ceph$/m);
    assert.match(r.stdout, /^Ran: generic\/002 generic\/005$/m);
    assert.match(r.stdout, /^Passed all 2 tests$/m);
    // check's work went to the cluster: its test directory is there, seen from the host.
    assert.equal(withCephFuse(e, 'test -d $M/rapido-fstests/rapido1/test && test -d $M/rapido-fstests/rapido1/scratch').status, 0);
  });

  test('a restarted cluster (new fsid, key) re-cuts only the overlay, and why says which generated files changed', () => {
    const { ns, p } = e;
    const cut = p.run(['cut', '-B', 'cephfs']);
    assert.equal(cut.status, 0, cut.stderr);
    const stop = ns.sh(`${CLUSTER} stop -d ${e.cluster}`);
    assert.equal(stop.status, 0, stop.stderr);
    startCluster(e);
    const why = p.run(['why', 'cephfs'], { bin: RAPIDO_STORE_BIN });
    assert.equal(why.status, 0, why.stderr);
    assert.match(why.stdout, /^overlay .*MISS/m);
    assert.match(why.stdout, /content of \/etc\/ceph\/ceph\.conf/);
    assert.match(why.stdout, /content of \/etc\/ceph\/ceph\.client\.admin\.keyring/);
    // A big module set is several kmods layers (kmods#1...): each must be a hit.
    for (const layer of ['system', 'kmods', 'net']) {
      const lines = why.stdout.split('\n').filter((l) => new RegExp(`^${layer}(#\\d+)? `).test(l));
      assert.ok(lines.length > 0 && lines.every((l) => / hit /.test(l)), `${layer}: ${lines.join('; ') || 'no such layer'}`);
    }
    assert.ok(!why.stdout.includes(adminKey(e)));
    const again = p.run(['cut', '-B', 'cephfs']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /rebuilt: overlay,/);
  });
});
