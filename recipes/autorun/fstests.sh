#!/bin/bash
# Two zram devices become fstests' TEST_DEV and SCRATCH_DEV, formatted with
# $FSTESTS_FS; TEST_DEV is mounted at /mnt/test, SCRATCH_DEV at /mnt/scratch.
set -e
: "${FSTESTS_FS:?the recipe sets FSTESTS_FS}"
modprobe zram num_devices=2
for i in 0 1; do
	echo "${FSTESTS_ZRAM_SIZE:-1G}" > /sys/block/zram$i/disksize
done
mkdir -p /mnt/test /mnt/scratch
case "$FSTESTS_FS" in
btrfs) mkfs.btrfs -q -f /dev/zram0; mkfs.btrfs -q -f /dev/zram1 ;;
xfs) mkfs.xfs -q -f /dev/zram0; mkfs.xfs -q -f /dev/zram1 ;;
*) echo "fstests: unknown filesystem $FSTESTS_FS" >&2; exit 1 ;;
esac
mount -t "$FSTESTS_FS" /dev/zram0 /mnt/test
mount -t "$FSTESTS_FS" /dev/zram1 /mnt/scratch

cat > /fstests/local.config <<CONFIG
export FSTYP=$FSTESTS_FS
export TEST_DEV=/dev/zram0
export TEST_DIR=/mnt/test
export SCRATCH_DEV=/dev/zram1
export SCRATCH_MNT=/mnt/scratch
CONFIG
# fstests wants these users and groups; the image has no /etc/passwd otherwise.
grep -q '^fsgqa:' /etc/passwd 2>/dev/null || {
	echo 'root:x:0:0:root:/root:/bin/bash' >> /etc/passwd
	echo 'fsgqa:x:1000:1000::/home/fsgqa:/bin/bash' >> /etc/passwd
	echo 'root:x:0:' >> /etc/group
	echo 'fsgqa:x:1000:' >> /etc/group
}
echo "fstests: $FSTESTS_FS mounted at /mnt/test and /mnt/scratch"
cd /fstests
if [ -n "$FSTESTS_AUTORUN_CMD" ]; then
	eval "$FSTESTS_AUTORUN_CMD"
fi
