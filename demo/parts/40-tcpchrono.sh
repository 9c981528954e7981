#!/usr/bin/env bash
# tcpchrono demo: two TCP transfers side by side on the loopback of a private
# namespace, one to a fast reader and one to a slow reader with a small
# receive buffer; tcpchrono shows where each sender's time went, when the
# connections close and live.
set -uo pipefail
NS="bstcdemo$$"
PAIR="$B/tests/tcpchrono_pair"
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || { echo "tcpchrono demo: cannot make a namespace" >&2; exit 1; }
nsx() { ip netns exec "$NS" "$@"; }

echo "Namespace $NS: port 6001 = a fast reader (64 MiB, 4 MiB receive buffer);"
echo "port 6002 = a slow reader (1 KiB every 2 ms, 4 KiB receive buffer), 512 KiB."
echo
echo "\$ tcpchrono --port 6001,6002 --wide      # one line per connection as it closes"
tcpchrono --port 6001,6002 --wide >"$tmp/events" 2>&1 &
tc=$!
pids+=("$tc")
for _ in $(seq 1 300); do ls -l "/proc/$tc/fd" 2>/dev/null | grep -q bpf_link && break; sleep 0.1; done
nsx "$PAIR" --scenario bulk --port 6001 >"$tmp/fast" &
pids+=("$!")
nsx "$PAIR" --scenario slow --port 6002 --bytes 524288 >"$tmp/slow"
wait "${pids[1]}"
sleep 0.5
kill -INT "$tc"; wait "$tc"
cat "$tmp/events"
echo
echo "What getsockopt(TCP_INFO) said just before each sender closed:"
for f in fast slow; do
	jq -r --arg f "$f" '.sender | "  \($f) sender port \(.port): busy \(.busy_us / 1000) ms, rwnd_limited \(.rwnd_limited_us / 1000) ms, sndbuf_limited \(.sndbuf_limited_us / 1000) ms"' "$tmp/$f"
done

echo
echo "Now both again, longer, and tcpchrono live: every second, the most limited first."
nsx "$PAIR" --scenario bulk --port 6001 --bytes 60000000000 >/dev/null 2>&1 &
pids+=("$!")
nsx "$PAIR" --scenario slow --port 6002 --bytes 4000000 >/dev/null 2>&1 &
pids+=("$!")
sleep 0.5
echo
echo "\$ ip netns exec $NS tcpchrono --top=4 -c 2"
nsx tcpchrono --top=4 -c 2
echo
echo "\$ tcpchrono -N $NS --port 6002 -i 1 -c 1 -o json | jq '.connections[0] | {lport, rport, interval_busy_seconds, interval_rwnd_limited_seconds, limited_ratio, rwnd_limited_seconds}'"
tcpchrono -N "$NS" --port 6002 -i 1 -c 1 -o json |
	jq -c '.connections[] | select(.rport == 6002) | {lport, rport, interval_busy_seconds, interval_rwnd_limited_seconds, limited_ratio, rwnd_limited_seconds}'
