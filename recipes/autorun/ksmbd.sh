#!/bin/bash
# SMB across two VMs of one image, the server in the kernel. VM 1: xfs on
# zram, shared by ksmbd as CIFS_SHARE for CIFS_USER/CIFS_PW (ksmbd.conf and
# ksmbdpwd.db written here, ksmbd.mountd feeding them to the module); then it
# answers the client's checks (pair-lib.sh). VM 2: as cifs does, waits for
# port 445 and mounts the share at /mnt/cifs (in /run/cifs-mnt; cifs-lib.sh).
set -e
. /usr/lib/rapido/storage-lib.sh
. /usr/lib/rapido/pair-lib.sh
. /usr/lib/rapido/cifs-lib.sh
if [ "$(pair_role)" = client ]; then
	cifs_client ksmbd ksmbd
	exit 0
fi
cifs_server
modprobe ksmbd
mkdir -p /etc/ksmbd /run
cat > /etc/ksmbd/ksmbd.conf <<CONF
[global]
  workgroup = RAPIDO
  map to guest = never
$(cifs_share_section)
CONF
# The password on stdin (ksmbd.adduser prompts twice), never in argv.
printf '%s\n%s\n' "$CIFS_PW" "$CIFS_PW" | ksmbd.adduser -a "$user" >/dev/null
# In the foreground of a background job: its errors reach the console.
ksmbd.mountd -n </dev/null &
mountd=$!
# ksmbd.mountd hands the kernel its configuration, then the kernel listens.
for ((i = 0; i < 300; i++)); do
	grep -hqE '^ *[0-9]+: [0-9A-F]+:01BD [0-9A-F]+:0000 0A ' /proc/net/tcp /proc/net/tcp6 2>/dev/null && break
	kill -0 "$mountd" 2>/dev/null || { echo "ksmbd: server: ksmbd.mountd exited; the kernel said:"; dmesg | grep -i ksmbd | tail -n 15; exit 1; }
	sleep 0.1
done
((i < 300)) || { echo "ksmbd: server: nothing listens on port 445 30 s after ksmbd.mountd started; the kernel said:"; dmesg | grep -i ksmbd | tail -n 15; exit 1; }
# ksmbd.mountd answers the kernel's share look-ups only at a tree connect:
# one over loopback proves the two agree on their netlink messages (ksmbd's
# are a kernel-internal ABI; a distribution's tools can lag its kernel).
mkdir -p /run/ksmbd-check
mount -t cifs "//127.0.0.1/$share" /run/ksmbd-check -o "username=$user,password=$CIFS_PW${CIFS_MOUNT_OPTS:+,$CIFS_MOUNT_OPTS}" 2>/dev/null &
check=$!
# A ksmbd that oopses (Debian 12's 6.1.0-57 does at the mount's first
# directory open: opinfo_put(NULL) in smb2_open) leaves the mount waiting for
# cifs' 180 s echo timeout: watch for the oops rather than wait it out.
while kill -0 "$check" 2>/dev/null; do
	if dmesg | grep -q 'RIP: .*\[ksmbd\]'; then
		echo "ksmbd: server: the kernel's ksmbd ($(uname -r)) crashed while a loopback mount of //127.0.0.1/$share was under way (a client's open can be the one that hit it); the kernel said:"
		dmesg | grep -E 'BUG:|Oops|RIP:|\] +(smb2_|handle_ksmbd_work)' | head -n 6
		exit 1
	fi
	sleep 0.2
done
if ! wait "$check"; then
	echo "ksmbd: server: a loopback mount of //127.0.0.1/$share fails: the kernel's ksmbd ($(uname -r)) refuses what ksmbd-tools $(ksmbd.mountd -V 2>&1 | sed -n 's/.*version *: *//p' | head -n 1) (KSMBD_TOOLS_DIR) tells it; the kernel said:"
	dmesg | grep -iE 'ksmbd|cifs' | tail -n 8
	exit 1
fi
umount /run/ksmbd-check
echo "ksmbd: server: ksmbd shares $dev (xfs) as //$srv/$share for $user"
pair_serve /srv/share
exit 0
