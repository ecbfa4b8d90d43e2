/**
 * End to end: networked VMs under TCG with the Debian kernel, each test in a
 * network namespace of its own (bridge, taps, dnsmasq, host services and
 * QEMU's user-mode ports all live there and go with it).
 * - two VMs on one bridge, net-conf laid out as Rapido's net-conf.example;
 * - DHCP from dnsmasq on the bridge;
 * - user-mode networking: the host through QEMU's gateway, --hostfwd into
 *   the guest, and VIRTFS_SHARE_PATH at /host.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, makeNetns, NETNS_NEEDS, rapidoMac, type Netns } from '../helpers/netns.js';

const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}`;
const OK = canUseNetns() && haveQemu();
const BOOT = ['boot', '--accel', 'tcg', '--timeout', '240', '--exit'];
const CONF = 'BR_DEV="br-rapido"\nBR_ADDR="192.168.155.1/24"\nTAP_USER="root"\n';

// Rapido's net-conf.example, as a user would have copied it.
const EXAMPLE_VM1 = `# The path "net-conf/vm1/rapido-tap1.network" indicates:
# - it applies to rapido vm1 (the first virtual machine booted via "./rapido")
# - when booted, vm1 will be assigned the "rapido-tap1" tap device
#
# A [Match] section isn't needed, as rapido generates it.

[Network]
Address=192.168.155.101/24
#DHCP=yes
# if unneeded, this significantly speeds up wait-online...
LinkLocalAddressing=no
LLMNR=no

#DHCPServer=yes
#[DHCPServer]
#PoolOffset=200
#PoolSize=20

#[Link]
#MACAddress=b8:ac:24:45:c5:01
`;
const example = (addr: string) => `[Network]\nAddress=${addr}/24\nLinkLocalAddressing=no\nLLMNR=no\n`;

/** What a child started with stdout piped has printed so far. */
function collect(child: ReturnType<Netns['start']>): () => string {
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  return () => out;
}

async function inNetns(conf: string, fn: (ns: Netns, p: Project) => Promise<void>): Promise<void> {
  requireHost(OK, NEEDS);
  const ns = makeNetns();
  const p = makeProject(conf);
  try {
    await fn(ns, p);
  } finally {
    ns.cleanup();
    p.cleanup();
  }
}

const TWO_VMS = `#!/bin/sh
bb=busybox
read -r me < /proc/sys/kernel/hostname
read -r mac < /sys/class/net/eth0/address
echo "e2e: $me mac $mac"
echo "e2e: $me addr $($bb ip -4 -o addr show dev eth0 | $bb awk '{print $4}')"
case "$me" in
alpha)
	n=0
	until $bb ping -c 1 -W 1 rapido2 >/dev/null 2>&1; do
		n=$((n + 1)); [ $n -lt 120 ] || { echo "e2e: rapido2 unreachable"; exit 1; }
	done
	$bb ping -c 1 rapido2 >/dev/null && $bb ping -c 1 192.168.155.102 >/dev/null && echo "e2e: alpha pinged rapido2 by name and by address"
	n=0
	until echo bye-from-alpha | $bb nc rapido2 9000; do
		n=$((n + 1)); [ $n -lt 60 ] || exit 1; $bb sleep 1
	done
	;;
rapido2)
	echo "e2e: service said $(echo hello | $bb nc 192.168.155.1 7777)"
	$bb nc -l -p 9000 > /tmp/got
	echo "e2e: rapido2 got $($bb cat /tmp/got)"
	;;
esac
`;

