#!/bin/bash
# fstests on NFS: nfs.sh (before this) exported NFS_SHARE on VM 1 and, on
# VM 2, mounted it with the first version of NFS_VERS. On VM 2 this makes
# test/ and scratch/ in the export, unmounts, and leaves check's device
# settings in /run/fstests-local.config for fstests.sh (after this). VM 1
# serves until the client is done (or says bye); the suite does not run there.
set -e
. /usr/lib/rapido/pair-lib.sh
. /usr/lib/rapido/fstests-net-lib.sh
fstests_serve_only "VM 1 serves the export; the suite runs on VM 2"
share=${NFS_SHARE:-/srv/nfs}
srv=$(pair_addr 1)
mnt=$(cat /run/nfs-mnt)
vers=$(grep " $mnt " /proc/mounts | cut -d' ' -f4 | tr ',' '\n' | sed -n 's/^vers=//p')
mkdir -p "$mnt/test" "$mnt/scratch"
for m in /mnt/nfs-v*; do
	! grep -q " $m " /proc/mounts || umount "$m"
done
opts="-o vers=$vers${NFS_MOUNT_OPTS:+,$NFS_MOUNT_OPTS}"
fstests_net_config "$srv:$share/test" "$srv:$share/scratch" NFS_MOUNT_OPTIONS "$opts"
echo "fstests-nfs: TEST_DEV $srv:$share/test, SCRATCH_DEV $srv:$share/scratch (NFS vers=$vers)"
