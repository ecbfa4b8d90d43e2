#!/bin/sh
# rapido-net: the guest side of the `network` directive, placed at
# /rapido-net by the net layer and run once by rapido-init after the
# hostname is set. Contract: src/runner/guestContract.ts. From the kernel
# command line:
#   rapido.vm_num=N  rapido.net=tap|user|none  rapido.nic=<tap>,<mac> (per NIC)
#   rapido.share=<9p mount tag>  rapido.net_apply=networkd
# it applies /rapido-rsc/net/vm<N>/<tap>.network (a subset of
# systemd.network(5)) to the NIC with <mac>, using ip (iproute2's, else
# busybox's), writes /etc/hosts and /etc/resolv.conf, and mounts the host
# share at /host. Anything it cannot honour gets one line naming the file
# and key. POSIX sh (busybox ash, dash); PID 1 waits for it.
#
# It is also udhcpc's script (udhcpc -s /rapido-net): then $1 is the event.

NET_CONF=/rapido-rsc/net
# QEMU's user-mode network (slirp): fixed addresses.
USER_ADDR=10.0.2.15/24
USER_GW=10.0.2.2
USER_DNS=10.0.2.3

have() { command -v "$1" >/dev/null 2>&1; }
say() { echo "rapido-net: $*"; }

# The directive puts busybox in the image: its applets stand in for what is missing.
for t in ip udhcpc tr sleep grep cat mkdir; do
	have "$t" || eval "$t() { busybox $t \"\$@\"; }"
done

lower() { echo "$1" | tr 'A-Z' 'a-z'; }

# udhcpc's events (busybox sets interface, ip, mask (prefix length), router, dns).
case "$1" in
deconfig)
	ip link set dev "$interface" up
	exit 0
	;;
bound|renew)
	# Its stdout is not the console: say it there.
	out=/dev/console
	[ -w "$out" ] || out=/dev/null
	ip addr replace "$ip/${mask:-24}" dev "$interface"
	for r in $router; do
		ip route replace default via "$r" dev "$interface"
		break
	done
	for d in $dns; do
		grep -qs "^nameserver $d\$" /etc/resolv.conf || echo "nameserver $d" >> /etc/resolv.conf
	done
	if [ "$1" = bound ]; then
		read -r me < /proc/sys/kernel/hostname
		echo "$ip $me" >> /etc/hosts
		say "$interface: DHCP lease $ip/${mask:-24}${router:+ via $router}" > "$out"
	fi
	exit 0
	;;
leasefail|nak)
	exit 0
	;;
esac

vm_num=
mode=none
nics=
share=
apply=ip
cmdline=
[ -r /proc/cmdline ] && read -r cmdline < /proc/cmdline
set -f
for word in $cmdline; do
	case "$word" in
	rapido.vm_num=*) vm_num=${word#*=} ;;
	rapido.net=*) mode=${word#*=} ;;
	rapido.nic=*) nics="$nics ${word#*=}" ;;
	rapido.share=*) share=${word#*=} ;;
	rapido.net_apply=*) apply=${word#*=} ;;
	esac
done
set +f
read -r host < /proc/sys/kernel/hostname

ip link set dev lo up

modload() {
	have modprobe || return 0
	for m in "$@"; do modprobe -q "$m" 2>/dev/null; done
}

trim() {
	v=$1
	v=${v#"${v%%[! 	]*}"}
	v=${v%"${v##*[! 	]}"}
}

# parse FILE NAME: the settings of one .network file, in m_names m_macs l_mac
# l_mtu addrs gws dns domains dhcp routes ("dest|gw|metric" words). Warnings
# (unless NAME is empty) name the file and the key.
parse() {
	f=$1 rel=$2
	sec= m_names= m_macs= l_mac= l_mtu= addrs= gws= dns= domains= dhcp=no routes=
	r_open= r_dst= r_gw= r_metric=
	while IFS= read -r line || [ -n "$line" ]; do
		trim "$line"
		line=$v
		case "$line" in
		'' | '#'* | ';'*) continue ;;
		'['*']')
			flush_route
			sec=${line#[}
			sec=${sec%]}
			[ "$sec" = Route ] && r_open=1
			continue
			;;
		*=*) ;;
		*)
			warn "$rel: cannot read line '$line', ignored"
			continue
			;;
		esac
		trim "${line%%=*}"
		key=$v
		trim "${line#*=}"
		val=$v
		case "$sec/$key" in
		Match/Name) m_names="$m_names $val" ;;
		Match/MACAddress) m_macs="$m_macs $val" ;;
		Link/MACAddress) l_mac=$val ;;
		Link/MTUBytes) l_mtu=$val ;;
		Network/Address | Address/Address) addrs="$addrs $val" ;;
		Network/Gateway) gws="$gws $val" ;;
		Network/DNS) dns="$dns $val" ;;
		Network/Domains) domains="$domains $val" ;;
		Network/DHCP)
			case "$val" in
			yes | true | on | 1 | ipv4) dhcp=yes ;;
			no | false | off | 0) dhcp=no ;;
			*) warn "$rel: [Network] DHCP=$val: only IPv4 DHCP is done here, ignored" ;;
			esac
			;;
		# Settings whose absence changes nothing here: no link-local
		# addresses or LLMNR/mDNS responders run unless asked for.
		Network/LinkLocalAddressing | Network/LLMNR | Network/MulticastDNS | Network/Description | Match/Description) ;;
		Route/Destination) r_dst=$val ;;
		Route/Gateway) r_gw=$val ;;
		Route/Metric) r_metric=$val ;;
		*) warn "$rel: [$sec] $key= is not supported here, ignored" ;;
		esac
	done < "$f"
	flush_route
}

