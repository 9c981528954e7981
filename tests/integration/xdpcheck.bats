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
ip_in() { # NS: IP datagrams received there (InReceives)
	ip netns exec "$1" awk '/^Ip:/ && $2 ~ /^[0-9]/ { print $4 }' /proc/net/snmp
}
# A light veth pair, both ends in one namespace: XV_NSA, XV_DEVA (A) and XV_DEVB (its peer).
pair_setup() {
	XV_NSA=xcp$$ XV_NSB=xcp$$ XV_DEVA=xcpa XV_DEVB=xcpb
	ip netns add "$XV_NSA"
	ip -n "$XV_NSA" link add "$XV_DEVA" type veth peer name "$XV_DEVB"
	ip -n "$XV_NSA" link set "$XV_DEVA" up
	ip -n "$XV_NSA" link set "$XV_DEVB" up
}
stat_of() { # NS DEV NAME: one ethtool counter
	ip netns exec "$1" ethtool -S "$2" | awk -v n="$3:" '$1 == n { print $2 }'
}

@test "xdpverdict [kernel 6.1]: --check: veth peer rule: no XDP nor GRO on the peer drops XDP_TX (exit 8); GRO alone queues it undelivered (warn); XDP on the peer delivers it (exit 0)" {
	xv_setup ck
	ip -n "$XV_NSB" link set dev "$XV_DEVB" xdp off
	ip netns exec "$XV_NSB" ethtool -K "$XV_DEVB" gro off
	check_json "$XV_DEVA"
	[ "$status" -eq 8 ]
	[ "$(field .ready)" = 0 ]
	[ "$(field .mode)" = native ]
	[ "$(field .driver)" = veth ]
	[ "$(finding veth_peer)" = fail ]
	jq -e '.findings[] | select(.check == "veth_peer") | .fix | test("xdpdrv")' <<<"$out"
	# the truth: the program returns XDP_TX for every packet, the kernel drops every one
	local tx0 err0 rx0
	tx0=$(xv_count 3) err0=$(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors)
	xv_send 7003 20
	sleep 0.3
	[ "$(( $(xv_count 3) - tx0 ))" -eq 20 ]
	[ "$(( $(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors) - err0 ))" -eq 20 ]

	# GRO alone: warned; the kernel queues the frames (no tx errors) but nothing reaches B's IP layer
	ip netns exec "$XV_NSB" ethtool -K "$XV_DEVB" gro on
	check_json "$XV_DEVA"
	[ "$status" -eq 0 ]
	[ "$(field .ready)" = 1 ]
	[ "$(finding veth_peer)" = warn ]
	[ "$(field .warnings)" -ge 1 ]
	local in0
	err0=$(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors)
	in0=$(ip_in "$XV_NSB")
	xv_send 7003 20
	sleep 0.5
	[ "$(( $(stat_of "$XV_NSA" "$XV_DEVA" rx_queue_0_xdp_tx_errors) - err0 ))" -eq 0 ]
	[ "$(( $(ip_in "$XV_NSB") - in0 ))" -eq 0 ]

	# an XDP program on the peer: predicted ready, and B's program sees every reflected frame (GRO off
	# first: that frees B's ring with the frames still waiting in it)
	ip netns exec "$XV_NSB" ethtool -K "$XV_DEVB" gro off
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

@test "xdpverdict [kernel 6.1]: --check: veth MTU limit: the prediction matches real attach attempts on both sides of it" {
	pair_setup
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

@test "xdpverdict [kernel]: --check: generic mode on a driver with native XDP is flagged" {
	pair_setup
	ip -n "$XV_NSA" link set dev "$XV_DEVA" xdpgeneric obj "$XV_PASS" sec xdp
	ip -n "$XV_NSA" -j -d link show dev "$XV_DEVA" | jq -e '.[0].xdp.mode == 2' # ip says generic (skb)
	check_json "$XV_DEVA"
	[ "$(field .mode)" = generic ]
	[ "$(finding mode)" = warn ]
	jq -e '.findings[] | select(.check == "mode") | .fix | test("xdpdrv")' <<<"$out"
	[ "$(finding support)" = ok ]
}

@test "check: table has one line per finding, with its fix; bad use is refused" {
	pair_setup
	run "$B/xdpverdict" --check -N "$XV_NSA" -I "$XV_DEVA"
	[ "$status" -eq 8 ] # the peer has neither XDP nor GRO
	[[ "$output" == *" veth_peer "*" fail "*"xdpdrv"* ]]
	[[ "$output" == *"CHECK"*"STATUS"*"MESSAGE"*"FIX"* ]]
	[ "$(grep -c "^$XV_NSA  *$XV_DEVA  *\(support\|mode\|veth_peer\|veth_queues\|mtu\) " <<<"$output")" -eq 5 ]
	run "$B/xdpverdict" --check=nosuchif0 -N "$XV_NSA"
	[ "$status" -eq 5 ]
	run "$B/xdpverdict" --check "$XV_DEVA" -e
	[ "$status" -eq 2 ]
	run "$B/xdpverdict" --check "$XV_DEVA" -I other
	[ "$status" -eq 2 ]
}

# ---- virtio-net (guests) ---------------------------------------------------
# tests/run.sh gives each guest of a [kernel] run these NICs (tests/vm/run.sh
# --nic; the MACs here and there must agree):
#   52:54:00:b5:0c:01  tap with a vnet header, ctrl_guest_offloads=off: guest
#                      offloads negotiated, the driver cannot turn them off
#   52:54:00:b5:0c:02  tap, guest_tso4/tso6/ecn/ufo/csum=off: nothing to refuse
#   52:54:00:b5:0c:03  tap, QEMU's defaults (ctrl_guest_offloads on)
#   52:54:00:b5:0c:04  hub 0, receives: the XDP fixture counts here
#   52:54:00:b5:0c:05  hub 0, sends (moved into a namespace of its own)

vnic() { # MAC: the guest's interface with that MAC, or skip
	local mac=$1 d
	modprobe virtio_net 2>/dev/null || true
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address" 2>/dev/null)" = "$mac" ] && { basename "$d"; return 0; }
	done
	return 1
}
need_vnic() { # MAC: sets $dev
	dev=$(vnic "$1") && return 0
	if [ -n "${BPFSCOPE_VM_NIC_ERROR:-}" ]; then
		skip "no virtio-net NIC $1: $BPFSCOPE_VM_NIC_ERROR"
	fi
	skip "no virtio-net NIC $1 (a guest of tests/run.sh gets it; see tests/vm/run.sh --nic)"
}
vcheck_json() { # DEV
	run "$B/xdpverdict" --check "$1" -o json
	out=$output
}
vfinding() { # CHECK
	jq -r --arg c "$1" '.findings[] | select(.check == $c) | .status' <<<"$out"
}

@test "xdpverdict [kernel]: --check: virtio-net with guest offloads and no ctrl_guest_offloads: refusal predicted (exit 8) and real" {
	need_vnic 52:54:00:b5:0c:01
	vcheck_json "$dev"
	echo "$out" >&2
	[ "$status" -eq 8 ]
	jq -e '.check[0].ready == 0 and .check[0].driver == "virtio_net"' <<<"$out"
	[ "$(vfinding virtio_offloads)" = fail ]
	jq -e '.findings[] | select(.check == "virtio_offloads") | .fix | test("guest_tso4=off")' <<<"$out"
	run ip link set dev "$dev" xdpdrv obj "$XV_PASS" sec xdp
	echo "$output" >&2
	[ "$status" -ne 0 ]
	[[ "$output" == *"GRO_HW"* ]]
}

@test "xdpverdict [kernel]: --check: virtio-net with the guest offloads off: ready predicted (exit 0) and attached; MTU limit matches real attaches; queue pairs warned as dmesg says" {
	need_vnic 52:54:00:b5:0c:02
	ip link set dev "$dev" xdp off 2>/dev/null || true
	vcheck_json "$dev"
	echo "$out" >&2
	[ "$status" -eq 0 ]
	jq -e '.check[0].ready == 1' <<<"$out"
	[ "$(vfinding virtio_offloads)" = ok ]
	[ "$(vfinding virtio_queues)" = warn ]
	local lim
	lim=$(jq -r '.findings[] | select(.check == "mtu") | .message' <<<"$out" | grep -o '<= [0-9]*' | cut -c4-)
	[ -n "$lim" ]
	dmesg -c >/dev/null
	ip link set dev "$dev" xdpdrv obj "$XV_PASS" sec xdp
	vcheck_json "$dev"
	[ "$(jq -r '.check[0].mode' <<<"$out")" = native ]
	# the kernel's own word on the queues (printed at the first attach of the boot that reaches it):
	# queue pairs in use + possible CPUs, against the maximum
	local max cur ncpu
	max=$(ethtool -l "$dev" | awk '/^Combined:/ { print $2; exit }')
	cur=$(ethtool -l "$dev" | awk '/^Combined:/ { n++; if (n == 2) print $2 }')
	ncpu=$(awk -F- '{ print ($2 == "" ? 1 : $2 + 1) }' /sys/devices/system/cpu/possible)
	dmesg | grep "XDP request" >&2 || true
	dmesg | grep -q "XDP request $((cur + ncpu)) queues but max is $max"
	ip link set dev "$dev" xdp off
	# one byte above the limit: predicted refused, and refused
	ip link set dev "$dev" mtu $((lim + 1))
	vcheck_json "$dev"
	[ "$status" -eq 8 ]
	[ "$(vfinding mtu)" = fail ]
	run ip link set dev "$dev" xdpdrv obj "$XV_PASS" sec xdp
	echo "$output" >&2
	[ "$status" -ne 0 ]
	[[ "$output" == *"MTU"* ]]
	# at the limit: predicted fine, and attached
	ip link set dev "$dev" mtu "$lim"
	vcheck_json "$dev"
	[ "$(vfinding mtu)" = ok ]
	ip link set dev "$dev" xdpdrv obj "$XV_PASS" sec xdp
	ip link set dev "$dev" xdp off
	ip link set dev "$dev" mtu 1500
}

@test "xdpverdict [kernel]: --check: virtio-net with QEMU's defaults (ctrl_guest_offloads): predicted ready, and attached" {
	need_vnic 52:54:00:b5:0c:03
	vcheck_json "$dev"
	echo "$out" >&2
	[ "$(vfinding virtio_offloads)" = ok ]
	[ "$status" -eq 0 ]
	ip link set dev "$dev" xdpdrv obj "$XV_PASS" sec xdp
	ip link set dev "$dev" xdp off
}

@test "xdpverdict [kernel]: --check: virtio-net ready (hub backend): xdpverdict counts the attached program's verdicts exactly" {
	need_vnic 52:54:00:b5:0c:04
	local rx=$dev tx
	need_vnic 52:54:00:b5:0c:05
	tx=$dev
	vcheck_json "$rx"
	echo "$out" >&2
	[ "$status" -eq 0 ]
	[ "$(vfinding virtio_offloads)" = ok ]
	XV_NSB=xcvs$$
	ip netns add "$XV_NSB"
	ip link set dev "$tx" netns "$XV_NSB"
	ip netns exec "$XV_NSB" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	sysctl -qw net.ipv6.conf."$rx".disable_ipv6=1
	local txmac rxmac
	txmac=$(ip -n "$XV_NSB" -j link show dev "$tx" | jq -r '.[0].address')
	rxmac=$(cat /sys/class/net/"$rx"/address)
	ip addr add 10.88.0.1/24 dev "$rx"
	ip link set dev "$rx" arp off up
	ip -n "$XV_NSB" addr add 10.88.0.2/24 dev "$tx"
	ip -n "$XV_NSB" link set dev "$tx" arp off up
	ip -n "$XV_NSB" neigh replace 10.88.0.1 lladdr "$rxmac" dev "$tx" nud permanent
	ip link set dev "$rx" xdpdrv obj "$XV_FIXTURE" sec xdp
	XV_NSA= XV_DEVA=$rx
	XV_PROG=$(ip -j -d link show dev "$rx" | jq -r '.[0].xdp.prog.id')
	local id
	for id in $(bpftool prog show id "$XV_PROG" -j | jq -r '.map_ids[]'); do
		[ "$(bpftool map show id "$id" -j | jq -r .name)" = fx_verdicts ] && XV_VERDICTS=$id
	done
	out=$(mktemp /tmp/bs-xdpcheck.XXXXXX)
	"$B/xdpverdict" -I "$rx" -o json -i 0.5 >"$out" 2>"$out.err" &
	local pid=$! i
	for ((i = 0; i < 600; i++)); do [ -s "$out" ] && break; sleep 0.1; done
	ip netns exec "$XV_NSB" "$XV_SEND" 10.88.0.1 7001 30
	ip netns exec "$XV_NSB" "$XV_SEND" 10.88.0.1 7002 20
	for ((i = 0; i < 100; i++)); do
		[ "$(xv_count 1)" -ge 30 ] && [ "$(xv_count 2)" -ge 20 ] && break
		sleep 0.1
	done
	sleep 1.5
	kill -INT "$pid"
	wait "$pid"
	local row
	row=$(tail -1 "$out" | jq -c --argjson p "$XV_PROG" '.interfaces[] | select(.prog_id == $p and .queue == null)')
	echo "row: $row; fixture: $(xv_count 1) drop, $(xv_count 2) pass" >&2
	[ "$(xv_count 1)" -eq 30 ]
	jq -e --argjson d "$(xv_count 1)" --argjson p "$(xv_count 2)" '.drop == $d and .pass == $p' <<<"$row"
	ip link set dev "$rx" xdp off
	ip addr del 10.88.0.1/24 dev "$rx"
	ip netns del "$XV_NSB"
	rm -f "$out" "$out.err"
}
