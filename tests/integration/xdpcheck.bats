#!/usr/bin/env bats
# xdpverdict --check: its predictions against real attach attempts and real
# packets.  A veth pair in two test namespaces (tests/lib/xdpverdict_env.bash):
# the fixture XDP program on A reflects UDP port 7003 with XDP_TX; whether the
# reflected frames reach B is read from the kernel's own counters (veth's
# ethtool stats on both ends), whether an attach is refused from ip link.

load ../lib/helpers
source "$ROOT/tests/lib/xdpverdict_env.bash"

teardown() {
	xv_teardown
}

check_json() { # ARGS...: runs --check -o json, sets $status and $out
	run "$B/xdpverdict" --check -N "$XV_NSA" "$@" -o json
	out=$output
}
finding() { # CHECK: "status" of that finding for XV_DEVA
	jq -r --arg c "$1" --arg i "$XV_DEVA" '.findings[] | select(.interface == $i and .check == $c) | .status' <<<"$out"
}
field() { # JQ: of the check record
	jq -r --arg i "$XV_DEVA" ".check[] | select(.interface == \$i) | $1" <<<"$out"
}
stat_of() { # NS DEV NAME: one ethtool counter
	ip netns exec "$1" ethtool -S "$2" | awk -v n="$3:" '$1 == n { print $2 }'
}

@test "[kernel] check: veth peer without XDP or GRO: XDP_TX dropped as predicted (exit 8); XDP on the peer delivers it (exit 0)" {
	xv_setup ck
	ip -n "$XV_NSB" link set dev "$XV_DEVB" xdp off
	ip netns exec "$XV_NSB" ethtool -K "$XV_DEVB" gro off
	check_json "$XV_DEVA"
	[ "$status" -eq 8 ]
	[ "$(field .ready)" = 0 ]
	[ "$(field .mode)" = native ]
	[ "$(field .driver)" = veth ]
	[ "$(finding veth_peer)" = fail ]
	jq -e '.findings[] | select(.check == "veth_peer") | .fix | test("gro on")' <<<"$out"
	# the truth: the program returns XDP_TX for every packet, the kernel drops every one
	local tx0 err0 rx0
	tx0=$(xv_count 3) err0=$(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors)
	xv_send 7003 20
	sleep 0.3
	[ "$(( $(xv_count 3) - tx0 ))" -eq 20 ]
	[ "$(( $(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors) - err0 ))" -eq 20 ]

	# an XDP program on the peer: predicted ready, and B's program sees every reflected frame
	ip -n "$XV_NSB" link set dev "$XV_DEVB" xdpdrv obj "$XV_PASS" sec xdp
	check_json "$XV_DEVA"
	[ "$status" -eq 0 ]
	[ "$(field .ready)" = 1 ]
	[ "$(finding veth_peer)" = ok ]
	err0=$(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors)
	rx0=$(stat_of "$XV_NSB" "$XV_DEVB" rx_queue_0_xdp_packets)
	xv_send 7003 20
	sleep 0.3
	[ "$(( $(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors) - err0 ))" -eq 0 ]
	# 20 sent by B pass A's program, 20 reflected ones arrive at B's
	[ "$(( $(stat_of "$XV_NSB" "$XV_DEVB" rx_queue_0_xdp_packets) - rx0 ))" -eq 20 ]
}

@test "[kernel] check: veth peer with GRO but no XDP: warned; the kernel queues the frames (no tx errors) but does not wake the peer" {
	xv_setup ck
	ip -n "$XV_NSB" link set dev "$XV_DEVB" xdp off
	ip netns exec "$XV_NSB" ethtool -K "$XV_DEVB" gro on
	check_json "$XV_DEVA"
	[ "$status" -eq 0 ]
	[ "$(field .ready)" = 1 ]
	[ "$(finding veth_peer)" = warn ]
	[ "$(field .warnings)" -ge 1 ]
	local err0 in0
	err0=$(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors)
	in0=$(ip netns exec "$XV_NSB" awk '/^Ip:/ && $2 ~ /^[0-9]/ { print $4 }' /proc/net/snmp)
	xv_send 7003 20
	sleep 0.5
	[ "$(( $(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors) - err0 ))" -eq 0 ]
	# nothing reached B's IP layer: the frames wait in B's ring
	[ "$(( $(ip netns exec "$XV_NSB" awk '/^Ip:/ && $2 ~ /^[0-9]/ { print $4 }' /proc/net/snmp) - in0 ))" -eq 0 ]
}

@test "[kernel] check: veth MTU limit: the prediction matches real attach attempts on both sides of it" {
	xv_setup ck
	ip -n "$XV_NSA" link set dev "$XV_DEVA" xdp off
	check_json "$XV_DEVA"
	[ "$(finding mtu)" = ok ]
	local lim
	lim=$(jq -r '.findings[] | select(.check == "mtu") | .message' <<<"$out" | grep -o '<= [0-9]*' | cut -c4-)
	[ -n "$lim" ] && [ "$lim" -gt 1500 ]
	# one byte above: predicted refused, and refused for real
	ip -n "$XV_NSB" link set dev "$XV_DEVB" mtu $((lim + 1))
	check_json "$XV_DEVA"
	[ "$status" -eq 8 ]
	[ "$(finding mtu)" = fail ]
	jq -e '.findings[] | select(.check == "mtu") | .fix | test("xdp.frags")' <<<"$out"
	run ip -n "$XV_NSA" link set dev "$XV_DEVA" xdpdrv obj "$XV_PASS" sec xdp
	[ "$status" -ne 0 ]
	[[ "$output" == *"MTU"* ]]
	# at the limit: predicted fine, and attached for real
	ip -n "$XV_NSB" link set dev "$XV_DEVB" mtu "$lim"
	check_json "$XV_DEVA"
	[ "$(finding mtu)" = ok ]
	ip -n "$XV_NSA" link set dev "$XV_DEVA" xdpdrv obj "$XV_PASS" sec xdp
	ip -n "$XV_NSA" -j -d link show dev "$XV_DEVA" | jq -e '.[0].xdp.mode == 1'
}

@test "[kernel] check: generic mode on a driver with native XDP is flagged" {
	xv_setup ck xdpgeneric
	ip -n "$XV_NSA" -j -d link show dev "$XV_DEVA" | jq -e '.[0].xdp.mode == 2' # ip says generic (skb)
	check_json "$XV_DEVA"
	[ "$(field .mode)" = generic ]
	[ "$(finding mode)" = warn ]
	jq -e '.findings[] | select(.check == "mode") | .fix | test("xdpdrv")' <<<"$out"
	[ "$(finding support)" = ok ]
}

@test "check: table has one line per finding, with its fix; bad use is refused" {
	xv_setup ck
	run "$B/xdpverdict" --check -N "$XV_NSA" -I "$XV_DEVA"
	[ "$status" -eq 0 ]
	[[ "$output" == *"CHECK"*"STATUS"*"MESSAGE"*"FIX"* ]]
	[ "$(grep -c "^$XV_NSA  *$XV_DEVA  *\(support\|mode\|veth_peer\|veth_queues\|mtu\) " <<<"$output")" -eq 5 ]
	run "$B/xdpverdict" --check=nosuchif0 -N "$XV_NSA"
	[ "$status" -eq 5 ]
	run "$B/xdpverdict" --check "$XV_DEVA" -e
	[ "$status" -eq 2 ]
	run "$B/xdpverdict" --check "$XV_DEVA" -I other
	[ "$status" -eq 2 ]
}
