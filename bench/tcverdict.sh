#!/usr/bin/env bash
# tcverdict benchmarks, side by side:
#  1. packets per second through a veth pair whose cls_bpf program (the
#     fixture, tests/fixtures/tcverdict_ports.bpf.c, on B's ingress) drops
#     every packet (port 9002: TC_ACT_SHOT, each one a kfree_skb with reason
#     TC_INGRESS, the drop_reason mechanism's event) or passes it to a
#     socket (port 9001: TC_ACT_OK, which drop_reason never sees), without
#     tcverdict and with it in each mechanism this kernel offers (ratio to
#     the baseline of the same round);
#  2. start-up to first output and peak RSS: tcverdict -c 1 vs tc -s filter
#     show and bpftool net (what a user would run instead).
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$PWD
B=${B:-$ROOT/build}
. tests/lib/tcverdict_env.bash
RUNS=${RUNS:-5}
PKTS=${PKTS:-200000}
# (a bare `wait` would wait for the scenario's sinks too)
trap '[ -z "$tool" ] || { kill "$tool"; wait "$tool"; } 2>/dev/null; tv_teardown' EXIT
tool=

{ tv_setup bench && tv_attach cls_bpf; } >/dev/null || { echo "bench: cannot build the TC scenario" >&2; exit 1; }

# One run: PKTS packets to PORT as fast as the sender goes; pps as counted
# by the fixture itself (packets the TC program saw) over the time.
seen() { tv_seen | jq --arg p "$1" '.[$p] // 0'; }
one_run() { # PORT
	local before after t0 t1
	before=$(seen "$1")
	t0=$(date +%s%N)
	ip netns exec "$TV_NSA" "$TV_SEND" "$TV_IPB" "$1" "$PKTS" 0 >/dev/null 2>&1
	sleep 0.2
	t1=$(date +%s%N)
	after=$(seen "$1")
	awk -v n=$((after - before)) -v ns=$((t1 - t0 - 200000000)) 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }'
}

# Mechanisms this kernel offers; fexit only where trampolines are allowed.
modes=(drop_reason)
"$B/tests/bpfprobe" fentry >/dev/null 2>&1 && modes+=(fexit)

# Interleaved rounds (baseline, then each mode) so that load from elsewhere
# on the machine hits both sides of each ratio alike.
declare -A pps ratios bases
for r in $(seq 1 "$RUNS"); do
	for port in 9002 9001; do
		b=$(one_run "$port")
		bases[$port]+="$b "
		for m in "${modes[@]}"; do
			"$B/tcverdict" -N "$TV_NSB" -i 1 --mechanism "$m" >/dev/null 2>&1 &
			tool=$!
			sleep 1.5
			if ! kill -0 "$tool" 2>/dev/null; then
				tool=
				continue
			fi
			p=$(one_run "$port")
			kill -INT "$tool"
			wait "$tool" 2>/dev/null
			tool=
			pps[$m.$port]+="$p "
			ratios[$m.$port]+="$(ratio "$p" "$b") "
		done
	done
done

med_of() { tr ' ' '\n' <<<"$1" | grep . | median; }
echo "# tcverdict benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  kernel $(uname -r)  $(nproc) CPUs"
echo "# veth pair, cls_bpf fixture on the receiver's ingress, $PKTS UDP packets of 64 bytes per run, $RUNS interleaved rounds;"
echo "# pps = packets the fixture counted / time; ratio = median over rounds of (with / baseline of the same round)"
for port in 9002 9001; do
	echo
	case $port in
	9002) echo "## 1a. packets per second, every packet TC_ACT_SHOT (a kfree_skb each)" ;;
	9001) echo "## 1b. packets per second, every packet TC_ACT_OK (to a socket)" ;;
	esac
	printf '%-40s %12s %8s\n' "configuration" "pps(median)" "ratio"
	printf '%-40s %12s %8s\n' "no tcverdict" "$(med_of "${bases[$port]}")" "1.00"
	for m in drop_reason fexit; do
		if [ -z "${pps[$m.$port]:-}" ]; then
			printf '%-40s %12s %8s\n' "tcverdict --mechanism $m" "unavailable" "-"
			continue
		fi
		printf '%-40s %12s %8s\n' "tcverdict --mechanism $m" "$(med_of "${pps[$m.$port]}")" "$(med_of "${ratios[$m.$port]}")"
	done
done
"$B/tests/bpfprobe" fentry >/dev/null 2>&1 ||
	echo "#   fexit: this kernel does not allow BPF trampolines (run the bench in a guest for it)"

echo
echo "## 2. start-up to first output, peak RSS"
med() { local i; for i in $(seq 1 "$RUNS"); do wall_ms "$@"; done | median; }
rss() { local i; for i in $(seq 1 3); do peak_rss_kb "$@"; done | median; }
printf '%-44s %10s %10s\n' "command" "time(ms)" "RSS(KiB)"
printf '%-44s %10s %10s\n' "tcverdict -c 1 -i 0.1 (one namespace)" \
	"$(med "$B/tcverdict" -N "$TV_NSB" -c 1 -i 0.1)" "$(rss "$B/tcverdict" -N "$TV_NSB" -c 1 -i 0.1)"
printf '%-44s %10s %10s\n' "tc -s filter show (one hook, no verdicts)" \
	"$(med tc -n "$TV_NSB" -s filter show dev "$TV_DEVB" ingress)" "$(rss tc -n "$TV_NSB" -s filter show dev "$TV_DEVB" ingress)"
printf '%-44s %10s %10s\n' "bpftool net (attachments only)" \
	"$(med ip netns exec "$TV_NSB" bpftool net)" "$(rss ip netns exec "$TV_NSB" bpftool net)"
