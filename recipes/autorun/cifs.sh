#!/bin/bash
# SMB across two VMs of one image. VM 1: xfs on zram, shared by smbd as
# CIFS_SHARE for CIFS_USER/CIFS_PW; then it answers the client's checks
# (pair-lib.sh). VM 2: waits for port 445, mounts the share at /mnt/cifs
# (kept in /run/cifs-mnt for the steps after this one; cifs-lib.sh).
set -e
. /usr/lib/rapido/storage-lib.sh
. /usr/lib/rapido/pair-lib.sh
. /usr/lib/rapido/cifs-lib.sh
if [ "$(pair_role)" = client ]; then
	cifs_client cifs smbd
	exit 0
fi
cifs_server
mkdir -p /var/lib/samba/private /var/cache/samba /var/log/samba /run/samba /etc/samba
# smbd's guest account, looked up at start even with guests off.
grep -qs '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >> /etc/passwd
grep -qs '^nogroup:' /etc/group || echo 'nogroup:x:65534:' >> /etc/group
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
$(cifs_share_section)
CONF
printf '%s\n%s\n' "$CIFS_PW" "$CIFS_PW" | smbpasswd -s -a "$user" >/dev/null
# In the foreground of a background job: its errors reach the console.
smbd --foreground --no-process-group --debug-stdout -d 1 </dev/null &
echo "cifs: server: smbd shares $dev (xfs) as //$srv/$share for $user"
pair_serve /srv/share
exit 0
