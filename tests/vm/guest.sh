#!/bin/bash
# bpfscope VM, stage 2: PID 1 in the guest after switch_root into the overlay of the host's root.
# run.sh copies this file into the work share (/run/bpfscope-vm here) next to "job", which defines
# VM_CMD, VM_ENV, VM_CWD, VM_ROOT (the unpacked kernel package), VM_OUT, VM_TTY, VM_ROWS, VM_COLS,
# VM_TERM, VM_BEGIN and VM_END.
# Mounts the usual filesystems, runs the command between two marker lines on the console, writes its
# exit status to the work share and powers the guest off.
set -u

work=/run/bpfscope-vm
exec </dev/null >/dev/console 2>&1

power_off() {
	sync
	echo o >/proc/sysrq-trigger 2>/dev/null
	# If that did not work, PID 1 exits: the kernel panics and, with panic=-1 -no-reboot, QEMU exits.
	sleep 20
	exit 1
}

fail() {
	echo "bpfscope-vm: error: $*"
	printf 'error: %s\n' "$*" >"$work/status"
	power_off
}

mnt() {
	mount "$@" || fail "mount $* failed"
}

# shellcheck source=/dev/null
. "$work/job" || fail "cannot read the job file"

mnt -t proc -o nosuid,nodev,noexec proc /proc
mnt -t sysfs -o nosuid,nodev,noexec sysfs /sys
mkdir -p /dev/pts /dev/shm
mnt -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mnt -t tmpfs -o nosuid,nodev tmpfs /dev/shm
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mkdir -p /run/netns /run/lock
mnt -t bpf -o mode=0700 bpf /sys/fs/bpf
mnt -t debugfs -o mode=0700 debugfs /sys/kernel/debug
mnt -t tracefs -o mode=0700 tracefs /sys/kernel/tracing
mnt -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
# The host has no modules for this kernel: use the unpacked package's, so modprobe (veth...) works.
# Its /boot too, for tools that read /boot/config-$(uname -r) (bpftool feature probe).
mkdir -p /lib/modules
mnt --bind "$VM_ROOT/lib/modules" /lib/modules
mnt --bind "$VM_ROOT/boot" /boot
if [ -n "$VM_OUT" ]; then
	mkdir -p "$VM_OUT"
	mnt -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "$VM_OUT"
fi
echo bpfscope-vm >/proc/sys/kernel/hostname
ip link set dev lo up 2>/dev/null

cd -- "$VM_CWD" || fail "cannot cd to $VM_CWD in the guest"

# Console: no CR added to LF (output reaches the host byte for byte), the caller's window size, and only
# emergency kernel messages (a panic still shows); the full kernel log is saved after the command.
stty -onlcr </dev/console
if [ -n "$VM_ROWS" ] && [ -n "$VM_COLS" ]; then
	stty rows "$VM_ROWS" cols "$VM_COLS" </dev/console
fi
echo 1 >/proc/sys/kernel/printk

run_command() {
	local v kv
	for v in $(compgen -e); do
		unset "$v"
	done
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export HOME=/root USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 TERM="$VM_TERM"
	for kv in "${VM_ENV[@]}"; do
		export "${kv?}"
	done
	BPFSCOPE_KERNEL=$(uname -r)
	export BPFSCOPE_KERNEL
	if ! command -v -- "${VM_CMD[0]}" >/dev/null; then
		echo "${VM_CMD[0]}: command not found" >&2
		exit 127
	fi
	exec -- "${VM_CMD[@]}"
}

# The firmware's last line has no newline: start the marker on a line of its own.
printf '\n%s\n' "$VM_BEGIN"
if [ "$VM_TTY" = 1 ]; then
	(run_command)
	status=$?
else
	# Not a terminal on the host side: give the command a pipe, not the serial tty, as it would have there.
	(run_command) 2>&1 | cat
	status=${PIPESTATUS[0]}
fi
printf '%s\n' "$status" >"$work/status.tmp" && mv -f "$work/status.tmp" "$work/status"
sync
printf '%s %s\n' "$VM_END" "$status"
dmesg >"$work/dmesg" 2>/dev/null
power_off
