#!/bin/bash
# iSCSI across two VMs of one image. VM 1: an LIO iSCSI target set up through
# configfs (what targetcli writes; targetcli is python): a zram iblock
# backstore as LUN 0 of ISCSI_TARGET_IQN, an ACL for ISCSI_INITIATOR_IQN, a
# portal on its net-conf address; then it answers the client's checks
# (pair-lib.sh). VM 2: open-iscsi logs in (iscsi-lib.sh); the disk is in
# /run/iscsi-dev.
set -e
. /usr/lib/rapido/storage-lib.sh
. /usr/lib/rapido/pair-lib.sh
. /usr/lib/rapido/iscsi-lib.sh
if [ "$(pair_role)" = client ]; then
	iscsi_client lio-iscsi
	exit 0
fi
iqn=${ISCSI_TARGET_IQN:-iqn.2003-01.org.linux-iscsi.rapido:target}
initiator=${ISCSI_INITIATOR_IQN:-iqn.2003-01.org.linux-iscsi.rapido:client}
port=${ISCSI_PORT:-3260}
srv=$(pair_addr 1)
backing=$(zram_dev "${ISCSI_ZRAM_SIZE:-64M}")
core=$(lio_backstore rapido "$backing")
modprobe iscsi_target_mod
tpg=/sys/kernel/config/target/iscsi/$iqn/tpgt_1
mkdir -p "$tpg/lun/lun_0"
ln -s "$core" "$tpg/lun/lun_0/rapido"
# An ACL, not demo mode: the image fixes the initiator's name, so admitting
# that one IQN costs nothing, is how real targets are set up (node ACLs with
# mapped LUNs), and a wrong name fails the login loudly instead of any
# initiator on the bridge getting the LUN (demo mode would also make it
# read-only unless demo_mode_write_protect is turned off).
mkdir -p "$tpg/acls/$initiator/lun_0"
ln -s "$tpg/lun/lun_0" "$tpg/acls/$initiator/lun_0/lun_0"
echo 0 > "$tpg/attrib/authentication"
echo 1 > "$tpg/enable"
# The portal last: once it listens (what the client waits for), the target is complete.
mkdir "$tpg/np/$srv:$port"
echo "lio-iscsi: server: $backing is LUN 0 of $iqn on $srv:$port for $initiator"
pair_serve "$backing"
