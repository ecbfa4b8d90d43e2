# Sourced by the fstests autoruns of network file systems (bash), which
# mount the export once to make test/ and scratch/ in it, unmount, and hand
# check its device settings through /run/fstests-local.config (fstests.sh
# reads it).

# fstests_net_config TEST_DEV SCRATCH_DEV OPTS_VAR OPTS [MOUNT_OPTIONS]:
# OPTS (`-o ...`) go to check's per-filesystem OPTS_VAR and to
# TEST_FS_MOUNT_OPTS; to MOUNT_OPTIONS too unless the 5th word is `-`.
fstests_net_config() {
	local test=$1 scratch=$2 var=$3 opts=$4
	{
		echo "export TEST_DEV=$test"
		echo "export TEST_DIR=/mnt/test"
		echo "export SCRATCH_DEV=$scratch"
		echo "export SCRATCH_MNT=/mnt/scratch"
		echo "export $var=\"$opts\""
		echo "export TEST_FS_MOUNT_OPTS=\"$opts\""
		[ "${5:-}" = - ] || echo "export MOUNT_OPTIONS=\"$opts\""
	} > /run/fstests-local.config
}

# fstests_serve_only WHY: on a pair's server VM (pair-lib.sh's pair_role) the
# suite does not run: fstests.sh says WHY instead, and the calling autorun
# ends here. On the client it returns.
fstests_serve_only() {
	[ "$(pair_role)" = server ] || return 0
	echo "$1" > /run/fstests-skip
	exit 0
}
