/**
 * End to end: the ksmbd pair (VM 1 shares xfs on zram with the in-kernel SMB
 * server and Debian's ksmbd-tools, unpacked by scripts/setup-ksmbd-tools.sh;
 * VM 2 mounts it with the cifs client), one `rapido boot --vms 2` under TCG,
 * on a bridge in a network namespace the test makes.
 *
 * The kernel is bookworm-backports' (6.12), which scripts/fetch-backports-kernel.sh
 * unpacks and setup-ksmbd-tools.sh runs: Debian 12's own (6.1.0-57, 6.1.192-3)
 * oopses in ksmbd at the mount's first directory open (smb2_open calls
 * opinfo_put(NULL) for an open granted no oplock), so no SMB check can pass
 * on it. The test boots the unpacked kernel through rapido.conf
 * (KERNEL_RELEASE, KERNEL_INSTALL_MOD_PATH: its image is beside its modules).
 */
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { haveQemu, QEMU_NEEDS, skipUnless } from '../helpers/hostPrereqs.js';
import { canUseNetns, NETNS_NEEDS } from '../helpers/netns.js';
import { inPairNetns } from '../helpers/pairNetns.js';
import { checkSmbPair, SMB_CONF } from '../helpers/smbPair.js';

/** The recipe's default KSMBD_TOOLS_DIR, which the set-up script makes; the environment's wins, as in rapido.conf. */
const TOOLS = process.env.KSMBD_TOOLS_DIR ?? '/var/cache/rapido/ksmbd-tools';
/** The set-up script's link to the release it unpacked last, in the same cache. */
const KERNELS = join(TOOLS, '../kernels');
const KLINK = join(KERNELS, 'bookworm-backports');

/** The unpacked backports kernel's release, when complete (its marker is written last). */
function backportsKernel(): string | null {
  try {
    const release = readlinkSync(KLINK);
    const root = join(KERNELS, release);
    const ok = existsSync(join(root, '.rapido-unpacked')) && existsSync(join(root, 'boot', `vmlinuz-${release}`)) && existsSync(join(root, 'lib/modules', release, 'modules.dep'));
    return ok ? release : null;
  } catch {
    return null;
  }
}
const RELEASE = backportsKernel();

const KSMBD_NEEDS = `Debian's ksmbd-tools unpacked in ${TOOLS} and cifs-utils (scripts/setup-test-services.sh runs scripts/setup-ksmbd-tools.sh)`;
const KERNEL_NEEDS = `bookworm-backports' kernel unpacked behind ${KLINK} (scripts/fetch-backports-kernel.sh; Debian 12's own kernel oopses in ksmbd)`;
const NEEDS = `${NETNS_NEEDS}; ${QEMU_NEEDS}; ${KSMBD_NEEDS}; ${KERNEL_NEEDS}`;
const OK = canUseNetns() && haveQemu() && existsSync(`${TOOLS}/usr/libexec/ksmbd.tools`) && existsSync('/usr/sbin/mount.cifs') && RELEASE !== null;
const KERNEL_CONF = RELEASE ? `KERNEL_RELEASE="${RELEASE}"\nKERNEL_INSTALL_MOD_PATH="${join(KERNELS, RELEASE)}"\n` : '';

describe('ksmbd', { skip: skipUnless(OK, NEEDS).skip }, () => {
  test('ksmbd on bookworm-backports\' kernel: VM 1 shares xfs on zram with the in-kernel server, VM 2 mounts it with cifs (same bytes, fio verify, unmount)', () =>
    inPairNetns(OK, NEEDS, SMB_CONF + KERNEL_CONF, (ns, p) => checkSmbPair(ns, p, 'ksmbd', 'ksmbd')));
});
