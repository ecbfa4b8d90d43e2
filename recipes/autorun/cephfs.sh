#!/bin/bash
# Mounts CephFS with the kernel client at /mnt/cephfs: the key from the
# kernel keyring (key=, never secret=), bounded by mount_timeout and a
# wall-clock timeout; a failure names the part that is wrong.
CEPH_WHO=cephfs
. /usr/lib/rapido/ceph-lib.sh
modprobe ceph || ceph_fail "no ceph kernel module"
ceph_check_mons
ceph_add_key
opts="name=$CEPH_USER,key=client.$CEPH_USER,mount_timeout=$CEPH_MOUNT_TIMEOUT"
[ -z "$CEPH_FS" ] || opts+=",mds_namespace=$CEPH_FS"
[ -z "$CEPH_MOUNT_OPTS" ] || opts+=",$CEPH_MOUNT_OPTS"
mkdir -p /mnt/cephfs
mark=$(ceph_kmsg_mark)
if ! err=$(timeout $((CEPH_MOUNT_TIMEOUT + 15)) mount -t ceph "$CEPH_MONS:$CEPH_FS_PATH" /mnt/cephfs -o "$opts" 2>&1); then
	why=$(ceph_explain "$mark" "the file system ${CEPH_FS:-(default)} is missing or has no active MDS")
	ceph_fail "mount of ${CEPH_FS:-the default file system} failed: ${why:-${err%%$'\n'*}}"
fi
echo "cephfs: ${CEPH_FS:-default file system}:$CEPH_FS_PATH mounted at /mnt/cephfs (monitors $CEPH_MONS, client.$CEPH_USER)"
