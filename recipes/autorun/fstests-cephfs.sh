#!/bin/bash
# fstests on CephFS: cephfs.sh (before this) mounted the file system at
# /mnt/cephfs with the key in the kernel keyring; this makes this VM's test
# and scratch directories there, unmounts, and leaves check's device
# settings in /run/fstests-local.config for fstests.sh (after this).
set -e
. /etc/ceph/rapido-ceph.env
dir=${FSTESTS_CEPH_DIR%/}/$(cat /proc/sys/kernel/hostname)
mkdir -p "/mnt/cephfs$dir/test" "/mnt/cephfs$dir/scratch"
umount /mnt/cephfs
opts="name=$CEPH_USER,key=client.$CEPH_USER,mount_timeout=$CEPH_MOUNT_TIMEOUT"
[ -z "$CEPH_FS" ] || opts+=",mds_namespace=$CEPH_FS"
[ -z "$CEPH_MOUNT_OPTS" ] || opts+=",$CEPH_MOUNT_OPTS"
cat > /run/fstests-local.config <<CONFIG
export TEST_DEV=$CEPH_MONS:$dir/test
export TEST_DIR=/mnt/test
export SCRATCH_DEV=$CEPH_MONS:$dir/scratch
export SCRATCH_MNT=/mnt/scratch
export CEPHFS_MOUNT_OPTIONS="-o $opts"
export TEST_FS_MOUNT_OPTS="-o $opts"
export MOUNT_OPTIONS="-o $opts"
CONFIG
echo "fstests-cephfs: TEST_DEV $CEPH_MONS:$dir/test, SCRATCH_DEV $CEPH_MONS:$dir/scratch"
