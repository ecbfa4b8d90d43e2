#!/bin/bash
# Mounts CephFS with ceph-fuse at /mnt/cephfs: /etc/ceph's minimal conf and
# keyring, bounded by client_mount_timeout and a wall-clock timeout.
CEPH_WHO=cephfs-fuse
. /usr/lib/rapido/ceph-lib.sh
modprobe fuse 2>/dev/null
[ -c /dev/fuse ] || ceph_fail "no /dev/fuse (fuse module missing?)"
ceph_check_mons
mkdir -p /mnt/cephfs /var/log/ceph /var/run/ceph
args=(--id "$CEPH_USER" --client_mount_timeout "$CEPH_MOUNT_TIMEOUT" -r "$CEPH_FS_PATH" --log-file /var/log/ceph/ceph-fuse.log)
[ -z "$CEPH_FS" ] || args+=(--client_fs "$CEPH_FS")
# shellcheck disable=SC2206 # extra arguments are a word list on purpose
args+=($CEPH_FUSE_ARGS)
if ! err=$(timeout $((CEPH_MOUNT_TIMEOUT + 15)) ceph-fuse "${args[@]}" /mnt/cephfs 2>&1); then
	why=
	grep -q 'authenticate.*(13)\|Permission denied' <<<"$err" && why="the cluster rejected client.$CEPH_USER's key: CEPH_KEYRING is not this cluster's (a restarted cluster has new keys: re-cut)"
	ceph_fail "ceph-fuse mount of ${CEPH_FS:-the default file system} failed: ${why:-$(tail -n 3 <<<"$err" | tr '\n' ' ')}"
fi
echo "cephfs-fuse: ${CEPH_FS:-default file system}:$CEPH_FS_PATH mounted at /mnt/cephfs by ceph-fuse (monitors $CEPH_MONS, client.$CEPH_USER)"
