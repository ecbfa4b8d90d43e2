#!/usr/bin/env bash
# Unpacks Debian's ksmbd-tools (ksmbd.mountd, ksmbd.adduser, ...: the ksmbd
# recipe's server side) into a cache outside the system, once per machine:
# the package conflicts with samba, which the cifs recipe needs installed, so
# it is downloaded and unpacked (dpkg-deb -x), never installed. Its libraries
# (glib, libnl) do not conflict: they are installed as usual. Prints the
# result as a rapido.conf line:
#   KSMBD_TOOLS_DIR=/var/cache/rapido/ksmbd-tools
# which is the ksmbd recipe's default: a symlink to ksmbd-tools-VERSION beside
# it, swapped atomically when a newer Debian version is unpacked.
#
# On Debian 12 it comes from bookworm-backports (3.5.x): bookworm's own 3.4.7
# leaves payload_sz unset in its share-config replies, which bookworm's
# kernel (6.1.1xx) rejects, so every tree connect fails. Backports is read
# through apt options and lists of this script's own (in the cache), never
# added to the system's sources. Its kernel (6.1) then oopses in ksmbd, so
# on Debian 12 this also runs scripts/fetch-backports-kernel.sh, which
# unpacks bookworm-backports' kernel (6.12) and prints its KERNEL_RELEASE and
# KERNEL_INSTALL_MOD_PATH lines after KSMBD_TOOLS_DIR's.
#
# Cache: $RAPIDO_KSMBD_CACHE (default: /var/cache/rapido; sudo when not root).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/lib/apt-missing.sh"
. "$repo/scripts/lib/backports-apt.sh"
cache=${RAPIDO_KSMBD_CACHE:-/var/cache/rapido}
link=$cache/ksmbd-tools
pkg=ksmbd-tools
sudo=
[ "$(id -u)" = 0 ] || [ -w "$cache" ] || sudo=sudo

# ksmbd-tools' Depends, less libc6 (apt-cache depends ksmbd-tools).
apt_install_missing setup-ksmbd-tools libglib2.0-0 libnl-3-200 libnl-genl-3-200

# Backports (bookworm) through private apt options: scripts/lib/backports-apt.sh.
backports_apt "$cache"
candidate() { backports_candidate "$pkg"; }
version=$(candidate)
if [ -z "$version" ]; then
	# No package lists yet (a fresh container, or backports' first use): fetch them once.
	backports_update
	version=$(candidate)
fi
if [ -z "$version" ]; then
	if [ -f "$link/.rapido-unpacked" ]; then
		echo "KSMBD_TOOLS_DIR=$link"
		exit 0
	fi
	echo "setup-ksmbd-tools: apt knows no $pkg package (is this Debian 12 or newer, with main enabled?)" >&2
	exit 1
fi
dest=$cache/$pkg-${version//[:\/]/_}
if [ ! -f "$dest/.rapido-unpacked" ]; then
	${sudo:-} mkdir -p "$cache"
	tmp=$(${sudo:-} mktemp -d "$cache/.$pkg.XXXXXX")
	trap '${sudo:-} rm -rf "$tmp"' EXIT
	echo "setup-ksmbd-tools: unpacking $pkg $version into $dest" >&2
	deb_unpack setup-ksmbd-tools "$pkg" "$version" "$tmp"
	[ -x "$tmp/root/usr/libexec/ksmbd.tools" ] || [ -e "$tmp/root/usr/sbin/ksmbd.mountd" ] || {
		echo "setup-ksmbd-tools: $pkg $version holds no ksmbd.mountd" >&2
		exit 1
	}
	echo "$pkg $version" | ${sudo:-} tee "$tmp/root/.rapido-unpacked" >/dev/null
	${sudo:-} rm -rf "$dest"
	${sudo:-} mv "$tmp/root" "$dest"
fi
# The versionless name the recipe defaults to: a new link renamed over the old one.
swap_link "$link" "${dest##*/}"
echo "KSMBD_TOOLS_DIR=$link"
# Debian 12's kernel oopses in ksmbd: its backports kernel too (its KERNEL_* lines; nothing elsewhere).
"$repo/scripts/fetch-backports-kernel.sh"
