#!/usr/bin/env bash
# wbtstat bench: buffered write throughput on ext4 over a loop device with wbt, with nothing attached,
# with wbtstat attached, and with what a user would run instead (bpftrace counting the same tracepoints;
# the same events enabled in a tracefs instance).  vm.dirty_bytes is lowered so balance_dirty_pages()
# throttles the writer and the hooks are hot.  Rounds alternate the configurations; medians are reported.
# The kernel's BPF run-time statistics (kernel.bpf_stats_enabled, restored afterwards) give the time
# wbtstat's programs spent per event, a figure that does not drown in the disk's noise.
#
#   bench/wbtstat.sh        (WBT_BENCH_MB, WBT_BENCH_ROUNDS override the volume and the rounds)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
B=${B:-$PWD/build}
MB=${WBT_BENCH_MB:-512}
ROUNDS=${WBT_BENCH_ROUNDS:-9}
TRACEFS=/sys/kernel/tracing

[ "$(id -u)" -eq 0 ] || { echo "wbtstat bench: needs root" >&2; exit 3; }
WS=$(mktemp -d /var/tmp/bs-wbtbench.XXXXXX)
LOOP=
INST=
declare -A saved

cleanup() {
	[ -n "${TOOLPID:-}" ] && kill "$TOOLPID" 2>/dev/null && wait "$TOOLPID" 2>/dev/null
	[ -n "${saved[bpf_stats]:-}" ] && echo "${saved[bpf_stats]}" >/proc/sys/kernel/bpf_stats_enabled
	if [ -n "${saved[dirty_bytes]:-}" ]; then
		if [ "${saved[dirty_bytes]}" != 0 ]; then echo "${saved[dirty_bytes]}" >/proc/sys/vm/dirty_bytes
		else echo "${saved[dirty_ratio]}" >/proc/sys/vm/dirty_ratio; fi
		if [ "${saved[dirty_background_bytes]}" != 0 ]; then
			echo "${saved[dirty_background_bytes]}" >/proc/sys/vm/dirty_background_bytes
		else echo "${saved[dirty_background_ratio]}" >/proc/sys/vm/dirty_background_ratio; fi
	fi
	mountpoint -q "$WS/mnt" 2>/dev/null && umount "$WS/mnt"
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	[ -n "$INST" ] && [ -d "$INST" ] && { echo 0 >"$INST/tracing_on"; rmdir "$INST"; }
	rm -rf "$WS"
}
trap cleanup EXIT

