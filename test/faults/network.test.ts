/**
 * Faults of the host side of networking: setup-network/teardown-network run
 * as a non-root user, a device name taken by another kind of device, no
 * iproute2; a boot whose tap is missing or is no tap, a missing
 * VIRTFS_SHARE_PATH, --net on an image without networking. Each runs in a
 * network namespace of its own; none starts QEMU.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, makeNetns, NETNS_NEEDS, type Netns } from '../helpers/netns.js';

const CONF = 'BR_DEV="br-t"\nBR_ADDR="192.168.155.1/24"\nTAP_USER="root"\n';
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

function netProject(): Project {
  const p = makeProject(CONF);
  p.write('net-conf/vm1/rapido-tap1.network', '[Network]\nAddress=192.168.155.101/24\n');
  p.write('net-conf/vm2/rapido-tap2.network', '[Network]\nAddress=192.168.155.102/24\n');
  return p;
}

async function inNetns(fn: (ns: Netns, p: Project) => Promise<void>): Promise<void> {
  requireHost(canUseNetns(), NETNS_NEEDS);
  const ns = makeNetns();
  const p = netProject();
  try {
    await fn(ns, p);
  } finally {
    ns.cleanup();
    p.cleanup();
  }
}

const exists = (ns: Netns, dev: string) => ns.sh(`ip link show dev ${dev}`).status === 0;

describe('setup-network / teardown-network faults', { skip: skipUnless(canUseNetns(), NETNS_NEEDS).skip }, () => {
  test('as a non-root user: refused, naming the sudo command; nothing created or removed', () => inNetns(async (ns, p) => {
    const r = await ns.rapido(p, ['setup-network', '-b', 'br-t'], { prefix: NOBODY });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /rapido: error: setup-network creates and removes host network devices, which needs root/);
    assert.match(r.stderr, /hint: run it with sudo: sudo rapido setup-network -b br-t/);
    assert.ok(!exists(ns, 'br-t') && !exists(ns, 'rapido-tap1'));

    assert.equal((await ns.rapido(p, ['setup-network'])).status, 0);
    const t = await ns.rapido(p, ['teardown-network'], { prefix: NOBODY });
    assert.equal(t.status, 1);
    assert.match(t.stderr, /teardown-network creates and removes host network devices, which needs root[\s\S]*sudo rapido teardown-network/);
    assert.ok(exists(ns, 'br-t') && exists(ns, 'rapido-tap1'), 'the refused teardown removed nothing');
  }));

  test('idempotent: a second setup says what exists, a second teardown what is absent; both exit 0', () => inNetns(async (ns, p) => {
    const one = await ns.rapido(p, ['setup-network']);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /bridge br-t: created\n.*address 192\.168\.155\.1\/24\n.*tap rapido-tap1 \(vm1\): created, owner root\n.*tap rapido-tap2 \(vm2\): created/);
    const two = await ns.rapido(p, ['setup-network']);
    assert.equal(two.status, 0, two.stderr);
    assert.match(two.stdout, /bridge br-t: exists\n.*has address 192\.168\.155\.1\/24\n.*rapido-tap1 \(vm1\): exists\n.*rapido-tap2 \(vm2\): exists/);
    const links = ns.sh('ip -d -o link show dev rapido-tap1; ip -o addr show dev br-t').stdout;
    assert.match(links, /master br-t/);
    assert.match(links, /tun type tap/);
    assert.equal(links.match(/192\.168\.155\.1\/24/g)?.length, 1, 'the address was not added twice');

    const down = await ns.rapido(p, ['teardown-network']);
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /tap rapido-tap1: removed\n.*tap rapido-tap2: removed\n.*bridge br-t: removed/);
    assert.ok(!exists(ns, 'br-t') && !exists(ns, 'rapido-tap1') && !exists(ns, 'rapido-tap2'));
    const again = await ns.rapido(p, ['teardown-network']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /tap rapido-tap1: absent\n.*tap rapido-tap2: absent\n.*bridge br-t: absent/);
  }));

  test('a tap name held by a bridge: refused before anything is created', () => inNetns(async (ns, p) => {
    ns.sh('ip link add rapido-tap2 type bridge');
    const r = await ns.rapido(p, ['setup-network']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /rapido: error: rapido-tap2 \(.*vm2\/rapido-tap2\.network\) exists and is a bridge, not a tap/);
    assert.match(r.stderr, /hint: .*ip link delete rapido-tap2/);
    assert.ok(!exists(ns, 'br-t') && !exists(ns, 'rapido-tap1'), 'nothing created');
    // BR_DEV naming a tap is refused the same way.
    ns.sh('ip link delete rapido-tap2; ip tuntap add dev br-t mode tap');
    const b = await ns.rapido(p, ['setup-network']);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /br-t exists and is a tap device, not a bridge/);
  }));

  test('no iproute2: one line saying to install it', () => inNetns(async (ns, p) => {
    // Hide the ip binary in a private mount namespace.
    const r = await ns.rapido(p, ['setup-network'], {
      prefix: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind /dev/null "$(command -v ip)" && exec "$@"', 'sh'],
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /rapido: error: iproute2 is missing: no `ip` command/);
    assert.match(r.stderr, /hint: install it: apt-get install iproute2/);
  }));
});

describe('boot faults of networking (no QEMU starts)', { skip: skipUnless(canUseNetns() && haveQemu(), `${NETNS_NEEDS}; ${QEMU_NEEDS}`).skip }, () => {
  let p: Project;
  before(() => {
    requireHost(canUseNetns() && haveQemu(), `${NETNS_NEEDS}; ${QEMU_NEEDS}`);
    p = netProject();
    p.write('net.rapido', 'network\n');
    p.write('plain.rapido', 'bin cat\n');
    const r = p.run(['cut', '-B', './net.rapido']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => p?.cleanup());

  test('--net tap with a tap that does not exist, or is no tap: one line naming setup-network', async () => {
    const ns = makeNetns();
    try {
      const r = await ns.rapido(p, ['boot', '--accel', 'tcg', '--net', 'tap', '--exit']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^rapido: error: tap rapido-tap1 \(.*vm1\/rapido-tap1\.network\) does not exist: run `sudo rapido setup-network`\n/);
      assert.doesNotMatch(r.stderr, /using (TCG|KVM)|QEMU/);
      ns.sh('ip link add rapido-tap1 type bridge');
      const b = await ns.rapido(p, ['boot', '--accel', 'tcg', '--exit']);
      assert.equal(b.status, 1, b.stderr);
      assert.match(b.stderr, /tap rapido-tap1 .* is a bridge, not a tap: run `sudo rapido setup-network`/);
    } finally {
      ns.cleanup();
    }
  });

  test('VIRTFS_SHARE_PATH that is not a directory: one line, no QEMU', async () => {
    const ns = makeNetns();
    try {
      const r = await ns.rapido(p, ['boot', '--accel', 'tcg', '--exit'], { env: { VIRTFS_SHARE_PATH: '/nonexistent/share' } });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^rapido: error: VIRTFS_SHARE_PATH \/nonexistent\/share is not a directory\n/);
      assert.doesNotMatch(r.stderr, /using (TCG|KVM)/);
    } finally {
      ns.cleanup();
    }
  });

  test('--net user / --hostfwd on an image cut without networking: a usage error', async () => {
    const c = p.run(['cut', '-B', './plain.rapido']);
    assert.equal(c.status, 0, c.stderr);
    try {
      const r = p.run(['boot', '--accel', 'tcg', '--net', 'user', '--exit']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--net user: the image was cut from a recipe without networking/);
      assert.match(r.stderr, /hint: add the line `network` \(or Rapido's `include net\.fest`\)/);
      const f = p.run(['boot', '--accel', 'tcg', '--hostfwd', '2222:22', '--exit']);
      assert.equal(f.status, 2, f.stderr);
      const bad = p.run(['boot', '--hostfwd', '22', '--exit']);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /invalid --hostfwd "22": want HOSTPORT:GUESTPORT/);
    } finally {
      assert.equal(p.run(['cut', '-B', './net.rapido']).status, 0);
    }
  });
});
