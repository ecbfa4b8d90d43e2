/**
 * End to end: the iSCSI server/client recipes, VM 1 a target (LIO through
 * configfs, or tgt's tgtd), VM 2 the open-iscsi initiator, one image booted
 * with one `rapido boot --vms 2` under TCG with the Debian kernel, on a
 * bridge in a network namespace the test makes (never the host's). One
 * two-VM boot per recipe.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Project } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, NETNS_NEEDS, type Netns } from '../helpers/netns.js';
import { inPairNetns, PAIR_BOOT, pairSteps } from '../helpers/pairNetns.js';

const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}`;
const OK = canUseNetns() && haveQemu();

const steps = (out: string) => pairSteps(out, /(iscsi|iSCSI|scsi|sd |tgt|TARGET|connection)/, 80);

/**
 * The client's proof, a step (-f) that runs only on VM 2 (both boot the same
 * image): mkfs + mount + a file with a checksum on the LUN; after umount the
 * whole raw LUN's checksum, which the server computes again from its zram
 * backstore (pair_ask); logout (the disk goes away, no session is left),
 * login again, mount again: the file's checksum is the same; a clean logout
 * at the end; then an initiator of another name is refused (the ACL).
 */
const CLIENT_STEP = [
  '#!/bin/bash',
  '[ "$RAPIDO_VM_NUM" = 2 ] || exit 0',
  'set -e',
  '. /usr/lib/rapido/storage-lib.sh',
  '. /usr/lib/rapido/pair-lib.sh',
  '. /usr/lib/rapido/iscsi-lib.sh',
  'dev=$(cat /run/iscsi-dev); iqn=$(cat /run/iscsi-iqn); portal=$(cat /run/iscsi-portal)',
  'size=$(blockdev --getsize64 "$dev")',
  'mkfs.ext4 -q -F "$dev"',
  'mkdir -p /mnt/iscsi',
  'mount -t ext4 "$dev" /mnt/iscsi',
  'dd if=/dev/urandom of=/mnt/iscsi/data.bin bs=1M count=4 status=none',
  'sum=$(sha256sum < /mnt/iscsi/data.bin | cut -d" " -f1)',
  'echo "FILE-SUM $sum"',
  'umount /mnt/iscsi',
  'raw=$(dd if="$dev" bs=1M iflag=direct status=none | sha256sum | cut -d" " -f1)',
  'echo "CLIENT-RAW $size $raw"',
  'said=$(pair_ask "sum 0 $size")',
  'echo "SERVER-SAID $said"',
  '[ "$said" = "sum $raw" ]',
  'iscsi_logout "$iqn" "$portal"',
  'if s=$(iscsiadm -m session 2>&1); then echo "a session is left: $s"; exit 1; fi',
  'echo "$s" | grep -q "No active sessions"',
  'echo "LOGOUT-OK $dev"',
  'dev=$(iscsi_login "$iqn" "$portal")',
  'echo "RELOGIN-OK $dev"',
  'mount -t ext4 "$dev" /mnt/iscsi',
  'again=$(sha256sum < /mnt/iscsi/data.bin | cut -d" " -f1)',
  'echo "FILE-SUM-AGAIN $again"',
  '[ "$again" = "$sum" ]',
  'umount /mnt/iscsi',
  'iscsi_logout "$iqn" "$portal"',
  'echo "FINAL-LOGOUT-OK"',
  // The ACL: an initiator of another name (an iface of its own) is refused.
  'iscsiadm -m iface -I intruder -o new >/dev/null',
  'iscsiadm -m iface -I intruder -o update -n iface.initiatorname -v iqn.2003-01.org.linux-iscsi.rapido:intruder >/dev/null',
  // tgt hides the target from a name it refuses (no portals found): the login is tried on a record made by hand.
  'iscsiadm -m discovery -t sendtargets -p "$portal" -I intruder >/dev/null || :',
  'iscsiadm -m node -T "$iqn" -p "$portal" -I intruder >/dev/null 2>&1 || iscsiadm -m node -o new -T "$iqn" -p "$portal" -I intruder >/dev/null',
  'if iscsiadm -m node -T "$iqn" -p "$portal" -I intruder --login; then echo "the target admitted another initiator"; exit 1; fi',
  'if s=$(iscsiadm -m session 2>&1); then echo "a session is left: $s"; exit 1; fi',
  'echo "ACL-REFUSED-OK"',
  'pair_ask bye',
  '',
].join('\n');

