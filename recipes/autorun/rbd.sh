#!/bin/bash
# Maps CEPH_RBD_POOL/CEPH_RBD_IMAGE with the kernel client through
# /sys/bus/rbd/add_single_major (the key from the kernel keyring, bounded by
# mount_timeout and a wall-clock timeout), then mounts it at /mnt/rbd. Its
# device is in /run/rbd-dev; unmap: umount /mnt/rbd, then
# echo ${dev#/dev/rbd} > /sys/bus/rbd/remove_single_major.
CEPH_WHO=rbd
. /usr/lib/rapido/ceph-lib.sh
modprobe rbd || ceph_fail "no rbd kernel module"
[ -w /sys/bus/rbd/add_single_major ] || ceph_fail "no /sys/bus/rbd/add_single_major (rbd loaded with single_major=N?)"
ceph_check_mons
ceph_add_key
spec="$CEPH_MONS name=$CEPH_USER,key=client.$CEPH_USER,mount_timeout=$CEPH_MOUNT_TIMEOUT $CEPH_RBD_POOL $CEPH_RBD_IMAGE -"
mark=$(ceph_kmsg_mark)
if ! err=$(timeout $((CEPH_MOUNT_TIMEOUT + 15)) bash -c 'echo "$1" > /sys/bus/rbd/add_single_major' - "$spec" 2>&1); then
	why=$(ceph_explain "$mark" "the image could not be opened (does $CEPH_RBD_POOL/$CEPH_RBD_IMAGE exist? features this kernel lacks?)")
	ceph_fail "map of $CEPH_RBD_POOL/$CEPH_RBD_IMAGE failed: ${why:-${err##*: }}"
fi
id=
for d in /sys/bus/rbd/devices/*; do
	[ "$(cat "$d/pool")" = "$CEPH_RBD_POOL" ] && [ "$(cat "$d/name")" = "$CEPH_RBD_IMAGE" ] && id=${d##*/}
done
[ -n "$id" ] || ceph_fail "mapped, but no /sys/bus/rbd/devices entry for $CEPH_RBD_POOL/$CEPH_RBD_IMAGE"
rbd_wait_dev "$id"
echo "/dev/rbd$id" > /run/rbd-dev
rbd_mount_dev "/dev/rbd$id"
