#!/bin/bash
# Run one command as root in a QEMU guest (TCG, never KVM) booted on one of Debian's stock kernel series
# (6.1 or 6.12), with the host's root filesystem visible read-only (writable through a throw-away overlay)
# and the same working directory.
# See tests/vm/README.md.
#
# Exit status: the command's own status; 77 if the guest cannot be prepared; 125 if the guest failed
# (timeout, kernel panic, no exit status) or on a usage error.
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	cat <<'EOF'
Usage: tests/vm/run.sh [--kernel SERIES] [--timeout SEC] [--mem MB] [--log FILE] [--nic SPEC]... [--] CMD [ARGS...]

Boots a Debian stock kernel under QEMU (software emulation) and runs CMD as root in the caller's current
directory, the host's root filesystem shared read-only under a throw-away overlay. CMD's stdout and stderr
are relayed to stdout; run.sh exits with CMD's status.

  --kernel SERIES  the kernel series: 6.1 (the default, or $BPFSCOPE_VM_KERNEL) or 6.12; the newest
                 package of that series in the archive
  --timeout SEC  stop the guest after SEC seconds (default 900)
  --mem MB       guest memory (default 2048)
  --log FILE     save the whole serial console and the guest's kernel log to FILE
  --nic SPEC     give the guest a virtio-net NIC (repeatable; also $BPFSCOPE_VM_NICS, SPECs separated by
                 spaces). SPEC is BACKEND[,DEVICE_OPTIONS]: BACKEND tap (a non-persistent tap with a vnet
                 header, created by QEMU on the host, bridged to nothing, gone when QEMU exits) or hub (hub
                 0: the hub NICs of a guest reach each other, nothing else); DEVICE_OPTIONS go to
                 -device virtio-net-pci (mac=..., guest_tso4=off, ctrl_guest_offloads=off...). When taps
                 cannot be created here, the guest boots without the tap NICs and finds the reason in
                 $BPFSCOPE_VM_NIC_ERROR.

Environment: BPFSCOPE_* variables are passed to CMD, plus BPFSCOPE_KERNEL (the guest's uname -r).
If BPFSCOPE_VM_OUT names a host directory, it is shared read-write at the same path: what CMD writes
there is on the host afterwards. BPFSCOPE_VM_CACHE overrides the cache directory (build/vm).

Exit status: CMD's status, 77 if the guest cannot be prepared, 125 if the guest failed.
EOF
}

bad_usage() {
	printf 'vm: usage error: %s (see tests/vm/run.sh --help)\n' "$*" >&2
	exit 125
}

timeout_s=900
mem=2048
log=
series=${BPFSCOPE_VM_KERNEL:-6.1}
nics=()
read -r -a nics <<<"${BPFSCOPE_VM_NICS:-}"
while [ $# -gt 0 ]; do
	case $1 in
	--kernel | --timeout | --mem | --log | --nic)
		[ $# -ge 2 ] || bad_usage "$1 needs a value"
		opt=$1 val=$2
		shift 2
		;;
	--kernel=* | --timeout=* | --mem=* | --log=* | --nic=*)
		opt=${1%%=*} val=${1#*=}
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	--)
		shift
		break
		;;
	-*) bad_usage "unknown option $1" ;;
	*) break ;;
	esac
	case $opt in
	--timeout | --mem)
		case $val in
		'' | *[!0-9]* | 0*) bad_usage "$opt wants a positive integer, not '$val'" ;;
		esac
		if [ "$opt" = --timeout ]; then timeout_s=$val; else mem=$val; fi
		;;
	--log) log=$val ;;
	--kernel) series=$val ;;
	--nic) nics+=("$val") ;;
	esac
