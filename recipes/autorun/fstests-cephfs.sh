#!/bin/bash
# fstests on CephFS: cephfs.sh (before this) mounted the file system at
# /mnt/cephfs with the key in the kernel keyring; this makes this VM's test
# and scratch directories there, unmounts, and leaves check's device
# settings in /run/fstests-local.config for fstests.sh (after this).
set -e
. /etc/ceph/rapido-ceph.env
. /usr/lib/rapido/fstests-net-lib.sh
dir=${FSTESTS_CEPH_DIR%/}/$(cat /proc/sys/kernel/hostname)
mkdir -p "/mnt/cephfs$dir/test" "/mnt/cephfs$dir/scratch"
umount /mnt/cephfs
opts="name=$CEPH_USER,key=client.$CEPH_USER,mount_timeout=$CEPH_MOUNT_TIMEOUT"
[ -z "$CEPH_FS" ] || opts+=",mds_namespace=$CEPH_FS"
[ -z "$CEPH_MOUNT_OPTS" ] || opts+=",$CEPH_MOUNT_OPTS"
fstests_net_config "$CEPH_MONS:$dir/test" "$CEPH_MONS:$dir/scratch" CEPHFS_MOUNT_OPTIONS "-o $opts"
echo "fstests-cephfs: TEST_DEV $CEPH_MONS:$dir/test, SCRATCH_DEV $CEPH_MONS:$dir/scratch"
