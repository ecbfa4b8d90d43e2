#!/bin/bash
# NFS across two VMs of one image. VM 1: xfs on zram at NFS_SHARE, exported
# by the in-kernel nfsd (rpc.nfsd, rpc.mountd, exportfs; rpcbind and
# rpc.statd for NFSv3 and its locks; nfsdcld so that nfsd, knowing it has no
# clients to reclaim, skips its NFSv4 grace period); then it answers the
# client's checks (pair-lib.sh). VM 2: waits for port 2049, mounts the
# export once per version in NFS_VERS at /mnt/nfs-vVERS (each kept in
# /run/nfs-mnt-VERS, the first also in /run/nfs-mnt, for the steps after).
set -e
. /usr/lib/rapido/storage-lib.sh
. /usr/lib/rapido/pair-lib.sh
share=${NFS_SHARE:-/srv/nfs}
srv=$(pair_addr 1)
# The client's versions, checked before anything waits on the server.
if [ "$(pair_role)" = client ]; then
	for v in ${NFS_VERS:-4.2 3}; do
		case $v in
		3 | 4 | 4.0 | 4.1 | 4.2) ;;
		*)
			echo "nfs: client: NFS_VERS has '$v': accepted versions are 3, 4, 4.0, 4.1 and 4.2 (a list, e.g. NFS_VERS=\"4.2 3\")" >&2
			exit 1
			;;
		esac
	done
fi

# Users the daemons look up: Debian's rpcbind runs as _rpc and will not start
# without it; statd's is the owner of /var/lib/nfs/sm.
add_user() {
	grep -qs "^$1:" /etc/passwd || echo "$1:x:$2:$3::$4:/bin/false" >> /etc/passwd
}
add_user root 0 0 /root
add_user _rpc 100 65534 /run/rpcbind
add_user statd 101 65534 /var/lib/nfs
add_user nobody 65534 65534 /nonexistent
grep -qs '^root:' /etc/group || echo 'root:x:0:' >> /etc/group
grep -qs '^nogroup:' /etc/group || echo 'nogroup:x:65534:' >> /etc/group

# rpcbind, then rpc.statd (NSM: lockd's peer for NFSv3 locks, on both sides).
modprobe sunrpc
mkdir -p /run/rpcbind /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/rpc_pipefs
grep -q ' /var/lib/nfs/rpc_pipefs ' /proc/mounts || mount -t rpc_pipefs sunrpc /var/lib/nfs/rpc_pipefs
rpcbind -w
rpc.statd --no-notify

if [ "$(pair_role)" = server ]; then
	dev=$(zram_dev "${NFS_ZRAM_SIZE:-512M}")
	mkfs.xfs -q "$dev"
	mkdir -p "$share"
	mount -t xfs "$dev" "$share"
	chmod 0777 "$share"
	modprobe nfsd
	grep -q ' /proc/fs/nfsd ' /proc/mounts || mount -t nfsd nfsd /proc/fs/nfsd
	# Grace periods (clients reclaiming state after a server restart; new
	# locks wait meanwhile): nfsd's NFSv4 one is skipped with nfsdcld and no
	# clients on record, else bounded by its minimum, 10 s; lockd's NFSv3
	# one is 3 s (its minimum) instead of 50.
	echo 10 > /proc/fs/nfsd/nfsv4gracetime
	echo 3 > /proc/sys/fs/nfs/nlm_timeout
	echo 3 > /proc/sys/fs/nfs/nlm_grace_period
	# nfsd waits only 1 s for nfsdcld to open the pipe it creates at start,
	# and nfsdcld's SQLite set-up takes longer under TCG: rpc.nfsd only once
	# nfsdcld watches for the pipe (its inotify descriptor is open). (No
	# /var/lib/nfs/v4recovery: it would select the legacy tracker.)
	mkdir -p /var/lib/nfs/nfsdcld
	nfsdcld -F </dev/null &
	cld=$!
	for ((i = 0; i < 300; i++)); do
		for fd in /proc/$cld/fd/*; do [ "$(readlink "$fd")" != anon_inode:inotify ] || break 2; done
		sleep 0.1
	done
	((i < 300)) || echo "nfsd: server: nfsdcld not ready after 30 s; nfsd keeps a 10 s grace period"
	echo "$share *(${NFS_EXPORT_OPTS:-rw,no_root_squash,no_subtree_check,insecure})" > /etc/exports
	: > /var/lib/nfs/etab
	exportfs -ra
	rpc.mountd
	rpc.nfsd 4
	echo "nfsd: server: $dev (xfs) exported as $srv:$share ($(cat /proc/fs/nfsd/versions))"
	pair_serve "$share"
	exit 0
fi

modprobe nfs
modprobe nfsv3
modprobe nfsv4
pair_wait_port "$srv" 2049 "nfsd"
exec 3<&-
first=
for v in ${NFS_VERS:-4.2 3}; do
	mnt=/mnt/nfs-v$v
	mkdir -p "$mnt"
	if ! mount -t nfs -o "vers=$v${NFS_MOUNT_OPTS:+,$NFS_MOUNT_OPTS}" "$srv:$share" "$mnt"; then
		echo "nfs: client: mounting $srv:$share (vers=$v) failed; the kernel said:"
		dmesg | grep -iE 'nfs|rpc|lockd' | tail -n 15
		exit 1
	fi
	echo "$mnt" > "/run/nfs-mnt-$v"
	[ -n "$first" ] || { first=$mnt; echo "$mnt" > /run/nfs-mnt; }
	echo "nfs: client: $srv:$share mounted on $mnt ($(grep " $mnt " /proc/mounts | cut -d' ' -f4 | tr ',' '\n' | grep -E '^(vers|proto)=' | tr '\n' ' ' | sed 's/ $//'))"
done
