#!/usr/bin/env bash
# Installs what rapido and its tests need on Debian (only what is missing),
# then the npm dependencies, then builds. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(qemu-system-x86 dracut-core linux-image-amd64 busybox-static cpio kmod
      btrfs-progs xfsprogs util-linux procps)
missing=()
for p in "${debs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	echo "setup: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund
fi
npm run --silent build
