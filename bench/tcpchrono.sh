#!/usr/bin/env bash
# tcpchrono benchmarks, side by side with what a user would run instead:
#  1. the cost on the traced path: connections per second of a loopback
#     connect / send 1 KiB / close churn, without and with tcpchrono;
#  2. one live-mode sweep over N established connections against `ss -ti`
#     (and `ss -tip`, which also names owners, as tcpchrono does) over the
#     same set; start-up time and peak RSS;
#  3. the cost on a path tcpchrono does not observe: a system-call-bound
#     `dd bs=1` to /dev/null, without tcpchrono, with it (default mode) and
#     with --mechanism syscalls (the only mode that hooks system calls).
# Everything runs in a private network namespace on its loopback.
# Environment: RUNS (5), CHURN_SECS (3), CONNS (10000), DD_COUNT (1000000),
# PART2_ONLY=1 skips 1, DD_ONLY=1 runs only 3.  B_OLD=DIR adds, to 1, the
# tcpchrono binary of another build (an earlier commit) printing the same
# JSON events, interleaved with the others: the cost of output changes.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-5}
CHURN_SECS=${CHURN_SECS:-3}
CONNS=${CONNS:-10000}
PAIR="$B/tests/tcpchrono_pair"
NS="bstcbench$$"
tmp=$(mktemp -d)
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
nsx() { ip netns exec "$NS" "$@"; }
nsx sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
nsx sysctl -qw net.ipv4.tcp_tw_reuse=1

# One churn run with tcpchrono ARGS running meanwhile (none: baseline).
# Prints: connections/s, CPU us per connection of the churn (both ends,
# user + system), CPU us per connection of tcpchrono itself.
# until tcpchrono (pid $1) holds its links, and a moment more
wait_attached() {
	for _ in $(seq 1 300); do
		ls -l "/proc/$1/fd" 2>/dev/null | grep -q bpf_link && break
		sleep 0.1
	done
	sleep 0.3
}

