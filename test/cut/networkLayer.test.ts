/**
 * The `network` directive (and Rapido's `include net.fest`) as the cut sees
 * it: its own layer carries net-conf and the guest's network script, the
 * kmods and system layers carry the NIC and 9p modules and busybox, and a
 * .network edit rebuilds only that layer. No boot here (test/e2e/network*).
 */
import assert from 'node:assert/strict';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireKernel } from '../helpers/hostPrereqs.js';
import { makeProject } from '../helpers/cliHarness.js';
import { ImageView } from '../helpers/imageView.js';

const KVER = requireKernel().release;

function age(path: string) {
  const t = new Date(Date.now() - 10_000);
  utimesSync(path, t, t);
}

test('include net.fest: a net layer with net-conf at /rapido-rsc/net and /rapido-net; a .network edit rebuilds only it', () => {
  const p = makeProject();
  try {
    const files = [
      p.write('r.rapido', 'bin cat\ninclude net.fest\nautorun run.sh\n'),
      p.write('run.sh', '#!/bin/sh\necho hi\n'),
      p.write('net-conf/vm1/rapido-tap1.network', '[Network]\nAddress=192.168.155.101/24\n'),
      p.write('net-conf/vm1/hostname', 'alpha\n'),
    ];
    const first = p.run(['cut', '-B', './r.rapido']);
    assert.equal(first.status, 0, first.stderr);
    const img = new ImageView(readFileSync(p.out));
    assert.equal(img.lookup('/rapido-rsc/net/vm1/rapido-tap1.network')?.data?.toString(), '[Network]\nAddress=192.168.155.101/24\n');
    assert.equal(img.lookup('/rapido-rsc/net/vm1/hostname')?.data?.toString(), 'alpha\n');
    assert.equal((img.lookup('/rapido-net')!.mode & 0o111) !== 0, true);
    for (const ko of ['drivers/net/virtio_net.ko', 'fs/9p/9p.ko', 'net/9p/9pnet_virtio.ko']) {
      assert.ok([...img.entries.keys()].some((k) => k.startsWith(`usr/lib/modules/${KVER}/`) && k.endsWith(ko)) ||
        [...img.entries.keys()].some((k) => k.startsWith(`lib/modules/${KVER}/`) && k.endsWith(ko)), `${ko} in the image`);
    }
    assert.ok(img.lookup('/usr/bin/busybox') ?? img.lookup('/bin/busybox'), 'busybox in the image');

    // The directories count too: net-conf/ and vm1/ were made when the files were written.
    for (const f of [...files, join(p.dir, 'net-conf/vm1'), join(p.dir, 'net-conf'), p.dir]) age(f);
    p.run(['cut', '-B', './r.rapido']); // trusted stamp now that nothing is racy
    const noop = p.run(['cut', '-B', './r.rapido']);
    assert.match(noop.stderr, /up to date/);

    const edited = p.write('net-conf/vm1/rapido-tap1.network', '[Network]\nAddress=192.168.155.111/24\n');
    age(edited);
    const recut = p.run(['cut', '-B', './r.rapido']);
    assert.equal(recut.status, 0, recut.stderr);
    assert.match(recut.stderr, /\(1 built, \d+ reused\), rebuilt: net,/);
    assert.match(new ImageView(readFileSync(p.out)).lookup('/rapido-rsc/net/vm1/rapido-tap1.network')!.data!.toString(), /155\.111/);

    // A new VM's directory is noticed too.
    age(p.write('net-conf/vm2/rapido-tap2.network', '[Network]\nDHCP=yes\n'));
    age(join(p.dir, 'net-conf'));
    const added = p.run(['cut', '-B', './r.rapido']);
    assert.match(added.stderr, /rebuilt: net,/);
  } finally {
    p.cleanup();
  }
});

test('a recipe without the network directive has no net layer, no /rapido-net, no NIC module', () => {
  const p = makeProject();
  try {
    p.write('r.rapido', 'bin cat\n');
    p.write('net-conf/vm1/rapido-tap1.network', '[Network]\nAddress=192.168.155.101/24\n');
    const r = p.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 0, r.stderr);
    const img = new ImageView(readFileSync(p.out));
    assert.equal(img.lookup('/rapido-net'), undefined);
    assert.equal(img.lookup('/rapido-rsc/net'), undefined);
    assert.ok(![...img.entries.keys()].some((k) => k.endsWith('virtio_net.ko')));
  } finally {
    p.cleanup();
  }
});

test('`network` takes no arguments; without a net-conf directory the layer is still cut (user-mode networking)', () => {
  const p = makeProject();
  try {
    p.write('bad.rapido', 'network eth0\n');
    const bad = p.run(['cut', '-B', './bad.rapido']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /bad\.rapido:1: 'network' takes 0 argument\(s\), got 1/);
    p.write('r.rapido', 'network\n');
    const r = p.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 0, r.stderr);
    const img = new ImageView(readFileSync(p.out));
    assert.ok(img.lookup('/rapido-net'));
    assert.equal(img.lookup('/rapido-rsc/net')?.type, 'dir');
  } finally {
    p.cleanup();
  }
});
