#!/bin/bash
# One zram device is blktests' test device.
set -e
modprobe zram num_devices=1
echo "${BLKTESTS_ZRAM_SIZE:-1G}" > /sys/block/zram0/disksize
cat > /blktests/config <<CONFIG
TEST_DEVS=(/dev/zram0)
CONFIG
echo "blktests: /dev/zram0 is the test device"
cd /blktests
if [ -n "$BLKTESTS_AUTORUN_CMD" ]; then
	eval "$BLKTESTS_AUTORUN_CMD"
fi
