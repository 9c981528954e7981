# Scenario helpers for fibstat's tests, bench and demo: a client namespace,
# a router namespace with a 4-way ECMP route (IPv4 and IPv6) and four sink
# namespaces, one behind each nexthop.  Source after setting ROOT and B
# (build directory); needs build/tests/udpflows (tests/lib/udpflows.c).
#
#   client C  c0 10.1.0.2/24 2001:db8:100::2/64  (not 2001:db8:1::/64: that is sink 1's link)
#        |
#   router R  r0 10.1.0.1/24 2001:db8:100::1/64
#             rK 10.0.K.1/24 2001:db8:K::1/64          (K = 1..4)
#             10.99.0.0/24      nexthop via 10.0.K.2 dev rK weight 1 (x4)
#             2001:db8:99::/64  nexthop via 2001:db8:K::2 dev rK weight 1 (x4)
#        |
#   sink SK   s0 10.0.K.2/24 2001:db8:K::2/64, lo 10.99.0.1/32 2001:db8:99::1/128,
#             default routes back via R
#
# Every neighbour is static (fixed MAC addresses), DAD is off, rp_filter off,
# forwarding on in R, and C sends IPv6 without automatic flow labels (the L3
# hash of IPv6 includes the flow label), so nothing is lost to neighbour
# resolution and the hash inputs are exactly what the test chooses.
#
#   fib_setup [TAG]           build it (names bsfib-TAG-{c,r,s1..s4}; TAG default $$-TESTNUMBER)
#   fib_teardown              remove every namespace and process fib_setup and the helpers made
#   fib_policy 4|6 N          net.ipv{4,6}.fib_multipath_hash_policy=N in R
#   fib_weights W1 W2 W3 W4   re-create both multipath routes with these nexthop weights
#   fib_send ARGS...          udpflows send ARGS... in C (prints its JSON line)
#   fib_send_flows 4|6 FLOWS PACKETS [SIZE [ARGS...]]
#                             FLOWS flows C -> 10.99.0.1:5001 / [2001:db8:99::1]:5001,
#                             source ports FIB_SPORT.. (prints the JSON line)
#   fib_sinks_start 4|6       a sink on 10.99.0.1:5001 (or [2001:db8:99::1]:5001) in every SK
#   fib_sinks_wait N          wait until the sinks together received N datagrams (max ~20 s)
#   fib_sinks_stop            SIGTERM the sinks (they drain first); results in fib_sink K
#   fib_sink K                sink K's JSON line {"packets","bytes","flows","flow_list"}
#   fib_sinks_json            all four as one JSON array (index K-1)
#   fib_sink_of_flow SRC:PORT the K whose sink saw that flow (IPv6: [ADDR]:PORT), empty if none
#   fib_tool_start OUT CMD... start CMD in the background (stdout OUT, stderr OUT.err) and
#                             return once it printed its first line (pid in FIB_TOOL_PID)
#   fib_tool_next OUT [N]     wait until OUT has N (default 2) more lines
#   fib_tool_stop [PID]       SIGINT the tool (default the last started), wait, return its status
#
# After fib_setup: FIB_C, FIB_R, FIB_S (array of the four sink namespaces),
# FIB_TMP (scratch directory, removed by fib_teardown).  Addresses: FIB_SRC4/6 (C),
# FIB_RTR4/6 (R on the client link), FIB_DST4/6 (every sink), FIB_ROUTE4/6 (the ECMP routes).

FIB_UDPFLOWS="$B/tests/udpflows"
FIB_DPORT=5001
FIB_SPORT=40000
FIB_DST4=10.99.0.1
FIB_DST6=2001:db8:99::1
FIB_SRC4=10.1.0.2
FIB_SRC6=2001:db8:100::2
FIB_RTR4=10.1.0.1         # R on the client link (source of R's own sends)
FIB_RTR6=2001:db8:100::1
FIB_ROUTE4=10.99.0.0/24
FIB_ROUTE6=2001:db8:99::/64
FIB_C='' FIB_R='' FIB_TMP='' FIB_TOOL_PID=''
FIB_S=()
FIB_SINK_PIDS=()
FIB_TOOL_PIDS=()
FIB_SINK_FAMILY=4
FIB_SINK_BASE=0

_fib_mac() { # K SIDE: K 0 = client link, 1..4 = sink links; SIDE 1 = router end, 2 = far end
	printf '02:00:00:00:%02x:%02x' "$1" "$2"
}

