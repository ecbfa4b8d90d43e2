#!/bin/bash
# blktests. With BLKTESTS_TEST_DEVS (blktests-zram: /dev/zram0) those are
# TEST_DEVS; without, only the device-less tests run (null_blk, scsi_debug,
# loop, nvme over the loop transport, null_blk zoned).
#
# What runs:
#   BLKTESTS_AUTORUN_CMD set: that command, in /blktests
#   -x/-f steps given:        nothing here; the steps run after this script
#   neither:                  the recipe's quick set, ./check $BLKTESTS_QUICK
# The status is check's, and never 0 when check's output says a test failed,
# named no group or test ("./check zram" in upstream blktests), or ran none.
set -e
devs=()
for d in $BLKTESTS_TEST_DEVS; do
	case "$d" in
	/dev/zram*)
		modprobe zram num_devices=1
		echo "${BLKTESTS_ZRAM_SIZE:-1G}" > "/sys/block/${d#/dev/}/disksize"
		;;
	esac
	devs+=("$d")
done
{
	echo "TEST_DEVS=(${devs[*]})"
	echo "NVMET_TRTYPES=${BLKTESTS_NVMET_TRTYPES:-loop}"
} > /blktests/config
echo "blktests: TEST_DEVS=(${devs[*]}), NVMET_TRTYPES=${BLKTESTS_NVMET_TRTYPES:-loop}"
# SCSI disks (scsi_debug's) need sd_mod and sg the moment they appear: blktests
# waits with `udevadm settle`, which knows nothing of the guest's hotplug
# helper, so a module it loads a little later leaves the test without a disk.
modprobe -q sd_mod 2>/dev/null || :
modprobe -q sg 2>/dev/null || :
cd /blktests

# Why check's 0 is wrong, if it is.
blktests_verdict() {
	if grep -q 'no group or test named' "$1"; then
		echo "check was given a group or test that does not exist"
	elif grep -qE '\[failed\]' "$1"; then
		echo "check reported failures but exited 0"
	elif ! grep -qE '\[(passed|not run)\]' "$1"; then
		echo "check ran no test"
	fi
}

. /usr/lib/rapido/suite-lib.sh
suite_main blktests blktests_verdict "$BLKTESTS_AUTORUN_CMD" "$BLKTESTS_QUICK"
