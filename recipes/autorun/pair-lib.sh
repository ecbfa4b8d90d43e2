# Sourced by the server/client recipes' autoruns and steps (bash). One image
# for both VMs: VM 1 serves, every other VM is a client (RAPIDO_VM_NUM, set
# by rapido-init from rapido.vm_num). Addresses come from net-conf through
# /etc/hosts (rapido-net writes every VM's there). A client waits for its
# server by polling the service port, bounded by PAIR_WAIT_SECS, never by a
# fixed sleep. The server answers requests on PAIR_CTL_PORT: `sum OFF LEN`
# (sha256 of LEN bytes of its backing device from OFF, read past the cache),
# `file NAME` (sha256 of NAME in its served directory, the cache dropped
# first), `stat NAME` (its size, mode, owner, mtime and inode number, as
# `stat -c '%s %a %u:%g %Y %i'`) and `bye` (it stops serving; unattended,
# its steps then end).

PAIR_WAIT_SECS=${PAIR_WAIT_SECS:-120}
PAIR_CTL_PORT=${PAIR_CTL_PORT:-7001}

pair_role() {
	if [ "${RAPIDO_VM_NUM:-1}" = 1 ]; then echo server; else echo client; fi
}

# pair_addr N: VM N's IPv4 address.
pair_addr() {
	local name=rapido$1 f=/rapido-rsc/net/vm$1/hostname a
	[ -r "$f" ] && read -r name < "$f"
	a=$(awk -v n="$name" '$2 == n && $1 ~ /^[0-9.]+$/ { print $1; exit }' /etc/hosts)
	if [ -z "$a" ]; then
		echo "pair: VM $1 ($name) has no address: give it one in net-conf/vm$1/<tap>.network (Address=)" >&2
		return 1
	fi
	echo "$a"
}

# pair_wait_port ADDR PORT WHAT: fd 3 connected to ADDR:PORT once it
# accepts (refused at once while nothing listens; a peer not up yet fails
# its ARP in ~3 s). Leaves fd 3 open for the caller.
pair_wait_port() {
	local deadline=$((SECONDS + PAIR_WAIT_SECS))
	until { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			echo "pair: $3 at $1:$2 did not answer within $PAIR_WAIT_SECS s (PAIR_WAIT_SECS): is VM 1 up with this image? (rapido boot --vms 2 boots both)" >&2
			return 1
		fi
		sleep 0.5
	done
}

# pair_ask LINE: the server's one-line answer to LINE on its control port.
pair_ask() {
	local srv reply
	srv=$(pair_addr 1) || return 1
	pair_wait_port "$srv" "$PAIR_CTL_PORT" "the server's control port" || return 1
	echo "$1" >&3
	read -r reply <&3
	exec 3<&-
	echo "$reply"
}

# pair_serve DEV|DIR: answer control requests about DEV (or DIR) until `bye`. Called by
# a server's autorun: in the foreground when the run is unattended (the VM
# stays up for its clients), else in the background (you get the shell).
pair_serve() {
	if [ "${RAPIDO_EXIT:-0}" = 1 ]; then
		_pair_serve_loop "$1"
	else
		_pair_serve_loop "$1" </dev/null >/dev/console 2>&1 &
	fi
}

_pair_serve_loop() {
	local dev=$1 line reply ncpid rfd wfd f
	# A client already gone must not kill the server with SIGPIPE.
	trap '' PIPE
	while :; do
		coproc PAIR_NC { busybox nc -l -p "$PAIR_CTL_PORT"; }
		# bash unsets PAIR_NC and PAIR_NC_PID once it reaps nc: keep them.
		ncpid=$PAIR_NC_PID rfd=${PAIR_NC[0]} wfd=${PAIR_NC[1]}
		read -r line <&"$rfd" || line=
		case "$line" in
		sum\ *\ *)
			set -- $line
			echo 3 > /proc/sys/vm/drop_caches
			reply="sum $(dd if="$dev" bs=1M skip=$(($2 / 1048576)) count=$(($3 / 1048576)) iflag=direct status=none | sha256sum | cut -d' ' -f1)"
			echo "pair: server: $dev $2+$3 ${reply#sum }"
			;;
		file\ *)
			echo 3 > /proc/sys/vm/drop_caches
			f=$dev/${line#file }
			case "$f" in *..*) reply="error bad name" ;; *) reply="file $(sha256sum < "$f" | cut -d' ' -f1)" ;; esac
			echo "pair: server: $f ${reply#file }"
			;;
		stat\ *)
			f=$dev/${line#stat }
			case "$f" in *..*) reply="error bad name" ;; *) reply="stat $(stat -c '%s %a %u:%g %Y %i' "$f" 2>&1 | head -n 1)" ;; esac
			echo "pair: server: $f ${reply#stat }"
			;;
		bye) reply=bye ;;
		*) reply="error unknown request '$line'" ;;
		esac
		echo "$reply" >&"$wfd" 2>/dev/null || :
		eval "exec $wfd>&- $rfd<&-"
		wait "$ncpid" 2>/dev/null || :
		[ "$reply" = bye ] && { echo "pair: server: client said bye"; return 0; }
	done
}
