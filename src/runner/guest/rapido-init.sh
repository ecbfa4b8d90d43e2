#!/bin/sh
# rapido-init: PID 1 of a rapido guest (placed at /rapido-init, run via rdinit=).
# Contract: src/runner/guestContract.ts. Must work under busybox sh, dash and
# bash, with nothing but shell builtins guaranteed: every external tool is
# optional. PID 1 must never exit (the kernel would panic), so every path ends
# in rapido_poweroff, which does not return.

PATH=/run/rapido/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

have() { command -v "$1" >/dev/null 2>&1; }
say() { echo "rapido-init: $*"; }

rapido_sysrq() {
	# sysrq needs no tools and no cooperating init; sync first so data
	# written by the steps reaches virtual disks.
	have sync && sync
	echo 1 > /proc/sys/kernel/sysrq 2>/dev/null
	echo "$1" > /proc/sysrq-trigger 2>/dev/null
}

rapido_poweroff() {
	rapido_sysrq o
	# sysrq 'o' completes asynchronously; PID 1 must stay alive meanwhile.
	while :; do
		if have sleep; then sleep 1; else :; fi
	done
}

# mnt FSTYPE DIR [MOUNT-OPTIONS...]: mount unless something is already there.
mnt() {
	fstype=$1 dir=$2
	shift 2
	# A standalone busybox sh runs applets by exec'ing /proc/self/exe, which
	# fails until /proc is mounted: call the busybox binary by name till then.
	bb=
	[ -e /proc/self/exe ] || ! have busybox || bb=busybox
	[ -d "$dir" ] || $bb mkdir -p "$dir" 2>/dev/null
	if have mountpoint && $bb mountpoint -q "$dir" 2>/dev/null; then
		return 0
	fi
	$bb mount -t "$fstype" "$@" "$fstype" "$dir" 2>/dev/null ||
		say "could not mount $fstype on $dir"
}

if have mount || have busybox; then
	mnt proc /proc
	mnt sysfs /sys
	mnt devtmpfs /dev -o mode=0755
	mnt devpts /dev/pts -o gid=5,mode=620,ptmxmode=666
	mnt tmpfs /dev/shm -o mode=1777
	mnt tmpfs /run -o mode=0755
	mnt tmpfs /tmp -o mode=1777
else
	echo "rapido-init: no mount command in the image: /proc, /sys, /dev are not mounted"
fi

# /dev/fd and the standard streams: devtmpfs has no such links, and bash's
# process substitution <(...) opens /dev/fd/N.
if have ln; then
	for link in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 stderr:/proc/self/fd/2; do
		[ -e "/dev/${link%%:*}" ] || [ -L "/dev/${link%%:*}" ] || ln -s "${link#*:}" "/dev/${link%%:*}" 2>/dev/null
	done
fi

# The kernel's own filesystems that tests use (null_blk and LIO via configfs,
# tracing, IMA...), each only where the kernel has it, so nothing is said
# about one it lacks. configfs may be a module: load it (when the image has
# it) before asking.
kernel_fs() {
	kfs=' '
	[ -r /proc/filesystems ] || return 0
	while read -r a b; do kfs="$kfs${b:-$a} "; done < /proc/filesystems
}
kernel_fs
case "$kfs" in *' configfs '*) ;; *) have modprobe && modprobe -q configfs 2>/dev/null && kernel_fs ;; esac
for fs in configfs:/sys/kernel/config debugfs:/sys/kernel/debug tracefs:/sys/kernel/tracing securityfs:/sys/kernel/security; do
	case "$kfs" in *" ${fs%%:*} "*) [ -d "${fs#*:}" ] && mnt "${fs%%:*}" "${fs#*:}" ;; esac
done

# The kernel opens the console for us only if /dev/console exists in the
# image; with devtmpfs mounted it always does, so reattach stdio to it.
if [ -c /dev/console ]; then
	exec 0<>/dev/console 1>&0 2>&0
fi

