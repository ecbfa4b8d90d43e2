#!/bin/bash
# The RBD image QEMU attached (vm-drive rbd:...) is the first virtio disk:
# wait for it, then mount its file system at /mnt/rbd (RBD_MKFS decides
# whether to make one). Its device is in /run/rbd-dev.
modprobe virtio_blk 2>/dev/null
for ((i = 0; i < 100; i++)); do
	[ -b /dev/vda ] && break
	sleep 0.1
done
[ -b /dev/vda ] || { echo "qemu-rbd: no /dev/vda: QEMU attached no disk (vm-drive)" >&2; exit 1; }
echo /dev/vda > /run/rbd-dev
fs=$(blkid -p -s TYPE -o value /dev/vda 2>/dev/null)
made=existing
if [ "$RBD_MKFS" = yes ] || { [ "$RBD_MKFS" = auto ] && [ -z "$fs" ]; }; then
	mkfs.ext4 -q -F /dev/vda || { echo "qemu-rbd: mkfs.ext4 /dev/vda failed" >&2; exit 1; }
	fs=ext4 made=new
fi
size=$(($(blockdev --getsize64 /dev/vda) / 1048576))
if [ -z "$fs" ]; then
	echo "qemu-rbd: $CEPH_RBD_POOL/$CEPH_RBD_IMAGE is /dev/vda ($size MiB), no file system: not mounted"
	exit 0
fi
mkdir -p /mnt/rbd
mount -t "$fs" /dev/vda /mnt/rbd || { echo "qemu-rbd: mount of /dev/vda ($fs) failed" >&2; exit 1; }
echo "qemu-rbd: $CEPH_RBD_POOL/$CEPH_RBD_IMAGE is /dev/vda ($size MiB), $made $fs mounted at /mnt/rbd"
