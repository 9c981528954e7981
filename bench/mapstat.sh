#!/usr/bin/env bash
# mapstat benchmarks, side by side with what a user would run instead:
#  1. start-up to first (complete) output and peak RSS of `mapstat -c 1`
#     vs `bpftool map show` vs a bpftrace iter:bpf_map one-liner;
#  2. time to count a 1,000,000-entry hash: mapstat vs `bpftool map dump | wc -l`.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${RUNS:-7}
tmp=$(mktemp -d)
"$B/tests/mkmaps" "$tmp/maps.json" "$B/fixtures/mapstat_ringbuf.bpf.o" 1000000 &
mk=$!
trap 'kill $mk 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 600); do [ -s "$tmp/maps.json" ] && break; sleep 0.1; done
big=$(jq '.maps[] | select(.name == "ms_hash_big") | .id' "$tmp/maps.json")
nmaps=$(bpftool map show -j | jq length)

med() { # label cmd...
	local i
	for i in $(seq 1 "$RUNS"); do wall_ms "$@"; done | median
}
rss() {
	local i
	for i in $(seq 1 3); do peak_rss_kb "$@"; done | median
}

echo "# mapstat benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  kernel $(uname -r)  $(nproc) CPUs"
echo "# $nmaps maps on the system (mkmaps scenario: 25 maps incl. a 1,000,000-entry hash); median of $RUNS runs"
echo
echo "## 1. start-up to complete output, peak RSS"
m_ms=$(med "$B/mapstat" -c 1)
b_ms=$(med bpftool map show)
m_rss=$(rss "$B/mapstat" -c 1)
b_rss=$(rss bpftool map show)
printf '%-44s %10s %10s\n' "command" "time(ms)" "RSS(KiB)"
printf '%-44s %10s %10s\n' "mapstat -c 1 (with entry counts)" "$m_ms" "$m_rss"
printf '%-44s %10s %10s\n' "bpftool map show (no entry counts)" "$b_ms" "$b_rss"
if command -v bpftrace >/dev/null; then
	bt='iter:bpf_map { printf("%u %s %u\n", ctx->map->id, ctx->map->name, ctx->map->max_entries); }'
	if bterr=$(bpftrace -e "$bt" 2>&1 >/dev/null); then
		t_ms=$(med bpftrace -e "$bt")
		t_rss=$(rss bpftrace -e "$bt")
		printf '%-44s %10s %10s\n' "bpftrace iter:bpf_map one-liner (no counts)" "$t_ms" "$t_rss"
		echo "ratio time  bpftrace/mapstat: $(ratio "$t_ms" "$m_ms")   RSS bpftrace/mapstat: $(ratio "$t_rss" "$m_rss")"
	else
		echo "bpftrace $(bpftrace --version | awk '{print $2}'): the iter:bpf_map one-liner does not run on this kernel:"
		echo "  $(grep ERROR <<<"$bterr" | grep -v RLIMIT | head -1)"
		t_ms=$(med bpftrace -e 'BEGIN { exit(); }')
		t_rss=$(rss bpftrace -e 'BEGIN { exit(); }')
		printf '%-44s %10s %10s\n' "bpftrace -e 'BEGIN { exit(); }' (does nothing)" "$t_ms" "$t_rss"
		echo "ratio time  bpftrace(empty)/mapstat: $(ratio "$t_ms" "$m_ms")   RSS: $(ratio "$t_rss" "$m_rss")"
	fi
fi
echo "ratio time  bpftool/mapstat:  $(ratio "$b_ms" "$m_ms")   RSS bpftool/mapstat:  $(ratio "$b_rss" "$m_rss")"
echo
echo "## 2. counting the 1,000,000-entry hash (map id $big)"
a_ms=$(med "$B/mapstat" -m "$big" --no-owners -o json)
o_ms=$(med "$B/mapstat" -m "$big" -o json)
i_ms=$(med "$B/mapstat" -m "$big" --no-owners -o json --mechanism iter)
w_ms=$(RUNS=3 med "$B/mapstat" -m "$big" --no-owners -o json --mechanism walk)
d_ms=$(RUNS=3 med sh -c "bpftool map dump id $big | wc -l")
printf '%-44s %10s\n' "command" "time(ms)"
printf '%-44s %10s\n' "mapstat -m ID (auto: $(build/tests/bpfprobe kfunc:bpf_map_sum_elem_count >/dev/null && echo kfunc || echo iter_elem))" "$a_ms"
printf '%-44s %10s\n' "mapstat -m ID (auto, with owner scan)" "$o_ms"
printf '%-44s %10s\n' "mapstat -m ID --mechanism iter (iter_elem)" "$i_ms"
printf '%-44s %10s\n' "mapstat -m ID --mechanism walk (get_next_key)" "$w_ms"
printf '%-44s %10s\n' "bpftool map dump id ID | wc -l" "$d_ms"
echo "ratio bpftool-dump/mapstat(auto): $(ratio "$d_ms" "$a_ms")  (target >= 100)"
echo "ratio bpftool-dump/mapstat(auto, owners): $(ratio "$d_ms" "$o_ms")"
echo "ratio bpftool-dump/mapstat(iter): $(ratio "$d_ms" "$i_ms")"
# steady state: one more snapshot of a running mapstat (start-up excluded)
s1=$(med "$B/mapstat" -m "$big" --no-owners -o json -c 1)
s21=$(med "$B/mapstat" -m "$big" --no-owners -o json -i 0.001 -c 21)
per=$(awk -v a="$s21" -v b="$s1" 'BEGIN { printf "%.2f", (a - b) / 20 }')
echo "per snapshot in a running mapstat (-i 0.001, so including a 1 ms wait): $per ms; ratio bpftool-dump/snapshot: $(ratio "$d_ms" "$per")"
