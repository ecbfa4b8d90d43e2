#!/bin/bash
# nvmet through configfs: one subsystem, one namespace on zram, one port;
# then the host side connects with nvme-cli. Debian's kernel has no nvme-loop,
# so "auto" falls back to TCP over the guest's own loopback interface.
# Steps after this one find the namespace's block device in /run/nvme-local-dev.
set -e
. /usr/lib/rapido/storage-lib.sh
modprobe nvme-fabrics
trtype=${NVME_LOCAL_TRANSPORT:-auto}
if [ "$trtype" = auto ]; then
	if modprobe -q nvme-loop 2>/dev/null; then trtype=loop; else trtype=tcp; fi
fi
nqn=nqn.2014-08.org.nvmexpress:rapido-local
backing=$(zram_dev "${NVME_ZRAM_SIZE:-64M}")
connect=(-t "$trtype" -n "$nqn")
if [ "$trtype" = tcp ]; then
	modprobe nvme-tcp
	ip link set lo up
	nvmet_export "$nqn" "$backing" tcp 127.0.0.1 4420
	connect+=(-a 127.0.0.1 -s 4420)
else
	nvmet_export "$nqn" "$backing" "$trtype"
fi
dev=$(nvme_attach "${connect[@]}")
echo "$dev" > /run/nvme-local-dev
echo "nvme-local: $dev ready over $trtype ($nqn), backstore $backing"
