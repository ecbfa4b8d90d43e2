#!/bin/bash
# NVMe over TCP across two VMs of one image. VM 1: nvmet through configfs,
# a subsystem with a zram namespace, a TCP port on its net-conf address;
# then it answers the client's checks (pair-lib.sh). VM 2: waits for that
# port, connects with nvme-cli; steps after this one find the namespace's
# device in /run/nvme-tcp-dev and the subsystem NQN in /run/nvme-tcp-nqn.
set -e
. /usr/lib/rapido/storage-lib.sh
. /usr/lib/rapido/pair-lib.sh
nqn=nqn.2014-08.org.nvmexpress:rapido-tcp
port=${NVME_TCP_PORT:-4420}
srv=$(pair_addr 1)
echo "$nqn" > /run/nvme-tcp-nqn
if [ "$(pair_role)" = server ]; then
	need_configfs
	modprobe nvmet
	modprobe nvmet-tcp
	backing=$(zram_dev "${NVME_ZRAM_SIZE:-64M}")
	sub=/sys/kernel/config/nvmet/subsystems/$nqn
	mkdir -p "$sub/namespaces/1"
	echo 1 > "$sub/attr_allow_any_host"
	echo "$backing" > "$sub/namespaces/1/device_path"
	echo 1 > "$sub/namespaces/1/enable"
	p=/sys/kernel/config/nvmet/ports/1
	mkdir -p "$p"
	echo tcp > "$p/addr_trtype"
	echo ipv4 > "$p/addr_adrfam"
	echo "$srv" > "$p/addr_traddr"
	echo "$port" > "$p/addr_trsvcid"
	ln -s "$sub" "$p/subsystems/$nqn"
	echo "nvme-tcp: server: $backing exported as $nqn on $srv:$port"
	pair_serve "$backing"
	exit 0
fi
modprobe nvme-fabrics
modprobe nvme-tcp
pair_wait_port "$srv" "$port" "the nvmet-tcp listener"
exec 3<&-
mkdir -p /etc/nvme
[ -s /etc/nvme/hostnqn ] || nvme gen-hostnqn > /etc/nvme/hostnqn
nvme connect -t tcp -a "$srv" -s "$port" -n "$nqn" >/dev/null
blk=$(wait_for '/sys/class/nvme-subsystem/nvme-subsys*/nvme*n1' 20)
dev=/dev/${blk##*/}
wait_for "$dev" >/dev/null
echo "$dev" > /run/nvme-tcp-dev
echo "nvme-tcp: client: $dev connected to $srv:$port ($nqn)"
