#!/usr/bin/env bash
# fibstat bench: IPv4 forwarding rate through the router namespace of tests/lib/fibstat_env.bash
# (client -> R -> 4-way ECMP route -> 4 sink namespaces, hash policy 1, 256 UDP flows, 64-byte
# payloads, the sender unpaced for a fixed time) with nothing attached, with fibstat's ECMP view
# (-N R -i 1), with its table view (-t), and with what a user would run instead (bpftrace counting
# transmits per device and lookups per table).  Forwarding on veth runs in the sender's own
# context, so the rate is the CPU cost per packet of the whole path, hooks included.  Rounds
# alternate the configurations; each ratio is with / nothing of the same round; medians reported.
# The kernel's BPF run-time statistics (kernel.bpf_stats_enabled, restored afterwards) give the
# time fibstat's programs spent per run.
#
#   bench/fibstat.sh        (FIB_BENCH_ROUNDS, FIB_BENCH_SECONDS, FIB_BENCH_FLOWS override)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
ROOT=$PWD
B=${B:-$PWD/build}
. tests/lib/fibstat_env.bash
ROUNDS=${FIB_BENCH_ROUNDS:-7}
SECS=${FIB_BENCH_SECONDS:-3}
FLOWS=${FIB_BENCH_FLOWS:-256}

[ "$(id -u)" -eq 0 ] || { echo "fibstat bench: needs root" >&2; exit 3; }
if [ ! -x "$B/fibstat" ] || [ ! -x "$FIB_UDPFLOWS" ]; then echo "fibstat bench: build first (make all testbins)" >&2; exit 1; fi
TOOLPID=
saved_stats=$(cat /proc/sys/kernel/bpf_stats_enabled)
cleanup() {
	[ -n "$TOOLPID" ] && kill "$TOOLPID" 2>/dev/null && wait "$TOOLPID" 2>/dev/null
	echo "$saved_stats" >/proc/sys/kernel/bpf_stats_enabled
	fib_teardown
}
trap cleanup EXIT
fib_setup bench$$ || { echo "fibstat bench: cannot build the namespaces" >&2; exit 1; }
fib_policy 4 1
echo 1 >/proc/sys/kernel/bpf_stats_enabled

# packets R transmitted on r1..r4 (what it forwarded over the ECMP route)
fwd_packets() {
	ip -n "$FIB_R" -s -j link show | jq '[.[] | select(.ifname | test("^r[1-4]$")) | .stats64.tx.packets] | add'
}

# one run: the sender unpaced for SECS seconds; prints "forwarded_pps sent_pps forwarded_packets"
one_run() {
	local before after out secs sent
	fib_sinks_start 4 --no-list || return 1
	before=$(fwd_packets)
	out=$(fib_send --src "$FIB_SRC4" --dst "$FIB_DST4" --dport "$FIB_DPORT" --sport-base "$FIB_SPORT" \
		--flows "$FLOWS" --duration "$SECS" --rate 0 --size 64)
	after=$(fwd_packets)
	fib_sinks_stop
	secs=$(jq .seconds <<<"$out")
	sent=$(jq .sent <<<"$out")
	awk -v f=$((after - before)) -v s="$sent" -v t="$secs" 'BEGIN { printf "%.0f %.0f %d\n", f / t, s / t, f }'
}

prog_ids() { bpftool prog show -j | jq -c '[.[].id]'; }
# run time and runs of the programs whose ids are in $1 (a JSON array): "ns count"
prog_stats() {
	bpftool prog show -j | jq -r --argjson ids "$1" '[.[] | select(.id as $i | $ids | index($i))]
		| "\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}

wait_for() { # file pattern
	for _ in $(seq 1 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

start_tool() { # config
	local before
	before=$(prog_ids)
	case $1 in
	fibstat) "$B/fibstat" -N "$FIB_R" -i 1 -o json >"$FIB_TMP/tool.out" 2>&1 & ;;
	fibstat_t) "$B/fibstat" -N "$FIB_R" --tables -i 1 -o json >"$FIB_TMP/tool.out" 2>&1 & ;;
	bpftrace) bpftrace -e 'tracepoint:net:net_dev_start_xmit { @xmit[str(args->name)] = count(); }
		tracepoint:fib:fib_table_lookup { @lookups[args->tb_id, args->err] = count(); }' \
		>"$FIB_TMP/tool.out" 2>&1 & ;;
	esac
	TOOLPID=$!
	case $1 in
	fibstat*) wait_for "$FIB_TMP/tool.out" '^{' ;;
	bpftrace) wait_for "$FIB_TMP/tool.out" 'Attaching' ;;
	esac || { echo "$1 did not start: $(head -3 "$FIB_TMP/tool.out")" >&2; return 1; }
	TOOL_IDS=$(jq -nc --argjson a "$(prog_ids)" --argjson b "$before" '$a - $b')
}