describe('networked VMs', { concurrency: 1, skip: skipUnless(OK, NEEDS).skip }, () => {
  test('two VMs on one bridge: Rapido\'s net-conf as is, addresses, names, MACs, ping, a TCP service on the bridge', () => inNetns(CONF, async (ns, p) => {
    p.write('net-conf/vm1/rapido-tap1.network', EXAMPLE_VM1);
    p.write('net-conf/vm1/hostname', 'alpha\n');
    p.write('net-conf/vm2/rapido-tap2.network', example('192.168.155.102'));
    p.write('net-conf/vm3/rapido-tap3.network', example('192.168.155.103'));
    p.write('net-conf/vm3/rapido-tap4.network', example('192.168.155.104'));
    p.write('two.rapido', 'description two VMs\ninclude net.fest\nautorun two.sh\n');
    p.write('two.sh', TWO_VMS, 0o755);
    const cut = p.run(['cut', '-B', './two.rapido']);
    assert.equal(cut.status, 0, cut.stderr);
    const setup = await ns.rapido(p, ['setup-network']);
    assert.equal(setup.status, 0, setup.stderr);
    assert.match(setup.stdout, /tap rapido-tap4 \(vm3\): created/);
    const server = ns.start(process.execPath, ['-e',
      'require("net").createServer((s) => { console.log("peer " + s.remoteAddress); s.end("service-ok\\n"); }).listen(7777, "192.168.155.1")'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    const served = collect(server);

    const [a, b] = await Promise.all([ns.rapido(p, BOOT), ns.rapido(p, BOOT)]);
    const out = a.stdout + b.stdout;
    assert.equal(a.status, 0, a.stderr + a.stdout.slice(-3000));
    assert.equal(b.status, 0, b.stderr + b.stdout.slice(-3000));
    assert.match(out, new RegExp(`e2e: alpha mac ${rapidoMac(1, 'rapido-tap1')}`));
    assert.match(out, new RegExp(`e2e: rapido2 mac ${rapidoMac(2, 'rapido-tap2')}`));
    assert.match(out, /e2e: alpha addr 192\.168\.155\.101\/24/);
    assert.match(out, /e2e: rapido2 addr 192\.168\.155\.102\/24/);
    assert.match(out, /e2e: alpha pinged rapido2 by name and by address/);
    assert.match(out, /e2e: service said service-ok/);
    assert.match(out, /e2e: rapido2 got bye-from-alpha/);
    assert.match(served(), /peer 192\.168\.155\.102/);
    assert.doesNotMatch(out, /rapido-net: .*not supported/, 'Rapido\'s example has nothing we do not honour');
    assert.doesNotMatch(a.stderr + b.stderr, /user-mode/);

    const down = await ns.rapido(p, ['teardown-network']);
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /bridge br-rapido: removed/);
  }));

  test('DHCP: a .network with DHCP=yes gets its lease from dnsmasq on the bridge; an unsupported key is one warning', () => inNetns(CONF, async (ns, p) => {
    p.write('net-conf/vm1/rapido-tap1.network', '[Network]\nDHCP=yes\nIPForward=yes\n');
    p.write('dhcp.rapido', 'network\nautorun dhcp.sh\n');
    p.write('dhcp.sh', '#!/bin/sh\nbusybox ping -c 1 -W 5 192.168.155.1 >/dev/null && echo "e2e: bridge reachable"\n', 0o755);
    const cut = p.run(['cut', '-B', './dhcp.rapido']);
    assert.equal(cut.status, 0, cut.stderr);
    assert.equal((await ns.rapido(p, ['setup-network'])).status, 0);
    const leases = `${p.dir}/dnsmasq.leases`;
    ns.start('dnsmasq', ['--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--port=0', '--user=root',
      '--bind-interfaces', '--interface=br-rapido', '--except-interface=lo', '--dhcp-range=192.168.155.50,192.168.155.59,1h',
      `--dhcp-leasefile=${leases}`, `--pid-file=${p.dir}/dnsmasq.pid`]);
    const r = await ns.rapido(p, BOOT);
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /rapido-net: eth0: DHCP lease 192\.168\.155\.5\d\/24/);
    assert.match(r.stdout, /e2e: bridge reachable/);
    const warnings = r.stdout.match(/rapido-net: vm1\/rapido-tap1\.network: .*/g) ?? [];
    assert.deepEqual(warnings.map((w) => w.trim()), ['rapido-net: vm1/rapido-tap1.network: [Network] IPForward= is not supported here, ignored']);
    assert.match(readFileSync(leases, 'utf8'), new RegExp(`${rapidoMac(1, 'rapido-tap1')} 192\\.168\\.155\\.5\\d rapido1`));
  }));

  test('user mode: the host through QEMU\'s gateway, --hostfwd into the guest, VIRTFS_SHARE_PATH at /host', () => inNetns('VIRTFS_SHARE_PATH="share"\n', async (ns, p) => {
    p.write('share/note.txt', 'written on the host\n');
    p.write('net-conf/vm1/rapido-tap1.network', example('192.168.155.101'));
    p.write('user.rapido', 'network\nautorun user.sh\n');
    p.write('user.sh', `#!/bin/sh
bb=busybox
echo "e2e: share says $($bb cat /host/note.txt)"
echo "e2e: host said $(echo hi | $bb nc 10.0.2.2 7000)"
echo guest-says-hi | $bb nc -l -p 8000
echo "e2e: forwarded"
`, 0o755);
    const cut = p.run(['cut', '-B', './user.rapido']);
    assert.equal(cut.status, 0, cut.stderr);
    ns.start(process.execPath, ['-e', 'require("net").createServer((s) => s.end("host-service-ok\\n")).listen(7000, "127.0.0.1")']);
    const client = ns.start(process.execPath, ['-e', `
      const net = require('net');
      const attempt = () => {
        const s = net.connect(18000, '127.0.0.1');
        let d = '';
        s.on('data', (x) => (d += x));
        s.on('close', () => (d ? console.log('client got ' + d.trim()) : setTimeout(attempt, 500)));
        s.on('error', () => {});
      };
      attempt();`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const got = collect(client);
    const r = await ns.rapido(p, [...BOOT, '--hostfwd', '18000:8000']);
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /rapido-net: eth0 \(user, [0-9a-f:]+\): 10\.0\.2\.15\/24/);
    assert.match(r.stdout, /e2e: share says written on the host/);
    assert.match(r.stdout, /e2e: host said host-service-ok/);
    assert.match(r.stdout, /e2e: forwarded/);
    assert.match(got(), /client got guest-says-hi/);
  }));
});
