#!/bin/bash
# Maps CEPH_RBD_POOL/CEPH_RBD_IMAGE with rbd-nbd (librbd in user space, the
# kernel's nbd in front), bounded, then mounts it at /mnt/rbd. Its device is
# in /run/rbd-dev; unmap: umount /mnt/rbd; rbd-nbd unmap $(cat /run/rbd-dev).
CEPH_WHO=rbd-nbd
. /usr/lib/rapido/ceph-lib.sh
modprobe nbd 2>/dev/null
[ -b /dev/nbd0 ] || ceph_fail "no /dev/nbd0 (nbd module missing?)"
ceph_check_mons
mkdir -p /var/log/ceph /var/run/ceph
if ! dev=$(timeout $((CEPH_MOUNT_TIMEOUT + 15)) rbd-nbd map --id "$CEPH_USER" --client_mount_timeout "$CEPH_MOUNT_TIMEOUT" \
	--log-file /var/log/ceph/rbd-nbd.log "$CEPH_RBD_POOL/$CEPH_RBD_IMAGE" 2>/tmp/rbd-nbd.err); then
	err=$(cat /tmp/rbd-nbd.err)
	why=
	grep -q 'Permission denied\|(13)' <<<"$err" && why="the cluster rejected client.$CEPH_USER's key: CEPH_KEYRING is not this cluster's (a restarted cluster has new keys: re-cut)"
	ceph_fail "rbd-nbd map of $CEPH_RBD_POOL/$CEPH_RBD_IMAGE failed: ${why:-$(tail -n 3 <<<"$err" | tr '\n' ' ')}"
fi
echo "$dev" > /run/rbd-dev
rbd_mount_dev "$dev"
