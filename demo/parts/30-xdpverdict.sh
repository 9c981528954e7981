#!/usr/bin/env bash
# xdpverdict demo: a veth pair between two namespaces, an XDP program that
# picks ABORTED / DROP / PASS / TX / REDIRECT by UDP port, traffic of every
# kind, and xdpverdict watching it (counts, then the error stream).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/xdpverdict_env.bash
trap 'kill $traffic 2>/dev/null; wait 2>/dev/null; xv_teardown' EXIT
traffic=

xv_setup demo xdpdrv || { echo "xdpverdict demo: cannot build the scenario" >&2; exit 1; }
echo "Namespace $XV_NSA: $XV_DEVA ($XV_IPA) runs XDP program $XV_PROG (fixture: verdict by UDP port 7000-7005;"
echo "7005 redirects to an empty devmap slot).  The peer namespace sends a mix meanwhile."
mix() {
	while :; do
		xv_send 7000 20 2000; xv_send 7001 200 500; xv_send 7002 100 500
		xv_send 7003 50 1000; xv_send 7004 80 1000; xv_send 7005 10 2000
	done
}
mix >/dev/null 2>&1 &
traffic=$!
echo
echo "\$ xdpverdict -N $XV_NSA -i 1 -c 3"
xdpverdict -N "$XV_NSA" -i 1 -c 3
echo
echo "\$ xdpverdict -N $XV_NSA -c 1 -i 1 -o json | jq .interfaces[0]"
xdpverdict -N "$XV_NSA" -c 1 -i 1 -o json | jq .interfaces[0]
echo
echo "\$ xdpverdict -N $XV_NSA -i 1 -o prom | grep '^bpfscope_xdpverdict_packets_total'   # one metric, a verdict label"
xdpverdict -N "$XV_NSA" -i 1 -o prom | grep '^bpfscope_xdpverdict_packets_total'
echo
echo "\$ xdpverdict -N $XV_NSA --events -c 6      # exceptions and redirect errors as they happen"
timeout 30 xdpverdict -N "$XV_NSA" --events -c 6
kill "$traffic" 2>/dev/null
wait "$traffic" 2>/dev/null
traffic=
echo
echo "The fixture's own counts (bpftool map dump, [aborted, drop, pass, tx, redirect, empty-slot]): $(xv_counts)"
echo
echo "\$ xdpverdict -N $XV_NSA --check $XV_DEVA      # can it run XDP as intended? (attaches nothing)"
xdpverdict -N "$XV_NSA" --check "$XV_DEVA"
echo "(exit status $?)"
echo
echo "\$ ip -n $XV_NSB link set dev $XV_DEVB xdp off; xdpverdict -N $XV_NSA --check $XV_DEVA -o json | jq -c '.findings[] | select(.status != \"ok\")'"
ip -n "$XV_NSB" link set dev "$XV_DEVB" xdp off
ip netns exec "$XV_NSB" ethtool -K "$XV_DEVB" gro off >/dev/null 2>&1
xdpverdict -N "$XV_NSA" --check "$XV_DEVA" -o json | jq -c '.findings[] | select(.status != "ok")'

