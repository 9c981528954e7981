# Scenario helpers for xdpverdict's tests, bench and demo: two network
# namespaces joined by a veth pair, the fixture XDP program on one end and an
# XDP_PASS program on the other, no stray traffic (IPv6 off, static
# neighbours).  Source after setting ROOT and B (build directory).
#
#   xv_setup TAG [MODE]     MODE: xdpdrv (default) or xdpgeneric
#   xv_teardown             removes everything xv_setup made
#
# After xv_setup: XV_NSA / XV_NSB (netns names), XV_DEVA (fixture side,
# 10.$XV_NET.1) and XV_DEVB (peer, 10.$XV_NET.2), XV_PROG (fixture prog id),
# XV_VERDICTS / XV_DEVMAP (fixture map ids).

XV_FIXTURE="$B/fixtures/xdpverdict_fixture.bpf.o"
XV_PASS="$B/fixtures/xdpverdict_pass.bpf.o"
XV_SEND="$B/tests/xdpverdict_send"
XV_COUNTS="$B/tests/xdpverdict_counts"

xv_setup() {
	local tag=$1 mode=${2:-xdpdrv} n
	XV_NSA="xva$tag" XV_NSB="xvb$tag" XV_DEVA="xva$tag" XV_DEVB="xvb$tag"
	n=$(( ($$ + ${BATS_TEST_NUMBER:-0}) % 200 + 20 ))
	XV_NET="77.$n"
	XV_IPA="10.$XV_NET.1" XV_IPB="10.$XV_NET.2"
	ip netns add "$XV_NSA" || return 1
	ip netns add "$XV_NSB" || return 1
	for ns in "$XV_NSA" "$XV_NSB"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || return 1
		ip -n "$ns" link set lo up
	done
	ip link add "$XV_DEVA" netns "$XV_NSA" type veth peer name "$XV_DEVB" netns "$XV_NSB" || return 1
	ip -n "$XV_NSA" link set "$XV_DEVA" address 02:00:00:00:00:01
	ip -n "$XV_NSB" link set "$XV_DEVB" address 02:00:00:00:00:02
	ip -n "$XV_NSA" addr add "$XV_IPA/24" dev "$XV_DEVA"
	ip -n "$XV_NSB" addr add "$XV_IPB/24" dev "$XV_DEVB"
	ip -n "$XV_NSA" link set "$XV_DEVA" arp off up
	ip -n "$XV_NSB" link set "$XV_DEVB" arp off up
	ip -n "$XV_NSA" neigh replace "$XV_IPB" lladdr 02:00:00:00:00:02 dev "$XV_DEVA" nud permanent
	ip -n "$XV_NSB" neigh replace "$XV_IPA" lladdr 02:00:00:00:00:01 dev "$XV_DEVB" nud permanent
	ip -n "$XV_NSB" link set dev "$XV_DEVB" xdpdrv obj "$XV_PASS" sec xdp || return 1
	xv_attach "$mode"
}

# (Re)attach the fixture to XV_DEVA in MODE (xdpdrv or xdpgeneric).
xv_attach() {
	ip -n "$XV_NSA" link set dev "$XV_DEVA" xdp off 2>/dev/null
	ip -n "$XV_NSA" link set dev "$XV_DEVA" "$1" obj "$XV_FIXTURE" sec xdp || return 1
	XV_PROG=$(ip -n "$XV_NSA" -j -d link show dev "$XV_DEVA" | jq -r '.[0].xdp.prog.id // .[0].xdp.attached[0].prog.id')
	[ -n "$XV_PROG" ] && [ "$XV_PROG" != null ] || return 1
	XV_VERDICTS= XV_DEVMAP=
	local id
	for id in $(bpftool prog show id "$XV_PROG" -j | jq -r '.map_ids[]'); do
		case $(bpftool map show id "$id" -j | jq -r .name) in
		fx_verdicts) XV_VERDICTS=$id ;;
		fx_devmap) XV_DEVMAP=$id ;;
		esac
	done
	[ -n "$XV_VERDICTS" ] && [ -n "$XV_DEVMAP" ] || return 1
	# devmap slot 0: back out of XV_DEVA itself (to the peer); slot 1 stays empty.
	local ifx
	ifx=$(ip -n "$XV_NSA" -j link show dev "$XV_DEVA" | jq -r '.[0].ifindex')
	ip netns exec "$XV_NSA" bpftool map update id "$XV_DEVMAP" key 0 0 0 0 \
		value $((ifx & 255)) $((ifx >> 8 & 255)) 0 0 || return 1
}

xv_teardown() {
	[ -n "${XV_NSA:-}" ] && ip netns del "$XV_NSA" 2>/dev/null
	[ -n "${XV_NSB:-}" ] && ip netns del "$XV_NSB" 2>/dev/null
	return 0
}

# The fixture's own count for verdict slot S (0..4 = action, 5 = empty-slot redirects).
xv_count() {
	"$B/tests/xdpverdict_counts" "$XV_VERDICTS" | jq ".[$1]"
}

# Send N packets to UDP port P from the peer namespace.
xv_send() {
	ip netns exec "$XV_NSB" "$XV_SEND" "$XV_IPA" "$1" "$2" "${3:-200}"
}

# Wait (up to ~30 s) until the fixture's slot S reaches N.
xv_wait_count() {
	local s=$1 want=$2 i
	for ((i = 0; i < 300; i++)); do
		[ "$(xv_count "$s")" -ge "$want" ] && return 0
		sleep 0.1
	done
	echo "fixture slot $s stayed at $(xv_count "$s"), expected $want" >&2
	return 1
}

# All fixture slots at once, as a JSON array [aborted, drop, pass, tx, redirect, empty_slot_redirects].
xv_counts() {
	"$B/tests/xdpverdict_counts" "$XV_VERDICTS"
}

# The standard traffic: per port 7000..7005, a distinct number of packets.
XV_SENT=(3 4 5 6 7 2)
xv_send_mix() {
	local p
	for p in 0 1 2 3 4 5; do
		xv_send $((7000 + p)) "${XV_SENT[$p]}" || return 1
	done
}
# Fixture counts that traffic must produce: [3,4,5,6,9,2]
XV_EXPECT='[3,4,5,6,9,2]'

# Start xdpverdict in the background writing to $1 (further args: options);
# returns once it printed its first output (it is attached and counting).
xv_tool_start() {
	local out=$1 i
	shift
	rm -f "$out" "$out.err"
	"$@" >"$out" 2>"$out.err" &
	XV_TOOL_PID=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$out" ] && return 0
		kill -0 "$XV_TOOL_PID" 2>/dev/null || { cat "$out.err" >&2; return 1; }
		sleep 0.1
	done
	echo "xdpverdict printed nothing in 60 s" >&2
	return 1
}

# Wait until the fixture counted everything sent, let the counters settle,
# then stop the tool with SIGINT (it prints a last snapshot).
xv_tool_stop() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(xv_counts)" = "$XV_EXPECT" ] && break
		sleep 0.2
	done
	sleep 0.5
	kill -INT "$XV_TOOL_PID" 2>/dev/null
	wait "$XV_TOOL_PID"
}