# Parameters with a dot are not passed to init as variables: parse the
# command line ourselves (globbing off, so a stray '*' stays literal).
vm_num=
hostname=
exit_after=
cmdline=
[ -r /proc/cmdline ] && read -r cmdline < /proc/cmdline
set -f
for word in $cmdline; do
	case "$word" in
	rapido.vm_num=*) vm_num=${word#*=} ;;
	rapido.hostname=*) hostname=${word#*=} ;;
	rapido.exit=*) exit_after=${word#*=} ;;
	esac
done
set +f
# SeaBIOS leaves the cursor mid-line and a quiet kernel prints nothing after
# it: start our output on a line of its own. Unattended, the host takes the
# marker line for where the firmware's output ends.
echo
[ "$exit_after" = 1 ] && echo "rapido-init: console"
[ -n "$hostname" ] || hostname=rapido$vm_num
# Steps of a server/client recipe branch on the VM number (VM 1 serves).
# RAPIDO_EXIT=1: unattended, the VM powers off after the steps (a server step stays in the foreground).
RAPIDO_VM_NUM=$vm_num
RAPIDO_EXIT=${exit_after:-0}
export RAPIDO_VM_NUM RAPIDO_EXIT
if [ -w /proc/sys/kernel/hostname ]; then
	echo "$hostname" > /proc/sys/kernel/hostname
elif have hostname; then
	hostname "$hostname"
fi
# The `network` directive's NICs, /etc/hosts and host share (its layer ships the script).
[ -x /rapido-net ] && /rapido-net

export HOME=/root
[ -d "$HOME" ] || HOME=/
export HOME

# poweroff/shutdown/reboot for the interactive shell: there is no systemd or
# busybox init to ask, so they pull the sysrq trigger directly. /run/rapido/bin
# is first in PATH so these win over busybox/systemd versions.
if mkdir -p /run/rapido/bin 2>/dev/null; then
	for cmd in poweroff shutdown halt reboot; do
		sysrq=o
		[ "$cmd" = reboot ] && sysrq=b
		{
			echo '#!/bin/sh'
			echo "command -v sync >/dev/null 2>&1 && sync"
			echo 'echo 1 > /proc/sys/kernel/sysrq'
			echo "echo $sysrq > /proc/sysrq-trigger"
		} > "/run/rapido/bin/$cmd"
	done
fi
# Modules for devices, as udev would load them: the image's modules (kmod,
# try-kmod) for the devices present at boot (coldplug: every bus device's
# modalias, one modprobe for all) and for those that appear later (hotplug:
# scsi_debug's disk needs sd_mod, a cdrom sr_mod). udevd does both when the
# recipe brings it; else the kernel's uevent helper where it has one
# (CONFIG_UEVENT_HELPER, off in Debian's); else a coldplug pass whenever
# /sys/kernel/uevent_seqnum moves, polled twice a second: one read when idle.
# rapido-coldplug runs a pass at once, for a script that cannot wait.
krel=
[ -r /proc/sys/kernel/osrelease ] && read -r krel < /proc/sys/kernel/osrelease
udevd=
for u in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd; do
	[ -x "$u" ] && udevd=$u && break
done
[ -n "$udevd" ] || ! have udevd || udevd=udevd
if [ -n "$udevd" ] && have udevadm; then
	"$udevd" --daemon >/dev/null 2>&1 &&
		udevadm trigger --type=subsystems --action=add >/dev/null 2>&1 &&
		udevadm trigger --type=devices --action=add >/dev/null 2>&1 &&
		udevadm settle --timeout=30 >/dev/null 2>&1 ||
		say "udevd did not start: no module hotplug"
elif [ -d /run/rapido/bin ] && have modprobe && { [ -r "/lib/modules/$krel/modules.alias.bin" ] || [ -r "/lib/modules/$krel/modules.alias" ]; }; then
	{
		echo '#!/bin/sh'
		echo '# One coldplug pass: the image'"'"'s modules for every bus device present (see rapido-init).'
		echo 'set --'
		echo 'for f in /sys/bus/*/devices/*/modalias; do'
		echo '	[ -r "$f" ] && read -r a < "$f" && [ -n "$a" ] && set -- "$@" "$a"'
		echo 'done'
		echo '[ $# -eq 0 ] || exec modprobe -q -a -b "$@" 2>/dev/null'
	} > /run/rapido/bin/rapido-coldplug
	{
		echo '#!/bin/sh'
		echo '[ "$ACTION" = add ] && [ -n "$MODALIAS" ] && exec modprobe -q -b "$MODALIAS" 2>/dev/null'
		echo 'exit 0'
	} > /run/rapido/bin/rapido-hotplug
	# The boot's pass in PID 1 itself: one process (modprobe) less to start.
	set --
	for f in /sys/bus/*/devices/*/modalias; do
		[ -r "$f" ] && read -r a < "$f" && [ -n "$a" ] && set -- "$@" "$a"
	done
	[ $# -eq 0 ] || modprobe -q -a -b "$@" 2>/dev/null
	if [ -w /sys/kernel/uevent_helper ]; then
		echo /run/rapido/bin/rapido-hotplug > /sys/kernel/uevent_helper
	elif have sleep && [ -r /sys/kernel/uevent_seqnum ]; then
		(
			trap - USR1 USR2 TERM
			seen=
			while :; do
				read -r now < /sys/kernel/uevent_seqnum
				if [ "$now" != "$seen" ]; then
					seen=$now
					/bin/sh /run/rapido/bin/rapido-coldplug
				fi
				sleep 0.5
			done
		) </dev/null >/dev/null 2>&1 &
	fi
fi

# One chmod for every helper above: under TCG each process started costs.
[ -d /run/rapido/bin ] && chmod 0755 /run/rapido/bin/* 2>/dev/null

# Honest results: every command a step calls that the image lacks is
# recorded in $missing_cmds and reported to the host at the end (see the
# status port below). bash (whose scripts the suites are) calls
# command_not_found_handle, defined for every non-interactive bash through
# BASH_ENV; a command -v/type probe is not a call, so it stays unrecorded.
# dash and busybox sh have no such hook: the host reads their "not found"
# messages off the console. World-writable: tests run commands as other users.
missing_cmds=/run/rapido/missing-commands
if [ -d /run/rapido ] && : > "$missing_cmds" 2>/dev/null; then
	chmod 0666 "$missing_cmds" 2>/dev/null
	{
		# An autorun lists in missing-expected the commands its suite only
		# probes for (fstests' check tries systemd-run): not reported.
		echo 'command_not_found_handle() {'
		echo '	local n='
		echo '	[ -r /run/rapido/missing-expected ] && while read -r n; do [ "$n" = "$1" ] && break; done < /run/rapido/missing-expected'
		echo '	[ "$n" = "$1" ] || { echo "$1" >> '"$missing_cmds"'; } 2>/dev/null'
		echo '	echo "${0##*/}: $1: command not found" >&2'
		echo '	return 127'
		echo '}'
	} > /run/rapido/bash_env
	BASH_ENV=/run/rapido/bash_env
	export BASH_ENV
