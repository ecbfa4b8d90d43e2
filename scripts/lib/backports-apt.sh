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