churn() {
	local p= out tc_cpu=0 t0 t1 bin="$B/tcpchrono"
	if [ "${1:-}" = @old ]; then
		bin="$B_OLD/tcpchrono"
		shift
	fi
	if [ $# -gt 0 ]; then
		"$bin" "$@" >/dev/null 2>"$tmp/tc.err" &
		p=$!
		wait_attached "$p"
		t0=$(awk '{print $14 + $15}' "/proc/$p/stat")
	fi
	out=$(nsx "$PAIR" --churn "$CHURN_SECS")
	if [ -n "$p" ]; then
		t1=$(awk '{print $14 + $15}' "/proc/$p/stat")
		tc_cpu=$(jq --argjson t $((t1 - t0)) --argjson hz "$(getconf CLK_TCK)" \
			'$t / $hz * 1000000 / .conns' <<<"$out")
		kill -INT "$p"
		wait "$p"
	fi
	echo "$(jq .per_second <<<"$out") $(jq .cpu_us_per_conn <<<"$out") $tc_cpu"
}

echo "# tcpchrono benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  kernel $(uname -r)  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)"
mech=$("$B/tcpchrono" -i 0.01 -c 1 -o json 2>/dev/null | jq -r .owners)
echo "# owners of accepted connections: $mech"

# dd_secs [ARGS...]: median of RUNS dd runs (seconds, dd's own figure) with
# tcpchrono ARGS running meanwhile (none: baseline).
dd_secs() {
	local p= i
	if [ $# -gt 0 ]; then
		"$B/tcpchrono" "$@" >/dev/null 2>"$tmp/dd.err" &
		p=$!
		wait_attached "$p"
	fi
	for i in $(seq 1 "$RUNS"); do
		dd if=/dev/zero of=/dev/null bs=1 count="${DD_COUNT:-1000000}" 2>&1 | awk '/copied/ { print $(NF-3) }'
	done | median
	if [ -n "$p" ]; then
		kill -INT "$p"
		wait "$p"
	fi
}
part3() {
	echo
	echo "## 3. system-call-bound dd bs=1 count=${DD_COUNT:-1000000} to /dev/null (median of $RUNS; 3 rounds, interleaved)"
	printf '%-40s %9s %9s %9s\n' "running meanwhile" "round 1" "round 2" "round 3"
	local r n b d y
	declare -A ddr
	for r in 1 2 3; do
		ddr[none$r]=$(dd_secs)
		ddr[default$r]=$(dd_secs -o json)
		ddr[sys$r]=$(dd_secs -o json --mechanism syscalls)
	done
	printf '%-40s %9s %9s %9s\n' "none (baseline)" "${ddr[none1]}" "${ddr[none2]}" "${ddr[none3]}"
	printf '%-40s %9s %9s %9s\n' "tcpchrono (default)" "${ddr[default1]}" "${ddr[default2]}" "${ddr[default3]}"
	printf '%-40s %9s %9s %9s\n' "tcpchrono --mechanism syscalls" "${ddr[sys1]}" "${ddr[sys2]}" "${ddr[sys3]}"
	n=$(( 2 * ${DD_COUNT:-1000000} ))
	b=$(printf '%s\n' "${ddr[none1]}" "${ddr[none2]}" "${ddr[none3]}" | median)
	d=$(printf '%s\n' "${ddr[default1]}" "${ddr[default2]}" "${ddr[default3]}" | median)
	y=$(printf '%s\n' "${ddr[sys1]}" "${ddr[sys2]}" "${ddr[sys3]}" | median)
	echo "ratio default / none:  $(ratio "$d" "$b")"
	echo "ratio syscalls / none: $(ratio "$y" "$b")  ($(awk -v a="$y" -v b="$b" -v n="$n" 'BEGIN { printf "%.0f", (a - b) / n * 1e9 }') ns per system call, $n system calls)"
}
if [ -n "${DD_ONLY:-}" ]; then
	part3
	exit 0
fi

if [ -z "${PART2_ONLY:-}" ]; then
echo
echo "## 1. connect / 1 KiB / close churn on loopback (median of $RUNS x ${CHURN_SECS}s, runs interleaved)"
echo "# cpu: user+system CPU of both ends of the churn per connection, where the BPF programs run;"
echo "# tool cpu: tcpchrono's own CPU per connection (reading and printing 2 close events)"
labels=("none (baseline)" "tcpchrono (close events, json to /dev/null)" "tcpchrono --mechanism raw_tp" "tcpchrono --port 9 (all filtered out in BPF)" "tcpchrono --mechanism syscalls")
args=("" "-o json" "--mechanism raw_tp -o json" "--port 9 -o json" "--mechanism syscalls -o json")
if [ -n "${B_OLD:-}" ]; then
	labels+=("tcpchrono of $B_OLD (close events, json)")
	args+=("@old -o json")
fi
declare -a res
for i in $(seq 1 "$RUNS"); do
	for k in "${!labels[@]}"; do
		# shellcheck disable=SC2086
		res[$k]+="$(churn ${args[$k]})"$'\n'
	done
done
col() { awk -v c="$2" 'NF { print $c }' <<<"${res[$1]}" | median; }
base_r=$(col 0 1)
base_c=$(col 0 2)
printf '%-46s %9s %7s %9s %7s %9s\n' "running meanwhile" "conns/s" "ratio" "cpu(us)" "cost" "tool(us)"
for k in "${!labels[@]}"; do
	r=$(col "$k" 1) c=$(col "$k" 2) t=$(col "$k" 3)
	printf '%-46s %9.0f %7s %9.1f %6s%% %9.1f\n' "${labels[$k]}" "$r" "$(ratio "$r" "$base_r")" "$c" \
		"$(awk -v a="$c" -v b="$base_c" 'BEGIN { printf "%+.1f", (a / b - 1) * 100 }')" "$t"
done
if sysctl -n kernel.bpf_stats_enabled >/dev/null 2>&1; then
	old=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	"$B/tcpchrono" -o json >/dev/null 2>&1 &
	p=$!
	for _ in $(seq 1 300); do ls -l "/proc/$p/fd" 2>/dev/null | grep -q bpf_link && break; sleep 0.1; done
	n=$(nsx "$PAIR" --churn "$CHURN_SECS" | jq .conns)
	echo "# BPF run time per churned connection (kernel.bpf_stats_enabled; includes its own clock reads):"
	bpftool prog show -j | jq -r --argjson n "$n" '.[] | select(.name | startswith("tc_")) | select(.run_cnt > 0) |
		"#   \(.name): \(.run_cnt / $n * 10 | round / 10) runs, \(.run_time_ns / .run_cnt | round) ns each, \(.run_time_ns / $n / 1000 * 100 | round / 100) us per connection"'
	kill -INT "$p"
	wait "$p"
	sysctl -qw kernel.bpf_stats_enabled="$old"
fi
fi

echo
echo "## 2. one sweep over established connections: tcpchrono live mode vs ss"
# Both ends of every connection are in the namespace: 2 x CONNS sockets.
mkfifo "$tmp/hold"
nsx "$PAIR" --open "$CONNS" <"$tmp/hold" >"$tmp/open.json" 2>"$tmp/open.err" &
holder=$!
exec 8>"$tmp/hold"
for _ in $(seq 1 1200); do [ -s "$tmp/open.json" ] && break; sleep 0.1; done
if [ ! -s "$tmp/open.json" ]; then
	echo "could not open $CONNS connections: $(cat "$tmp/open.err")"
	exit 1
fi
socks=$(nsx ss -tnH state established | wc -l)
echo "# $CONNS connections open ($socks established sockets; one process holds the connecting ends, another the accepting ends)"
sweeps=$(nsx "$B/tcpchrono" -i 0.5 -c "$RUNS" -o json | jq -r '.sweep_seconds * 1000' | median)
nsx "$B/tcpchrono" -i 0.5 -c 1 -o json | jq -e --argjson n "$socks" '.connections | length == $n' >/dev/null ||
	echo "WARNING: tcpchrono did not list every socket"
med() {
	local i
	for i in $(seq 1 "$RUNS"); do wall_ms "$@"; done | median
}
rss() {
	local i
	for i in $(seq 1 3); do peak_rss_kb "$@"; done | median
}
ss_ms=$(med ip netns exec "$NS" ss -tin)
ssp_ms=$(med ip netns exec "$NS" ss -tinp)
one_ms=$(med ip netns exec "$NS" "$B/tcpchrono" -i 0.001 -c 1 -o json)
tc_rss=$(rss ip netns exec "$NS" "$B/tcpchrono" -i 0.001 -c 1 -o json)
ss_rss=$(rss ip netns exec "$NS" ss -tin)
printf '%-58s %10s %10s\n' "command" "time(ms)" "RSS(KiB)"
printf '%-58s %10s %10s\n' "tcpchrono live sweep (iter/tcp + owner scan, in process)" "$sweeps" "-"
printf '%-58s %10s %10s\n' "tcpchrono -i 0.001 -c 1 (start-up + 2 sweeps + output)" "$one_ms" "$tc_rss"
printf '%-58s %10s %10s\n' "ss -tin (netlink dump, tcp_info per socket)" "$ss_ms" "$ss_rss"
printf '%-58s %10s %10s\n' "ss -tinp (also names owning processes)" "$ssp_ms" "-"
echo "ratio  ss -tin / tcpchrono sweep:  $(ratio "$ss_ms" "$sweeps")"
echo "ratio  ss -tinp / tcpchrono sweep: $(ratio "$ssp_ms" "$sweeps")"
echo "(ss times include its process start-up, a few ms; the sweep is what each live-mode interval costs)"
exec 8>&-
part3
