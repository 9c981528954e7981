#!/usr/bin/env bash
# fibstat demo: a router namespace with a 4-way ECMP route (tests/lib/fibstat_env.bash), a client
# sending 64 UDP flows through it, first under hash policy 0 (L3: addresses only, so every flow of
# the one address pair takes one nexthop), then policy 1 (L4: the ports too, so the flows spread);
# then which nexthop one flow took, and the routing-table lookups behind it all.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
B=${B:-$PWD/build}
. tests/lib/fibstat_env.bash
traffic=
stop_traffic() {
	[ -n "$traffic" ] || return 0
	kill "$traffic" 2>/dev/null
	wait "$traffic" 2>/dev/null
	traffic=
}
trap 'stop_traffic; fib_teardown' EXIT

fib_setup demo$$ || { echo "fibstat demo: cannot build the namespaces" >&2; exit 1; }
fib_sinks_start 4 --no-list || exit 1
run() { echo; echo "\$ $*"; "$@"; }
# 64 flows (source ports 40000-40063) to 10.99.0.1:5001, 2000 packets/s in all, until stopped
start_traffic() { # ip netns exec execs the sender: $! is the sender itself
	ip netns exec "$FIB_C" "$FIB_UDPFLOWS" send --src "$FIB_SRC4" --dst "$FIB_DST4" --dport "$FIB_DPORT" --sport-base "$FIB_SPORT" \
		--flows 64 --duration 3600 --rate 2000 >/dev/null &
	traffic=$!
}

echo "Namespace $FIB_R routes 10.99.0.0/24 over four nexthops (10.0.K.2 on rK, one sink namespace"
echo "behind each); the client $FIB_SRC4 sends 64 UDP flows to $FIB_DST4:$FIB_DPORT through it."
ip -n "$FIB_R" route show 10.99.0.0/24

fib_policy 4 0
echo
echo "net.ipv4.fib_multipath_hash_policy=0 (L3): the hash sees only the addresses."
start_traffic
run fibstat -N "$FIB_R" -r 10.99.0.0/24 -i 1 -c 3
stop_traffic

fib_policy 4 1
echo
echo "net.ipv4.fib_multipath_hash_policy=1 (L4): the ports count too, so the 64 flows spread."
start_traffic
run fibstat -N "$FIB_R" -r 10.99.0.0/24 -i 1 -c 3
run fibstat -N "$FIB_R" --flow "proto=udp,dst=$FIB_DST4,sport=40005" -i 1 -c 1
echo
echo "\$ fibstat -N $FIB_R --tables -4 -i 1 -c 1      # the lookups behind the forwarding, per table and interface"
fibstat -N "$FIB_R" --tables -4 -i 1 -c 1
stop_traffic