done
[ $# -gt 0 ] || bad_usage "no command given"
[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || bad_usage "--kernel wants a series such as 6.1 or 6.12, not '$series'"

# The guest's kernel directory stays while the guest is up: prepare.sh removes kernels no series uses
# any more, but never one with a shared lock on its .inuse (held by this process and QEMU, fd 8).
for try in 1 2; do
	kdir=$("$here/prepare.sh" --kernel "$series") || exit $?
	exec 8>>"$kdir/.inuse" && flock -s 8 && [ -f "$kdir/.stamp-kernel" ] && break
	exec 8>&-
	[ "$try" = 1 ] || bad_usage "the kernel directory $kdir went away while starting"
done

work=
qemu_pid=
relay_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	# qemu_pid is timeout's: it passes the signal on to QEMU. The relay then sees EOF and ends.
	if [ -n "$qemu_pid" ]; then
		kill -TERM "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	if [ -n "$relay_pid" ]; then
		wait "$relay_pid" 2>/dev/null || true
	fi
	if [ -n "$work" ]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

work=$(mktemp -d "${TMPDIR:-/tmp}/bpfscope-vm.XXXXXX")
cp -- "$here/guest.sh" "$work/guest.sh"

# Escape a path for a QEMU option value (commas are doubled).
qpath() {
	printf '%s' "${1//,/,,}"
}

# The job for guest.sh, as bash declarations it sources.
VM_CMD=("$@")
VM_CWD=$(pwd)
VM_ROOT=$kdir/root
VM_OUT=
VM_TTY=0
VM_ROWS=
VM_COLS=
VM_TERM=${TERM:-dumb}
if [ -n "${BPFSCOPE_VM_OUT:-}" ]; then
	mkdir -p -- "$BPFSCOPE_VM_OUT" || bad_usage "cannot create BPFSCOPE_VM_OUT=$BPFSCOPE_VM_OUT"
	VM_OUT=$(cd "$BPFSCOPE_VM_OUT" && pwd)
	BPFSCOPE_VM_OUT=$VM_OUT
fi
if [ -t 1 ]; then
	VM_TTY=1
	exec 3>&1
	size=$(stty size <&3 2>/dev/null) || size=
	exec 3>&-
	case $size in
	[1-9]*' '[1-9]*) VM_ROWS=${size% *} VM_COLS=${size#* } ;;
	esac
fi
# The NICs: taps only where this host lets QEMU create one (checked with a tap of our own, removed at
# once); names unique per run (two guests may run at the same time).
nic_args=()
unset BPFSCOPE_VM_NIC_ERROR
for i in "${!nics[@]}"; do
	spec=${nics[$i]} backend=${nics[$i]%%,*} devopts=
	[ "$spec" = "$backend" ] || devopts=,${spec#*,}
	case $backend in
	tap)
		if [ -z "${tap_checked:-}" ]; then
			tap_checked=1 tap_err=
			probe=bsvp$$
			if [ ! -c /dev/net/tun ]; then
				tap_err="no /dev/net/tun on the host"
			elif ! tap_err=$(ip tuntap add dev "$probe" mode tap vnet_hdr 2>&1); then
				tap_err="cannot create a tap on the host: ${tap_err:-ip tuntap failed}"
			else
				ip link del "$probe" 2>/dev/null || true
				tap_err=
			fi
		fi
		if [ -n "$tap_err" ]; then
			export BPFSCOPE_VM_NIC_ERROR=$tap_err
			continue
		fi
		nic_args+=(-netdev "tap,id=nic$i,ifname=bsv$$n$i,script=no,downscript=no,vnet_hdr=on")
		;;
	hub) nic_args+=(-netdev "hubport,id=nic$i,hubid=0") ;;
	*) bad_usage "--nic wants tap or hub, then device options: not '$spec'" ;;
	esac
	nic_args+=(-device "virtio-net-pci,netdev=nic$i$devopts")
done
VM_ENV=()
while IFS= read -r name; do
	case $name in
	BPFSCOPE_KERNEL) ;;
	BPFSCOPE_*) VM_ENV+=("$name=${!name}") ;;
	esac
