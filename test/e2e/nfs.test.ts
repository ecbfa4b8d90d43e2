/**
 * End to end: the NFS pair (VM 1 runs the in-kernel nfsd, VM 2 mounts its
 * export over NFSv4.2 and NFSv3 at once) and fstests on that export, each
 * one `rapido boot --vms 2` under TCG with the Debian kernel, on a bridge in
 * a network namespace the test makes (never the host's).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { haveQemu, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, NETNS_NEEDS } from '../helpers/netns.js';
import { inPairNetns, onClient, PAIR_BOOT, pairSteps } from '../helpers/pairNetns.js';
import { builtSuite, SUITE_NEEDS } from '../helpers/suites.js';

const NFS_NEEDS = 'Debian\'s nfs-kernel-server, nfs-common and rpcbind (scripts/setup-test-services.sh)';
const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}; ${NFS_NEEDS}`;
const OK = canUseNetns() && haveQemu() && ['/usr/sbin/rpc.nfsd', '/usr/sbin/mount.nfs', '/usr/sbin/rpcbind'].every((p) => existsSync(p));

const steps = (out: string) => pairSteps(out, /(NFS|nfs|lockd|rpc|xfs|XFS)/, 80);


describe('nfs', { concurrency: 1, skip: skipUnless(OK, NEEDS).skip }, () => {
  test('nfsd: VM 2 mounts VM 1\'s export over NFSv4.2 and NFSv3; the server reads the bytes the client wrote, stat agrees, flock conflicts within and across the two mounts', () => inPairNetns(OK, NEEDS, '', async (ns, p) => {
    const step = onClient([
      'v4=$(cat /run/nfs-mnt-4.2); v3=$(cat /run/nfs-mnt-3)',
      '[ "$(cat /run/nfs-mnt)" = "$v4" ]',
      'dd if=/dev/urandom of="$v4/data.bin" bs=1M count=4 status=none',
      'sync',
      'sum=$(sha256sum < "$v4/data.bin" | cut -d" " -f1)',
      'echo "CLIENT-SUM $sum"',
      'said=$(pair_ask "file data.bin")',
      'echo "SERVER-SAID $said"',
      '[ "$said" = "file $sum" ]',
      '[ "$(sha256sum < "$v3/data.bin" | cut -d" " -f1)" = "$sum" ] && echo "V3-SAME-BYTES"',
      'mine=$(stat -c "%s %a %u:%g %Y %i" "$v4/data.bin")',
      'echo "CLIENT-STAT $mine"',
      'said=$(pair_ask "stat data.bin")',
      'echo "SERVER-STAT $said"',
      '[ "$said" = "stat $mine" ] && echo "STAT-AGREES"',
      '[ "$(stat -c "%s %a %u:%g %Y %i" "$v3/data.bin")" = "$mine" ] && echo "V3-STAT-AGREES"',
      // hold MNT FILE: a background process holds flock on MNT/FILE until /tmp/release exists.
      'hold() {',
      '  rm -f /tmp/held /tmp/release',
      '  ( exec 9>"$1/$2"; flock 9; : > /tmp/held; while [ ! -e /tmp/release ]; do sleep 0.1; done ) &',
      '  holder=$!',
      '  for i in $(seq 600); do [ -e /tmp/held ] && return 0; sleep 0.1; done',
      '  echo "the holder never got the lock on $1/$2"; return 1',
      '}',
      'for pair in "4.2 4.2" "4.2 3" "3 3" "3 4.2"; do',
      '  set -- $pair; a=$(cat /run/nfs-mnt-$1); b=$(cat /run/nfs-mnt-$2); f=lock-$1-$2',
      '  hold "$a" "$f"',
      '  if flock -n "$b/$f" -c :; then echo "FLOCK-WRONG v$1 holds $f, yet v$2 got it"; exit 1; fi',
      '  : > /tmp/release; wait "$holder"',
      '  flock -n "$b/$f" -c :',
      '  echo "FLOCK-OK held on v$1: refused on v$2, granted after release"',
      'done',
      'umount "$v4" && umount "$v3" && echo "UMOUNT-OK"',
      'pair_ask bye',
    ]);
    p.write('client.sh', step, 0o755);
    const cut = p.run(['cut', '-B', '-f', 'client.sh', 'nfsd']);
    assert.equal(cut.status, 0, cut.stderr);
    const r = await ns.rapido(p, PAIR_BOOT);
    const out = r.stdout;
    const say = `${r.stderr}\n${steps(out)}`;
    assert.equal(r.status, 0, say);
    assert.match(out, /\[vm1\] nfsd: server: \/dev\/zram0 \(xfs\) exported as 192\.168\.155\.101:\/srv\/nfs \(.*\+4\.2/, say);
    assert.match(out, /\[vm1\] \[ *[\d.]+\] NFSD: no clients to reclaim, skipping NFSv4 grace period/, 'nfsdcld was up in time: no 10 s grace period');
    assert.match(out, /\[vm2\] nfs: client: 192\.168\.155\.101:\/srv\/nfs mounted on \/mnt\/nfs-v4\.2 \(vers=4\.2 proto=tcp\)/, say);
    assert.match(out, /\[vm2\] nfs: client: 192\.168\.155\.101:\/srv\/nfs mounted on \/mnt\/nfs-v3 \(vers=3 proto=tcp\)/, say);
    const client = /\[vm2\] CLIENT-SUM ([0-9a-f]{64})/.exec(out);
    assert.ok(client, say);
    assert.match(out, new RegExp(`\\[vm1\\] pair: server: /srv/nfs/data\\.bin ${client[1]}`), 'the server read the same bytes from its xfs');
    assert.match(out, /\[vm2\] V3-SAME-BYTES/, say);
    const stat = /\[vm2\] CLIENT-STAT (4194304 644 0:0 \d+ \d+)/.exec(out);
    assert.ok(stat, say);
    assert.match(out, new RegExp(`\\[vm1\\] pair: server: /srv/nfs/data\\.bin ${stat[1]}`), say);
    assert.match(out, /\[vm2\] STAT-AGREES/, say);
    assert.match(out, /\[vm2\] V3-STAT-AGREES/, say);
    for (const [a, b] of [['4.2', '4.2'], ['4.2', '3'], ['3', '3'], ['3', '4.2']]) {
      assert.match(out, new RegExp(`\\[vm2\\] FLOCK-OK held on v${a.replace('.', '\\.')}: refused on v${b.replace('.', '\\.')}, granted after release`), say);
    }
    assert.match(out, /\[vm2\] UMOUNT-OK/, say);
    assert.match(out, /\[vm1\] pair: server: client said bye/, say);
    assert.doesNotMatch(r.stderr, /the server's steps failed/);
  }));

  test('fstests-nfs: VM 2 runs xfstests\' quick set (generic/002 generic/005) with TEST_DEV and SCRATCH_DEV directories of VM 1\'s export; both pass', { skip: skipUnless(builtSuite('xfstests') !== null, SUITE_NEEDS('xfstests')).skip }, () => inPairNetns(OK, NEEDS, '', async (ns, p) => {
    const fstests = builtSuite('xfstests');
    requireHost(fstests !== null, SUITE_NEEDS('xfstests'));
    const r = await ns.rapido(p, ['cut', '--vms', '2', '--accel', 'tcg', '--timeout', '900', 'fstests-nfs'], { env: { FSTESTS_SRC: fstests! } });
    const out = r.stdout;
    const say = `${r.stderr}\n${steps(out)}`;
    assert.equal(r.status, 0, say);
    assert.match(out, /\[vm1\] nfsd: server: \/dev\/zram0 \(xfs\) exported as 192\.168\.155\.101:\/srv\/nfs/, say);
    assert.match(out, /\[vm2\] fstests-nfs: TEST_DEV 192\.168\.155\.101:\/srv\/nfs\/test, SCRATCH_DEV 192\.168\.155\.101:\/srv\/nfs\/scratch \(NFS vers=4\.2\)/, say);
    assert.match(out, /^\[vm2\] FSTYP +-- nfs$/m, say);
    assert.match(out, /^\[vm2\] MOUNT_OPTIONS +-- -o vers=4\.2 192\.168\.155\.101:\/srv\/nfs\/scratch \/mnt\/scratch$/m, say);
    assert.match(out, /^\[vm2\] Ran: generic\/002 generic\/005$/m, say);
    assert.match(out, /^\[vm2\] Passed all 2 tests$/m, say);
    // The server ran no suite of its own: it served until it was stopped.
    assert.doesNotMatch(out, /^\[vm1\] (FSTYP|Ran:)/m, say);
    assert.doesNotMatch(r.stderr, /the server's steps failed/);
  }));
});
