#!/bin/bash
# nvmet through configfs: one subsystem, one namespace on zram, one port;
# then the host side connects with nvme-cli. Debian's kernel has no nvme-loop,
# so "auto" falls back to TCP over the guest's own loopback interface.
# Steps after this one find the namespace's block device in /run/nvme-local-dev.
set -e
. /usr/lib/rapido/storage-lib.sh
need_configfs
modprobe nvmet
modprobe nvme-fabrics
trtype=${NVME_LOCAL_TRANSPORT:-auto}
if [ "$trtype" = auto ]; then
	if modprobe -q nvme-loop 2>/dev/null; then trtype=loop; else trtype=tcp; fi
fi
nqn=nqn.2014-08.org.nvmexpress:rapido-local
backing=$(zram_dev "${NVME_ZRAM_SIZE:-64M}")
sub=/sys/kernel/config/nvmet/subsystems/$nqn
mkdir -p "$sub/namespaces/1"
echo 1 > "$sub/attr_allow_any_host"
echo "$backing" > "$sub/namespaces/1/device_path"
echo 1 > "$sub/namespaces/1/enable"
port=/sys/kernel/config/nvmet/ports/1
mkdir -p "$port"
echo "$trtype" > "$port/addr_trtype"
connect=(nvme connect -t "$trtype" -n "$nqn")
if [ "$trtype" = tcp ]; then
	modprobe nvmet-tcp
	modprobe nvme-tcp
	ip link set lo up
	echo ipv4 > "$port/addr_adrfam"
	echo 127.0.0.1 > "$port/addr_traddr"
	echo 4420 > "$port/addr_trsvcid"
	connect+=(-a 127.0.0.1 -s 4420)
fi
ln -s "$sub" "$port/subsystems/$nqn"
mkdir -p /etc/nvme
[ -s /etc/nvme/hostnqn ] || nvme gen-hostnqn > /etc/nvme/hostnqn
"${connect[@]}" >/dev/null
blk=$(wait_for '/sys/class/nvme-subsystem/nvme-subsys*/nvme*n1' 20)
dev=/dev/${blk##*/}
wait_for "$dev" >/dev/null
echo "$dev" > /run/nvme-local-dev
echo "nvme-local: $dev ready over $trtype ($nqn), backstore $backing"
