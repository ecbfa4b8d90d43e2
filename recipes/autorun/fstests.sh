#!/bin/bash
# fstests (xfstests) on two zram devices: /dev/zram0 is TEST_DEV, formatted
# with $FSTESTS_FS and mounted by check at /mnt/test; /dev/zram1 is
# SCRATCH_DEV (/mnt/scratch), which the tests format themselves.
#
# What runs:
#   FSTESTS_AUTORUN_CMD set: that command, in /fstests
#   -x/-f steps given:       nothing here; the steps run after this script
#   neither:                 the recipe's quick set, ./check $FSTESTS_QUICK
# The status is check's, and never 0 when check's output says a test failed,
# named no test, or ran none (check itself exits 0 in some of those cases).
set -e
: "${FSTESTS_FS:?the recipe sets FSTESTS_FS}"
# The server VM of a pair (fstests-nfs' VM 1) only serves: an earlier
# autorun said why in /run/fstests-skip.
if [ -r /run/fstests-skip ]; then
	echo "fstests: not run here: $(cat /run/fstests-skip)"
	exit 0
fi
mkdir -p /mnt/test /mnt/scratch
if [ -r /run/fstests-local.config ]; then
	# A network file system (fstests-cephfs): an earlier autorun of the recipe
	# prepared TEST_DEV and SCRATCH_DEV, and there is nothing to format.
	{ echo "export FSTYP=$FSTESTS_FS"; cat /run/fstests-local.config; } > /fstests/local.config
	echo "fstests: $FSTESTS_FS, TEST_DIR /mnt/test, SCRATCH_MNT /mnt/scratch"
else
	modprobe zram num_devices=2
	for i in 0 1; do
		echo "${FSTESTS_ZRAM_SIZE:-1G}" > /sys/block/zram$i/disksize
	done
	case "$FSTESTS_FS" in
	btrfs) mkfs.btrfs -q -f /dev/zram0 ;;
	xfs) mkfs.xfs -q -f /dev/zram0 ;;
	ext4) mkfs.ext4 -q -F /dev/zram0 ;;
	exfat) mkfs.exfat /dev/zram0 > /dev/null ;;
	f2fs) mkfs.f2fs -q -f /dev/zram0 ;;
	udf) mkudffs /dev/zram0 > /dev/null ;;
	*) echo "fstests: no mkfs command known for $FSTESTS_FS" >&2; exit 1 ;;
	esac

	cat > /fstests/local.config <<CONFIG
export FSTYP=$FSTESTS_FS
export TEST_DEV=/dev/zram0
export TEST_DIR=/mnt/test
export SCRATCH_DEV=/dev/zram1
export SCRATCH_MNT=/mnt/scratch
CONFIG
	# UDF's checker (udf_test, Philips' UDF Verification Software) is not free
	# software: without this, every UDF test prints a paragraph about it.
	[ "$FSTESTS_FS" != udf ] || echo "export DISABLE_UDF_TEST=1" >> /fstests/local.config
	echo "fstests: $FSTESTS_FS on /dev/zram0 (TEST_DIR /mnt/test), scratch /dev/zram1 (/mnt/scratch)"
fi
cd /fstests
# check tries systemd-run (and systemctl) to run each test in a scope; there
# is no systemd here, and check carries on without: not a missing command.
printf '%s\n' systemctl systemd-run 2>/dev/null >> /run/rapido/missing-expected || :

# Why check's 0 is wrong, if it is.
fstests_verdict() {
	if grep -q '^Failed [0-9]* of [0-9]* tests' "$1"; then
		echo "check reported failures but exited 0"
	elif grep -qE ' - no such test\?| - unknown test, ignored' "$1"; then
		echo "check was given a test that does not exist"
	elif grep -q '^Passed all' "$1" && ! grep -q '^Ran: ' "$1"; then
		echo "check ran no test"
	fi
}

# check names a failed test's dmesg file, and the VM is gone after: show it.
fstests_after() {
	local t
	for t in $(sed -n 's/^Failures: //p' "$1"); do
		[ -s "results/$t.dmesg" ] || continue
		echo "fstests: $t: results/$t.dmesg (first 40 lines):"
		head -n 40 "results/$t.dmesg"
	done
}

. /usr/lib/rapido/suite-lib.sh
suite_main fstests fstests_verdict "$FSTESTS_AUTORUN_CMD" "$FSTESTS_QUICK"