flush_route() {
	if [ -n "$r_open" ] && [ -n "$r_dst$r_gw" ]; then
		routes="$routes ${r_dst:-default}|$r_gw|$r_metric"
	fi
	r_open= r_dst= r_gw= r_metric=
}

warn() {
	[ -n "$rel" ] && say "$*"
}

# The NIC QEMU gave MAC, by name (eth0, ...); its driver may still be probing.
find_iface() {
	tries=0
	while [ "$tries" -lt 50 ]; do
		for d in /sys/class/net/*; do
			[ -r "$d/address" ] || continue
			read -r a < "$d/address"
			if [ "$a" = "$1" ]; then
				iface=${d##*/}
				return 0
			fi
		done
		tries=$((tries + 1))
		sleep 0.1
	done
	return 1
}

# /etc/hosts: every VM's configured addresses under its hostname, so VMs
# reach each other by name.
{
	echo "127.0.0.1 localhost"
	echo "::1 localhost ip6-localhost ip6-loopback"
	[ "$mode" = user ] && echo "${USER_ADDR%/*} $host"
	for d in "$NET_CONF"/vm*; do
		[ -d "$d" ] || continue
		n=${d##*/vm}
		name=rapido$n
		[ -r "$d/hostname" ] && read -r name < "$d/hostname"
		[ -n "$name" ] || name=rapido$n
		for f in "$d"/*.network; do
			[ -r "$f" ] || continue
			parse "$f" ''
			for a in $addrs; do echo "${a%/*} $name"; done
		done
	done
} > /etc/hosts

if [ "$mode" != none ]; then
	modload virtio_pci virtio_net af_packet
fi

# systemd-networkd, as Rapido runs it: asked for with rapido.net_apply=networkd.
networkd=
if [ "$apply" = networkd ] && [ "$mode" != none ]; then
	for p in /lib/systemd/systemd-networkd /usr/lib/systemd/systemd-networkd; do
		[ -x "$p" ] && networkd=$p && break
	done
	[ -n "$networkd" ] || say "rapido.net_apply=networkd, but the image has no systemd-networkd: applying the settings with ip"
fi

all_dns=
all_domains=
dhcp_ifaces=
for nic in $nics; do
	tap=${nic%%,*}
	mac=${nic#*,}
	if ! find_iface "$mac"; then
		say "no NIC with MAC $mac (for $tap): is virtio_net in the image and the kernel?"
		continue
	fi
	if [ "$mode" = user ]; then
		f=/run/rapido-user.network
		printf '[Network]\nAddress=%s\nGateway=%s\nDNS=%s\n' "$USER_ADDR" "$USER_GW" "$USER_DNS" > "$f"
		rel="user-mode network"
	else
		f=$NET_CONF/vm$vm_num/$tap.network
		rel=vm$vm_num/$tap.network
		if [ ! -r "$f" ]; then
			say "$rel is not in the image: $iface left down"
			continue
		fi
	fi
	parse "$f" "$rel"
	if [ -n "$networkd" ]; then
		mkdir -p /etc/systemd/network
		{ printf '[Match]\nMACAddress=%s\n\n' "$mac"; cat "$f"; } > "/etc/systemd/network/10-$tap.network"
		all_dns="$all_dns $dns"
		continue
	fi
	set -f
	ok=1
	if [ -n "$m_names" ]; then
		ok=
		for g in $m_names; do
			case "$iface" in $g) ok=1 ;; esac
		done
	fi
	if [ -n "$ok" ] && [ -n "$m_macs" ]; then
		ok=
		for m in $m_macs; do
			[ "$(lower "$m")" = "$mac" ] && ok=1
		done
	fi
	set +f
	if [ -z "$ok" ]; then
		say "$rel: [Match] does not match $iface ($mac): not applied"
		continue
	fi
	[ -n "$l_mac" ] && { ip link set dev "$iface" address "$l_mac" || say "$rel: [Link] MACAddress=$l_mac failed"; }
	[ -n "$l_mtu" ] && { ip link set dev "$iface" mtu "$l_mtu" || say "$rel: [Link] MTUBytes=$l_mtu failed"; }
	ip link set dev "$iface" up
	for a in $addrs; do
		ip addr add "$a" dev "$iface" || say "$rel: Address=$a failed"
	done
	for g in $gws; do
		ip route replace default via "$g" dev "$iface" || say "$rel: Gateway=$g failed"
	done
	for r in $routes; do
		dst=${r%%|*}
		rest=${r#*|}
		gw=${rest%%|*}
		metric=${rest#*|}
		ip route replace "$dst" ${gw:+via "$gw"} dev "$iface" ${metric:+metric "$metric"} ||
			say "$rel: [Route] Destination=$dst${gw:+ Gateway=$gw} failed"
	done
	all_dns="$all_dns $dns"
	all_domains="$all_domains $domains"
	[ "$dhcp" = yes ] && dhcp_ifaces="$dhcp_ifaces $iface"
	read -r now < "/sys/class/net/$iface/address"
	shown=
	for a in $addrs; do shown="$shown $a"; done
	[ "$dhcp" = yes ] && shown="$shown DHCP"
	say "$iface ($tap, $now):${shown:- no address}"
done

if [ -n "$all_dns$all_domains" ]; then
	{
		set -f
		[ -n "${all_domains# }" ] && echo "search" $all_domains
		for d in $all_dns; do echo "nameserver $d"; done
		set +f
	} > /etc/resolv.conf
fi

if [ -n "$networkd" ]; then
	grep -qs '^systemd-network:' /etc/passwd || echo 'systemd-network:x:192:192:systemd Network Management:/:/bin/false' >> /etc/passwd
	grep -qs '^systemd-network:' /etc/group || echo 'systemd-network:x:192:' >> /etc/group
	mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp
	# networkd waits for udev to initialise each link.
	for p in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd; do
		[ -x "$p" ] || continue
		"$p" --daemon >/dev/null 2>&1
		if have udevadm; then
			udevadm trigger --action=add >/dev/null 2>&1
			udevadm settle >/dev/null 2>&1
		fi
		break
	done
	"$networkd" >/dev/null 2>&1 &
	say "systemd-networkd started"
fi

for i in $dhcp_ifaces; do
	# Back in the foreground with a lease (then udhcpc keeps renewing it),
	# or after ~10 s without one (it keeps trying in the background).
	udhcpc -i "$i" -s /rapido-net -t 10 -T 1 -b -x "hostname:$host" -p "/run/udhcpc.$i.pid" >/dev/null 2>&1 ||
		say "$i: udhcpc failed"
done

if [ -n "$share" ]; then
	modload 9pnet_virtio 9p
	mkdir -p /host
	if ! err=$(mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$share" /host 2>&1); then
		reason=$err
		grep -qsw 9p /proc/filesystems || reason="the kernel has no 9p filesystem (module 9p not in the image?)"
		say "cannot mount the host share (VIRTFS_SHARE_PATH) at /host: $reason"
	fi
fi
exit 0
