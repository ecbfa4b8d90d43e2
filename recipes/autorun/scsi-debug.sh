#!/bin/bash
# Loads scsi_debug and waits for its disk's block device; steps after this one
# find it in $SCSI_DEBUG_DEV (also written to /run/scsi-debug-dev).
set -e
. /usr/lib/rapido/storage-lib.sh
modprobe sd_mod
# shellcheck disable=SC2086 # the parameters are a word list on purpose
modprobe scsi_debug $SCSI_DEBUG_PARAMS
blk=$(wait_for '/sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block/*')
dev=/dev/${blk##*/}
wait_for "$dev" >/dev/null
echo "$dev" > /run/scsi-debug-dev
echo "scsi-debug: $dev ready, $(($(blockdev --getsize64 "$dev") / 1048576)) MiB"
