#!/usr/bin/env bash
# Unpacks Debian 12's newest kernel, from bookworm-backports (the package
# linux-image-amd64 depends on there: vmlinuz, config and modules), into a
# cache outside the system, once per version: downloaded and unpacked
# (dpkg-deb -x) and depmod'ed there, never installed. The ksmbd recipe needs
# it on Debian 12, whose own kernel (6.1) oopses in ksmbd's smb2_open. Prints
# the rapido.conf lines that boot it:
#   KERNEL_RELEASE=6.12.95+deb12-amd64
#   KERNEL_INSTALL_MOD_PATH=/var/cache/rapido/kernels/6.12.95+deb12-amd64
# (rapido takes the image and config from KERNEL_INSTALL_MOD_PATH/boot when a
# vmlinuz of that release is there). kernels/bookworm-backports is a symlink
# to the newest unpacked one, swapped atomically, which the ksmbd e2e test reads.
#
# Only on Debian 12 (elsewhere: prints nothing, the distribution's kernel is
# the one to use). Cache: $RAPIDO_KSMBD_CACHE (default: /var/cache/rapido; sudo when not root).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/lib/backports-apt.sh"
cache=${RAPIDO_KSMBD_CACHE:-/var/cache/rapido}
sudo=
[ "$(id -u)" = 0 ] || [ -w "$cache" ] || sudo=sudo
tag=fetch-backports-kernel

backports_apt "$cache"
if [ -z "$backports" ]; then
	echo "$tag: not Debian 12: nothing to fetch (use the distribution's kernel)" >&2
	exit 0
fi
kdir=$cache/kernels
link=$kdir/$backports
say() {
	echo "KERNEL_RELEASE=$1"
	echo "KERNEL_INSTALL_MOD_PATH=$kdir/$1"
}

# The versioned image package the metapackage depends on in backports.
meta=linux-image-amd64
version=$(backports_candidate "$meta")
if [ -z "$version" ] || [[ "$version" != *bpo* ]]; then
	backports_update
	version=$(backports_candidate "$meta")
fi
if [ -z "$version" ] || [[ "$version" != *bpo* ]]; then
	# Offline with lists gone: the last unpacked kernel still serves.
	if [ -f "$link/.rapido-unpacked" ]; then
		say "$(readlink "$link")"
		exit 0
	fi
	echo "$tag: apt knows no $meta in $backports (candidate: ${version:-none})" >&2
	exit 1
fi
pkg=$(apt-cache "${apt[@]}" depends "$meta=$version" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
[ -n "$pkg" ] || { echo "$tag: $meta $version depends on no linux-image-* package" >&2; exit 1; }
pversion=$(backports_candidate "$pkg")
release=${pkg#linux-image-}
dest=$kdir/$release
# The marker names the package version: a new upload of the same release re-unpacks.
if [ "$(cat "$dest/.rapido-unpacked" 2>/dev/null)" != "$pkg $pversion" ]; then
	${sudo:-} mkdir -p "$kdir"
	tmp=$(${sudo:-} mktemp -d "$kdir/.$release.XXXXXX")
	trap '${sudo:-} rm -rf "$tmp"' EXIT
	echo "$tag: unpacking $pkg $pversion into $dest" >&2
	deb_unpack "$tag" "$pkg" "$pversion" "$tmp"
	[ -f "$tmp/root/boot/vmlinuz-$release" ] && [ -d "$tmp/root/lib/modules/$release" ] || {
		echo "$tag: $pkg $pversion holds no boot/vmlinuz-$release with lib/modules/$release" >&2
		exit 1
	}
	# The package ships no modules.dep (its postinst runs depmod): rapido's kmod needs one.
	${sudo:-} depmod -b "$tmp/root" "$release"
	echo "$pkg $pversion" | ${sudo:-} tee "$tmp/root/.rapido-unpacked" >/dev/null
	${sudo:-} rm -rf "$dest"
	${sudo:-} mv "$tmp/root" "$dest"
fi
swap_link "$link" "$release"
say "$release"
