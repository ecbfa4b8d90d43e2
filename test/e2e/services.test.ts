/**
 * End to end: the server/client recipes, each a pair of VMs of one image
 * (VM 1 serves, VM 2 is the client), booted with one `rapido boot --vms 2`
 * under TCG with the Debian kernel, on a bridge in a network namespace the
 * test makes (never the host's). One two-VM boot per recipe.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { haveQemu, hostKernel, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, NETNS_NEEDS } from '../helpers/netns.js';
import { inPairNetns, onClient, PAIR_BOOT, pairSteps } from '../helpers/pairNetns.js';
import { checkSmbPair, SMB_CONF, SMB_PW } from '../helpers/smbPair.js';
import { builtSuite, SUITE_NEEDS } from '../helpers/suites.js';

const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}`;
const OK = canUseNetns() && haveQemu();

const steps = (out: string) => pairSteps(out, /(CIFS|cifs|nvme|smb)/, 60);


/** Client: 4 MiB of random data at 1 MiB on DEV, read back past the cache, compared; its sha256 in $sum. */
const WRITE_AND_SUM = [
  'dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 status=none',
  'dd if=/tmp/pattern of="$dev" bs=1M seek=1 oflag=direct conv=fsync status=none',
  'echo 3 > /proc/sys/vm/drop_caches',
  'dd if="$dev" of=/tmp/back bs=1M skip=1 count=4 iflag=direct status=none',
  'cmp /tmp/pattern /tmp/back',
  'sum=$(sha256sum < /tmp/back | cut -d" " -f1)',
  'echo "CLIENT-SUM $sum"',
];

describe('server/client VM pairs', { concurrency: 1, skip: skipUnless(OK, NEEDS).skip }, () => {
  test('nvme-tcp: VM 1 exports zram over nvmet-tcp, VM 2 connects; checksum round trip, server re-reads the same bytes, clean disconnect', () => inPairNetns(OK, NEEDS, '', async (ns, p) => {
    const step = onClient([
      'dev=$(cat /run/nvme-tcp-dev); nqn=$(cat /run/nvme-tcp-nqn)',
      'nvme list-subsys | grep -q "$nqn" && echo "SUBSYS-OK"',
      ...WRITE_AND_SUM,
      'nvme disconnect -n "$nqn" | grep -q "disconnected 1 controller"',
      'for i in $(seq 50); do [ -e "$dev" ] || break; sleep 0.1; done',
      '[ ! -e "$dev" ] && echo "DISCONNECT-OK"',
      'said=$(pair_ask "sum 1048576 4194304")',
      'echo "SERVER-SAID $said"',
      '[ "$said" = "sum $sum" ]',
      'pair_ask bye',
    ]);
    p.write('client.sh', step, 0o755);
    const cut = p.run(['cut', '-B', '-f', 'client.sh', 'nvme-tcp']);
    assert.equal(cut.status, 0, cut.stderr);
    const r = await ns.rapido(p, PAIR_BOOT);
    const out = r.stdout;
    const say = `${r.stderr}\n${steps(out)}`;
    assert.equal(r.status, 0, say);
    assert.match(out, /\[vm1\] nvme-tcp: server: \/dev\/zram0 exported as \S+ on 192\.168\.155\.101:4420/);
    assert.match(out, /\[vm2\] nvme-tcp: client: \/dev\/nvme\d+n1 connected to 192\.168\.155\.101:4420/);
    assert.match(out, /\[vm2\] SUBSYS-OK/);
    const client = /\[vm2\] CLIENT-SUM ([0-9a-f]{64})/.exec(out);
    assert.ok(client, 'the client printed its checksum');
    assert.match(out, new RegExp(`\\[vm1\\] pair: server: /dev/zram0 1048576\\+4194304 ${client[1]}`), 'the server read the same bytes from its zram');
    assert.match(out, /\[vm2\] DISCONNECT-OK/);
    assert.match(out, /\[vm1\] pair: server: client said bye/, say);
    assert.doesNotMatch(r.stderr, /the server's steps failed/);
  }));

  test('dropbear: the host in the namespace runs `rapido ssh -- uname -r` against the running guest and gets its release', () => inPairNetns(OK, NEEDS, '', async (ns, p) => {
    const keygen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rapido-e2e', '-f', `${p.dir}/id_ed25519`]);
    assert.equal(keygen.status, 0, String(keygen.stderr));
    appendFileSync(`${p.dir}/rapido.conf`, `SSH_AUTHORIZED_KEY="${p.dir}/id_ed25519.pub"\n`);
    const cut = p.run(['cut', '-B', 'dropbear']);
    assert.equal(cut.status, 0, cut.stderr);
    const boot = ns.rapido(p, ['boot', '--accel', 'tcg', '--timeout', '300', '--exit']);
    let done = false;
    void boot.then(() => (done = true));
    let ssh = { status: -1, stdout: '', stderr: '' };
    const deadline = Date.now() + 280_000;
    while (!done && Date.now() < deadline) {
      ssh = await ns.rapido(p, ['ssh', '--', 'uname', '-r']);
      if (ssh.status === 0) break;
      await sleep(1000);
    }
    assert.equal(ssh.status, 0, `rapido ssh never succeeded: ${ssh.stderr}`);
    assert.equal(ssh.stdout.trim(), hostKernel()!.release, 'the guest runs the kernel the cut was made for');
    const bye = await ns.rapido(p, ['ssh', '--', 'touch', '/run/dropbear-done']);
    assert.equal(bye.status, 0, bye.stderr);
    const r = await boot;
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /dropbear: listening on port 22 \(rapido1\)/);
    const gone = await ns.rapido(p, ['ssh', '--', 'true']);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /VM 1 is not running/);
  }));

  test('cifs: VM 1 shares xfs on zram with smbd, VM 2 mounts it; the server reads the bytes the client wrote; an fio verify job passes on the mount', () =>
    inPairNetns(OK, NEEDS, SMB_CONF, (ns, p) => checkSmbPair(ns, p, 'cifs', 'smbd')));

  test('fstests-cifs: VM 2 runs xfstests\' quick set (generic/002 generic/005) with TEST_DEV and SCRATCH_DEV directories of VM 1\'s share; both pass, the password stays off the console', { skip: skipUnless(builtSuite('xfstests') !== null, SUITE_NEEDS('xfstests')).skip }, () => inPairNetns(OK, NEEDS, SMB_CONF, async (ns, p) => {
    const fstests = builtSuite('xfstests');
    requireHost(fstests !== null, SUITE_NEEDS('xfstests'));
    const r = await ns.rapido(p, ['cut', '--vms', '2', '--accel', 'tcg', '--timeout', '900', 'fstests-cifs'], { env: { FSTESTS_SRC: fstests! } });
    const out = r.stdout;
    const say = `${r.stderr}\n${steps(out)}`;
    assert.equal(r.status, 0, say);
    assert.match(out, /\[vm2\] fstests-cifs: TEST_DEV \/\/192\.168\.155\.101\/rapido\/test, SCRATCH_DEV \/\/192\.168\.155\.101\/rapido\/scratch/, say);
    assert.match(out, /^\[vm2\] FSTYP +-- cifs$/m, say);
    assert.match(out, /^\[vm2\] Ran: generic\/002 generic\/005$/m, say);
    assert.match(out, /^\[vm2\] Passed all 2 tests$/m, say);
    assert.doesNotMatch(out, /^\[vm1\] (FSTYP|Ran:)/m, say);
    assert.doesNotMatch(out + r.stderr, new RegExp(SMB_PW), 'the password is never on the console or in rapido\'s messages');
  }));
});
