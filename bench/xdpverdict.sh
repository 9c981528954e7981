#!/usr/bin/env bash
# xdpverdict benchmarks, side by side:
#  1. packets per second through a veth pair whose XDP program drops every
#     packet (the fixture, port 7001), without xdpverdict and with it in each
#     mechanism this kernel offers (ratio to the baseline);
#  2. start-up to first output and peak RSS: xdpverdict -c 1 vs ethtool -S
#     and bpftool net (what a user would run instead).
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$PWD
. tests/lib/xdpverdict_env.bash
RUNS=${RUNS:-5}
PKTS=${PKTS:-200000}
trap 'kill $tool 2>/dev/null; wait 2>/dev/null; xv_teardown' EXIT
tool=

xv_setup bench xdpdrv >/dev/null || { echo "bench: cannot build the veth scenario" >&2; exit 1; }

# One run: PKTS packets to the DROP port as fast as the sender goes; pps as
# counted by the fixture itself (packets the XDP program saw) over the time.
one_run() {
	local before after t0 t1
	before=$(xv_count 1)
	t0=$(date +%s%N)
	ip netns exec "$XV_NSB" "$XV_SEND" "$XV_IPA" 7001 "$PKTS" 0 >/dev/null 2>&1
	sleep 0.2
	t1=$(date +%s%N)
	after=$(xv_count 1)
	awk -v n=$((after - before)) -v ns=$((t1 - t0 - 200000000)) 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }'
}

# Mechanisms this kernel offers; fexit only where trampolines are allowed.
modes=(driver raw_tp)
"$B/tests/bpfprobe" fentry >/dev/null 2>&1 && modes+=(fexit)

# Interleaved rounds (baseline, then each mode) so that load from elsewhere
# on the machine hits both sides of each ratio alike.
declare -A pps ratios
bases=()
for r in $(seq 1 "$RUNS"); do
	b=$(one_run)
	bases+=("$b")
	for m in "${modes[@]}"; do
		"$B/xdpverdict" -N "$XV_NSA" -i 1 --mechanism "$m" >/dev/null 2>&1 &
		tool=$!
		sleep 1.5
		if ! kill -0 "$tool" 2>/dev/null; then
			tool=
			continue
		fi
		p=$(one_run)
		kill -INT "$tool"
		wait "$tool" 2>/dev/null
		tool=
		pps[$m]+="$p "
		ratios[$m]+="$(ratio "$p" "$b") "
	done
done

echo "# xdpverdict benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  kernel $(uname -r)  $(nproc) CPUs"
echo "# veth pair, XDP_DROP fixture, $PKTS UDP packets of 64 bytes per run, $RUNS interleaved rounds;"
echo "# pps = packets the fixture counted / time; ratio = median over rounds of (with / baseline of the same round)"
echo
echo "## 1. packets per second through XDP"
printf '%-40s %12s %8s\n' "configuration" "pps(median)" "ratio"
printf '%-40s %12s %8s\n' "no xdpverdict" "$(printf '%s\n' "${bases[@]}" | median)" "1.00"
for m in driver raw_tp fexit; do
	if [ -z "${pps[$m]:-}" ]; then
		printf '%-40s %12s %8s\n' "xdpverdict --mechanism $m" "unavailable" "-"
		continue
	fi
	printf '%-40s %12s %8s\n' "xdpverdict --mechanism $m" "$(tr ' ' '\n' <<<"${pps[$m]}" | grep . | median)" \
		"$(tr ' ' '\n' <<<"${ratios[$m]}" | grep . | median)"
done
"$B/tests/bpfprobe" fentry >/dev/null 2>&1 ||
	echo "#   fexit: this kernel does not allow BPF trampolines (run the bench in the 6.1 guest for it)"

echo
echo "## 2. start-up to first output, peak RSS"
med() { local i; for i in $(seq 1 "$RUNS"); do wall_ms "$@"; done | median; }
rss() { local i; for i in $(seq 1 3); do peak_rss_kb "$@"; done | median; }
printf '%-44s %10s %10s\n' "command" "time(ms)" "RSS(KiB)"
printf '%-44s %10s %10s\n' "xdpverdict -c 1 -i 0.1 (one namespace)" \
	"$(med "$B/xdpverdict" -N "$XV_NSA" -c 1 -i 0.1)" "$(rss "$B/xdpverdict" -N "$XV_NSA" -c 1 -i 0.1)"
printf '%-44s %10s %10s\n' "ethtool -S (one interface, raw counters)" \
	"$(med ip netns exec "$XV_NSA" ethtool -S "$XV_DEVA")" "$(rss ip netns exec "$XV_NSA" ethtool -S "$XV_DEVA")"
printf '%-44s %10s %10s\n' "bpftool net (attachments only)" \
	"$(med ip netns exec "$XV_NSA" bpftool net)" "$(rss ip netns exec "$XV_NSA" bpftool net)"
