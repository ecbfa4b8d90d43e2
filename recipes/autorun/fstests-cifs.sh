#!/bin/bash
# fstests on SMB: cifs.sh (before this) shared CIFS_SHARE from VM 1 and, on
# VM 2, mounted it at /mnt/cifs. On VM 2 this makes test/ and scratch/ in the
# share, unmounts, and leaves check's device settings in
# /run/fstests-local.config for fstests.sh (after this). The password goes
# into a credentials file: check prints its mount options, which must not
# carry it. VM 1 serves; the suite does not run there.
set -e
. /usr/lib/rapido/pair-lib.sh
. /usr/lib/rapido/fstests-net-lib.sh
fstests_serve_only "VM 1 serves the share; the suite runs on VM 2"
share=${CIFS_SHARE:-rapido}
srv=$(pair_addr 1)
mnt=$(cat /run/cifs-mnt)
mkdir -p "$mnt/test" "$mnt/scratch"
umount "$mnt"
creds=/run/fstests-cifs.credentials
( umask 077; printf 'username=%s\npassword=%s\n' "${CIFS_USER:-root}" "$CIFS_PW" > "$creds" )
opts="-o credentials=$creds${CIFS_MOUNT_OPTS:+,$CIFS_MOUNT_OPTS}"
fstests_net_config "//$srv/$share/test" "//$srv/$share/scratch" CIFS_MOUNT_OPTIONS "$opts" -
echo "fstests-cifs: TEST_DEV //$srv/$share/test, SCRATCH_DEV //$srv/$share/scratch ($CIFS_MOUNT_OPTS)"