done < <(compgen -e)
nonce=$(od -An -tx4 -N8 /dev/urandom | tr -d ' \n')
VM_BEGIN="@@bpfscope-vm-begin-$nonce@@"
VM_END="@@bpfscope-vm-end-$nonce@@"
declare -p VM_CMD VM_ENV VM_CWD VM_ROOT VM_OUT VM_TTY VM_ROWS VM_COLS VM_TERM VM_BEGIN VM_END \
	>"$work/job"

# Kernel messages below warning stay off the console; panic=-1 with -no-reboot makes a panic end QEMU.
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=4 mitigations=off no_timer_check tsc=reliable"
cmdline="$cmdline 8250.nr_uarts=1"
# TCG only: KVM is present on this kind of machine but the guest hangs in the firmware with it.
# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(
	qemu-system-x86_64
	-accel tcg,thread=multi -cpu max -smp 2 -m "${mem}M"
	-nographic -no-reboot -nic none
	-kernel "$kdir/vmlinux" -initrd "$kdir/initramfs.cpio.gz"
	-append "$cmdline"
	-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$(qpath "$work"),mount_tag=work,security_model=none,multidevs=remap"
)
qemu+=("${nic_args[@]}")
if [ -n "$VM_OUT" ]; then
	qemu+=(-virtfs "local,path=$(qpath "$VM_OUT"),mount_tag=out,security_model=none,multidevs=remap")
fi

# The serial console goes through a FIFO to sed, which keeps all of it in console.log and relays to
# stdout only what lies between the marker lines (CMD's output), as it comes. Kernel lines there (a panic,
# an oops) are dropped too: the guest's console has no CR before LF (stty -onlcr) but the kernel's has.
mkfifo "$work/console"
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$work/console" 2>"$work/qemu.err" &
qemu_pid=$!
kernel_line='^\[ *[0-9]*\.[0-9]*\] .*\r$'
sed -u -n -e "w $work/console.log" \
	-e "/$VM_BEGIN\$/,/$VM_END/{/$VM_BEGIN\$/d;/$kernel_line/d;/$VM_END/{s/$VM_END.*//;/^\$/d;};p;}" \
	<"$work/console" &
relay_pid=$!
# Waiting in the wait builtin (not on a foreground command) lets the traps act at once on a signal.
wait "$relay_pid" || true
relay_pid=
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=

save_log() {
	local to=$1
	{
		cat -- "$work/console.log"
		if [ -s "$work/qemu.err" ]; then
			printf '\n---- qemu stderr ----\n'
			cat -- "$work/qemu.err"
		fi
		if [ -s "$work/dmesg" ]; then
			printf '\n---- guest kernel log ----\n'
			cat -- "$work/dmesg"
		fi
	} >"$to" 2>/dev/null || true
}
if [ -n "$log" ]; then save_log "$log"; fi

status=$(cat -- "$work/status" 2>/dev/null) || status=
case $status in
'' | *[!0-9]*) ;;
*) exit "$status" ;;
esac

# The guest failed: name the cause in one line and keep the console for a post-mortem.
failure_log=$(dirname "$kdir")/last-failure.log
save_log "$failure_log"
# First console line matching a pattern, without the CR.
first_match() {
	grep -a -o -m 1 -- "$1" "$work/console.log" 2>/dev/null | tr -d '\r'
}
panic=$(first_match 'Kernel panic - not syncing:.*') || panic=
stage_error=$(first_match 'bpfscope-vm: error: .*') || stage_error=
if [ -n "$panic" ]; then
	reason="kernel panic (${panic#Kernel panic - })"
elif [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
	reason="timeout after ${timeout_s}s"
elif [ "${status#error: }" != "$status" ]; then
	reason=${status#error: }
elif [ -n "$stage_error" ]; then
	reason="no exit status (${stage_error#bpfscope-vm: error: })"
elif [ "$qemu_rc" -ne 0 ]; then
	reason="qemu exited with status $qemu_rc: $(sed -n '1p' "$work/qemu.err" 2>/dev/null)"
else
	reason="no exit status"
fi
printf 'vm: guest failed: %s (console: %s)\n' "$reason" "$failure_log" >&2
exit 125
