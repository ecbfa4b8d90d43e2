# Sourced by the set-up scripts. apt_install_missing TAG PACKAGE...: installs
# the Debian packages that are not installed yet (nothing, and no apt run,
# when all are), with sudo when not root. TAG prefixes the one line it prints.
apt_install_missing() {
	local tag=$1 p sudo=
	shift
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "$tag: installing ${missing[*]}" >&2
	# Another apt run (unattended-upgrades, a first-boot job) may hold the dpkg lock: wait for it.
	local apt=(apt-get -o DPkg::Lock::Timeout=600 -qq)
	$sudo "${apt[@]}" update
	DEBIAN_FRONTEND=noninteractive $sudo "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
}
