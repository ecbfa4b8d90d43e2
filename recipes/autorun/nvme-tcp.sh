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
	backing=$(zram_dev "${NVME_ZRAM_SIZE:-64M}")
	nvmet_export "$nqn" "$backing" tcp "$srv" "$port"
	echo "nvme-tcp: server: $backing exported as $nqn on $srv:$port"
	pair_serve "$backing"
	exit 0
fi
modprobe nvme-fabrics
modprobe nvme-tcp
pair_wait_port "$srv" "$port" "the nvmet-tcp listener"
exec 3<&-
dev=$(nvme_attach -t tcp -a "$srv" -s "$port" -n "$nqn")
echo "$dev" > /run/nvme-tcp-dev
echo "nvme-tcp: client: $dev connected to $srv:$port ($nqn)"