fib_setup() {
	local tag=${1:-$$-${BATS_TEST_NUMBER:-0}} ns k r
	FIB_C=bsfib-$tag-c FIB_R=bsfib-$tag-r
	FIB_S=("bsfib-$tag-s1" "bsfib-$tag-s2" "bsfib-$tag-s3" "bsfib-$tag-s4")
	FIB_TMP=$(mktemp -d /tmp/bsfib.XXXXXX) || return 1
	# one `ip -batch` per namespace: process starts are what this costs in the emulated guest
	for ns in "$FIB_C" "$FIB_R" "${FIB_S[@]}"; do
		echo "netns add $ns"
	done | ip -batch - || return 1
	for ns in "$FIB_C" "$FIB_R" "${FIB_S[@]}"; do
		r=(net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
			net.ipv6.conf.default.router_solicitations=0)
		[ "$ns" = "$FIB_C" ] && r+=(net.ipv6.auto_flowlabels=0)
		[ "$ns" = "$FIB_R" ] && r+=(net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1)
		ip netns exec "$ns" sysctl -qw "${r[@]}" || return 1
	done

	# R: the links (peers created straight in C and SK), addresses, static neighbours
	{
		echo "link set lo up"
		echo "link add r0 address $(_fib_mac 0 1) type veth peer name c0 address $(_fib_mac 0 2) netns $FIB_C"
		echo "addr add 10.1.0.1/24 dev r0"
		echo "addr add 2001:db8:100::1/64 dev r0 nodad"
		echo "link set r0 up"
		echo "neigh replace 10.1.0.2 lladdr $(_fib_mac 0 2) dev r0 nud permanent"
		echo "neigh replace 2001:db8:100::2 lladdr $(_fib_mac 0 2) dev r0 nud permanent"
		for k in 1 2 3 4; do
			echo "link add r$k address $(_fib_mac "$k" 1) type veth peer name s0 address $(_fib_mac "$k" 2) netns ${FIB_S[$((k - 1))]}"
			echo "addr add 10.0.$k.1/24 dev r$k"
			echo "addr add 2001:db8:$k::1/64 dev r$k nodad"
			echo "link set r$k up"
			echo "neigh replace 10.0.$k.2 lladdr $(_fib_mac "$k" 2) dev r$k nud permanent"
			echo "neigh replace 2001:db8:$k::2 lladdr $(_fib_mac "$k" 2) dev r$k nud permanent"
		done
	} | ip -n "$FIB_R" -batch - || return 1

	# C: default routes via R
	ip -n "$FIB_C" -batch - <<-EOF || return 1
		link set lo up
		addr add 10.1.0.2/24 dev c0
		addr add 2001:db8:100::2/64 dev c0 nodad
		link set c0 up
		neigh replace 10.1.0.1 lladdr $(_fib_mac 0 1) dev c0 nud permanent
		neigh replace 2001:db8:100::1 lladdr $(_fib_mac 0 1) dev c0 nud permanent
		route add default via 10.1.0.1 dev c0
		route add ::/0 via 2001:db8:100::1 dev c0
	EOF

	# SK: the destination on lo, default routes back via R
	for k in 1 2 3 4; do
		ip -n "${FIB_S[$((k - 1))]}" -batch - <<-EOF || return 1
			link set lo up
			addr add 10.0.$k.2/24 dev s0
			addr add 2001:db8:$k::2/64 dev s0 nodad
			addr add $FIB_DST4/32 dev lo
			addr add $FIB_DST6/128 dev lo nodad
			link set s0 up
			neigh replace 10.0.$k.1 lladdr $(_fib_mac "$k" 1) dev s0 nud permanent
			neigh replace 2001:db8:$k::1 lladdr $(_fib_mac "$k" 1) dev s0 nud permanent
			route add default via 10.0.$k.1 dev s0
			route add ::/0 via 2001:db8:$k::1 dev s0
		EOF
	done
	fib_weights 1 1 1 1
}

fib_teardown() {
	local ns pid
	for pid in "${FIB_TOOL_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	FIB_TOOL_PIDS=() FIB_TOOL_PID=
	for pid in "${FIB_SINK_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	FIB_SINK_PIDS=()
	for ns in "${FIB_C:-}" "${FIB_R:-}" "${FIB_S[@]}"; do
		[ -n "$ns" ] || continue
		[ -e "/run/netns/$ns" ] || continue
		# anything still running inside our own namespaces was started by these helpers
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${FIB_TMP:-}" ] && rm -rf "$FIB_TMP"
	FIB_TMP=
	return 0
}

fib_policy() { # 4|6 N
	ip netns exec "$FIB_R" sysctl -qw "net.ipv$1.fib_multipath_hash_policy=$2"
}

fib_weights() { # W1 W2 W3 W4
	local k nh4="" nh6=""
	for k in 1 2 3 4; do
		nh4+=" nexthop via 10.0.$k.2 dev r$k weight ${!k}"
		nh6+=" nexthop via 2001:db8:$k::2 dev r$k weight ${!k}"
	done
	ip -n "$FIB_R" -force -batch - <<-EOF 2>/dev/null
		route del $FIB_ROUTE4
		route del $FIB_ROUTE6
	EOF
	ip -n "$FIB_R" -batch - <<-EOF
		route add $FIB_ROUTE4$nh4
		route add $FIB_ROUTE6$nh6
	EOF
}

fib_send() {
	ip netns exec "$FIB_C" "$FIB_UDPFLOWS" send "$@"
}

