// Faults of the iSCSI pair (lio-iscsi: VM 1 an LIO target, VM 2 the
// open-iscsi initiator) under TCG in a network namespace of the test's own:
// the target's portal never comes up (the client booted alone), or the
// client asks for a target IQN the portal does not offer (two images cut
// with different ISCSI_TARGET_IQN, booted as VM 1 and VM 2). Each must end
// the client's boot soon with a message that says what is wrong and a
// non-zero status.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { haveQemu, QEMU_NEEDS, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, NETNS_NEEDS } from '../helpers/netns.js';
import { bootClientAlone, CLIENT_BOOT_SECS as BOOT_SECS, inPairNetns } from '../helpers/pairNetns.js';

const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}; Debian's open-iscsi (scripts/setup-test-services.sh)`;
const OK = canUseNetns() && haveQemu() && existsSync('/usr/sbin/iscsiadm');
const TARGET = 'iqn.2003-01.org.linux-iscsi.rapido:target';

describe('iscsi pair faults', { concurrency: 1, skip: skipUnless(OK, NEEDS).skip }, () => {
  test('no target at the portal (VM 1 not started): the initiator gives up after PAIR_WAIT_SECS naming the portal and the key; status 1, long before --timeout', () => inPairNetns(OK, NEEDS, 'PAIR_WAIT_SECS=10\n', async (ns, p) => {
    const r = await bootClientAlone(ns, p, 'lio-iscsi');
    const say = r.say;
    assert.equal(r.status, 1, say);
    assert.match(r.stdout, /pair: the iSCSI target's portal at 192\.168\.155\.101:3260 did not answer within 10 s \(PAIR_WAIT_SECS\): is VM 1 up with this image\?/, say);
    assert.doesNotMatch(r.stdout, /lio-iscsi: client: .* is LUN/, say);
    assert.match(r.stderr, /VM 2 finished with status 1/, say);
    assert.ok(r.secs >= 10 && r.secs < 10 + BOOT_SECS, `the boot took ${r.secs} s`);
  }));

  test('a wrong ISCSI_TARGET_IQN on the client: the login is refused before iscsiadm is asked, naming what the portal offers, the IQN asked for and the key; status 1; the target keeps serving', () => inPairNetns(OK, NEEDS, '', async (ns, p) => {
    const cut = p.run(['cut', '-B', 'lio-iscsi']);
    assert.equal(cut.status, 0, cut.stderr);
    // The client's own image (same directory, so it boots as VM 2) and configuration.
    const wrong = 'iqn.2003-01.org.linux-iscsi.rapido:no-such-target';
    const conf = join(p.dir, 'client.conf');
    writeFileSync(conf, readFileSync(join(p.dir, 'rapido.conf'), 'utf8').replace(/^DRACUT_OUT=.*$/m, `DRACUT_OUT="${join(dirname(p.out), 'client')}"`) + `ISCSI_TARGET_IQN="${wrong}"\n`);
    const cutClient = p.run(['cut', '-B', 'lio-iscsi'], { env: { RAPIDO_CONF: conf } });
    assert.equal(cutClient.status, 0, cutClient.stderr);
    const server = ns.rapido(p, ['boot', '--accel', 'tcg', '--timeout', '300']);
    const vm1 = join(dirname(p.out), 'rapido_vm1.pid');
    for (let i = 0; i < 300 && !existsSync(vm1); i++) await sleep(100);
    assert.ok(existsSync(vm1), 'the server took VM 1');
    const t0 = Date.now();
    const r = await ns.rapido(p, ['boot', '--accel', 'tcg', '--timeout', '300'], { env: { RAPIDO_CONF: conf } });
    const secs = (Date.now() - t0) / 1000;
    // The server serves until told otherwise: tell it, as a client's `pair_ask bye` does.
    const bye = ns.sh('bash -c \'echo bye > /dev/tcp/192.168.155.101/7001\'');
    const s = await server;
    const say = `${r.stderr}\n${r.stdout.slice(-3000)}\n--- server\n${s.stderr}\n${s.stdout.slice(-1500)}`;
    assert.equal(r.status, 1, say);
    assert.match(r.stdout, new RegExp(`iscsi: the portal 192\\.168\\.155\\.101:3260 offers ${TARGET.replace(/\./g, '\\.')}, not ${wrong.replace(/\./g, '\\.')} \\(ISCSI_TARGET_IQN\\)`), say);
    assert.doesNotMatch(r.stdout, /No records found/, 'iscsiadm was not asked to log in to a target it was not offered');
    assert.match(r.stderr, /VM 2 finished with status 1/, say);
    assert.ok(secs < 2 * BOOT_SECS, `the client's boot took ${secs} s`);
    assert.equal(bye.status, 0, bye.stderr);
    assert.match(s.stdout, new RegExp(`lio-iscsi: server: /dev/zram0 is LUN 0 of ${TARGET.replace(/\./g, '\\.')} on 192\\.168\\.155\\.101:3260`), say);
    assert.match(s.stdout, /pair: server: client said bye/, say);
    assert.equal(s.status, 0, say);
  }));
});
