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
# added to the system's sources.
#
# Cache: $RAPIDO_KSMBD_CACHE (default: /var/cache/rapido; sudo when not root).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/lib/apt-missing.sh"
cache=${RAPIDO_KSMBD_CACHE:-/var/cache/rapido}
link=$cache/ksmbd-tools
pkg=ksmbd-tools
sudo=
[ "$(id -u)" = 0 ] || [ -w "$cache" ] || sudo=sudo

# ksmbd-tools' Depends, less libc6 (apt-cache depends ksmbd-tools).
apt_install_missing setup-ksmbd-tools libglib2.0-0 libnl-3-200 libnl-genl-3-200

apt=()
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if [ "$codename" = bookworm ]; then
	# The system's package state (installed packages) as usual; sources,
	# lists and downloads private to this script.
	aptdir=$cache/.apt-$codename-backports
	${sudo:-} mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	if [ ! -f "$aptdir/backports.sources" ]; then
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$codename" |
			${sudo:-} tee "$aptdir/backports.sources.new" >/dev/null
		${sudo:-} mv "$aptdir/backports.sources.new" "$aptdir/backports.sources"
	fi
	apt=(-o Dir::Etc::SourceList="$aptdir/backports.sources" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$aptdir/lists" -o Dir::Cache="$aptdir/cache")
fi
candidate() {
	apt-cache "${apt[@]}" policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}
version=$(candidate)
if [ -z "$version" ]; then
	# No package lists yet (a fresh container, or backports' first use): fetch them once.
	${sudo:-} apt-get "${apt[@]}" -o DPkg::Lock::Timeout=600 -qq update
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
	# apt-get download writes into the current directory; _apt cannot read a
	# root-only one, which apt only warns about.
	(cd "$tmp" && ${sudo:-} apt-get "${apt[@]}" -qq download "$pkg=$version" 2>&1 | grep -v 'unsandboxed' >&2 || :)
	deb=("$tmp"/"$pkg"_*.deb)
	[ -f "${deb[0]}" ] || { echo "setup-ksmbd-tools: apt-get download $pkg=$version fetched nothing" >&2; exit 1; }
	${sudo:-} dpkg-deb -x "${deb[0]}" "$tmp/root"
	[ -x "$tmp/root/usr/libexec/ksmbd.tools" ] || [ -e "$tmp/root/usr/sbin/ksmbd.mountd" ] || {
		echo "setup-ksmbd-tools: ${deb[0]##*/} holds no ksmbd.mountd" >&2
		exit 1
	}
	echo "$pkg $version" | ${sudo:-} tee "$tmp/root/.rapido-unpacked" >/dev/null
	${sudo:-} rm -rf "$dest"
	${sudo:-} mv "$tmp/root" "$dest"
fi
# The versionless name the recipe defaults to: a new link renamed over the old one.
if [ "$(readlink "$link" 2>/dev/null)" != "${dest##*/}" ]; then
	${sudo:-} ln -sfn "${dest##*/}" "$link.new"
	${sudo:-} mv -T "$link.new" "$link"
fi
echo "KSMBD_TOOLS_DIR=$link"
