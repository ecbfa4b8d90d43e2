#!/bin/bash
# fstests on NFS: nfs.sh (before this) exported NFS_SHARE on VM 1 and, on
# VM 2, mounted it with the first version of NFS_VERS. On VM 2 this makes
# test/ and scratch/ in the export, unmounts, and leaves check's device
# settings in /run/fstests-local.config for fstests.sh (after this). VM 1
# serves until the client is done (or says bye); the suite does not run there.
set -e
. /usr/lib/rapido/pair-lib.sh
if [ "$(pair_role)" = server ]; then
	echo "VM 1 serves the export; the suite runs on VM 2" > /run/fstests-skip
	exit 0
fi
share=${NFS_SHARE:-/srv/nfs}
srv=$(pair_addr 1)
mnt=$(cat /run/nfs-mnt)
vers=$(grep " $mnt " /proc/mounts | cut -d' ' -f4 | tr ',' '\n' | sed -n 's/^vers=//p')
mkdir -p "$mnt/test" "$mnt/scratch"
for m in /mnt/nfs-v*; do
	! grep -q " $m " /proc/mounts || umount "$m"
done
opts="-o vers=$vers${NFS_MOUNT_OPTS:+,$NFS_MOUNT_OPTS}"
cat > /run/fstests-local.config <<CONFIG
export TEST_DEV=$srv:$share/test
export TEST_DIR=/mnt/test
export SCRATCH_DEV=$srv:$share/scratch
export SCRATCH_MNT=/mnt/scratch
export NFS_MOUNT_OPTIONS="$opts"
export TEST_FS_MOUNT_OPTS="$opts"
export MOUNT_OPTIONS="$opts"
CONFIG
echo "fstests-nfs: TEST_DEV $srv:$share/test, SCRATCH_DEV $srv:$share/scratch (NFS vers=$vers)"
