# Scenario helpers for tcverdict's tests, bench and demo.  Source after
# setting ROOT and B (build directory).
#
#   netns A (TV_NSA)          netns B (TV_NSB)                  netns C (TV_NSC)
#   TV_DEVA 10.78.N.1 <-veth-> TV_DEVB 10.78.N.2, 10.79.N.2 (lo)
#                             TV_DEVR (no address)  <-veth->   TV_DEVC 10.78.N.2
#
# A sends, B receives.  TV_DEVB, TV_DEVR and TV_DEVC share one MAC address,
# so a packet for B redirected to TV_DEVR's ingress is still for this host,
# and one redirected out of TV_DEVR is TV_DEVC's.  No stray traffic: IPv6
# off, ARP off, static neighbours, reverse-path filtering off.
#
#   tv_setup TAG            namespaces, veths, addresses, the sinks (below)
#   tv_attach KIND [DIR [PROG [DEV [NS]]]]
#                           tests/lib/tcverdict_load: KIND cls_bpf or tcx,
#                           DIR ingress (default) or egress, PROG tcv_cls /
#                           tcv_tcx (the default for the kind) / tcv_egress,
#                           on DEV in NS (default TV_DEVB in TV_NSB), port
#                           9003 redirected out of TV_DEVR, 9006 into
#                           TV_DEVR's ingress.  Sets TV_PROG (prog id),
#                           TV_SEEN (the fixture's per-port map id), TV_LOADED
#                           (the loader's JSON line); status 4: no tcx here.
#   tv_lwt_route            the LWT route in A (10.79.N.0/24 encap bpf xmit,
#                           iproute2); sets TV_LWT_PROG, TV_LWT_SEEN, TV_LWT_ROUTE
#   tv_mirred               u32 filters on TV_DEVB ingress with act_mirred:
#                           9201 -> ingress redirect to TV_DEVR,
#                           9202 -> egress mirror to TV_DEVR
#   tv_teardown             removes everything (loaders stopped first)
#
# Ground truth: what A sent (TV_SENT), the sinks' counts (tests/lib/
# tcverdict_sink: per port in B and C, 9006 and 9201 bound to TV_DEVR so that
# they count only what arrived there), TV_DEVC's receive counter (ip -s),
# the fixture's own per-port counts, `tc -s actions`.

TV_OBJ="$B/fixtures/tcverdict_ports.bpf.o"
TV_LWT_OBJ="$B/fixtures/tcverdict_lwt.bpf.o"
TV_LOAD="$B/tests/tcverdict_load"
TV_SINK="$B/tests/tcverdict_sink"
TV_SEND="$B/tests/xdpverdict_send"
TV_UDPFLOWS="$B/tests/udpflows"

# Packets per port of the standard mix (distinct, so that a count that lands
# on the wrong verdict shows).
declare -gA TV_SENT=([9001]=11 [9002]=13 [9003]=7 [9004]=5 [9005]=3 [9006]=9 [9007]=4 [9008]=6 [9009]=2)
# The fixture's verdict per port (tests/fixtures/tcverdict_ports.bpf.c), in
# tcverdict's names; 9007 stands for "any other port".
declare -gA TV_VERDICT_CLS=([9001]=ok [9002]=shot [9003]=redirect [9004]=pipe [9005]=unspec [9006]=redirect
	[9007]=ok [9008]=other [9009]=stolen)
declare -gA TV_VERDICT_TCX=([9001]=ok [9002]=shot [9003]=redirect [9004]=unspec [9005]=unspec [9006]=redirect
	[9007]=ok [9008]=other [9009]=ok)
TV_VERDICTS="ok shot redirect unspec pipe reclassify stolen queued repeat trap reroute other"
# The sinks' sockets: in B every port whose packets the kernel passes up,
# 9006 / 9201 only on TV_DEVR; in C what leaves TV_DEVR.
TV_SINK_B_PORTS="9001 9004 9005 9007 9008 9009 9006@R 9101 9201@R 9202"
TV_SINK_C_PORTS="9003 9202"