/** Cuts RECIPE with the client's proof step, boots the pair, checks what both VMs said; returns the console. */
async function provePair(ns: Netns, p: Project, recipe: string): Promise<string> {
  p.write('client.sh', CLIENT_STEP, 0o755);
  const cut = p.run(['cut', '-B', '-f', 'client.sh', recipe]);
  assert.equal(cut.status, 0, cut.stderr);
  const r = await ns.rapido(p, PAIR_BOOT);
  const out = r.stdout;
  const say = `${r.stderr}\n${steps(out)}`;
  assert.equal(r.status, 0, say);
  const login = /\[vm2\] \S+: client: (\/dev\/sd[a-z]+) is LUN (\d+) of iqn\.2003-01\.org\.linux-iscsi\.rapido:target at 192\.168\.155\.101:3260/.exec(out);
  assert.ok(login, say);
  const file = /\[vm2\] FILE-SUM ([0-9a-f]{64})/.exec(out);
  assert.ok(file, say);
  const raw = /\[vm2\] CLIENT-RAW (\d+) ([0-9a-f]{64})/.exec(out);
  assert.ok(raw, say);
  assert.equal(raw[1], String(64 * 1024 * 1024), 'the LUN is the size of the zram backstore (ISCSI_ZRAM_SIZE)');
  assert.match(out, new RegExp(`\\[vm1\\] pair: server: /dev/zram0 0\\+${raw[1]} ${raw[2]}`), 'the server read the same bytes from its zram');
  assert.match(out, /\[vm2\] LOGOUT-OK \/dev\/sd[a-z]+/, say);
  assert.match(out, /\[vm2\] RELOGIN-OK \/dev\/sd[a-z]+/, say);
  assert.match(out, new RegExp(`\\[vm2\\] FILE-SUM-AGAIN ${file[1]}`), 'the file is still there after logout and login');
  assert.match(out, /\[vm2\] FINAL-LOGOUT-OK/, say);
  assert.match(out, /\[vm2\] iscsid: connection\d+:0 login rejected: /, 'the target refused the other name at login');
  assert.match(out, /\[vm2\] ACL-REFUSED-OK/, say);
  assert.match(out, /\[vm1\] pair: server: client said bye/, say);
  // A clean logout: no connection failed on the way (the refused login that follows has its conn error).
  const proof = out.slice(0, out.indexOf('[vm2] FINAL-LOGOUT-OK'));
  assert.doesNotMatch(proof, /detected conn error|session recovery timed out/, say);
  assert.doesNotMatch(r.stderr, /the server's steps failed/);
  return out;
}

describe('iSCSI server/client VM pairs', { concurrency: 1, skip: skipUnless(OK, NEEDS).skip }, () => {
  test('lio-iscsi: VM 1 exports zram as LUN 0 through LIO configfs, VM 2 logs in with open-iscsi; ext4 file round trip, the server re-reads the same bytes, logout/login keeps the data, another initiator name is refused', () => inPairNetns(OK, NEEDS, '', async (ns, p) => {
    const out = await provePair(ns, p, 'lio-iscsi');
    assert.match(out, /\[vm1\] lio-iscsi: server: \/dev\/zram0 is LUN 0 of iqn\.2003-01\.org\.linux-iscsi\.rapido:target on 192\.168\.155\.101:3260 for iqn\.2003-01\.org\.linux-iscsi\.rapido:client/);
    assert.match(out, /\[vm2\] lio-iscsi: client: \/dev\/sd[a-z]+ is LUN 0 of /);
    assert.match(out, /\[vm1\] .*iSCSI Initiator Node: iqn\.2003-01\.org\.linux-iscsi\.rapido:intruder is not authorized/, 'LIO refused the other name by its ACL');
  }));

  test('tgt-iscsi: VM 1 exports zram as LUN 1 with tgtd, VM 2 logs in with open-iscsi; the same proof, another initiator name refused by its name ACL', () => inPairNetns(OK, NEEDS, '', async (ns, p) => {
    const out = await provePair(ns, p, 'tgt-iscsi');
    assert.match(out, /\[vm1\] tgt-iscsi: server: \/dev\/zram0 is LUN 1 of iqn\.2003-01\.org\.linux-iscsi\.rapido:target on 192\.168\.155\.101:3260 for iqn\.2003-01\.org\.linux-iscsi\.rapido:client/);
    assert.match(out, /\[vm2\] tgt-iscsi: client: \/dev\/sd[a-z]+ is LUN 1 of /);
  }));
});
