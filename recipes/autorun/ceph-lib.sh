# Sourced by the Ceph client recipes' autoruns (bash): the cluster's facts the
# cut wrote (/etc/ceph/rapido-ceph.env: CEPH_FSID, CEPH_MONS), the user's key
# into the kernel keyring, and failures that say which part is wrong.

ceph_fail() {
	echo "$CEPH_WHO: $*" >&2
	exit 1
}

. /etc/ceph/rapido-ceph.env || ceph_fail "no /etc/ceph/rapido-ceph.env: the image was cut without the ceph directive"
CEPH_KEYRING_FILE=/etc/ceph/ceph.client.$CEPH_USER.keyring

# ceph_check_mons: one TCP connection to each monitor, bounded, so that a
# stopped cluster or an unreachable address fails here, by name, in seconds.
ceph_check_mons() {
	local mon host port err up=0 why=()
	for mon in ${CEPH_MONS//,/ }; do
		host=${mon%:*} port=${mon##*:}
		host=${host#[} host=${host%]}
		if err=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' - "$host" "$port" 2>&1); then
			up=1
		elif [[ $err == *refused* ]]; then
			why+=("monitor $mon refused the connection: the cluster is not running (rapido-ceph-cluster start, or your vstart)")
		else
			err=${err##*: }
			why+=("monitor $mon is unreachable from this VM (${err:-no answer within 5 s}): check the VM's network and the mon host in CEPH_CONF")
		fi
	done
	[ "$up" = 1 ] && return 0
	for err in "${why[@]}"; do echo "$CEPH_WHO: $err" >&2; done
	exit 1
}

# ceph_add_key: the user's secret into the user keyring as a "ceph" key named
# client.USER, for the kernel clients' key= option: the secret itself never
# appears on a command line or in the console. Needs libceph loaded (it
# registers the key type).
ceph_add_key() {
	local key
	key=$(awk '$1 == "key" && $2 == "=" { print $3; exit }' "$CEPH_KEYRING_FILE")
	[ -n "$key" ] || ceph_fail "no key in $CEPH_KEYRING_FILE"
	printf '%s' "$key" | base64 -d | keyctl padd ceph "client.$CEPH_USER" @u >/dev/null ||
		ceph_fail "could not add client.$CEPH_USER's key to the kernel keyring"
}

# ceph_kmsg_mark: the kernel log's length now; ceph_explain MARK: why a kernel
# client failed since then, from libceph's messages, or nothing.
ceph_kmsg_mark() { dmesg | wc -l; }
ceph_explain() {
	local log
	log=$(dmesg | tail -n +"$(($1 + 1))")
	if grep -q 'authentication failed' <<<"$log"; then
		echo "the cluster rejected client.$CEPH_USER's key: CEPH_KEYRING is not this cluster's (a restarted cluster has new keys: re-cut)"
	elif grep -q 'key not found' <<<"$log"; then
		echo "client.$CEPH_USER's key is not in the kernel keyring"
	elif grep -q 'session established' <<<"$log"; then
		echo "connected to the monitors as client.$CEPH_USER, but $2"
	elif grep -qE 'libceph: mon[0-9]+ .*(socket|connect)' <<<"$log"; then
		echo "no monitor answered within ${CEPH_MOUNT_TIMEOUT} s ($CEPH_MONS)"
	fi
}

# rbd_wait_dev ID: /dev/rbdID once devtmpfs has it.
rbd_wait_dev() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -b "/dev/rbd$1" ] && return 0
		sleep 0.1
	done
	ceph_fail "/dev/rbd$1 did not appear"
}

# rbd_mount_dev DEV: the file system RBD_MKFS asks for, mounted at /mnt/rbd.
rbd_mount_dev() {
	local dev=$1 fs made=existing
	fs=$(blkid -p -s TYPE -o value "$dev" 2>/dev/null)
	if [ "$RBD_MKFS" = yes ] || { [ "$RBD_MKFS" = auto ] && [ -z "$fs" ]; }; then
		mkfs.ext4 -q -F "$dev" || ceph_fail "mkfs.ext4 $dev failed"
		fs=ext4 made=new
	fi
	if [ -z "$fs" ]; then
		echo "$CEPH_WHO: $CEPH_RBD_POOL/$CEPH_RBD_IMAGE at $dev holds no file system (RBD_MKFS=$RBD_MKFS): not mounted"
		return 0
	fi
	mkdir -p /mnt/rbd
	mount -t "$fs" "$dev" /mnt/rbd || ceph_fail "mount of $dev ($fs) failed"
	echo "$CEPH_WHO: $CEPH_RBD_POOL/$CEPH_RBD_IMAGE at $dev, $made $fs mounted at /mnt/rbd"
}