fi

# busybox's own halt/poweroff/reboot signal PID 1 (USR1/USR2/TERM): honour them.
trap 'rapido_poweroff' USR1 USR2
trap 'rapido_sysrq b; rapido_poweroff' TERM

# The recipe's configuration, exported to every step. Sourced only after a
# trial run in a subshell: a syntax error or `exit` in it must not kill PID 1.
if [ -r /rapido.env ]; then
	if (. /rapido.env) >/dev/null 2>&1; then
		set -a
		. /rapido.env
		set +a
	else
		say "/rapido.env failed to load; steps run without it"
	fi
fi

shell=/bin/sh
[ -x "$shell" ] || shell=sh
# The console's real tty (/dev/console can never be a controlling tty): the
# last entry of the active list backs /dev/console.
tty=
if [ -r /sys/class/tty/console/active ]; then
	read -r active < /sys/class/tty/console/active
	for tty in $active; do :; done
fi
[ -n "$tty" ] && [ -c "/dev/$tty" ] || tty=

# Interactive runs: QEMU hands ^C to the guest as a byte on the console, and
# only a controlling terminal turns it into SIGINT. So each step runs under a
# shell leading a session of its own on the console tty (`setsid -c` execs it
# without forking: we are no process group leader), with job control: the
# step is the foreground process group, ^C stops it as in a shell (status
# 130), and the hangup when that session ends reaches only the wrapper, not
# daemons the step left running. PID 1 itself never gets the terminal.
step_tty=
if [ "$exit_after" != 1 ] && [ -n "$tty" ] && have setsid; then
	step_tty=/dev/$tty
