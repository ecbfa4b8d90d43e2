# Sourced by the SMB recipes' autoruns (cifs, ksmbd; bash), after
# storage-lib.sh and pair-lib.sh: what the servers share (CIFS_USER's account
# and an xfs filesystem on zram to share) and the cifs client (VM 2).

# cifs_server: what a server starts from, as variables: user (CIFS_USER),
# share (CIFS_SHARE), srv (VM 1's address) and dev, a new zram device
# (CIFS_ZRAM_SIZE) with xfs, mounted on /srv/share (writable by all); the
# user (and root) in /etc/passwd.
cifs_server() {
	user=${CIFS_USER:-root}
	share=${CIFS_SHARE:-rapido}
	srv=$(pair_addr 1) || return
	dev=$(zram_dev "${CIFS_ZRAM_SIZE:-512M}") || return
	mkfs.xfs -q "$dev" || return
	mkdir -p /srv/share || return
	mount -t xfs "$dev" /srv/share || return
	chmod 0777 /srv/share || return
	grep -qs '^root:' /etc/passwd || echo 'root:x:0:0:root:/root:/bin/bash' >> /etc/passwd
	grep -qs '^root:' /etc/group || echo 'root:x:0:' >> /etc/group
	if ! grep -qs "^$user:" /etc/passwd; then
		echo "$user:x:1000:1000:$user:/srv/share:/bin/false" >> /etc/passwd
		echo "$user:x:1000:" >> /etc/group
	fi
}

# cifs_share_section: the share's section of an smb.conf (smbd's and
# ksmbd's read the same syntax), after cifs_server.
cifs_share_section() {
	printf '[%s]\n  path = /srv/share\n  read only = no\n  valid users = %s\n' "$share" "$user"
}

# cifs_client TAG WHAT: waits for WHAT (the server) on VM 1's port 445,
# mounts CIFS_SHARE at /mnt/cifs as CIFS_USER (kept in /run/cifs-mnt for the
# steps after the autorun); on failure, the kernel's cifs messages.
cifs_client() {
	local tag=$1 user=${CIFS_USER:-root} share=${CIFS_SHARE:-rapido} srv
	srv=$(pair_addr 1) || return
	pair_wait_port "$srv" 445 "$2" || return
	exec 3<&-
	mkdir -p /mnt/cifs || return
	if ! mount -t cifs "//$srv/$share" /mnt/cifs -o "username=$user,password=$CIFS_PW${CIFS_MOUNT_OPTS:+,$CIFS_MOUNT_OPTS}"; then
		echo "$tag: client: mounting //$srv/$share failed; the kernel said:"
		dmesg | grep -iE 'cifs|smb' | tail -n 15
		return 1
	fi
	echo /mnt/cifs > /run/cifs-mnt
	echo "$tag: client: //$srv/$share mounted on /mnt/cifs ($(grep ' /mnt/cifs ' /proc/mounts | cut -d' ' -f4 | tr ',' '\n' | grep '^vers=' || :))"
}
