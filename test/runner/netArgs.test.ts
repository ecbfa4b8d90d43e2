import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { LinkInfo } from '../../src/network/hostLinks.js';
import { parseHostFwd, planNet, type NetRequest } from '../../src/runner/netArgs.js';
import { buildQemuArgs } from '../../src/runner/qemuArgs.js';
import { tapMac } from '../../src/runner/netConf.js';

const dir = mkdtempSync(join(tmpdir(), 'rapido-netargs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'vm1'));
mkdirSync(join(dir, 'vm2'));
writeFileSync(join(dir, 'vm1', 'rapido-tap1.network'), '[Network]\nAddress=192.168.155.101/24\n');
writeFileSync(join(dir, 'vm2', 'rapido-tap2.network'), '');
writeFileSync(join(dir, 'vm2', 'rapido-tap3.network'), '');

const link = (devs: Record<string, LinkInfo['kind']>) => (name: string): LinkInfo | undefined =>
  devs[name] ? { name, kind: devs[name], up: true, addresses: [] } : undefined;
const req = (o: Partial<NetRequest>): NetRequest => ({ wanted: true, hostfwd: [], netConfDir: dir, link: link({}), ...o });
const code = (c: string, re?: RegExp) => (e: Error & { code?: string; exitCode?: number }) => e.code === c && (!re || re.test(e.message));

describe('planNet', () => {
  it('an image without the network directive: -net none, no kernel parameter, as before networking', () => {
    const n = planNet(req({ wanted: false, mode: 'tap', modeSource: 'VM_NET_MODE in rapido.conf' }), 1);
    assert.deepEqual(n.qemuArgs, ['-net', 'none']);
    assert.deepEqual(n.kernelParams, []);
    assert.throws(() => planNet(req({ wanted: false, mode: 'user', modeSource: '--net' }), 1), code('NET_NOT_IN_IMAGE', /--net user/));
    assert.throws(() => planNet(req({ wanted: false, hostfwd: [{ host: 2222, guest: 22 }] }), 1), code('NET_NOT_IN_IMAGE'));
  });

  it('tap mode when the taps exist: a virtio NIC per tap with Rapido\'s MAC, named on the kernel command line', () => {
    const n = planNet(req({ link: link({ 'rapido-tap2': 'tap', 'rapido-tap3': 'tap' }) }), 2);
    assert.equal(n.mode, 'tap');
    assert.deepEqual(n.qemuArgs, [
      '-netdev', 'tap,id=rnet0,ifname=rapido-tap2,script=no,downscript=no', '-device', `virtio-net-pci,netdev=rnet0,mac=${tapMac(2, 'rapido-tap2')}`,
      '-netdev', 'tap,id=rnet1,ifname=rapido-tap3,script=no,downscript=no', '-device', `virtio-net-pci,netdev=rnet1,mac=${tapMac(2, 'rapido-tap3')}`,
    ]);
    assert.deepEqual(n.kernelParams, ['rapido.net=tap', `rapido.nic=rapido-tap2,${tapMac(2, 'rapido-tap2')}`, `rapido.nic=rapido-tap3,${tapMac(2, 'rapido-tap3')}`]);
    assert.deepEqual(n.notes, []);
  });

  it('no tap exists: user-mode networking, said in one line that names setup-network', () => {
    const n = planNet(req({}), 1);
    assert.equal(n.mode, 'user');
    assert.deepEqual(n.qemuArgs, ['-netdev', 'user,id=rnet0', '-device', `virtio-net-pci,netdev=rnet0,mac=${tapMac(1, 'user')}`]);
    assert.equal(n.notes.length, 1);
    assert.match(n.notes[0], /rapido-tap1, but it does not exist: user-mode networking instead \(run `sudo rapido setup-network`/);
    // A VM net-conf says nothing about: user mode, silently.
    assert.deepEqual(planNet(req({}), 5).notes, []);
  });

  it('a missing or wrong-kind tap is one line saying to run setup-network, not a QEMU error', () => {
    assert.throws(() => planNet(req({ link: link({ 'rapido-tap2': 'tap' }) }), 2), code('NET_TAP_MISSING', /tap rapido-tap3 .* does not exist: run `sudo rapido setup-network`/));
    assert.throws(() => planNet(req({ mode: 'tap', link: link({ 'rapido-tap1': 'bridge' }) }), 1), code('NET_TAP_MISSING', /is a bridge, not a tap/));
    assert.throws(() => planNet(req({ mode: 'tap' }), 4), code('NET_NO_TAP', /vm4 has no <tap>.network/));
  });

  it('--hostfwd: user mode, forwarded from 127.0.0.1; refused with taps', () => {
    const n = planNet(req({ hostfwd: [{ host: 2222, guest: 22 }, { host: 8080, guest: 80 }], link: link({ 'rapido-tap1': 'tap' }) }), 1);
    assert.equal(n.mode, 'user');
    assert.equal(n.qemuArgs[1], 'user,id=rnet0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80');
    assert.throws(() => planNet(req({ mode: 'tap', modeSource: '--net', hostfwd: [{ host: 1, guest: 2 }], link: link({ 'rapido-tap1': 'tap' }) }), 1), code('NET_HOSTFWD'));
    assert.deepEqual(parseHostFwd('2222:22'), { host: 2222, guest: 22 });
    for (const bad of ['22', '0:22', '2222:70000', 'a:b', '1:2:3']) assert.throws(() => parseHostFwd(bad), code('USAGE'));
  });

  it('--net none on a networked image: no NIC, the guest told so', () => {
    const n = planNet(req({ mode: 'none', modeSource: '--net' }), 1);
    assert.deepEqual(n.qemuArgs, ['-net', 'none']);
    assert.deepEqual(n.kernelParams, ['rapido.net=none']);
  });

  it('VIRTFS_SHARE_PATH: a 9p export mounted at /host by the guest; a missing directory is one line', () => {
    const n = planNet(req({ sharePath: dir }), 5);
    assert.deepEqual(n.qemuArgs.slice(-2), ['-virtfs', `local,path=${dir},mount_tag=host0,security_model=mapped-xattr,id=host0`]);
    assert.ok(n.kernelParams.includes('rapido.share=host0'));
    assert.throws(() => planNet(req({ sharePath: join(dir, 'absent') }), 5), code('VIRTFS_PATH', /VIRTFS_SHARE_PATH .*absent is not a directory/));
    const plain = planNet(req({ wanted: false, sharePath: dir }), 5);
    assert.equal(plain.notes.length, 1);
    assert.match(plain.notes[0], /no `network` directive/);
  });

  it('buildQemuArgs takes the plan in place of -net none, its parameters before the user\'s', () => {
    const n = planNet(req({}), 1);
    const args = buildQemuArgs({
      kernel: '/k', initrd: '/i', cpus: 1, mem: '512M', vmNum: 1, hostname: 'h', interactive: false, quiet: false, accel: 'tcg',
      statusFile: '/s', pidFile: '/p', extraKernelParams: 'rapido.net=none', net: n,
    });
    assert.ok(!args.includes('-net'));
    assert.ok(args.includes('-netdev'));
    const cmdline = args[args.indexOf('-append') + 1];
    assert.ok(cmdline.indexOf('rapido.net=user') < cmdline.indexOf('rapido.net=none'), cmdline);
  });
});
