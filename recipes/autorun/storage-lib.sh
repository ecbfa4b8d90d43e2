# Sourced by the single-VM storage recipes' autoruns (bash).

# zram_dev SIZE: a new zram device of SIZE, printed as /dev/zramN.
zram_dev() {
	[ -e /sys/class/zram-control ] || modprobe zram num_devices=0
	local n
	n=$(cat /sys/class/zram-control/hot_add)
	echo "$1" > "/sys/block/zram$n/disksize"
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
