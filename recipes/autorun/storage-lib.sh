# Sourced by the storage recipes' autoruns, single-VM and server/client (bash).

# zram_dev SIZE: a new zram device of SIZE, printed as /dev/zramN. (The
# helpers run inside $(...), where bash drops set -e: they return on error.)
zram_dev() {
	[ -e /sys/class/zram-control ] || modprobe zram num_devices=0 || return
	local n
	n=$(cat /sys/class/zram-control/hot_add) || return
	echo "$1" > "/sys/block/zram$n/disksize" || return
	echo "/dev/zram$n"
}

# configfs at /sys/kernel/config, loading the module first when it is one.
need_configfs() {
	grep -q ' /sys/kernel/config configfs ' /proc/mounts && return 0
	modprobe -q configfs 2>/dev/null || :
	mount -t configfs configfs /sys/kernel/config
}

# wait_for GLOB [SECONDS]: the first path matching GLOB, once it exists.
wait_for() {
	local i path
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		for path in $1; do
			if [ -e "$path" ]; then
				echo "$path"
				return 0
			fi
		done
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# nvmet_export NQN DEVICE TRTYPE [ADDR PORT]: an nvmet subsystem NQN (any host
# may connect) with DEVICE as namespace 1, on nvmet port 1 of TRTYPE; ADDR and
# PORT (IPv4) for tcp. Loads nvmet and the transport's target module.
nvmet_export() {
	local nqn=$1 dev=$2 trtype=$3 addr=$4 svc=$5
	need_configfs
	modprobe nvmet
	[ "$trtype" = loop ] || modprobe "nvmet-$trtype"
	local sub=/sys/kernel/config/nvmet/subsystems/$nqn port=/sys/kernel/config/nvmet/ports/1
	mkdir -p "$sub/namespaces/1"
	echo 1 > "$sub/attr_allow_any_host"
	echo "$dev" > "$sub/namespaces/1/device_path"
	echo 1 > "$sub/namespaces/1/enable"
	mkdir -p "$port"
	echo "$trtype" > "$port/addr_trtype"
	if [ "$trtype" = tcp ]; then
		echo ipv4 > "$port/addr_adrfam"
		echo "$addr" > "$port/addr_traddr"
		echo "$svc" > "$port/addr_trsvcid"
	fi
	ln -s "$sub" "$port/subsystems/$nqn"
}

# nvme_attach ARGS...: `nvme connect ARGS` (a host NQN made first), then the
# new namespace's block device, printed once it exists. Explicit returns:
# bash drops set -e inside $(...), where this runs.
nvme_attach() {
	mkdir -p /etc/nvme || return
	[ -s /etc/nvme/hostnqn ] || nvme gen-hostnqn > /etc/nvme/hostnqn || return
	nvme connect "$@" >/dev/null || return
	local blk
	blk=$(wait_for '/sys/class/nvme-subsystem/nvme-subsys*/nvme*n1' 20) || return
	wait_for "/dev/${blk##*/}" >/dev/null || return
	echo "/dev/${blk##*/}"
}

# lio_backstore NAME DEVICE: an LIO iblock backstore NAME on DEVICE, enabled;
# its configfs directory printed (a LUN links to it).
lio_backstore() {
	need_configfs || return
	modprobe target_core_mod || return
	modprobe target_core_iblock || return
	local core=/sys/kernel/config/target/core/iblock_0/$1
	mkdir -p "$core" || return
	echo "udev_path=$2" > "$core/control" || return
	echo 1 > "$core/enable" || return
	echo "$core"
}