tv_setup() {
	local tag=$1 n ns
	TV_NSA="tva$tag" TV_NSB="tvb$tag" TV_NSC="tvc$tag"
	TV_DEVA="tva$tag" TV_DEVB="tvb$tag" TV_DEVR="tvr$tag" TV_DEVC="tvc$tag"
	TV_PIDS=()
	TV_TMP=$(mktemp -d /tmp/bs-tcverdict.XXXXXX)
	n=$(( ($$ + ${BATS_TEST_NUMBER:-0}) % 200 + 20 ))
	TV_IPA="10.78.$n.1" TV_IPB="10.78.$n.2"
	TV_LWT_NET="10.79.$n.0/24" TV_LWT_DST="10.79.$n.2"
	for ns in "$TV_NSA" "$TV_NSB" "$TV_NSC"; do
		ip netns add "$ns" || return 1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || return 1
		ip -n "$ns" link set lo up
	done
	ip link add "$TV_DEVA" netns "$TV_NSA" type veth peer name "$TV_DEVB" netns "$TV_NSB" || return 1
	ip link add "$TV_DEVR" netns "$TV_NSB" type veth peer name "$TV_DEVC" netns "$TV_NSC" || return 1
	ip -n "$TV_NSA" link set "$TV_DEVA" address 02:00:00:00:00:01
	ip -n "$TV_NSB" link set "$TV_DEVB" address 02:00:00:00:00:02
	ip -n "$TV_NSB" link set "$TV_DEVR" address 02:00:00:00:00:02
	ip -n "$TV_NSC" link set "$TV_DEVC" address 02:00:00:00:00:02
	ip -n "$TV_NSA" addr add "$TV_IPA/24" dev "$TV_DEVA"
	ip -n "$TV_NSB" addr add "$TV_IPB/24" dev "$TV_DEVB"
	ip -n "$TV_NSB" addr add "$TV_LWT_DST/32" dev lo
	ip -n "$TV_NSC" addr add "$TV_IPB/24" dev "$TV_DEVC"
	ip -n "$TV_NSA" link set "$TV_DEVA" arp off up
	ip -n "$TV_NSB" link set "$TV_DEVB" arp off up
	ip -n "$TV_NSB" link set "$TV_DEVR" arp off up
	ip -n "$TV_NSC" link set "$TV_DEVC" arp off up
	ip netns exec "$TV_NSB" sysctl -qw "net.ipv4.conf.$TV_DEVB.rp_filter=0" "net.ipv4.conf.$TV_DEVR.rp_filter=0"
	ip -n "$TV_NSA" neigh replace "$TV_IPB" lladdr 02:00:00:00:00:02 dev "$TV_DEVA" nud permanent
	ip -n "$TV_NSA" neigh replace "$TV_LWT_DST" lladdr 02:00:00:00:00:02 dev "$TV_DEVA" nud permanent
	ip -n "$TV_NSB" neigh replace "$TV_IPA" lladdr 02:00:00:00:00:01 dev "$TV_DEVB" nud permanent
	ip -n "$TV_NSC" neigh replace "$TV_IPA" lladdr 02:00:00:00:00:01 dev "$TV_DEVC" nud permanent
	tv_sinks_start
}

# Start a background helper, remembered for tv_teardown.
_tv_bg() {
	"$@" 3>&- &
	TV_PIDS+=($!)
}

tv_sinks_start() {
	local p ports=()
	for p in $TV_SINK_B_PORTS; do ports+=("${p/@R/@$TV_DEVR}"); done
	rm -f "$TV_TMP/sink_b.json" "$TV_TMP/sink_c.json"
	_tv_bg ip netns exec "$TV_NSB" "$TV_SINK" "$TV_TMP/sink_b.json" "${ports[@]}"
	# shellcheck disable=SC2086
	_tv_bg ip netns exec "$TV_NSC" "$TV_SINK" "$TV_TMP/sink_c.json" $TV_SINK_C_PORTS
	local i
	for ((i = 0; i < 300; i++)); do
		[ -s "$TV_TMP/sink_b.json" ] && [ -s "$TV_TMP/sink_c.json" ] && return 0
		sleep 0.02
	done
	echo "the sinks did not start" >&2
	return 1
}

tv_attach() { # KIND [DIR [PROG [DEV [NS]]]]
	local kind=$1 dir=${2:-ingress} prog=${3:-} dev=${4:-$TV_DEVB} ns=${5:-$TV_NSB} out i
	[ -n "$prog" ] || { [ "$kind" = tcx ] && prog=tcv_tcx || prog=tcv_cls; }
	out=$TV_TMP/load.$kind.$dir.$dev
	rm -f "$out"
	local targets=("$TV_DEVR" "$TV_DEVR")
	[ "$ns" = "$TV_NSB" ] || targets=(- -)
	"$TV_LOAD" --netns "$ns" --obj "$TV_OBJ" "$kind" "$dev" "$dir" "$prog" "${targets[@]}" >"$out" 2>"$out.err" 3>&- &
	local pid=$!
	TV_PIDS+=("$pid")
	for ((i = 0; i < 600; i++)); do
		grep -q '}$' "$out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	if ! grep -q '}$' "$out"; then
		local rc=0
		wait "$pid" || rc=$?
		cat "$out.err" >&2
		return $((rc == 4 ? 4 : 1))
	fi
	TV_LOADED=$(cat "$out")
	TV_PROG=$(jq .prog_id <<<"$TV_LOADED")
	TV_SEEN=$(jq .seen_map_id <<<"$TV_LOADED")
}

