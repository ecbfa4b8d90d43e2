#!/bin/bash
# SMB across two VMs of one image. VM 1: xfs on zram, shared by smbd as
# CIFS_SHARE for CIFS_USER/CIFS_PW; then it answers the client's checks
# (pair-lib.sh). VM 2: waits for port 445, mounts the share at /mnt/cifs
# (kept in /run/cifs-mnt for the steps after this one).
set -e
. /usr/lib/rapido/storage-lib.sh
. /usr/lib/rapido/pair-lib.sh
user=${CIFS_USER:-root}
share=${CIFS_SHARE:-rapido}
srv=$(pair_addr 1)
if [ "$(pair_role)" = server ]; then
	dev=$(zram_dev "${CIFS_ZRAM_SIZE:-512M}")
	mkfs.xfs -q "$dev"
	mkdir -p /srv/share /var/lib/samba/private /var/cache/samba /var/log/samba /run/samba /etc/samba
	mount -t xfs "$dev" /srv/share
	chmod 0777 /srv/share
	grep -qs '^root:' /etc/passwd || echo 'root:x:0:0:root:/root:/bin/bash' >> /etc/passwd
	grep -qs '^root:' /etc/group || echo 'root:x:0:' >> /etc/group
	# smbd's guest account, looked up at start even with guests off.
	grep -qs '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >> /etc/passwd
	grep -qs '^nogroup:' /etc/group || echo 'nogroup:x:65534:' >> /etc/group
	if ! grep -qs "^$user:" /etc/passwd; then
		echo "$user:x:1000:1000:$user:/srv/share:/bin/false" >> /etc/passwd
		echo "$user:x:1000:" >> /etc/group
	fi
	cat > /etc/samba/smb.conf <<-CONF
	[global]
	  workgroup = RAPIDO
	  server role = standalone server
	  disable netbios = yes
	  smb ports = 445
	  load printers = no
	  printing = bsd
	  printcap name = /dev/null
	  disable spoolss = yes
	  log file = /var/log/samba/log.%m
	  map to guest = never
	[$share]
	  path = /srv/share
	  read only = no
	  valid users = $user
	CONF
	printf '%s\n%s\n' "$CIFS_PW" "$CIFS_PW" | smbpasswd -s -a "$user" >/dev/null
	# In the foreground of a background job: its errors reach the console.
	smbd --foreground --no-process-group --debug-stdout -d 1 </dev/null &
	echo "cifs: server: smbd shares $dev (xfs) as //$srv/$share for $user"
	pair_serve /srv/share
	exit 0
fi
pair_wait_port "$srv" 445 "smbd"
exec 3<&-
mkdir -p /mnt/cifs
if ! mount -t cifs "//$srv/$share" /mnt/cifs -o "username=$user,password=$CIFS_PW${CIFS_MOUNT_OPTS:+,$CIFS_MOUNT_OPTS}"; then
	echo "cifs: client: mounting //$srv/$share failed; the kernel said:"
	dmesg | grep -iE 'cifs|smb' | tail -n 15
	exit 1
fi
echo /mnt/cifs > /run/cifs-mnt
echo "cifs: client: //$srv/$share mounted on /mnt/cifs ($(grep ' /mnt/cifs ' /proc/mounts | cut -d' ' -f4 | tr ',' '\n' | grep '^vers=' || :))"
