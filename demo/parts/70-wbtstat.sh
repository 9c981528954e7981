#!/usr/bin/env bash
# wbtstat demo: ext4 on a loop device with writeback throttling on (target 500 us), a heavy buffered
# writer held back by a low vm.dirty_bytes and an O_DIRECT reader competing for the disk; wbtstat shows
# wbt scaling the queue depth and balance_dirty_pages() pausing the writer (not the reader).
set -uo pipefail
ws=$(mktemp -d /var/tmp/bpfscope-demo-wbt.XXXXXX)
loop='' writer='' reader=''
declare -A saved
for k in dirty_bytes dirty_ratio dirty_background_bytes dirty_background_ratio; do
	saved[$k]=$(cat /proc/sys/vm/$k)
done
restore() {
	if [ "${saved[dirty_bytes]}" != 0 ]; then echo "${saved[dirty_bytes]}" >/proc/sys/vm/dirty_bytes
	else echo "${saved[dirty_ratio]}" >/proc/sys/vm/dirty_ratio; fi
	if [ "${saved[dirty_background_bytes]}" != 0 ]; then
		echo "${saved[dirty_background_bytes]}" >/proc/sys/vm/dirty_background_bytes
	else echo "${saved[dirty_background_ratio]}" >/proc/sys/vm/dirty_background_ratio; fi
}
cleanup() {
	[ -n "$writer" ] && kill "$writer" 2>/dev/null
	[ -n "$reader" ] && kill "$reader" 2>/dev/null
	wait 2>/dev/null
	sync
	restore
	mountpoint -q "$ws/mnt" && umount "$ws/mnt"
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$ws"
}
trap cleanup EXIT

modprobe loop 2>/dev/null
truncate -s 1G "$ws/img"
loop=$(losetup -f --show "$ws/img") || { echo "wbtstat demo: no loop device" >&2; exit 1; }
dev=${loop#/dev/}
[ -f "/sys/block/$dev/queue/wbt_lat_usec" ] || { echo "wbtstat demo: $dev has no wbt on this kernel" >&2; exit 1; }
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$loop" || exit 1
mkdir "$ws/mnt"
mount -o noatime "$loop" "$ws/mnt" || exit 1
dd if=/dev/zero of="$ws/mnt/rfile" bs=1M count=32 status=none
sync
echo 500 >"/sys/block/$dev/queue/wbt_lat_usec"
run() { echo; echo "\$ $*"; "$@"; }

echo "ext4 on $loop (a 1 GiB file on the real disk), wbt latency target set to 500 us."
run wbtstat -d "$dev" -c 1 -i 0.5

echo $((8 << 20)) >/proc/sys/vm/dirty_bytes
echo $((4 << 20)) >/proc/sys/vm/dirty_background_bytes
# a loop of writers that takes its running dd along when it is stopped
(
	trap 'kill "$c" 2>/dev/null; wait "$c"; exit 0' TERM
	while :; do
		dd if=/dev/zero of="$ws/mnt/big" bs=1M count=256 status=none &
		c=$!
		wait "$c"
	done
) &
writer=$!
"$B/tests/wbtstat_reader" "$ws/mnt/rfile" >/dev/null &
reader=$!
echo
echo "vm.dirty_bytes lowered to 8 MiB; a loop of dd writers (shell pid $writer) and an O_DIRECT reader"
echo "(pid $reader) now compete for $dev."
run wbtstat -d "$dev" -i 1 -c 3
echo
echo "\$ wbtstat -d $dev -e --long-pause 16 -c 8      # 8 events: steps with their reasons, pauses >= 16 ms"
wbtstat -d "$dev" -e --long-pause 16 -c 8 | head -25
echo
echo "\$ wbtstat -d $dev -c 1 -i 1 -o json | jq '.devices[0] | {wbt, min_latency_seconds, window_seconds, step, wb_background, wb_normal, max_depth, steps_down, steps_up}'"
wbtstat -d "$dev" -c 1 -i 1 -o json | jq -c '.devices[0] | {wbt, min_latency_seconds, window_seconds, step, wb_background, wb_normal, max_depth, steps_down, steps_up}'
echo
echo "The reader (pid $reader) never appears among the throttled processes: it dirties no pages."