tv_teardown() {
	local p
	# (bats runs this under errexit: nothing here may stop the clean-up)
	for p in "${TV_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${TV_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	TV_PIDS=()
	[ -z "${TV_NSA:-}" ] || ip netns del "$TV_NSA" 2>/dev/null || true
	[ -z "${TV_NSB:-}" ] || ip netns del "$TV_NSB" 2>/dev/null || true
	[ -z "${TV_NSC:-}" ] || ip netns del "$TV_NSC" 2>/dev/null || true
	[ -z "${TV_TMP:-}" ] || rm -rf "$TV_TMP"
	TV_NSA= TV_NSB= TV_NSC= TV_TMP=
	return 0
}

# Send N packets from A to B's address, UDP port P.
tv_send() { # PORT N [GAP_US]
	ip netns exec "$TV_NSA" "$TV_SEND" "$TV_IPB" "$1" "$2" "${3:-200}"
}

# The standard mix: TV_SENT[port] packets to each port.
tv_send_mix() {
	local p
	for p in "${!TV_SENT[@]}"; do
		tv_send "$p" "${TV_SENT[$p]}" || return 1
	done
}

# What the mix must produce per verdict for KIND (cls_bpf or tcx), as one
# JSON object with every verdict name (0 for those the fixture never
# returns) and packets, the sum.
tv_expect() { # KIND
	local table=TV_VERDICT_CLS
	[ "$1" = tcx ] && table=TV_VERDICT_TCX
	local -n map=$table
	local p pairs=""
	for p in "${!TV_SENT[@]}"; do pairs+="${map[$p]} ${TV_SENT[$p]}"$'\n'; done
	# one jq (each costs half a second in the emulated guests)
	jq -Rnc --arg all "$TV_VERDICTS" '
		reduce (inputs | select(length > 0) | split(" ")) as [$v, $n]
			(($all | split(" ") | map({key: ., value: 0}) | from_entries) + {packets: 0};
			 .[$v] += ($n | tonumber) | .packets += ($n | tonumber))' <<<"$pairs"
}

# The fixture's own per-port counts (map TV_SEEN, or the one given), as a
# JSON object {"9001":N,...} of the ports with a non-zero count ("other"
# for key 0), read with bpftool.
tv_seen() { # [MAP_ID [PORT_BASE]]
	bpftool map dump id "${1:-$TV_SEEN}" -j |
		jq -c --argjson base "${2:-9000}" '[.[] | .formatted // . | select(.value > 0)
			| {key: (if .key == 0 then "other" else (.key + $base | tostring) end), value}]
			| sort_by(.key) | from_entries'
}

# The mix as the fixture must have seen it: {"9001":11,...}, sorted by port.
tv_mix_seen() {
	local p
	for p in "${!TV_SENT[@]}"; do
		echo "{\"$p\":${TV_SENT[$p]}}"
	done | jq -sc 'add | to_entries | sort_by(.key) | from_entries'
}

# Sink counts: tv_sink b|c -> {"9001":N,...}
tv_sink() {
	cat "$TV_TMP/sink_$1.json"
}

# The sink counts the mix must produce for KIND: what passes B's ingress,
# what is redirected into TV_DEVR (9006), what leaves it for C (9003).
tv_expect_sinks() { # KIND
	local table=TV_VERDICT_CLS
	[ "$1" = tcx ] && table=TV_VERDICT_TCX
	local -n map=$table
	local p b="" n
	for p in 9001 9004 9005 9007 9008 9009; do
		# OK, PIPE, UNSPEC and unknown codes let the packet through; STOLEN does not
		case ${map[$p]} in ok | pipe | unspec | other) n=${TV_SENT[$p]} ;; *) n=0 ;; esac
		b+="${b:+,}\"$p\":$n"
	done
	b+=",\"9006@$TV_DEVR\":${TV_SENT[9006]}"
	echo "{\"b\":{$b},\"c\":{\"9003\":${TV_SENT[9003]}}}"
}

# Wait (up to ~20 s) until the sinks' counts of the listed keys are at
# least those of the JSON object WANT ({b: {...}, c: {...}}), then 0.3 s
# more for stragglers; fails naming what is missing.
tv_wait_sinks() { # WANT
	local i
	for ((i = 0; i < 200; i++)); do
		jq -e -n --argjson w "$1" --slurpfile b "$TV_TMP/sink_b.json" --slurpfile c "$TV_TMP/sink_c.json" \
			'all($w.b | to_entries[]; $b[0][.key] >= .value) and all($w.c | to_entries[]; $c[0][.key] >= .value)' \
			>/dev/null 2>&1 && { sleep 0.3; return 0; }
		sleep 0.1
	done
	echo "sinks: b $(tv_sink b), c $(tv_sink c); expected at least $1" >&2
	return 1
}