stop_tool() {
	[ -n "$TOOLPID" ] || return 0
	kill -INT "$TOOLPID"
	wait "$TOOLPID" 2>/dev/null
	TOOLPID=
}

configs=(none fibstat fibstat_t)
command -v bpftrace >/dev/null && configs+=(bpftrace)
declare -A pps sent ratios bpf_ns bpf_cnt fwd
one_run >/dev/null # warm-up
for ((r = 1; r <= ROUNDS; r++)); do
	base=
	for c in "${configs[@]}"; do
		if [ "$c" != none ]; then
			start_tool "$c" || exit 1
			read -r ns0 cnt0 < <(prog_stats "$TOOL_IDS")
		fi
		read -r p s n < <(one_run)
		fwd[$c]=$(( ${fwd[$c]:-0} + n ))
		if [ "$c" != none ]; then
			read -r ns1 cnt1 < <(prog_stats "$TOOL_IDS")
			bpf_ns[$c]=$(( ${bpf_ns[$c]:-0} + ns1 - ns0 ))
			bpf_cnt[$c]=$(( ${bpf_cnt[$c]:-0} + cnt1 - cnt0 ))
			stop_tool
			[ "$c" = fibstat ] && cp "$FIB_TMP/tool.out" "$FIB_TMP/fibstat.last"
		fi
		pps[$c]+="$p "
		sent[$c]+="$s "
		[ "$c" = none ] && base=$p
		ratios[$c]+="$(ratio "$p" "$base") "
	done
done

label() {
	case $1 in
	none) echo "nothing" ;;
	fibstat) echo "fibstat -N R -i 1 (ECMP view)" ;;
	fibstat_t) echo "fibstat -N R --tables -i 1 (tables)" ;;
	bpftrace) echo "bpftrace (xmit/dev, lookups)" ;;
	esac
}

echo "fibstat bench: $(uname -r), $(nproc) CPUs"
echo "IPv4 forwarding C -> R -> 4-way ECMP (hash policy 1) -> 4 sinks over veth; $FLOWS UDP flows, 64-byte"
echo "payloads, sender unpaced for $SECS s per run; $ROUNDS alternating rounds, medians"
echo
base_pps=$(tr ' ' '\n' <<<"${pps[none]}" | grep . | median)
printf '%-32s %10s %10s %8s %9s %9s %10s\n' "attached" "fwd pps" "sent pps" "ratio" "runs/pkt" "BPF ns/pkt" "BPF share"
for c in "${configs[@]}"; do
	m=$(tr ' ' '\n' <<<"${pps[$c]}" | grep . | median)
	sm=$(tr ' ' '\n' <<<"${sent[$c]}" | grep . | median)
	rm=$(tr ' ' '\n' <<<"${ratios[$c]}" | grep . | median | xargs printf '%.2f')
	runs=- nspkt=- share=-
	if [ "${bpf_cnt[$c]:-0}" -gt 0 ] && [ "${fwd[$c]:-0}" -gt 0 ]; then
		runs=$(awk -v a="${bpf_cnt[$c]}" -v b="${fwd[$c]}" 'BEGIN { printf "%.2f", a / b }')
		nspkt=$(awk -v a="${bpf_ns[$c]}" -v b="${fwd[$c]}" 'BEGIN { printf "%.0f", a / b }')
		share=$(awk -v ns="$nspkt" -v p="$base_pps" 'BEGIN { printf "%.1f%%", 100 * ns / (1e9 / p) }')
	fi
	printf '%-32s %10.0f %10.0f %8s %9s %9s %10s\n' "$(label "$c")" "$m" "$sm" "x$rm" "$runs" "$nspkt" "$share"
done
echo
echo "ratio = forwarded pps with / without, per round, median (1.00 = no cost; 0.97 = 3% slower); target: fibstat >= 0.97"
echo "runs/pkt, BPF ns/pkt: the tool's own BPF programs (kernel BPF statistics) per forwarded packet; BPF share:"
echo "that time against the per-packet time without any tool (1 / median pps of 'nothing'): the cost without the"
echo "noise of the shared machine (the forwarding path's own CPU time, not counting the tool's user space)"
echo "all rounds (forwarded pps):"
for c in "${configs[@]}"; do
	echo "  $c: ${pps[$c]}"
done
echo "all rounds (ratios):"
for c in "${configs[@]}"; do
	[ "$c" = none ] && continue
	echo "  $c: ${ratios[$c]}"
done
if [ -s "$FIB_TMP/fibstat.last" ]; then
	echo
	echo "fibstat's last snapshot in its last round (nexthops of $FIB_ROUTE4: flows, packets):"
	grep '^{' "$FIB_TMP/fibstat.last" | tail -1 | jq -r --arg r "$FIB_ROUTE4" \
		'"  mechanism: \(.mechanism)", (.nexthops[] | select(.route == $r) | "  \(.gateway) \(.interface): \(.flows) flows, \(.packets) packets")'
fi
