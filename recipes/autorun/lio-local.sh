#!/bin/bash
# LIO through configfs, no targetcli: an iblock backstore on zram, one LUN on
# a tcm_loop target; the kernel's SCSI initiator side sees it as a disk.
# Steps after this one find the disk in /run/lio-local-dev.
set -e
. /usr/lib/rapido/storage-lib.sh
backing=$(zram_dev "${LIO_ZRAM_SIZE:-64M}")
core=$(lio_backstore rapido "$backing")
modprobe tcm_loop
modprobe sd_mod
# NAA WWNs: fixed, so the disk's identity is the same on every boot.
target=naa.6001405000000001
initiator=naa.6001405000000002
tpg=/sys/kernel/config/target/loopback/$target/tpgt_1
mkdir -p "$tpg"
# The nexus (the initiator's I_T link) first: tcm_loop adds the SCSI device
# when a LUN is linked to a TPG that has one.
echo "$initiator" > "$tpg/nexus"
mkdir -p "$tpg/lun/lun_0"
ln -s "$core" "$tpg/lun/lun_0/rapido"
# The LUN shows up as a SCSI disk whose vendor is LIO-ORG.
blk=
for ((i = 0; i < 200; i++)); do
	for b in /sys/block/sd*; do
		[ -e "$b/device/vendor" ] || continue
		vendor=$(cat "$b/device/vendor")
		if [ "${vendor%% *}" = LIO-ORG ]; then blk=$b; break 2; fi
	done
	sleep 0.1
done
[ -n "$blk" ] || { echo "lio-local: no LIO-ORG disk appeared" >&2; ls /sys/class/scsi_host /sys/block >&2; exit 1; }
dev=/dev/${blk##*/}
wait_for "$dev" >/dev/null
echo "$dev" > /run/lio-local-dev
read -r vendor < "$blk/device/vendor"
read -r model < "$blk/device/model"
echo "lio-local: $dev ready ($vendor $model), backstore $backing"