# Received packets of DEV in NS (the kernel's own counter).
tv_rx() { # NS DEV
	ip -n "$1" -s -j link show dev "$2" | jq '.[0].stats64.rx.packets'
}

# u32 filters with act_mirred on TV_DEVB's ingress: UDP 9201 redirected
# into TV_DEVR's ingress, 9202 mirrored out of TV_DEVR (C receives the
# copy, B the original).  Sets TV_MIRRED_REDIRECT and TV_MIRRED_MIRROR (the
# actions' indexes, from tc).
tv_mirred() {
	local d=$TV_DEVB
	# (the loader may have made it already)
	tc -n "$TV_NSB" qdisc add dev "$d" clsact 2>/dev/null || true
	tc -n "$TV_NSB" filter add dev "$d" ingress prio 10 protocol ip u32 \
		match ip protocol 17 0xff match ip dport 9201 0xffff \
		action mirred ingress redirect dev "$TV_DEVR" || return 1
	tc -n "$TV_NSB" filter add dev "$d" ingress prio 11 protocol ip u32 \
		match ip protocol 17 0xff match ip dport 9202 0xffff \
		action mirred egress mirror dev "$TV_DEVR" || return 1
	local acts
	acts=$(tc -n "$TV_NSB" -j actions ls action mirred)
	TV_MIRRED_REDIRECT=$(jq -r '[.. | objects | select(.kind? == "mirred" and .mirred_action == "redirect")][0].index' <<<"$acts")
	TV_MIRRED_MIRROR=$(jq -r '[.. | objects | select(.kind? == "mirred" and .mirred_action == "mirror")][0].index' <<<"$acts")
	[ "$TV_MIRRED_REDIRECT" != null ] && [ "$TV_MIRRED_MIRROR" != null ] || { echo "tc actions: $acts" >&2; return 1; }
}

# The kernel's own statistics of mirred action INDEX in B (tc -s -j).
tv_mirred_stats() { # INDEX
	tc -n "$TV_NSB" -s -j actions ls action mirred |
		jq -c --argjson i "$1" '[.. | objects | select(.kind? == "mirred" and .index == $i)][0]'
}

# The LWT route in A: 10.79.N.0/24 out of TV_DEVA through the fixture's
# lwt_xmit program (iproute2 loads it).  Sets TV_LWT_PROG (its id, the one
# lwt_xmit program named tcv_lwt_dropper that appeared), TV_LWT_SEEN (its
# per-port map), TV_LWT_ROUTE (ip -j's view of the route).
tv_lwt_route() {
	local before
	before=$(bpftool prog show -j | jq -c '[.[] | select(.type == "lwt_xmit") | .id]')
	ip -n "$TV_NSA" route add "$TV_LWT_NET" dev "$TV_DEVA" encap bpf xmit obj "$TV_LWT_OBJ" section tcv_lwt_dropper_xmit || return 1
	TV_LWT_PROG=$(bpftool prog show -j | jq --argjson b "$before" \
		'[.[] | select(.type == "lwt_xmit" and .name == "tcv_lwt_dropper" and (.id as $i | $b | index($i) | not)) | .id]
		 | if length == 1 then .[0] else error("lwt_xmit programs: \(.)") end') || return 1
	TV_LWT_SEEN=$(bpftool prog show id "$TV_LWT_PROG" -j | jq '.map_ids[0]')
	TV_LWT_ROUTE=$(ip -n "$TV_NSA" -j -d route show "$TV_LWT_NET" | jq -c '.[0]')
}

# Send N packets from A to the LWT destination, port P, through udpflows
# (a dropped packet is a failed send there, counted, not fatal); prints
# its JSON line ({"sent":N,"errors":N,"errno":{...}}).
tv_lwt_send() { # PORT N
	ip netns exec "$TV_NSA" "$TV_UDPFLOWS" send --dst "$TV_LWT_DST" --dport "$1" --packets "$2" --rate 5000
}

# Start tcverdict (or any command) in the background writing to OUT;
# returns once it printed its first output.  TV_TOOL_PID.
tv_tool_start() { # OUT CMD...
	local out=$1 i
	shift
	rm -f "$out" "$out.err"
	"$@" >"$out" 2>"$out.err" 3>&- &
	TV_TOOL_PID=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$out" ] && return 0
		kill -0 "$TV_TOOL_PID" 2>/dev/null || { cat "$out.err" >&2; return 1; }
		sleep 0.1
	done
	echo "$1 printed nothing in 60 s" >&2
	return 1
}

# Stop it with SIGINT (it prints a last snapshot); its exit status.
tv_tool_stop() {
	kill -INT "$TV_TOOL_PID" 2>/dev/null
	local rc=0
	wait "$TV_TOOL_PID" || rc=$?
	TV_TOOL_PID=
	return $rc
}
