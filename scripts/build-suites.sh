#!/usr/bin/env bash
# Builds the upstream test suites that the fstests and blktests recipes run
# (xfstests, blktests) from their source snapshots, once per machine, into a
# cache outside the checkout. Prints the built trees as rapido.conf lines:
#   FSTESTS_SRC=/var/cache/rapido/suites/xfstests-63a29724
#   BLKTESTS_SRC=/var/cache/rapido/suites/blktests-613b837
#
# Sources: $RAPIDO_SUITES_SRC (default: ../shared/suites beside the checkout).
# Cache:   $RAPIDO_SUITES_CACHE (default: /var/cache/rapido/suites as root,
#          ~/.cache/rapido/suites otherwise).
# A tree is built in a temporary directory and renamed into place only when
# its build succeeded, so an interrupted build is never taken for a good one.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/lib/apt-missing.sh"
src=${RAPIDO_SUITES_SRC:-$repo/../shared/suites}
if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/rapido/suites; else default_cache=${XDG_CACHE_HOME:-$HOME/.cache}/rapido/suites; fi
cache=${RAPIDO_SUITES_CACHE:-$default_cache}

if [ ! -d "$src" ]; then
	echo "build-suites: no suite sources at $src (set RAPIDO_SUITES_SRC to the directory holding xfstests-*.tar.xz and blktests-*.tar.xz)" >&2
	exit 1
fi

# xfstests' build dependencies, and what the suites' check scripts need at run
# time on the host side (tarball unpacking).
debs=(xfslibs-dev uuid-dev libtool-bin automake autoconf gcc make libacl1-dev libattr1-dev libaio-dev
      libgdbm-dev libgdbm-compat-dev gawk liburing-dev libcap-dev libinih-dev libblkid-dev pkg-config xz-utils)
apt_install_missing build-suites "${debs[@]}"

mkdir -p "$cache"
build_one() { # TARBALL DIR-IN-TARBALL BUILD-COMMAND
	local tarball=$1 inner=$2 cmd=$3
	local name; name=$(basename "$tarball" .tar.xz)
	local dest=$cache/$name
	if [ -f "$dest/.rapido-built" ]; then
		echo "$dest"
		return
	fi
	local tmp; tmp=$(mktemp -d "$cache/.build-$name.XXXXXX")
	echo "build-suites: building $name (log: $tmp.log)" >&2
	tar -xJf "$tarball" -C "$tmp"
	if ! (cd "$tmp/$inner" && eval "$cmd") > "$tmp.log" 2>&1; then
		tail -30 "$tmp.log" >&2
		echo "build-suites: building $name failed; full log in $tmp.log" >&2
		rm -rf "$tmp"
		exit 1
	fi
	touch "$tmp/$inner/.rapido-built"
	rm -rf "$dest"
	mv "$tmp/$inner" "$dest"
	rm -rf "$tmp" "$tmp.log"
	echo "$dest"
}

shopt -s nullglob
xfs=("$src"/xfstests-*.tar.xz)
blk=("$src"/blktests-*.tar.xz)
if ((${#xfs[@]} != 1 || ${#blk[@]} != 1)); then
	echo "build-suites: expected one xfstests-*.tar.xz and one blktests-*.tar.xz in $src" >&2
	exit 1
fi
fstests=$(build_one "${xfs[0]}" xfstests "make -j$(nproc)")
blktests=$(build_one "${blk[0]}" blktests "make -j$(nproc)")
echo "FSTESTS_SRC=$fstests"
echo "BLKTESTS_SRC=$blktests"
