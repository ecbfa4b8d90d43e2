#!/bin/bash
# dropbear for root with the authorized key the cut put in /root/.ssh. An
# unattended run (rapido boot --exit, or no terminal) stays up for its ssh
# clients until one of them runs `touch /run/dropbear-done`.
set -e
mkdir -p /etc/dropbear /var/log
chmod 700 /root /root/.ssh
chmod 600 /root/.ssh/authorized_keys
grep -qs '^root:' /etc/passwd || echo 'root:x:0:0:root:/root:/bin/bash' >> /etc/passwd
grep -qs '^root:' /etc/group || echo 'root:x:0:' >> /etc/group
printf '/bin/bash\n/bin/sh\n' > /etc/shells
key=/etc/dropbear/dropbear_ed25519_host_key
[ -s "$key" ] || dropbearkey -t ed25519 -f "$key" >/dev/null 2>&1
port=${DROPBEAR_PORT:-22}
dropbear -r "$key" -p "$port" -P /run/dropbear.pid -E 2>>/var/log/dropbear.log
echo "dropbear: listening on port $port ($(cat /proc/sys/kernel/hostname))"
if [ "${RAPIDO_EXIT:-0}" = 1 ]; then
	until [ -e /run/dropbear-done ]; do sleep 0.5; done
	echo "dropbear: done"
fi
