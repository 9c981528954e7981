#!/usr/bin/env bash
# tcverdict demo: a veth pair between two namespaces, a cls_bpf program on the
# receiver's ingress that picks OK / SHOT / REDIRECT / PIPE / UNSPEC by UDP
# port (tests/lib/tcverdict_env.bash), an LWT route with a BPF program on the
# sender's side, then two act_mirred actions; traffic of every kind, and
# tcverdict watching it (counts, the drop stream, mirred, prom).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
B=${B:-$PWD/build}
. tests/lib/tcverdict_env.bash
traffic=
trap '[ -z "$traffic" ] || { kill "$traffic"; wait "$traffic"; } 2>/dev/null; tv_teardown' EXIT

{ tv_setup demo && tv_attach cls_bpf && tv_lwt_route; } >/dev/null ||
	{ echo "tcverdict demo: cannot build the scenario" >&2; exit 1; }
echo "Namespace $TV_NSB: $TV_DEVB ($TV_IPB) runs cls_bpf program $TV_PROG on its ingress (fixture: verdict by"
echo "UDP port 9001-9009; 9003 redirects out of $TV_DEVR, 9006 into its ingress).  Namespace $TV_NSA sends a mix"
echo "meanwhile, also to $TV_LWT_DST through an LWT route whose xmit program drops UDP 9102."
mix() {
	while :; do
		tv_send 9001 200 500; tv_send 9002 100 1000; tv_send 9003 50 1000; tv_send 9004 20 2000
		tv_send 9005 20 2000; tv_send 9006 40 1000; tv_send 9201 30 1000; tv_send 9202 30 1000
		tv_lwt_send 9101 50; tv_lwt_send 9102 20
	done
}
mix >/dev/null 2>&1 &
traffic=$!
run() { echo; echo "\$ $*"; "$@"; }
run tcverdict -N "$TV_NSB" -i 1 -c 2
echo
echo "\$ tcverdict -N $TV_NSB -c 1 -i 1 -o json | jq -c '.programs[0]'"
tcverdict -N "$TV_NSB" -c 1 -i 1 -o json | jq -c '.programs[0]'
echo
echo "\$ tcverdict -N $TV_NSB --events -c 5      # drops as they happen"
timeout 30 tcverdict -N "$TV_NSB" --events -c 5
echo
tv_mirred >/dev/null || exit 1
echo "Two act_mirred actions join the program on $TV_DEVB's ingress (u32 filters: UDP 9201 redirected into"
echo "$TV_DEVR's ingress, 9202 mirrored out of it).  Without trampolines a TC_INGRESS drop on a hook with"
echo "other filters is no longer the program's for certain: its counts become unknown."
echo "\$ tcverdict -N $TV_NSB -c 1 -i 1 -o json | jq -c '.programs[0], .mirred[]'"
tcverdict -N "$TV_NSB" -c 1 -i 1 -o json | jq -c '.programs[0], .mirred[]'
echo
echo "\$ tcverdict -N $TV_NSA -c 1 -i 1 -o json | jq -c '.programs[]'      # the LWT route's program"
tcverdict -N "$TV_NSA" -c 1 -i 1 -o json | jq -c '.programs[]'
echo
echo "\$ tcverdict -N $TV_NSB -i 1 -o prom | grep -E '^bpfscope_tcverdict_(packets|mirred_packets)_total'"
tcverdict -N "$TV_NSB" -i 1 -o prom | grep -E '^bpfscope_tcverdict_(packets|mirred_packets)_total'
kill "$traffic" 2>/dev/null
wait "$traffic" 2>/dev/null
traffic=
echo
echo "The witnesses: the fixture's own per-port counts $(tv_seen); tc's mirred statistics:"
tc -n "$TV_NSB" -s actions ls action mirred | grep -E 'mirred|Sent'