fi

# Steps run as child processes (never sourced): a step's `exit` ends only the
# step, and its status is the result. Unattended runs give them no input, so
# a step that reads stdin sees EOF instead of waiting for the timeout.
run_step() {
	if [ -n "$step_tty" ]; then
		# `; exit` keeps the shell from exec'ing the step in its place.
		setsid -c "$shell" -c 'set -m 2>/dev/null; if [ -x "$1" ]; then "$1"; else /bin/sh "$1"; fi; exit $?' \
			rapido-step "$1" 0<>"$step_tty" 1>&0 2>&0
	elif [ -x "$1" ]; then
		"$1"
	else
		/bin/sh "$1"
	fi
}
status=0
failed_step=
for step in /rapido-autorun/* /rapido-post/*; do
	[ -f "$step" ] || continue
	if [ "$exit_after" = 1 ] && [ -c /dev/null ]; then
		run_step "$step" < /dev/null
	else
		run_step "$step"
	fi
	status=$?
	if [ "$status" -ne 0 ]; then
		failed_step=$step
		break
	fi
done
if [ -n "$failed_step" ]; then
	say "step $failed_step failed with status $status"
fi

# The status port is found by its I/O port (guestContract.ts), whatever the
# kernel named it.
status_tty=
for t in /sys/class/tty/ttyS*; do
	[ -r "$t/port" ] || continue
	read -r port < "$t/port"
	if [ "$port" = 0x2E8 ]; then
		status_tty=/dev/${t##*/}
		break
	fi
done
[ -n "$status_tty" ] || status_tty=/dev/ttyS3
# The missing commands first (at most 1000 lines, one per call: the host
# counts them), then the status.
report_missing() {
	[ -s "$missing_cmds" ] || return 0
	n=0
	while [ $n -lt 1000 ] && read -r name; do
		echo "rapido-missing-command $name"
		n=$((n + 1))
	done < "$missing_cmds"
}
if ! { [ -c "$status_tty" ] && { report_missing; echo "rapido-status $status"; } > "$status_tty"; } 2>/dev/null; then
	say "no status port ($status_tty): cannot report status $status to the host"
fi

if [ "$exit_after" = 1 ]; then
	rapido_poweroff
fi

# Interactive shell, in the foreground: a background job of a non-interactive
# shell starts with SIGINT/SIGQUIT ignored, which would make ^C useless in it.
# Job control needs the real console tty (/dev/console can never be a
# controlling tty) as controlling terminal of a new session: `setsid -c` on
# the tty named in sysfs, else `setsid cttyhack` (cttyhack finds the tty but
# does not start a session itself).
if [ "$hostname" = "rapido$vm_num" ]; then
	PS1="$hostname"':$PWD# '
else
	PS1="$hostname(vm$vm_num)"':$PWD# '
fi
export PS1

# busybox sh runs its own poweroff/reboot applets ahead of PATH, and they
# signal PID 1, which cannot act while it waits for the shell: functions
# (read from $ENV by interactive sh) take precedence over both.
if [ -d /run/rapido ] && {
	for cmd in poweroff shutdown halt reboot; do
		sysrq=o
		[ "$cmd" = reboot ] && sysrq=b
		echo "$cmd() { command -v sync >/dev/null 2>&1 && sync; echo 1 > /proc/sys/kernel/sysrq; echo $sysrq > /proc/sysrq-trigger; }"
	done
} > /run/rapido/shrc; then
	ENV=/run/rapido/shrc
	export ENV
fi

# SeaBIOS turned off line wrapping on the user's terminal (ESC[?7l): undo it.
printf '\033[?7h'
cd / || :
if [ -n "$tty" ] && have setsid; then
	setsid -c "$shell" -i 0<>"/dev/$tty" 1>&0 2>&0
elif have setsid && have cttyhack; then
	setsid cttyhack "$shell" -i
else
	say "no setsid: shell without job control"
	"$shell" -i
fi
rapido_poweroff
