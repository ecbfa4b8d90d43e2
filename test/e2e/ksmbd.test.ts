/**
 * End to end: the ksmbd pair (VM 1 shares xfs on zram with the in-kernel SMB
 * server and Debian's ksmbd-tools, unpacked by scripts/setup-ksmbd-tools.sh;
 * VM 2 mounts it with the cifs client), one `rapido boot --vms 2` under TCG
 * with the Debian kernel, on a bridge in a network namespace the test makes.
 */
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { haveQemu, QEMU_NEEDS, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, NETNS_NEEDS } from '../helpers/netns.js';
import { inPairNetns } from '../helpers/pairNetns.js';
import { checkSmbPair, SMB_CONF } from '../helpers/smbPair.js';

/** The recipe's default KSMBD_TOOLS_DIR, which the set-up script makes; the environment's wins, as in rapido.conf. */
const TOOLS = process.env.KSMBD_TOOLS_DIR ?? '/var/cache/rapido/ksmbd-tools';
const KSMBD_NEEDS = `Debian's ksmbd-tools unpacked in ${TOOLS} (scripts/setup-test-services.sh runs scripts/setup-ksmbd-tools.sh) and cifs-utils`;
const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}; ${KSMBD_NEEDS}`;
const OK = canUseNetns() && haveQemu() && existsSync(`${TOOLS}/usr/libexec/ksmbd.tools`) && existsSync('/usr/sbin/mount.cifs');

/**
 * Debian 12's kernel (6.1.0-57, 6.1.192-3) oopses in ksmbd at the mount's
 * first directory open: smb2_open calls opinfo_put(NULL) for an open that
 * got no oplock, and this kernel's opinfo_put does not check for NULL. With
 * bookworm's own ksmbd-tools (3.4.7) it fails earlier: the kernel drops its
 * share configs (payload_sz 0), so every tree connect gets BAD_NETWORK_NAME;
 * scripts/setup-ksmbd-tools.sh takes 3.5.x from bookworm-backports, which
 * gets past both login and tree connect. The server's loopback check
 * reports either. The test runs and says so; a passing run needs a kernel
 * whose ksmbd checks for NULL there.
 */
const KNOWN_BROKEN = 'Debian 12: kernel 6.1.0-57 oopses in ksmbd (opinfo_put(NULL) from smb2_open) at the first directory open';

describe('ksmbd', { skip: skipUnless(OK, NEEDS).skip }, () => {
  test('ksmbd: VM 1 shares xfs on zram with the in-kernel server, VM 2 mounts it with cifs; the server reads the bytes the client wrote; an fio verify job passes on the mount', { todo: KNOWN_BROKEN }, () =>
    inPairNetns(OK, NEEDS, SMB_CONF, (ns, p) => checkSmbPair(ns, p, 'ksmbd', 'ksmbd')));
});
