#!/usr/bin/env bash
# tailcalls benchmarks, side by side with what a user would run instead:
#  1. sampling overhead: BPF_PROG_TEST_RUN throughput of the fixture's XDP
#     pipeline with nothing running, with `tailcalls -i` running (default
#     999 Hz sampling), with `tailcalls -i --run-stats` (+ BPF_ENABLE_STATS),
#     with run stats alone, and with bpftrace's profile:hz:999 as the peer;
#  2. building the graph of ~1,000 programs (copies of a 36-program chain):
#     `tailcalls -o json` vs `bpftool prog show` + `bpftool map dump` of every
#     prog array; peak RSS; start-up of the profile mode.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-5}
COPIES=${COPIES:-28} # 28 copies x 36 programs + the pipeline fixtures = ~1,030 programs
tmp=$(mktemp -d)
loader=
tool=
cleanup() {
	[ -n "$tool" ] && kill "$tool" 2>/dev/null
	[ -n "$loader" ] && kill "$loader" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
head -c 64 /dev/zero >"$tmp/pkt"

med() { # cmd...
	local i
	for i in $(seq 1 "$RUNS"); do wall_ms "$@"; done | median
}
rss() {
	local i
	for i in $(seq 1 3); do peak_rss_kb "$@"; done | median
}
# nanoseconds per run of PROG, as BPF_PROG_TEST_RUN measures it (median of RUNS)
ns_per_run() {
	local i
	for i in $(seq 1 "$RUNS"); do
		bpftool prog run id "$1" data_in "$tmp/pkt" repeat "$2" |
			sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p'
	done | median
}
wait_for() {
	for _ in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

t0=$(date +%s.%N)
"$B/tests/tailcalls_load" --copies "$COPIES" >"$tmp/load.json" 2>"$tmp/load.err" &
loader=$!
for _ in $(seq 1 3000); do grep -q '}$' "$tmp/load.json" 2>/dev/null && break; sleep 0.1; done
grep -q '}$' "$tmp/load.json" || { echo "loader failed: $(cat "$tmp/load.err")"; exit 1; }
load_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
root=$(jq .progs.xdp_root "$tmp/load.json")
nprogs=$(bpftool prog show -j | jq length)
arrays=$(bpftool map show -j | jq -r '.[] | select(.type == "prog_array") | .id')
narrays=$(wc -w <<<"$arrays")

echo "# tailcalls benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  kernel $(uname -r)  $(nproc) CPUs"
echo "# $nprogs programs and $narrays prog arrays loaded ($COPIES copies of the 36-program chain"
echo "# fixture plus the pipeline fixtures, loaded in ${load_s} s); median of $RUNS runs"
echo
echo "## 1. overhead on the traced path: BPF_PROG_TEST_RUN of the XDP pipeline (root -> parse -> heavy)"
repeat=$((1000000000 / ($(bpftool prog run id "$root" data_in "$tmp/pkt" repeat 1000 |
	sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p') + 1)))
# one sample: ns per run over ~1 s of test runs, as the kernel times them
sample() {
	bpftool prog run id "$root" data_in "$tmp/pkt" repeat "$repeat" |
		sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p'
}
with_tailcalls() { # extra options...
	"$B/tailcalls" -P "$root" -i 3600 -v "$@" >/dev/null 2>"$tmp/tool.err" &
	tool=$!
	wait_for "$tmp/tool.err" "sampling started"
	sample
	# the sampling program's own cost, from the run stats (--run-stats runs only)
	bpftool prog show -j | jq -r '.[] | select(.name == "sample_ip" and (.run_cnt // 0) > 0) |
		"\(.run_time_ns / .run_cnt)"' >>"$tmp/per_sample"
	kill "$tool"; wait "$tool" 2>/dev/null; tool=
}
with_stats() {
	local old; old=$(cat /proc/sys/kernel/bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	sample
	sysctl -qw kernel.bpf_stats_enabled="$old"
}
bt_ok=
command -v bpftrace >/dev/null && bt_ok=1
with_bpftrace() {
	bpftrace -e 'profile:hz:999 { @[kstack(1)] = count(); }' >/dev/null 2>"$tmp/bt.err" &
	tool=$!
	sleep 3
	if kill -0 "$tool" 2>/dev/null; then sample; else bt_ok=; fi
	kill -INT "$tool" 2>/dev/null; wait "$tool" 2>/dev/null; tool=
}
# interleaved rounds, so that drifting background load hits every case alike
for _ in $(seq 1 "$RUNS"); do
	sample >>"$tmp/base"
	with_tailcalls >>"$tmp/t999"
	with_tailcalls --run-stats >>"$tmp/trs"
	sample >>"$tmp/base"
	with_tailcalls -F 9999 >>"$tmp/t9999"
	with_stats >>"$tmp/stats"
	[ -n "$bt_ok" ] && with_bpftrace >>"$tmp/bt"
done
base=$(median <"$tmp/base")
with=$(median <"$tmp/t999")
with9999=$(median <"$tmp/t9999")
withrs=$(median <"$tmp/trs")
stats=$(median <"$tmp/stats")
bt=
[ -n "$bt_ok" ] && [ -s "$tmp/bt" ] && bt=$(median <"$tmp/bt")
spread() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%s-%s", a[1], a[NR]}'; }
pps() { awk -v n="$1" 'BEGIN { printf "%.0f", 1e9 / n }'; }
printf '%-52s %8s %12s %10s %6s\n' "while running" "ns/run" "(min-max)" "runs/s" "ratio"
row() { printf '%-52s %8s %12s %10s %6s\n' "$1" "$2" "($(spread "$3"))" "$(pps "$2")" "$(ratio "$(pps "$2")" "$(pps "$base")")"; }
row "nothing" "$base" "$tmp/base"
row "tailcalls -i (999 Hz sampling)" "$with" "$tmp/t999"
row "tailcalls -i --run-stats (+ BPF_ENABLE_STATS)" "$withrs" "$tmp/trs"
row "tailcalls -i -F 9999" "$with9999" "$tmp/t9999"
row "run stats alone (kernel.bpf_stats_enabled=1)" "$stats" "$tmp/stats"
if [ -n "$bt" ]; then
	row "bpftrace profile:hz:999 { @[kstack(1)] = count() }" "$bt" "$tmp/bt"
else
	echo "bpftrace profile:hz:999 did not run here: $(grep -m1 -i error "$tmp/bt.err")"
fi
per=$(median <"$tmp/per_sample")
echo "sampling program: $(printf '%.0f' "$per") ns per sample (median, BPF_ENABLE_STATS on sample_ip), i.e."
echo "  $(awk -v n="$per" 'BEGIN { printf "%.3f", n * 999 / 1e7 }')% of each CPU at 999 Hz and $(awk -v n="$per" 'BEGIN { printf "%.3f", n * 9999 / 1e7 }')% at 9999 Hz, plus the kernel's own timer-interrupt cost"
echo "(ratio = runs/s while running / runs/s with nothing; 1.00 = no measurable cost; median of $RUNS"
echo " interleaved rounds, $((2 * RUNS)) for nothing; each sample ~1 s of test runs timed by the kernel)"
echo
echo "## 2. the graph of $nprogs programs and $narrays prog arrays"
g_ms=$(med "$B/tailcalls" -o json)
p_ms=$(med "$B/tailcalls" -o json -P "$root")
d_ms=$(med "$B/tailcalls" -o dot)
bp_ms=$(med bpftool prog show -j)
cat >"$tmp/peer.sh" <<EOF
bpftool prog show -j
for m in $(echo $arrays); do bpftool map dump id \$m -j; done
EOF
peer_ms=$(med sh "$tmp/peer.sh")
g_rss=$(rss "$B/tailcalls" -o json)
bp_rss=$(rss bpftool prog show -j)
printf '%-58s %10s %10s\n' "command" "time(ms)" "RSS(KiB)"
printf '%-58s %10s %10s\n' "tailcalls -o json (whole graph, every netns, flags)" "$g_ms" "$g_rss"
printf '%-58s %10s\n' "tailcalls -o dot" "$d_ms"
printf '%-58s %10s\n' "tailcalls -o json -P ROOT (one pipeline)" "$p_ms"
printf '%-58s %10s %10s\n' "bpftool prog show -j (programs only)" "$bp_ms" "$bp_rss"
printf '%-58s %10s\n' "bpftool prog show -j + map dump of $narrays prog arrays" "$peer_ms"
echo "ratio (bpftool prog show + map dumps) / tailcalls: $(ratio "$peer_ms" "$g_ms")"
echo "(the bpftool pair gives raw lists only: no attach points, edges, flags or netns walk)"
echo
echo "## 3. start-up of the profile mode (skeleton load, fentry self-test, stats, first snapshot)"
s_ms=$(med "$B/tailcalls" -P "$root" -i 0.01 -c 1 -o json)
printf '%-58s %10s\n' "tailcalls -P ROOT -i 0.01 -c 1 (to the first profile)" "$s_ms"
printf '%-58s %10s\n' "tailcalls -P ROOT (graph only)" "$p_ms"
