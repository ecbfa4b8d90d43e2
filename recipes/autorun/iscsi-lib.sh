#!/bin/bash
# Sourced by the iSCSI recipes' autoruns and steps (bash), after
# storage-lib.sh and pair-lib.sh: the open-iscsi initiator side, which
# lio-iscsi and tgt-iscsi share (VM 2). iscsi_client runs the client's part
# of an autorun; steps after it find the disk in /run/iscsi-dev, the target
# in /run/iscsi-iqn and the portal in /run/iscsi-portal, and may
# `iscsi_logout "$iqn" "$portal"` and `dev=$(iscsi_login "$iqn" "$portal")`.

# iscsi_client TAG: iscsid as ISCSI_INITIATOR_IQN, the target's portal on VM 1
# waited for, discovery (sendtargets) and login to ISCSI_TARGET_IQN.
iscsi_client() {
	local tag=$1 iqn=${ISCSI_TARGET_IQN:-iqn.2003-01.org.linux-iscsi.rapido:target}
	local srv port=${ISCSI_PORT:-3260} dev
	srv=$(pair_addr 1) || return
	iscsi_initiator "${ISCSI_INITIATOR_IQN:-iqn.2003-01.org.linux-iscsi.rapido:client}" || return
	pair_wait_port "$srv" "$port" "the iSCSI target's portal" || return
	exec 3<&-
	dev=$(iscsi_login "$iqn" "$srv:$port") || return
	echo "$dev" > /run/iscsi-dev
	echo "$iqn" > /run/iscsi-iqn
	echo "$srv:$port" > /run/iscsi-portal
	echo "$tag: client: $dev is LUN $(iscsi_lun "$dev") of $iqn at $srv:$port"
}

# iscsi_initiator IQN: iscsid running as initiator IQN (open-iscsi), with the
# software iSCSI transport loaded. The config is written here, not taken from
# the host: the host's may start iscsid through systemctl, and its timeouts
# are for real hardware (an emulated VM answers a nop-out late).
iscsi_initiator() {
	modprobe iscsi_tcp || return
	modprobe sd_mod || return
	mkdir -p /etc/iscsi /run/lock/iscsi || return
	echo "InitiatorName=$1" > /etc/iscsi/initiatorname.iscsi || return
	cat > /etc/iscsi/iscsid.conf <<-CONF || return
	node.startup = manual
	node.session.scan = auto
	node.session.timeo.replacement_timeout = 120
	node.conn[0].timeo.login_timeout = 30
	node.conn[0].timeo.logout_timeout = 30
	node.conn[0].timeo.noop_out_interval = 10
	node.conn[0].timeo.noop_out_timeout = 30
	CONF
	# In the foreground of a background job: its messages reach the console.
	iscsid -f </dev/null &
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q '@ISCSIADM_ABSTRACT_NAMESPACE$' /proc/net/unix && return 0
		kill -0 $! 2>/dev/null || { echo "iscsid exited" >&2; return 1; }
		sleep 0.1
	done
	echo "iscsid did not open its socket within 30 s" >&2
	return 1
}

# iscsi_login IQN PORTAL: discovery (sendtargets) at PORTAL (ADDR:PORT), login
# to target IQN there; its disk printed (/dev/sdX) once the scan made it.
iscsi_login() {
	local found
	found=$(iscsiadm -m discovery -t sendtargets -p "$2") || { echo "iscsi: discovery at $2 failed" >&2; return 1; }
	# iscsiadm's own word for a target it was not offered is "No records found".
	if ! awk -v t="$1" '$2 == t { ok = 1 } END { exit !ok }' <<< "$found"; then
		found=$(awk '!seen[$2]++ { printf "%s%s", sep, $2; sep = ", " }' <<< "$found")
		echo "iscsi: the portal $2 offers ${found:-no target}, not $1 (ISCSI_TARGET_IQN)" >&2
		return 1
	fi
	iscsiadm -m node -T "$1" -p "$2" --login >/dev/null || { echo "iscsi: login to $1 at $2 failed (iscsiadm said why above)" >&2; return 1; }
	local i dev
	for ((i = 0; i < 300; i++)); do
		dev=$(iscsi_disk "$1") && break
		sleep 0.1
	done
	[ -n "$dev" ] || { echo "iscsi: logged in to $1 at $2, but no disk appeared within 30 s" >&2; return 1; }
	wait_for "$dev" >/dev/null || return
	echo "$dev"
}

# iscsi_disk IQN: the disk of the session with target IQN (its first one; a
# tgt target's LUN 0 is its controller, which has no disk).
iscsi_disk() {
	local s b name
	for s in /sys/class/iscsi_session/session*; do
		[ -r "$s/targetname" ] && read -r name < "$s/targetname" && [ "$name" = "$1" ] || continue
		for b in "$s"/device/target*/*/block/*; do
			[ -e "$b" ] && { echo "/dev/${b##*/}"; return 0; }
		done
	done
	return 1
}

# iscsi_logout IQN PORTAL: logout from target IQN at PORTAL; returns once its
# disk is gone.
iscsi_logout() {
	local dev i
	dev=$(iscsi_disk "$1")
	iscsiadm -m node -T "$1" -p "$2" --logout >/dev/null || return
	for ((i = 0; i < 100; i++)); do
		[ -n "$dev" ] && [ -e "$dev" ] || return 0
		sleep 0.1
	done
	echo "iscsi: $dev still there 10 s after the logout from $1" >&2
	return 1
}

# iscsi_lun /dev/sdX: the disk's LUN number (the L of its SCSI H:C:T:L).
iscsi_lun() {
	local hctl
	hctl=$(readlink "/sys/block/${1#/dev/}/device") || return
	echo "${hctl##*:}"
}