truncate -s 2G "$WS/img"
LOOP=$(losetup -f --show "$WS/img") || exit 1
DEV=${LOOP#/dev/}
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP" || exit 1
mkdir "$WS/mnt"
mount -o noatime "$LOOP" "$WS/mnt" || exit 1
echo 2000 >"/sys/block/$DEV/queue/wbt_lat_usec"
for k in dirty_bytes dirty_ratio dirty_background_bytes dirty_background_ratio; do
	saved[$k]=$(cat /proc/sys/vm/$k)
done
echo $((8 << 20)) >/proc/sys/vm/dirty_bytes
echo $((4 << 20)) >/proc/sys/vm/dirty_background_bytes
saved[bpf_stats]=$(cat /proc/sys/kernel/bpf_stats_enabled)
echo 1 >/proc/sys/kernel/bpf_stats_enabled

# run time and runs of wbtstat's tracepoint programs (by name; only one wbtstat runs here): "ns count"
prog_stats() {
	bpftool prog show -j | jq -r '[.[] | select(.name | test("^(btf|raw)_(wbt_|bdp)"))]
		| "\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}

# one buffered write of MB MiB, fsync'd at the end: milliseconds
write_ms() {
	local ms
	ms=$(wall_ms dd if=/dev/zero of="$WS/mnt/f" bs=1M count="$MB" conv=fsync status=none)
	rm -f "$WS/mnt/f"
	sync
	echo "$ms"
}

wait_for() { # file pattern
	for _ in $(seq 1 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

start_wbtstat() {
	"$B/wbtstat" -d "$DEV" -i 1 -o json >"$WS/wbtstat.out" 2>&1 &
	TOOLPID=$!
	wait_for "$WS/wbtstat.out" '^{'
}

start_bpftrace() {
	bpftrace -e 'tracepoint:wbt:wbt_timer,tracepoint:wbt:wbt_step,tracepoint:wbt:wbt_lat,tracepoint:wbt:wbt_stat
		{ @wbt[probe] = count(); }
		tracepoint:writeback:balance_dirty_pages { @pause[pid] = sum(args->pause); @n[pid] = count(); }' \
		>"$WS/bpftrace.out" 2>&1 &
	TOOLPID=$!
	wait_for "$WS/bpftrace.out" 'Attaching'
}

start_tracefs() {
	INST=$TRACEFS/instances/bs_wbtbench_$$
	mkdir "$INST"
	echo 1 >"$INST/events/wbt/enable"
	echo 1 >"$INST/events/writeback/balance_dirty_pages/enable"
	echo 1 >"$INST/tracing_on"
	TOOLPID=
}

stop_peer() {
	if [ -n "${TOOLPID:-}" ]; then
		kill -INT "$TOOLPID"
		wait "$TOOLPID" 2>/dev/null
		TOOLPID=
	fi
	if [ -n "$INST" ]; then
		echo 0 >"$INST/tracing_on"
		rmdir "$INST"
		INST=
	fi
}

configs=(none wbtstat)
command -v bpftrace >/dev/null && configs+=(bpftrace)
[ -d "$TRACEFS/events/wbt" ] && configs+=(tracefs)
declare -A times
bpf_ns=0 bpf_cnt=0
write_ms >/dev/null # warm-up
for ((r = 1; r <= ROUNDS; r++)); do
	for c in "${configs[@]}"; do
		case $c in
		wbtstat) start_wbtstat || { echo "wbtstat did not start: $(cat "$WS/wbtstat.out")" >&2; exit 1; } ;;
		bpftrace) start_bpftrace || { echo "bpftrace did not start" >&2; exit 1; } ;;
		tracefs) start_tracefs ;;
		esac
		ms=$(write_ms)
		times[$c]+="$ms "
		if [ "$c" = wbtstat ]; then
			read -r ns cnt < <(prog_stats)
			bpf_ns=$((bpf_ns + ns)) bpf_cnt=$((bpf_cnt + cnt))
			wall_total=$(awk -v a="${wall_total:-0}" -v b="$ms" 'BEGIN {print a + b}')
			sleep 1.2
			cp "$WS/wbtstat.out" "$WS/wbtstat.last"
		fi
		stop_peer
	done
done

echo "wbtstat bench: $(uname -r), $(nproc) CPUs; ext4 on $DEV (loop over a file on $(df --output=source "$WS" | tail -1))"
echo "buffered write of $MB MiB + fsync, vm.dirty_bytes 8 MiB, wbt target 2000 us; median of $ROUNDS rounds"
echo
base=$(tr ' ' '\n' <<<"${times[none]}" | grep . | median)
printf '%-26s %10s %10s %12s\n' "attached" "ms" "MiB/s" "vs none"
for c in "${configs[@]}"; do
	m=$(tr ' ' '\n' <<<"${times[$c]}" | grep . | median)
	label=$c
	case $c in
	none) label="nothing" ;;
	wbtstat) label="wbtstat (-i 1, json)" ;;
	bpftrace) label="bpftrace (same hooks)" ;;
	tracefs) label="tracefs instance" ;;
	esac
	printf '%-26s %10.0f %10.1f %12s\n' "$label" "$m" "$(awk -v mb="$MB" -v ms="$m" 'BEGIN {print mb / (ms / 1000)}')" \
		"x$(ratio "$base" "$m")"
done
echo
echo "throughput ratio = time without / time with (1.00 = no cost; 0.98 = 2% slower)"
echo "all rounds (ms):"
for c in "${configs[@]}"; do
	echo "  $c: ${times[$c]}"
done
echo
echo "wbtstat's BPF programs over all its rounds (kernel BPF stats): $bpf_cnt runs, $bpf_ns ns"
awk -v ns="$bpf_ns" -v n="$bpf_cnt" -v ms="$wall_total" 'BEGIN {
	printf "  %.0f ns per event; %.4f%% of the writes'"'"' wall time (one CPU)\n", n ? ns / n : 0, ms ? 100 * ns / (ms * 1e6) : 0 }'
if [ -s "$WS/wbtstat.last" ]; then
	last=$(grep '^{' "$WS/wbtstat.last" | tail -1)
	echo "events in wbtstat's last round: $(jq -r --arg d "$DEV" \
		'[.devices[] | select(.device == $d) | (.timer_ok + .timer_exceeded + .timer_unknown
		  + .timer_unknown_writes) ] | add // 0' <<<"$last") wbt timer runs, $(jq -r \
		'[.processes[].throttle_checks] | add // 0' <<<"$last") balance_dirty_pages checks"
fi
