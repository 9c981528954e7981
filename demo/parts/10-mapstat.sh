#!/usr/bin/env bash
# mapstat demo: a helper process holds maps of every type filled to known
# levels; mapstat shows their occupancy, owners, pins, growth and thresholds.
set -uo pipefail
tmp=$(mktemp -d)
pin=/sys/fs/bpf/bpfscope_demo_$$
mkdir -p "$pin"
"$B/tests/mkmaps" "$tmp/maps.json" "$B/fixtures/mapstat_ringbuf.bpf.o" 100000 "$pin" &
mk=$!
trap 'kill $mk 2>/dev/null; wait $mk 2>/dev/null; rm -rf "$pin" "$tmp"' EXIT
for _ in $(seq 1 300); do [ -s "$tmp/maps.json" ] && break; sleep 0.1; done
run() { echo; echo "\$ $*"; "$@"; }

echo "A helper (pid $mk) created 25 maps: a 100,000-entry hash, an LRU hash under eviction,"
echo "an LPM trie with a known prefix mix, a ring buffer with 5 unread records, slot maps..."
run mapstat -p "$mk"
run mapstat -p "$mk" -t lpm_trie --wide
run mapstat --prefixes "$(jq '.maps[] | select(.name=="ms_lpm") | .id' "$tmp/maps.json")"
grow=$(jq '.maps[] | select(.name=="ms_grow") | .id' "$tmp/maps.json")
echo
echo "\$ mapstat -m $grow -i 1 -c 3     # meanwhile the helper adds 200 entries"
( sleep 1.3; kill -USR1 $mk ) &
mapstat -m "$grow" -i 1 -c 3
run mapstat -p "$mk" --warn 50 --crit 90 -o json -t lru_hash
echo "(exit status $? : 6 = a map is over --warn)"
echo
echo "\$ mapstat -p $mk -t lru_hash -i 1 -c 1 --wide   # LRU evictions over one interval (fexit or kprobe;"
echo "#   where the kernel has neither, as on a host without trampolines, they are '-' and never 0)"
mapstat -p "$mk" -t lru_hash -i 1 -c 1 --wide
echo
echo "\$ mapstat -p $mk -t hash -o prom | grep -E '^bpfscope_mapstat_(info|entries|use_ratio)\\{'"
mapstat -p "$mk" -t hash -o prom | grep -E '^bpfscope_mapstat_(info|entries|use_ratio)\{'
