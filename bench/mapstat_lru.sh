#!/usr/bin/env bash
# mapstat's LRU hooks on an LRU-heavy update loop: the cost per update of
# counting evictions (default in interval mode) and of --updates, fexit and
# kprobe, against no tool, interleaved rounds, as ratios.
# Workload (tests/lib/lrufill.c): an lru_hash of 1024 entries; N new keys
# inserted by an XDP program under BPF_PROG_TEST_RUN (one key per run, so
# after warm-up nearly every insert evicts one element), and N/4 by the bpf(2)
# syscall from user space.  Needs trampolines or kprobes: run it in a guest
# (tests/vm/run.sh --kernel 6.12 -- bench/mapstat_lru.sh) where the host has neither.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
B=${B:-build}
ROUNDS=${ROUNDS:-5}
N=${N:-200000}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

# one_run VIA N TOOL [mapstat args...]: ns per insert (lrufill's own clock); TOOL: none or mapstat
one_run() {
	local via=$1 n=$2 tool=$3 d; shift 3
	d=$(mktemp -d "$tmp/r.XXXX")
	if [ "$via" = prog ]; then
		LRUFILL_PROG="$B/fixtures/mapstat_lru.bpf.o" "$B/tests/lrufill" lru_hash 1024 common bs_lru "$d/go" "$d/truth" "$n" 0 &
	else
		"$B/tests/lrufill" lru_hash 1024 common bs_lru "$d/go" "$d/truth" "$n" 0 &
	fi
	local lp=$! mp=
	for _ in $(seq 1 600); do [ -s "$d/truth" ] && break; sleep 0.05; done
	if [ "$tool" = mapstat ]; then
		"$B/mapstat" -m "$(jq .id "$d/truth")" -i 600 -o json "$@" >"$d/out" 2>"$d/err" &
		mp=$!
		for _ in $(seq 1 600); do [ -s "$d/out" ] && break; sleep 0.05; done
		jq -r .lru_mechanism "$d/out" >"$d/mech"
	fi
	touch "$d/go"
	for _ in $(seq 1 1200); do jq -e .inserted "$d/truth" >/dev/null 2>&1 && break; sleep 0.05; done
	[ -n "$mp" ] && { kill -INT $mp; wait $mp 2>/dev/null; }
	kill $lp; wait $lp 2>/dev/null
	jq -r --argjson n "$n" '.seconds * 1e9 / $n | floor' "$d/truth"
}

configs=("none" "evictions" "evictions --updates" "kprobe evictions" "kprobe evictions --updates")
args_of() {
	case $1 in
	none) ;;
	evictions) echo "" ;;
	"evictions --updates") echo "--updates" ;;
	"kprobe evictions") echo "--mechanism kprobe" ;;
	"kprobe evictions --updates") echo "--mechanism kprobe --updates" ;;
	esac
}
has_kprobe=$("$B/tests/bpfprobe" kprobe >/dev/null 2>&1 && echo y)
has_fentry=$("$B/tests/bpfprobe" fentry >/dev/null 2>&1 && echo y)

echo "# mapstat LRU benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  kernel $(uname -r)  $(nproc) CPUs"
echo "# lru_hash of 1024 entries; ns per insert (nearly every one evicts); median of $ROUNDS interleaved rounds;"
echo "# ratio = median over rounds of (with / baseline of the same round)"
for via in prog syscall; do
	n=$N; [ "$via" = syscall ] && n=$((N / 4))
	echo
	echo "## $([ "$via" = prog ] && echo "$n inserts by an XDP program (BPF_PROG_TEST_RUN)" || echo "$n inserts by bpf(2) from user space")"
	declare -A res=()
	for r in $(seq 1 "$ROUNDS"); do
		base=$(one_run "$via" "$n" none)
		res[none]+="$base "
		for c in "${configs[@]:1}"; do
			case $c in kprobe*) [ -n "$has_kprobe" ] || continue ;; *) [ -n "$has_fentry" ] || continue ;; esac
			# shellcheck disable=SC2046
			v=$(one_run "$via" "$n" mapstat $(args_of "$c"))
			res[$c]+="$v "
			res["$c/ratio"]+="$(ratio "$v" "$base") "
		done
	done
	printf '%-44s %12s %8s\n' "configuration" "ns/insert" "ratio"
	for c in "${configs[@]}"; do
		if [ -z "${res[$c]:-}" ]; then
			printf '%-44s %12s %8s\n' "mapstat -i ($c)" unavailable -
			continue
		fi
		ns=$(tr ' ' '\n' <<<"${res[$c]}" | grep . | median)
		rt=$([ "$c" = none ] && echo 1.00 || tr ' ' '\n' <<<"${res[$c/ratio]}" | grep . | median)
		printf '%-44s %12s %8s\n' "$([ "$c" = none ] && echo "no mapstat" || echo "mapstat -i ($c)")" "$ns" "$rt"
	done
	unset res
done
echo
echo "# kprobe mode does not see bpf(2) updates (the kernel turns BPF tracing off around them): there its"
echo "# programs are skipped (counted as missed events), so the syscall rows measure the skipped kprobes' cost."