fib_send_flows() { # 4|6 FLOWS PACKETS [SIZE [ARGS...]]
	local fam=$1 flows=$2 packets=$3 size=${4:-64} src dst
	shift 3
	[ $# -gt 0 ] && shift
	if [ "$fam" = 6 ]; then src=$FIB_SRC6 dst=$FIB_DST6; else src=$FIB_SRC4 dst=$FIB_DST4; fi
	fib_send --src "$src" --dst "$dst" --dport "$FIB_DPORT" --sport-base "$FIB_SPORT" \
		--flows "$flows" --packets "$packets" --size "$size" "$@"
}

# UDP datagrams delivered to sockets in sink K's namespace since it was made.
_fib_udp_in() { # K
	local ns=${FIB_S[$(($1 - 1))]}
	if [ "$FIB_SINK_FAMILY" = 6 ]; then
		ip netns exec "$ns" awk '$1 == "Udp6InDatagrams" {print $2}' /proc/net/snmp6
	else
		ip netns exec "$ns" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ {print $2}' /proc/net/snmp
	fi
}

_fib_udp_in_all() {
	local k sum=0
	for k in 1 2 3 4; do
		sum=$((sum + $(_fib_udp_in "$k")))
	done
	echo "$sum"
}

fib_sinks_start() { # 4|6 [extra sink args...]
	local fam=$1 k ns addr i
	shift
	FIB_SINK_FAMILY=$fam
	if [ "$fam" = 6 ]; then addr=$FIB_DST6; else addr=$FIB_DST4; fi
	FIB_SINK_PIDS=()
	for k in 1 2 3 4; do
		ns=${FIB_S[$((k - 1))]}
		rm -f "$FIB_TMP/ready$k" "$FIB_TMP/sink$k.json"
		ip netns exec "$ns" "$FIB_UDPFLOWS" sink --bind "$addr" --port "$FIB_DPORT" \
			--ready "$FIB_TMP/ready$k" "$@" >"$FIB_TMP/sink$k.json" 2>"$FIB_TMP/sink$k.err" &
		FIB_SINK_PIDS+=($!)
	done
	for k in 1 2 3 4; do
		for ((i = 0; i < 200; i++)); do
			[ -e "$FIB_TMP/ready$k" ] && break
			sleep 0.05
		done
		[ -e "$FIB_TMP/ready$k" ] || { echo "sink $k did not start: $(cat "$FIB_TMP/sink$k.err")" >&2; return 1; }
	done
	FIB_SINK_BASE=$(_fib_udp_in_all)
}

fib_sinks_wait() { # N: until the sinks' sockets together received N datagrams (or ~20 s)
	local want=$1 got i max=200
	in_vm 2>/dev/null && max=600
	for ((i = 0; i < max; i++)); do
		got=$(($(_fib_udp_in_all) - FIB_SINK_BASE))
		[ "$got" -ge "$want" ] && return 0
		sleep 0.1
	done
	echo "sinks received $got datagrams, expected $want" >&2
	return 1
}

fib_sinks_stop() {
	local pid
	for pid in "${FIB_SINK_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${FIB_SINK_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	FIB_SINK_PIDS=()
}

fib_sink() { # K
	cat "$FIB_TMP/sink$1.json"
}

fib_sinks_json() {
	cat "$FIB_TMP/sink1.json" "$FIB_TMP/sink2.json" "$FIB_TMP/sink3.json" "$FIB_TMP/sink4.json" | jq -sc .
}

fib_sink_of_flow() { # SRC:PORT
	local k
	for k in 1 2 3 4; do
		jq -e --arg f "$1" 'any(.flow_list[]; . == $f)' "$FIB_TMP/sink$k.json" >/dev/null && { echo "$k"; return 0; }
	done
	return 0
}

fib_tool_start() { # OUT CMD...
	local out=$1 i
	shift
	rm -f "$out" "$out.err"
	"$@" >"$out" 2>"$out.err" &
	FIB_TOOL_PID=$!
	FIB_TOOL_PIDS+=("$FIB_TOOL_PID")
	for ((i = 0; i < 1200; i++)); do
		[ -s "$out" ] && return 0
		kill -0 "$FIB_TOOL_PID" 2>/dev/null || { cat "$out.err" >&2; return 1; }
		sleep 0.1
	done
	echo "$* printed nothing in 120 s" >&2
	return 1
}

# Wait until OUT has N (default 2) more lines than now: snapshots that
# began after everything before this call had happened.
fib_tool_next() { # OUT [N]
	local out=$1 want i
	want=$(($(grep -c . "$out") + ${2:-2}))
	for ((i = 0; i < 600; i++)); do
		[ "$(grep -c . "$out")" -ge "$want" ] && return 0
		sleep 0.1
	done
	echo "$out did not grow to $want lines in 60 s" >&2
	return 1
}

fib_tool_stop() { # [PID] (default: the last one started); returns its exit status
	local pid=${1:-$FIB_TOOL_PID} rc p keep=()
	[ -n "$pid" ] || return 1
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	for p in "${FIB_TOOL_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	FIB_TOOL_PIDS=("${keep[@]}")
	[ "$pid" = "$FIB_TOOL_PID" ] && FIB_TOOL_PID=
	return $rc
}
