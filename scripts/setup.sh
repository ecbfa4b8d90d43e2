#!/usr/bin/env bash
# Installs what rapido and its tests need on Debian (only what is missing),
# then the npm dependencies, then builds. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt-missing.sh

# iproute2: setup-network and the tap check at boot; dnsmasq-base: the DHCP test's server.
debs=(qemu-system-x86 dracut-core linux-image-amd64 busybox-static cpio kmod
      btrfs-progs xfsprogs util-linux procps iproute2 dnsmasq-base keyutils
      # What the fstests-* and blktests recipes put in the image (small, except fio).
      bc e2fsprogs exfatprogs f2fs-tools udftools attr acl bsdextrautils ncurses-bin fio nvme-cli)
apt_install_missing setup "${debs[@]}"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund
fi
npm run --silent build

# rapido and rapido-store on PATH: /usr/local/bin as root, else ~/.local/bin.
if [ "$(id -u)" = 0 ]; then bindir=/usr/local/bin; else bindir=$HOME/.local/bin; fi
mkdir -p "$bindir"
for b in rapido rapido-store; do ln -sfn "$PWD/bin/$b.js" "$bindir/$b"; done
ln -sfn "$PWD/bin/rapido-ceph-cluster" "$bindir/rapido-ceph-cluster"
case ":$PATH:" in
*":$bindir:"*) ;;
*) echo "setup: add $bindir to your PATH to run rapido and rapido-store by name" ;;
esac
