#!/bin/bash
# iSCSI across two VMs of one image. VM 1: tgt's user-space target (tgtd,
# configured with tgtadm): ISCSI_TARGET_IQN with a zram device as LUN 1 (tgt
# keeps LUN 0 for its controller), bound to ISCSI_INITIATOR_IQN only (a
# name ACL, as lio-iscsi's), a portal on its net-conf address; then it answers
# the client's checks (pair-lib.sh). VM 2: open-iscsi logs in
# (iscsi-lib.sh); the disk is in /run/iscsi-dev.
set -e
. /usr/lib/rapido/storage-lib.sh
. /usr/lib/rapido/pair-lib.sh
. /usr/lib/rapido/iscsi-lib.sh
if [ "$(pair_role)" = client ]; then
	iscsi_client tgt-iscsi
	exit 0
fi
iqn=${ISCSI_TARGET_IQN:-iqn.2003-01.org.linux-iscsi.rapido:target}
initiator=${ISCSI_INITIATOR_IQN:-iqn.2003-01.org.linux-iscsi.rapido:client}
port=${ISCSI_PORT:-3260}
srv=$(pair_addr 1)
backing=$(zram_dev "${ISCSI_ZRAM_SIZE:-64M}")
mkdir -p /var/run
# Loopback only at first: by default tgtd listens on every address at once,
# and the client (waiting for the port) would log in before a target exists.
# In the foreground of a background job: its messages reach the console.
tgtd -f --iscsi "portal=127.0.0.1:$port" </dev/null &
wait_for /var/run/tgtd/socket.0 30 >/dev/null
tgt() { tgtadm --lld iscsi "$@"; }
tgt --op new --mode target --tid 1 -T "$iqn"
tgt --op new --mode logicalunit --tid 1 --lun 1 -b "$backing"
# By name only: tgt admits an initiator that matches an address ACL or a name
# ACL, so an address ACL (even the client's own) would let any name in.
tgt --op bind --mode target --tid 1 --initiator-name "$initiator"
# The portal last: once it listens (what the client waits for), the target is complete.
tgt --op new --mode portal --param "portal=$srv:$port"
echo "tgt-iscsi: server: $backing is LUN 1 of $iqn on $srv:$port for $initiator"
pair_serve "$backing"
