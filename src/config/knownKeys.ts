/**
 * rapido.conf keys that mean something: ours, and Rapido's (a user's
 * existing rapido.conf from Rapido keeps working, so its keys are not
 * "unknown" even where this rapido ignores them). Variables a recipe uses
 * are known too; the caller adds those (src/cut/confWarnings.ts).
 */
export const KNOWN_CONF_KEYS: ReadonlySet<string> = new Set([
  // Read by rapido itself.
  'KERNEL_SRC', 'KERNEL_RELEASE', 'KERNEL_INSTALL_MOD_PATH', 'DRACUT_OUT', 'DRACUT_EXTRA_ARGS', 'RAPIDO_STORE',
  'RAPIDO_SUBSTITUTERS', 'RAPIDO_SIGNING_KEY',
  'RAPIDO_RECIPES', 'QEMU_EXTRA_ARGS', 'QEMU_EXTRA_KERNEL_PARAMS', 'QEMU_PID_DIR', 'VM_NET_CONF', 'VM_NET_MODE',
  // Read by rapido, named as in Rapido: setup-network's bridge and taps, the 9p host share.
  'BR_DEV', 'BR_ADDR', 'BR_IF', 'TAP_USER', 'VIRTFS_SHARE_PATH',
  // Used by the shipped recipes.
  'FSTESTS_SRC', 'FSTESTS_ZRAM_SIZE', 'FSTESTS_AUTORUN_CMD', 'FSTESTS_FS', 'BLKTESTS_SRC', 'BLKTESTS_ZRAM_SIZE',
  'BLKTESTS_AUTORUN_CMD',
  // The Ceph client recipes (the `ceph` directive), and rapido-ceph-cluster's DIR/rapido.conf lines.
  'CEPH_CONF', 'CEPH_KEYRING', 'CEPH_FS', 'CEPH_MOUNT_OPTS', 'CEPH_MOUNT_TIMEOUT', 'CEPH_MON_ADDR',
  // Rapido's rapido.conf (rapido.conf.example and runtime.vars).
  'DRACUT_SRC', 'DYN_DEBUG_MODULES', 'DYN_DEBUG_FILES', 'BR_DHCP_SRV_RANGE',
  'TAP_DEV0', 'TAP_DEV1', 'MAC_ADDR1', 'MAC_ADDR2', 'IP_ADDR1', 'IP_ADDR2', 'IP_ADDR1_DHCP', 'IP_ADDR2_DHCP',
  'HOSTNAME1', 'HOSTNAME2',
  'CEPH_SRC', 'CEPH_USER', 'CEPH_MON_NAME', 'CEPH_RBD_POOL', 'CEPH_RBD_IMAGE', 'CEPH_RBD_IMAGE_MB',
  'TARGET_IQN', 'INITIATOR_IQNS', 'INITIATOR_DISCOVERY_ADDR', 'OPENISCSI_SRC',
  'BTRFS_PROGS_SRC', 'EXFAT_PROGS_SRC', 'FSTESTS_DIR',
  'CIFS_SERVER', 'CIFS_MOUNT_OPTS', 'CIFS_SHARE', 'CIFS_DOMAIN', 'CIFS_USER', 'CIFS_PW',
  'ZONEFSTESTS_AUTORUN_CMD', 'ZONEFSTOOLS_SRC', 'UNIONMOUNT_TESTSUITE_SRC', 'LIBURING_SRC', 'RBD_USB_SRC',
  'TCMU_RUNNER_SRC', 'SSH_AUTHORIZED_KEY', 'SAMBA_SRC', 'LRBD_SRC', 'TARGETCLI_SRC', 'RTSLIB_SRC', 'CONFIGSHELL_SRC',
  'LTP_DIR', 'LTP_AUTORUN_CMD', 'NVME_TARGET_TCP',
]);

/**
 * Edit distance with adjacent transpositions (optimal string alignment):
 * `KERNEL_REALEASE` is 1 from `KERNEL_RELEASE`, `FSTESTS_SCR` 1 from `FSTESTS_SRC`.
 * Three rolling rows: this runs cold (once per cut), where allocation and
 * generic array code cost more than the arithmetic.
 */
export function editDistance(a: string, b: string): number {
  const n = b.length;
  let prev2 = new Uint16Array(n + 1);
  let prev = new Uint16Array(n + 1);
  let cur = new Uint16Array(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/** The known key nearest to `key`, if near enough to be a likely misspelling (ties: alphabetical). */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  const upper = key.toUpperCase();
  const limit = Math.min(3, Math.max(1, Math.floor(key.length / 4)));
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    // The distance is at least the difference in length: most keys are ruled out without computing it.
    if (Math.abs(k.length - upper.length) > limit) continue;
    const d = k === upper ? 0.5 : editDistance(upper, k); // a wrong case only is the closest of all
    if (d < bestD || (d === bestD && best !== undefined && k < best)) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= limit ? best : undefined;
}
