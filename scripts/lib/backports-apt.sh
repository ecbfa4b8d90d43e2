# Sourced by the set-up scripts. backports_apt CACHE: on Debian 12 (bookworm),
# sets the array `apt` to apt options that read bookworm-backports through
# sources, lists and downloads private to CACHE/.apt-bookworm-backports (the
# system's installed-package state as usual; its sources never touched), and
# `backports` to the suite's name; elsewhere leaves both empty. Uses $sudo.
backports_apt() {
	local cache=$1 codename aptdir
	apt=()
	backports=
	codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
	[ "$codename" = bookworm ] || return 0
	backports=$codename-backports
	aptdir=$cache/.apt-$backports
	${sudo:-} mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	if [ ! -f "$aptdir/backports.sources" ]; then
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$backports" |
			${sudo:-} tee "$aptdir/backports.sources.new" >/dev/null
		${sudo:-} mv "$aptdir/backports.sources.new" "$aptdir/backports.sources"
	fi
	apt=(-o Dir::Etc::SourceList="$aptdir/backports.sources" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$aptdir/lists" -o Dir::Cache="$aptdir/cache")
}

# backports_candidate PKG: the version apt would take for PKG with those options, or nothing.
backports_candidate() {
	apt-cache "${apt[@]}" policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

# backports_update: fetches the private package lists (their first use, or a fresh container).
backports_update() {
	${sudo:-} apt-get "${apt[@]}" -o DPkg::Lock::Timeout=600 -qq update
}

# deb_unpack TAG PKG VERSION TMP: downloads PKG=VERSION with the `apt` options
# into the empty directory TMP and unpacks it (dpkg-deb -x) at TMP/root.
deb_unpack() {
	local tag=$1 pkg=$2 version=$3 tmp=$4 deb
	# apt-get download writes into the current directory; _apt cannot read a
	# root-only one, which apt only warns about.
	(cd "$tmp" && ${sudo:-} apt-get "${apt[@]}" -qq download "$pkg=$version" 2>&1 | grep -v 'unsandboxed' >&2 || :)
	deb=("$tmp"/*.deb)
	[ -f "${deb[0]}" ] || { echo "$tag: apt-get download $pkg=$version fetched nothing" >&2; return 1; }
	${sudo:-} dpkg-deb -x "${deb[0]}" "$tmp/root"
	${sudo:-} rm -f "${deb[0]}"
}

# swap_link LINK NAME: LINK points at NAME (beside it), replaced atomically.
swap_link() {
	[ "$(readlink "$1" 2>/dev/null)" != "$2" ] || return 0
	${sudo:-} ln -sfn "$2" "$1.new"
	${sudo:-} mv -T "$1.new" "$1"
}
