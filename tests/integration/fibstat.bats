#!/usr/bin/env bats
# fibstat against a router namespace R with a 4-way ECMP route (IPv4 10.99.0.0/24 and IPv6
# 2001:db8:99::/64) over veth nexthops into four sink namespaces (tests/lib/fibstat_env.bash).
# A client namespace sends many UDP flows with distinct source ports through R
# (tests/lib/udpflows.c).  Ground truth: what each sink received (datagrams, payload bytes, the
# set of flows it saw) and what the sender sent; for the table view, the lookups the test causes
# with policy rules (one route lookup per unconnected sendto(), as the kernel's own
# fib:fib_table_lookup tracepoint output in a private tracefs instance confirms).  fibstat's own
# earlier output is never the reference.

load ../lib/helpers
source "$ROOT/tests/lib/fibstat_env.bash"

TRACEFS=/sys/kernel/tracing
SIZE=100     # UDP payload bytes per datagram
FLOWS=64     # flows per ECMP run (64 over 4 equal nexthops: every nexthop gets some)
PKTS=3       # datagrams per flow

setup() {
	mountpoint -q "$TRACEFS" || mount -t tracefs tracefs "$TRACEFS" 2>/dev/null || true
	FT_TRACE=
	fib_setup || { fib_teardown; false; }
	OUT=$FIB_TMP/out.json
}

teardown() {
	if [ -n "$FT_TRACE" ] && [ -d "$FT_TRACE" ]; then
		echo 0 >"$FT_TRACE/tracing_on"
		echo 0 >"$FT_TRACE/events/fib/fib_table_lookup/enable"
		echo 0 >"$FT_TRACE/events/fib6/fib6_table_lookup/enable"
		rmdir "$FT_TRACE"
	fi
	fib_teardown
}

# jq -e with extra jq arguments; the last argument is the document.
ft_jq() {
	local doc="${@: -1}"
	local args=("${@:1:$#-1}")
	if ! jq -e "${args[@]}" >/dev/null <<<"$doc"; then
		echo "jq assertion failed: ${args[*]}" >&2
		echo "document: ${doc:0:3000}" >&2
		return 1
	fi
}

last_json() { # FILE: the last JSON line
	grep '^{' "$1" | tail -1
}

# The output contract's checks of a format (bpfscope-output(7)).
prom_lint() { # FILE: promtool accepts it and has nothing to say
	command -v promtool >/dev/null || skip_because "promtool not installed"
	local lint
	lint=$(promtool check metrics <"$1" 2>&1) || { echo "promtool: $lint" >&2; return 1; }
	[ -z "$lint" ] || { echo "promtool lint: $lint" >&2; return 1; }
}

json_lint() { # FILE: every line valid UTF-8 and a JSON value (FILE is read once: <(...) works)
	local tmp line n=0
	tmp=$(mktemp)
	cat "$1" >"$tmp"
	iconv -f UTF-8 -t UTF-8 "$tmp" >/dev/null || { echo "$1: not UTF-8" >&2; rm -f "$tmp"; return 1; }
	while IFS= read -r line; do
		n=$((n + 1))
		jq -e . >/dev/null <<<"$line" || { echo "$1 line $n is not JSON: $line" >&2; rm -f "$tmp"; return 1; }
	done <"$tmp"
	rm -f "$tmp"
	[ "$n" -gt 0 ] || { echo "$1: no line" >&2; return 1; }
}

# Wait until --file PROM was replaced twice more (snapshots begun after this call).
prom_next() { # PROM
	local ino i
	for _ in 1 2; do
		ino=$(stat -c %i "$1")
		for ((i = 0; i < 300; i++)); do
			[ "$(stat -c %i "$1")" != "$ino" ] && break
			sleep 0.1
		done
	done
}

# Start TOOL ARGS... with --file PROM and wait until it wrote the file.
prom_start() { # PROM CMD...
	local prom=$1 i
	shift
	rm -f "$prom"
	"$@" --file "$prom" >"$prom.out" 2>"$prom.err" &
	FIB_TOOL_PID=$!
	FIB_TOOL_PIDS+=("$FIB_TOOL_PID")
	for ((i = 0; i < 1200; i++)); do
		[ -s "$prom" ] && return 0
		kill -0 "$FIB_TOOL_PID" 2>/dev/null || { cat "$prom.err" >&2; return 1; }
		sleep 0.1
	done
	echo "$* wrote no $prom in 120 s" >&2
	return 1
}

# The running kernel is MAJOR.MINOR or newer (uname -r).
kernel_at_least() { # MAJOR MINOR
	local v maj min
	v=$(uname -r)
	maj=${v%%.*} v=${v#*.}
	min=${v%%[!0-9]*}
	[ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "$min" -ge "$2" ]; }
}

# The name of each fib_multipath_hash_policy number, as the hash_policy_ipv4/6 facts give it.
policy_name() { # N
	case $1 in 0) echo L3 ;; 1) echo L4 ;; 2) echo L3_inner ;; 3) echo custom ;; *) echo "$1" ;; esac
}

# A private tracefs instance counting fib/fib6 table lookups of table TB.
trace_table() { # TB
	require_tracefs
	FT_TRACE=$TRACEFS/instances/bsfib$$_${BATS_TEST_NUMBER}
	mkdir "$FT_TRACE"
	echo 4096 >"$FT_TRACE/buffer_size_kb"
	echo "tb_id == $1" >"$FT_TRACE/events/fib/fib_table_lookup/filter"
	echo "tb_id == $1" >"$FT_TRACE/events/fib6/fib6_table_lookup/filter"
	echo 1 >"$FT_TRACE/events/fib/fib_table_lookup/enable"
	echo 1 >"$FT_TRACE/events/fib6/fib6_table_lookup/enable"
	echo 1 >"$FT_TRACE/tracing_on"
}

require_tracefs() {
	[ -d "$TRACEFS/events/fib/fib_table_lookup" ] && [ -d "$TRACEFS/events/fib6/fib6_table_lookup" ] ||
		skip_because "no fib/fib6 tracepoints in tracefs (the independent witness of lookups)"
}

# The kernel's trace of table lookups, one line per lookup: "FAMILY(4|6) TABLE ERR DST".
traced_lookups() {
	sed -n -e 's/.* fib_table_lookup: table *\([0-9]*\) .* -> \([^/]*\)\/.* err \(-\?[0-9]*\)$/4 \1 \3 \2/p' \
		-e 's/.* fib6_table_lookup: table *\([0-9]*\) .* -> \([^/]*\)\/.* err \(-\?[0-9]*\)$/6 \1 \3 \2/p' \
		"$FT_TRACE/trace"
}

# Compare the last snapshot's nexthops of the FAM route with the sinks:
# per nexthop (gateway 10.0.K.2 / 2001:db8:K::2 = sink K) flows, packets, bytes
# (payload + IP and UDP headers), device, weight, and the route-level shares.
# SENT: datagrams the sender got out (all of them must be at the sinks).
check_ecmp() { # FAM SNAPSHOT SENT [W1 W2 W3 W4]
	local fam=$1 snap=$2 sent=$3 route hdr cmp
	local w=("${@:4}")
	[ ${#w[@]} -eq 4 ] || w=(1 1 1 1)
	if [ "$fam" = 6 ]; then route=$FIB_ROUTE6 hdr=48; else route=$FIB_ROUTE4 hdr=28; fi
	cmp=$(jq -c -n --argjson snap "$snap" --argjson s "$(fib_sinks_json)" --arg fam "$fam" \
		--arg route "$route" --argjson hdr "$hdr" --argjson size "$SIZE" --argjson w "[${w[0]},${w[1]},${w[2]},${w[3]}]" '
		[$snap.nexthops[] | select(.route == $route)] as $nh
		| ($s | map(.packets) | add) as $total
		| ($w | add) as $wsum
		| [range(0; 4) as $i | ($i + 1) as $k
		   | (if $fam == "6" then "2001:db8:\($k)::2" else "10.0.\($k).2" end) as $gw
		   | [$nh[] | select(.gateway == $gw)] as $r
		   | { k: $k, rows: ($r | length), interface: $r[0].interface, want_interface: "r\($k)",
		       family: $r[0].family, table: $r[0].table, weight: $r[0].weight, want_weight: $w[$i],
		       flows: $r[0].flows, sink_flows: $s[$i].flows,
		       packets: $r[0].packets, sink_packets: $s[$i].packets,
		       bytes: $r[0].bytes, want_bytes: ($s[$i].packets * ($size + $hdr)),
		       share: $r[0].share_ratio, want_share: (if $total > 0 then $s[$i].packets / $total else 0 end),
		       fair: $r[0].fair_ratio, want_fair: ($w[$i] / $wsum),
		       imbalance: $r[0].imbalance,
		       want_imbalance: ([range(0; 4) as $j | if $total > 0 then $s[$j].packets / ($total * $w[$j] / $wsum) else 0 end] | max) } ]
		| { rows: ($nh | length), total: $total, nexthops: . }')
	echo "fibstat vs sinks ($route, sent $sent): $cmp" >&2
	ft_jq --argjson sent "$sent" --arg fam "ipv$fam" '
		def near($a; $b; $tol): ($a != null) and (($a - $b) | fabs) <= $tol;
		.rows == 4 and .total == $sent
		and all(.nexthops[]; .rows == 1 and .interface == .want_interface and .family == $fam and .table == 254
			and .weight == .want_weight and .flows == .sink_flows and .packets == .sink_packets
			and .bytes == .want_bytes and near(.share; .want_share; 1e-9) and near(.fair; .want_fair; 1e-9)
			and near(.imbalance; .want_imbalance; 1e-9))' "$cmp"
}

# Run FLOWS x PKTS datagrams of SIZE bytes (family FAM) under fibstat ARGS...;
# leaves the last snapshot in $snap and the sender's JSON in $sent_json.
ecmp_run() { # FAM TOOL ARGS...
	local fam=$1
	shift
	fib_sinks_start "$fam"
	fib_tool_start "$OUT" "$@" -N "$FIB_R" -o json -i 0.3
	sent_json=$(fib_send_flows "$fam" "$FLOWS" "$PKTS" "$SIZE")
	echo "sender: $sent_json" >&2
	ft_jq --argjson n $((FLOWS * PKTS)) '.sent == $n and .errors == 0' "$sent_json"
	fib_sinks_wait $((FLOWS * PKTS))
	fib_tool_next "$OUT"
	local rc=0
	fib_tool_stop || rc=$?
	[ "$rc" -eq 0 ] || { echo "$* exited with status $rc: $(cat "$OUT.err")" >&2; return 1; }
	fib_sinks_stop
	json_lint "$OUT"
	snap=$(last_json "$OUT")
	[ -n "$snap" ] || { cat "$OUT" "$OUT.err" >&2; false; }
}

# The ground truth itself: all datagrams arrived, and spread (policy 1) or not (policy 0).
sinks_spread() { # "all" | "one"
	local s
	s=$(fib_sinks_json)
	echo "sinks: $(jq -c 'map({packets, flows})' <<<"$s")" >&2
	if [ "$1" = all ]; then
		ft_jq --argjson n $((FLOWS * PKTS)) --argjson f "$FLOWS" \
			'(map(.packets) | add) == $n and (map(.flows) | add) == $f and all(.[]; .flows > 0)' "$s"
	else
		ft_jq --argjson n $((FLOWS * PKTS)) --argjson f "$FLOWS" \
			'(map(.packets) | add) == $n and ([.[] | select(.flows > 0)] | length) == 1 and (map(.flows) | max) == $f' "$s"
	fi
}

@test "fibstat [kernel]: policy 1 (L4), IPv4: per-nexthop flows, packets and bytes equal each sink's" {
	fib_policy 4 1
	ecmp_run 4 "$B/fibstat"
	sinks_spread all
	check_ecmp 4 "$snap" $((FLOWS * PKTS))
	ft_jq --arg p "$(policy_name "$(ip netns exec "$FIB_R" sysctl -n net.ipv4.fib_multipath_hash_policy)")" \
		'.hash_policy_ipv4 == $p and (.mechanism | type == "string" and length > 0)
		 and .routes == 2 and .flows_tracked >= 64 and .flows_retired == 0 and .flows_dropped == 0' "$snap"
	# multipath selections (fexit on fib_select_multipath where trampolines are allowed): an IPv4
	# forwarded packet is routed, so its nexthop selected, once, so they equal each sink's packets
	local sel
	sel=$(jq -c -n --argjson snap "$snap" --argjson s "$(fib_sinks_json)" '
		[range(0; 4) as $i | [$snap.nexthops[] | select(.route == "10.99.0.0/24" and .gateway == "10.0.\($i + 1).2")][0]
		 | [.selections, $s[$i].packets]]')
	echo "mechanism: $(jq -r .mechanism <<<"$snap"); [selections, sink packets] per nexthop: $sel" >&2
	# for the feature x kernel matrix (tests/README.md): what this kernel ran
	echo "# IPv4: $(jq -r .mechanism <<<"$snap"); [selections, sink packets]: $sel" >&3
	if has_feature fentry; then
		ft_jq '.mechanism | test("fexit")' "$snap"
		ft_jq 'all(.[]; .[0] == .[1])' "$sel"
	else
		ft_jq 'all(.[]; .[0] == null)' "$sel"
	fi
}

@test "fibstat [kernel]: policy 1 (L4), IPv6: per-nexthop flows, packets and bytes equal each sink's" {
	fib_policy 6 1
	ecmp_run 6 "$B/fibstat"
	sinks_spread all
	check_ecmp 6 "$snap" $((FLOWS * PKTS))
	ft_jq --arg p "$(policy_name "$(ip netns exec "$FIB_R" sysctl -n net.ipv6.fib_multipath_hash_policy)")" \
		'.hash_policy_ipv6 == $p' "$snap"
	# IPv6 multipath selections (fexit on fib6_select_path): a forwarded packet is routed, so its path
	# selected, once (ip6_pol_route), so they equal each sink's packets. fib6_select_path has 7
	# arguments: x86 BPF trampolines take more than 6 from Linux 6.6 on; before, or without
	# trampolines, the selections are unknown (null), never 0.
	local sel
	sel=$(jq -c -n --argjson snap "$snap" --argjson s "$(fib_sinks_json)" --arg route "$FIB_ROUTE6" '
		[range(0; 4) as $i | [$snap.nexthops[] | select(.route == $route and .gateway == "2001:db8:\($i + 1)::2")][0]
		 | [.selections, $s[$i].packets]]')
	echo "mechanism: $(jq -r .mechanism <<<"$snap"); [selections, sink packets] per nexthop: $sel" >&2
	echo "# IPv6: $(jq -r .mechanism <<<"$snap"); [selections, sink packets]: $sel" >&3
	if has_feature fentry && kernel_at_least 6 6; then
		ft_jq '.mechanism | test("fib6_select_path: fexit")' "$snap"
		ft_jq 'all(.[]; .[0] == .[1])' "$sel"
	else
		ft_jq 'all(.[]; .[0] == null)' "$sel"
	fi
}

@test "fibstat: policy 0 (L3): all flows of one address pair on one nexthop, the one whose sink got them (IPv4, IPv6)" {
	local fam
	fib_policy 4 0
	fib_policy 6 0
	for fam in 4 6; do
		ecmp_run "$fam" "$B/fibstat"
		sinks_spread one
		check_ecmp "$fam" "$snap" $((FLOWS * PKTS))
		ft_jq '.hash_policy_ipv4 == "L3" and .hash_policy_ipv6 == "L3"' "$snap"
	done
}

@test "fibstat: weights 1:2:3:4: weight and fair share per nexthop from the route, counts equal the sinks'" {
	fib_policy 4 1
	fib_weights 1 2 3 4
	FLOWS=200 PKTS=1
	ecmp_run 4 "$B/fibstat"
	sinks_spread all
	check_ecmp 4 "$snap" $((FLOWS * PKTS)) 1 2 3 4
}

@test "fibstat: a route over a nexthop group (ip nexthop) is resolved to its members; counts equal the sinks'" {
	fib_policy 4 1
	ip -n "$FIB_R" nexthop add id 1 via 10.0.1.2 dev r1 || skip_because "no nexthop objects on this kernel (ip nexthop)"
	local k
	for k in 2 3 4; do
		ip -n "$FIB_R" nexthop add id "$k" via "10.0.$k.2" dev "r$k"
	done
	ip -n "$FIB_R" nexthop add id 10 group 1,2/2,1/3,3/4,2
	ip -n "$FIB_R" route replace "$FIB_ROUTE4" nhid 10
	# ground truth of the group's members and weights: iproute2's own listing
	local members
	members=$(ip -n "$FIB_R" -j nexthop show id 10 | jq -c '[.[0].group[] | {id, weight: (.weight // 1)}]')
	echo "group 10: $members" >&2
	FLOWS=200 PKTS=1
	ecmp_run 4 "$B/fibstat"
	sinks_spread all
	# weights 2 1 3 2 for members 1..4 (ids 1..4 are the gateways 10.0.K.2)
	check_ecmp 4 "$snap" $((FLOWS * PKTS)) "$(jq '.[] | select(.id == 1) | .weight' <<<"$members")" \
		"$(jq '.[] | select(.id == 2) | .weight' <<<"$members")" "$(jq '.[] | select(.id == 3) | .weight' <<<"$members")" \
		"$(jq '.[] | select(.id == 4) | .weight' <<<"$members")"
}

@test "fibstat: hash policy 3 names the hash fields the sysctl selects" {
	ip netns exec "$FIB_R" sysctl -qw net.ipv4.fib_multipath_hash_fields=0x0037 ||
		skip_because "no net.ipv4.fib_multipath_hash_fields (custom hash policy) on this kernel"
	fib_policy 4 3
	run "$B/fibstat" -N "$FIB_R" -4 -o json -c 1 -i 0.2
	[ "$status" -eq 0 ]
	local snap mask
	json_lint <(echo "$output")
	snap=$(last_json <(echo "$output"))
	mask=$(($(ip netns exec "$FIB_R" sysctl -n net.ipv4.fib_multipath_hash_fields)))
	echo "sysctl: $mask; fibstat: $(jq -c '{hash_policy_ipv4, hash_fields_ipv4}' <<<"$snap")" >&2
	[ "$mask" -eq $((0x37)) ]
	# 0x37 = src_ip, dst_ip, ip_proto, src_port, dst_port (bits 0, 1, 2, 4, 5; not 3, flow label)
	ft_jq '.hash_policy_ipv4 == "custom" and .hash_fields_ipv4 == "src_ip,dst_ip,ip_proto,src_port,dst_port"
		and .hash_fields_ipv6 == null and .hash_policy_ipv6 == null' "$snap"
	# a static fact: a label of the info metric, not a number in a string
	run "$B/fibstat" -N "$FIB_R" -4 -o prom -c 1 -i 0.2
	[ "$status" -eq 0 ]
	grep -q '^bpfscope_fibstat_info{.*hash_policy_ipv4="custom",hash_fields_ipv4="src_ip,dst_ip,ip_proto,src_port,dst_port",.*} 1$' <<<"$output"
	prom_lint <(echo "$output")
}

@test "fibstat: --flows and --flow name the nexthop whose sink saw each flow" {
	fib_policy 4 1
	FLOWS=16 PKTS=3
	local sport=$((FIB_SPORT + 5)) all one pid_all
	fib_sinks_start 4
	fib_tool_start "$FIB_TMP/all.json" "$B/fibstat" -N "$FIB_R" --flows -o json -i 0.3
	pid_all=$FIB_TOOL_PID
	fib_tool_start "$OUT" "$B/fibstat" -N "$FIB_R" --flow "proto=udp,dst=$FIB_DST4,sport=$sport" -o json -i 0.3
	sent_json=$(fib_send_flows 4 "$FLOWS" "$PKTS" "$SIZE")
	ft_jq --argjson n $((FLOWS * PKTS)) '.sent == $n' "$sent_json"
	fib_sinks_wait $((FLOWS * PKTS))
	fib_tool_next "$FIB_TMP/all.json"
	fib_tool_next "$OUT"
	fib_tool_stop "$pid_all"
	fib_tool_stop
	fib_sinks_stop
	local s
	s=$(fib_sinks_json)
	json_lint "$FIB_TMP/all.json"
	json_lint "$OUT"
	all=$(last_json "$FIB_TMP/all.json")
	one=$(last_json "$OUT")
	# every flow of the test, each on the nexthop of the sink that received it
	local cmp
	cmp=$(jq -c -n --argjson v "$all" --argjson s "$s" --arg dst "$FIB_DST4" --argjson dport "$FIB_DPORT" '
		([range(0; 4) as $i | $s[$i].flow_list[] | {key: ., value: ($i + 1)}] | from_entries) as $where
		| [$v.flows[] | select(.dst == $dst and .dport == $dport)
		   | {flow: "\(.src):\(.sport)", gateway, interface, packets: .flow_packets, bytes: .flow_bytes, proto, family,
		      sink: $where["\(.src):\(.sport)"]}]')
	echo "flows (fibstat gateway vs the sink that saw it): $cmp" >&2
	ft_jq --argjson n "$FLOWS" --argjson p "$PKTS" --argjson b $((PKTS * (SIZE + 28))) '
		length == $n and ([.[].flow] | unique | length) == $n
		and all(.[]; .sink != null and .gateway == "10.0.\(.sink).2" and .interface == "r\(.sink)"
			and .packets == $p and .bytes == $b and .proto == "udp" and .family == "ipv4")' "$cmp"
	# --flow: exactly the one flow, on its sink's nexthop
	local k
	k=$(fib_sink_of_flow "$FIB_SRC4:$sport")
	echo "flow $FIB_SRC4:$sport reached sink $k; --flow says: $(jq -c '.flows' <<<"$one")" >&2
	[ -n "$k" ]
	ft_jq --argjson sport "$sport" --arg gw "10.0.$k.2" --argjson p "$PKTS" \
		'(.flows | length) == 1 and .flows[0].sport == $sport and .flows[0].gateway == $gw
		 and .flows[0].flow_packets == $p and .flows[0].route == "10.99.0.0/24"' "$one"
}

@test "fibstat: --flows -o prom: one series per flow, each with the packets its sender sent" {
	fib_policy 4 1
	FLOWS=16 PKTS=3
	local prom=$FIB_TMP/flows.prom
	fib_sinks_start 4
	prom_start "$prom" "$B/fibstat" -N "$FIB_R" --flows -o prom -i 0.3
	sent_json=$(fib_send_flows 4 "$FLOWS" "$PKTS" "$SIZE")
	echo "sender: $sent_json" >&2
	ft_jq --argjson n $((FLOWS * PKTS)) '.sent == $n and .errors == 0' "$sent_json"
	fib_sinks_wait $((FLOWS * PKTS))
	prom_next "$prom"
	fib_tool_stop
	fib_sinks_stop
	prom_lint "$prom"
	# the test's flows: C -> 10.99.0.1:5001 from source ports FIB_SPORT..FIB_SPORT+FLOWS-1
	local series
	series=$(grep -E "^bpfscope_fibstat_flow_packets_total\{[^}]*,dst=\"$FIB_DST4\",dport=\"$FIB_DPORT\"," "$prom" |
		sed -E 's/.*src="([^"]*)",sport="([0-9]+)".*gateway="([^"]*)",interface="([^"]*)".*\} ([0-9]+)$/\1:\2 \3 \4 \5/')
	echo "flow_packets series of the test's flows: $(tr '\n' ';' <<<"$series")" >&2
	# exactly FLOWS series, one per flow (distinct label sets: sport is a label, not a value)
	assert_eq "$(grep -c . <<<"$series")" "$FLOWS" "flow_packets_total series of the test's flows"
	assert_eq "$(cut -d' ' -f1 <<<"$series" | sort -u | grep -c .)" "$FLOWS" "distinct flows among them"
	local gw dev n k p
	for ((p = FIB_SPORT; p < FIB_SPORT + FLOWS; p++)); do
		read -r _ gw dev n < <(grep "^$FIB_SRC4:$p " <<<"$series")
		k=$(fib_sink_of_flow "$FIB_SRC4:$p")
		[ -n "$k" ] || { echo "no sink saw $FIB_SRC4:$p" >&2; false; }
		assert_eq "$n $gw $dev" "$PKTS 10.0.$k.2 r$k" "flow $FIB_SRC4:$p: packets, gateway, interface (sink $k saw it)"
	done
	# every series of a family once: no duplicate label sets anywhere in the file
	[ -z "$(grep -v '^#' "$prom" | sed 's/ [^ ]*$//' | sort | uniq -d)" ]
}

@test "fibstat: a full flow table: flows_dropped counts the packets left out, one hint on stderr" {
	fib_policy 4 1
	FLOWS=64 PKTS=3
	ecmp_run 4 "$B/fibstat" --max-flows 16
	local counted
	counted=$(jq '[.nexthops[] | select(.route == "10.99.0.0/24") | .packets] | add' <<<"$snap")
	echo "max-flows 16: $(jq -c '{flows_tracked, flows_dropped, flows_retired}' <<<"$snap"), route packets $counted;" \
		"stderr: $(cat "$OUT.err")" >&2
	# the sender's 192 datagrams all left R (the sinks got them): counted, or dropped from the
	# count (with anything else R sent meanwhile that did not fit either)
	ft_jq --argjson n $((FLOWS * PKTS)) --argjson c "$counted" \
		'.flows_tracked == 16 and $c < $n and $c + .flows_dropped >= $n and (.flows_dropped | type == "number")' "$snap"
	assert_eq "$(grep -c -- '--max-flows' "$OUT.err")" 1 "hints to raise --max-flows on stderr"
}

@test "fibstat: -r keeps one route; unknown route and netns exit 5, bad options exit 2, one line each" {
	ip -n "$FIB_R" route add 10.98.0.0/24 nexthop via 10.0.1.2 dev r1 nexthop via 10.0.2.2 dev r2
	# ground truth: the multipath routes of R's main table as iproute2 lists them
	local want got
	want=$({ ip -n "$FIB_R" -j route show; ip -n "$FIB_R" -6 -j route show; } |
		jq -sc '[.[][] | select(.nexthops) | .dst as $d | .nexthops[] | "\($d) \(.gateway) \(.dev)"] | sort')
	run "$B/fibstat" -N "$FIB_R" -o json -c 1 -i 0.2
	[ "$status" -eq 0 ]
	got=$(last_json <(echo "$output") | jq -c '[.nexthops[] | "\(.route) \(.gateway) \(.interface)"] | sort')
	assert_eq "$got" "$want" "nexthops listed without -r vs ip route"
	run "$B/fibstat" -N "$FIB_R" -r 10.99.0.0/24 -o json -c 1 -i 0.2
	[ "$status" -eq 0 ]
	got=$(last_json <(echo "$output") | jq -c '[.nexthops[] | "\(.route) \(.gateway) \(.interface)"] | sort')
	assert_eq "$got" "$(jq -c '[.[] | select(startswith("10.99.0.0/24 "))]' <<<"$want")" "nexthops with -r 10.99.0.0/24"
	run "$B/fibstat" -N "$FIB_R" -r 2001:db8:99::/64 -o json -c 1 -i 0.2
	[ "$status" -eq 0 ]
	got=$(last_json <(echo "$output") | jq -c '[.nexthops[] | "\(.route) \(.gateway) \(.interface)"] | sort')
	assert_eq "$got" "$(jq -c '[.[] | select(startswith("2001:db8:99::/64 "))]' <<<"$want")" "nexthops with -r 2001:db8:99::/64"
	# a second route with the prefix in the same table, another metric: its own series (metric label)
	ip -n "$FIB_R" route add 10.99.0.0/24 via 10.0.3.2 dev r3 metric 100
	want=$(ip -n "$FIB_R" -j route show 10.99.0.0/24 |
		jq -c '[.[] | (.metric // 0) as $m | (.nexthops // [{gateway, dev}])[] | "\($m) \(.gateway) \(.dev)"] | sort')
	run "$B/fibstat" -N "$FIB_R" -r 10.99.0.0/24 -o json -c 1 -i 0.2
	[ "$status" -eq 0 ]
	got=$(last_json <(echo "$output") | jq -c '[.nexthops[] | "\(.metric) \(.gateway) \(.interface)"] | sort')
	assert_eq "$got" "$want" "nexthops of both 10.99.0.0/24 routes (metric gateway interface) vs ip route"
	run "$B/fibstat" -N "$FIB_R" -r 10.99.0.0/24 -o prom -c 1 -i 0.2
	echo "$output" | grep packets_total >&2
	[ "$status" -eq 0 ]
	prom_lint <(echo "$output")
	assert_eq "$(grep -c '^bpfscope_fibstat_packets_total{' <<<"$output")" 5 "packets series: 4 + 1 nexthops"
	grep -q '^bpfscope_fibstat_packets_total{.*metric="100",route="10.99.0.0/24",nexthop="0",gateway="10.0.3.2",interface="r3",' <<<"$output"

	run "$B/fibstat" -N "$FIB_R" -r 10.55.0.0/24 -c 1 -i 0.2
	echo "status $status: $output" >&2
	[ "$status" -eq 5 ]
	assert_one_line_error "10.55.0.0/24"
	run "$B/fibstat" -N bs-no-such-netns -c 1 -i 0.2
	echo "status $status: $output" >&2
	[ "$status" -eq 5 ]
	assert_one_line_error "bs-no-such-netns"
	# each: the arguments | what the one error line must name
	local bad
	for bad in "-r notaprefix|notaprefix" "-r 10.99.0.0/33|10.99.0.0/33" "--flow color=red|color" \
		"--flow sport=99999|99999" "-4 -6|-6" "-o xml|xml" "-i 0|interval" "--tables --flows|--tables"; do
		# shellcheck disable=SC2086
		run "$B/fibstat" -N "$FIB_R" -c 1 -i 0.2 ${bad%%|*}
		echo "fibstat ${bad%%|*} -> status $status: $output" >&2
		[ "$status" -eq 2 ]
		assert_one_line_error "${bad#*|}"
	done
	# -e is a view too (without an interval: -e streams events)
	run "$B/fibstat" -N "$FIB_R" --tables -e
	[ "$status" -eq 2 ]
	assert_one_line_error "--tables, --events and --flows/--flow are separate views"
	# -t means type in the toolkit: --tables has no short letter
	run "$B/fibstat" -N "$FIB_R" -c 1 -i 0.2 -t
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid option -- 't'"* ]]
	# -N: not a network namespace 2; a namespace it may not open 3 (as nobody with CAP_BPF and CAP_PERFMON)
	run "$B/fibstat" -N /etc/passwd -c 1 -i 0.2
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --netns '/etc/passwd': not a network namespace"
	command -v setpriv >/dev/null || skip_because "setpriv not installed"
	local bin
	bin=$(mktemp -d /tmp/bs-fibstat-bin.XXXXXX)
	cp "$B/fibstat" "$bin/"
	chmod 755 "$bin" "$bin/fibstat"
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon \
		"$bin/fibstat" -N /proc/1/ns/net -c 1 -i 0.2
	rm -rf "$bin"
	echo "as nobody: status $status: $output" >&2
	[ "$status" -eq 3 ]
	assert_one_line_error "cannot open network namespace '/proc/1/ns/net': EACCES (needs CAP_SYS_ADMIN)"
}

# Policy routing in R: marked traffic looks up table 100 (IPv4 and IPv6), which
# has a route, an unreachable and a prohibit prefix.
table100() {
	ip -n "$FIB_R" rule add fwmark 100 lookup 100
	ip -n "$FIB_R" route add 10.99.0.0/24 via 10.0.1.2 dev r1 table 100
	ip -n "$FIB_R" route add unreachable 10.77.0.0/24 table 100
	ip -n "$FIB_R" route add prohibit 10.78.0.0/24 table 100
	ip -n "$FIB_R" -6 rule add fwmark 100 lookup 100
	ip -n "$FIB_R" -6 route add 2001:db8:99::/64 via 2001:db8:1::2 dev r1 table 100
	ip -n "$FIB_R" -6 route add unreachable 2001:db8:77::/64 table 100
	ip -n "$FIB_R" -6 route add prohibit 2001:db8:78::/64 table 100
}

# udpflows send in R, unconnected (one lookup per datagram), marked 100.
r_send() { # SRC DST FLOWS PACKETS [ARGS...]
	ip netns exec "$FIB_R" "$FIB_UDPFLOWS" send --src "$1" --dst "$2" --dport "$FIB_DPORT" \
		--sport-base "$FIB_SPORT" --flows "$3" --packets "$4" --unconnected "${@:5}"
}

@test "fibstat [kernel 6.1]: --tables: lookups in a policy-routing table per result equal the datagrams sent (IPv4, IPv6)" {
	table100
	trace_table 100
	local prom=$FIB_TMP/tables.prom prom_pid
	prom_start "$prom" "$B/fibstat" -N "$FIB_R" --tables -o prom -i 0.3
	prom_pid=$FIB_TOOL_PID
	fib_tool_start "$OUT" "$B/fibstat" -N "$FIB_R" --tables -o json -i 0.3
	local f4 u4 p4 f6 u6 p6
	f4=$(r_send "$FIB_RTR4" 10.99.0.1 3 4 --mark 100)
	u4=$(r_send "$FIB_RTR4" 10.77.0.1 2 5 --mark 100)
	p4=$(r_send "$FIB_RTR4" 10.78.0.1 1 6 --mark 100)
	f6=$(r_send "$FIB_RTR6" 2001:db8:99::1 3 3 --mark 100)
	u6=$(r_send "$FIB_RTR6" 2001:db8:77::1 2 2 --mark 100)
	p6=$(r_send "$FIB_RTR6" 2001:db8:78::1 1 7 --mark 100)
	echo "sent: $f4 $u4 $p4 / $f6 $u6 $p6" >&2
	# the sender's view: routed, or refused with the route type's errno
	ft_jq '.sent == 12 and .errors == 0' "$f4"
	ft_jq '.sent == 0 and .errors == 10 and .errno.EHOSTUNREACH == 10' "$u4"
	ft_jq '.sent == 0 and .errors == 6 and .errno.EACCES == 6' "$p4"
	ft_jq '.sent == 9 and .errors == 0' "$f6"
	ft_jq '.sent == 0 and .errors == 4' "$u6"
	ft_jq '.sent == 0 and .errors == 7 and .errno.EACCES == 7' "$p6"
	fib_tool_next "$OUT"
	prom_next "$prom"
	fib_tool_stop
	fib_tool_stop "$prom_pid"
	json_lint "$OUT"
	# the kernel's own record: one lookup in table 100 per datagram
	local tr
	tr=$(traced_lookups | awk '{ k = $1 " " ($3 == 0 ? "found" : $3 == -113 || $3 == -101 ? "unreachable" : $3 == -13 ? "prohibit" : "other") ; n[k]++ }
		END { for (k in n) print k, n[k] }' | sort | tr '\n' ';')
	echo "tracefs, table 100: $tr" >&2
	assert_eq "$tr" "4 found 12;4 prohibit 6;4 unreachable 10;6 found 9;6 prohibit 7;6 unreachable 4;" "kernel trace of table 100"
	local snap sums
	snap=$(last_json "$OUT")
	sums=$(jq -c '[.lookups[] | select(.table == 100)] | group_by(.family)
		| map({family: .[0].family, vrf: (map(.vrf) | unique),
		       lookups: (map(.lookups) | add), found: (map(.found) | add), miss: (map(.miss) | add),
		       unreachable: (map(.unreachable) | add), prohibit: (map(.prohibit) | add),
		       blackhole: (map(.blackhole) | add), error: (map(.error) | add)})' <<<"$snap")
	echo "fibstat, table 100: $sums" >&2
	echo "# --tables: $(jq -r .mechanism <<<"$snap")" >&3
	ft_jq '.[0] == {family: "ipv4", vrf: [null], lookups: 28, found: 12, miss: 0, unreachable: 10, prohibit: 6, blackhole: 0, error: 0}
		and .[1] == {family: "ipv6", vrf: [null], lookups: 20, found: 9, miss: 0, unreachable: 4, prohibit: 7, blackhole: 0, error: 0}
		and length == 2' "$sums"
	# Prometheus: one counter, a result label; sums per family and result over table 100's series
	prom_lint "$prom"
	local psums
	psums=$(grep -E '^bpfscope_fibstat_lookups_total\{[^}]*table="100",' "$prom" |
		sed -E 's/.*family="([^"]*)".*result="([^"]*)".*\} ([0-9]+)$/\1 \2 \3/' |
		awk '{ n[$1 " " $2] += $3 } END { for (k in n) print k, n[k] }' | sort | tr '\n' ';')
	echo "prom, table 100: $psums" >&2
	assert_eq "$psums" "ipv4 blackhole 0;ipv4 error 0;ipv4 found 12;ipv4 miss 0;ipv4 prohibit 6;ipv4 unreachable 10;ipv6 blackhole 0;ipv6 error 0;ipv6 found 9;ipv6 miss 0;ipv6 prohibit 7;ipv6 unreachable 4;" "prom lookups_total by result, table 100"
	grep -q '^# TYPE bpfscope_fibstat_lookups_total counter$' "$prom"
	[ -z "$(grep -E '^bpfscope_fibstat_(found|miss|unreachable|prohibit|blackhole|error)(_total)?[{ ]' "$prom")" ]
}

@test "fibstat [kernel]: --tables: a VRF's table is counted under the VRF's name" {
	modprobe vrf 2>/dev/null || true
	ip -n "$FIB_R" link add vrf-blue type vrf table 200 2>/dev/null ||
		skip_because "cannot create a VRF device (no vrf module: modprobe vrf failed)"
	# vb0 (in the VRF) -> vb1 in sink 4's namespace, which drops what arrives (no address there)
	ip -n "$FIB_R" link add vb0 address 02:00:00:00:05:01 type veth peer name vb1 address 02:00:00:00:05:02 netns "${FIB_S[3]}"
	ip -n "$FIB_R" link set vb0 master vrf-blue
	ip -n "$FIB_R" addr add 10.200.0.1/24 dev vb0
	ip -n "$FIB_R" link set vrf-blue up
	ip -n "$FIB_R" link set vb0 up
	ip -n "${FIB_S[3]}" link set vb1 up
	ip -n "$FIB_R" neigh replace 10.200.0.2 lladdr 02:00:00:00:05:02 dev vb0 nud permanent
	ip -n "$FIB_R" route add 10.201.0.0/24 via 10.200.0.2 dev vb0 table 200
	trace_table 200
	fib_tool_start "$OUT" "$B/fibstat" -N "$FIB_R" --tables -o json -i 0.3
	local sent
	sent=$(r_send 10.200.0.1 10.201.0.1 2 5 --dev vrf-blue)
	echo "sent: $sent" >&2
	ft_jq '.sent == 10 and .errors == 0' "$sent"
	fib_tool_next "$OUT"
	fib_tool_stop
	local tr_all tr_found snap sums
	tr_all=$(traced_lookups | awk '$1 == 4' | wc -l)
	tr_found=$(traced_lookups | awk '$1 == 4 && $3 == 0' | wc -l)
	snap=$(last_json "$OUT")
	sums=$(jq -c '[.lookups[] | select(.table == 200 and .family == "ipv4")]
		| {vrf: (map(.vrf) | unique), lookups: (map(.lookups) | add), found: (map(.found) | add)}' <<<"$snap")
	echo "tracefs, table 200: $tr_all lookups, $tr_found found; fibstat: $sums" >&2
	# at least one lookup in the VRF's table per datagram, all of them found (the kernel also
	# looks up each socket's bound address there: 12 on 6.1, for 10 datagrams from 2 sockets)
	[ "$tr_found" -ge 10 ]
	ft_jq --argjson n "$tr_all" --argjson f "$tr_found" \
		'.vrf == ["vrf-blue"] and .lookups == $n and .found == $f' "$sums"
}

# fibstat -e -o json ARGS (the transport $1: ringbuf or perfbuf, then ARGS)
# streams each failed lookup the test causes in table 100, as the sender saw it fail.
events_truth() { # TRANSPORT [ARGS...]
	table100
	fib_tool_start_events() {
		"$B/fibstat" -N "$FIB_R" -e -o json "$@" >"$OUT" 2>"$OUT.err" &
		FIB_TOOL_PID=$!
		FIB_TOOL_PIDS+=("$FIB_TOOL_PID")
	}
	fib_tool_start_events "${@:2}"
	# until the tool streams: one prohibited datagram (another destination) every 0.2 s
	local i
	for ((i = 0; i < 600; i++)); do
		grep -q '^{' "$OUT" && break
		kill -0 "$FIB_TOOL_PID" || { cat "$OUT.err" >&2; false; }
		r_send "$FIB_RTR4" 10.78.0.9 1 1 --mark 100 >/dev/null
		sleep 0.2
	done
	grep -q '^{' "$OUT" || { echo "no event in 120 s: $(cat "$OUT.err")" >&2; false; }
	local u4 u6
	u4=$(r_send "$FIB_RTR4" 10.77.0.5 3 5 --mark 100)
	u6=$(r_send "$FIB_RTR6" 2001:db8:77::5 2 4 --mark 100)
	echo "sent: $u4 / $u6" >&2
	ft_jq '.errors == 15 and .errno.EHOSTUNREACH == 15' "$u4"
	ft_jq '.errors == 8' "$u6"
	for ((i = 0; i < 300; i++)); do
		[ "$(grep -c -e '"10.77.0.5"' -e '"2001:db8:77::5"' "$OUT")" -ge 23 ] && break
		sleep 0.1
	done
	sleep 0.5 # anything extra would show up meanwhile
	fib_tool_stop || true
	json_lint "$OUT"
	# every line: ts, tool, type (the result), errno as a number and its name; no lost or summary lines
	ft_jq -s 'all(.[]; (.ts | type == "number") and .tool == "fibstat"
		and (.type | IN("unreachable", "prohibit", "blackhole", "error"))
		and (.errno | type == "number") and (.errno_name | test("^E[A-Z0-9]+$"))
		and (has("result") | not) and (has("lost") | not))' "$(cat "$OUT")"
	# the transport the stream says it used
	ft_jq -s --arg t "$1" 'all(.[]; .mechanism | endswith(" fib lookup tracepoints, " + $t))' "$(cat "$OUT")"
	local ev
	ev=$(jq -sc '[.[] | select(.dst == "10.77.0.5" or .dst == "2001:db8:77::5")]
		| group_by(.family) | map({family: .[0].family, n: length, table: (map(.table) | unique),
		  type: (map(.type) | unique), errno: (map([.errno, .errno_name]) | unique),
		  proto: (map(.proto) | unique), dport: (map(.dport) | unique),
		  mark: (map(.mark) | unique), src: (map(.src) | unique), flows: (map(.sport) | unique | length)})' "$OUT")
	echo "events: $ev" >&2
	# the errno each lookup returned is what the sender's sendto() got (udpflows counts by name);
	# the numbers are Linux's (asm-generic/errno.h)
	local e6
	e6=$(jq -c '.errno | keys' <<<"$u6")
	ft_jq --argjson dp "$FIB_DPORT" --arg rtr4 "$FIB_RTR4" --arg rtr6 "$FIB_RTR6" --argjson e6 "$e6" '
		{EHOSTUNREACH: 113, ENETUNREACH: 101, EACCES: 13, EINVAL: 22} as $num
		| .[0] == {family: "ipv4", n: 15, table: [100], type: ["unreachable"], errno: [[113, "EHOSTUNREACH"]],
		         proto: ["udp"], dport: [$dp], mark: [100], src: [$rtr4], flows: 3}
		and .[1] == {family: "ipv6", n: 8, table: [100], type: ["unreachable"], errno: [$e6[] | [$num[.], .]],
		         proto: ["udp"], dport: [$dp], mark: [100], src: [$rtr6], flows: 2}
		and length == 2' "$ev"
}

@test "fibstat [kernel 6.1]: -e streams each failed lookup with its table, destination and result" {
	events_truth ringbuf
}

@test "fibstat: -e --perf-buffer: the same events through a perf buffer" {
	events_truth perfbuf --perf-buffer
}

@test "fibstat: -e -c 1 prints exactly one event after a burst of queued ones" {
	table100
	local out=$FIB_TMP/one.txt i
	"$B/fibstat" -N "$FIB_R" -e -c 1 >"$out" 2>"$out.err" &
	FIB_TOOL_PID=$!
	FIB_TOOL_PIDS+=("$FIB_TOOL_PID")
	# attached once the header is out
	for ((i = 0; i < 600; i++)); do
		grep -q '^RESULT' "$out" && break
		kill -0 "$FIB_TOOL_PID" 2>/dev/null || { cat "$out.err" >&2; false; }
		sleep 0.1
	done
	grep -q '^RESULT' "$out"
	# five unreachable lookups (five events) while the tool cannot read
	kill -STOP "$FIB_TOOL_PID"
	local u4
	u4=$(r_send "$FIB_RTR4" 10.77.0.5 1 5 --mark 100)
	ft_jq '.errors == 5 and .errno.EHOSTUNREACH == 5' "$u4"
	kill -CONT "$FIB_TOOL_PID"
	local rc=0
	wait "$FIB_TOOL_PID" || rc=$?
	FIB_TOOL_PIDS=() FIB_TOOL_PID=
	cat "$out" >&2
	assert_eq "$rc" 0 "exit status"
	assert_eq "$(grep -c '^unreachable ' "$out")" 1 "event lines"
	assert_eq "$(tail -n +3 "$out" | grep -vc '^unreachable ')" 0 "other lines"
}

@test "fibstat [kernel 6.1]: --mechanism raw_tp: the raw_tp twins count egress per nexthop and lookups per table alike" {
	fib_policy 4 1
	ecmp_run 4 "$B/fibstat" --mechanism raw_tp
	sinks_spread all
	check_ecmp 4 "$snap" $((FLOWS * PKTS))
	ft_jq '.mechanism | test("^net_dev_start_xmit: raw_tp, ")' "$snap"
	table100
	fib_tool_start "$OUT" "$B/fibstat" -N "$FIB_R" --tables -4 --mechanism raw_tp -o json -i 0.3
	local f4 u4 sums
	f4=$(r_send "$FIB_RTR4" 10.99.0.1 3 4 --mark 100)
	u4=$(r_send "$FIB_RTR4" 10.77.0.1 2 5 --mark 100)
	ft_jq '.sent == 12 and .errors == 0' "$f4"
	ft_jq '.sent == 0 and .errors == 10 and .errno.EHOSTUNREACH == 10' "$u4"
	fib_tool_next "$OUT"
	fib_tool_stop
	snap=$(last_json "$OUT")
	ft_jq '.mechanism == "raw_tp"' "$snap"
	sums=$(jq -c '[.lookups[] | select(.table == 100)]
		| {lookups: (map(.lookups) | add), found: (map(.found) | add), unreachable: (map(.unreachable) | add)}' <<<"$snap")
	echo "fibstat --mechanism raw_tp, table 100: $sums" >&2
	ft_jq '. == {lookups: 22, found: 12, unreachable: 10}' "$sums"
}

@test "fibstat: --mechanism names what fibstat can hook: unknown names exit 2, unavailable ones 4" {
	run "$B/fibstat" -N "$FIB_R" --mechanism kprobe -c 1 -i 0.2
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --mechanism 'kprobe': expected one of tp_btf, raw_tp, fexit"
	if has_feature fentry; then
		run "$B/fibstat" -N "$FIB_R" --mechanism fexit -o json -c 1 -i 0.2
		[ "$status" -eq 0 ]
		ft_jq '.mechanism | test("fib_select_multipath: fexit")' "$(last_json <(echo "$output"))"
	else
		run "$B/fibstat" -N "$FIB_R" --mechanism fexit -c 1 -i 0.2
		[ "$status" -eq 4 ]
		assert_one_line_error "--mechanism fexit: the kernel cannot hook fib_select_multipath that way (no BPF trampolines)"
	fi
}

@test "fibstat: -o prom --file: samples parse, packets and bytes per nexthop equal the sinks'" {
	fib_policy 4 1
	local prom=$FIB_TMP/fib.prom i ino
	fib_sinks_start 4
	"$B/fibstat" -N "$FIB_R" -o prom -i 0.3 --file "$prom" >"$OUT" 2>"$OUT.err" &
	FIB_TOOL_PID=$!
	FIB_TOOL_PIDS+=("$FIB_TOOL_PID")
	for ((i = 0; i < 600; i++)); do
		[ -s "$prom" ] && break
		kill -0 "$FIB_TOOL_PID" || { cat "$OUT.err" >&2; false; }
		sleep 0.1
	done
	[ -s "$prom" ]
	sent_json=$(fib_send_flows 4 "$FLOWS" "$PKTS" "$SIZE")
	fib_sinks_wait $((FLOWS * PKTS))
	# two more snapshots (the file is replaced by rename each time)
	for _ in 1 2; do
		ino=$(stat -c %i "$prom")
		for ((i = 0; i < 300; i++)); do
			[ "$(stat -c %i "$prom")" != "$ino" ] && break
			sleep 0.1
		done
	done
	fib_tool_stop
	fib_sinks_stop
	# every sample line: name{labels} value
	local bad
	bad=$(grep -v '^#' "$prom" | grep -v '^$' |
		grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$' || true)
	[ -z "$bad" ] || { echo "unparsable prom lines: $bad" >&2; false; }
	grep -q '^# TYPE bpfscope_fibstat_packets_total counter' "$prom"
	prom_lint "$prom"
	# facts are labels of the info metric; counts of the meta are metrics of their own
	grep -q '^bpfscope_fibstat_info{version="[^"]*",mechanism="[^"]*",hash_policy_ipv4="L4",' "$prom"
	grep -qx 'bpfscope_fibstat_routes{view="nexthops"} 2' "$prom"
	grep -qx 'bpfscope_fibstat_flows_dropped_total{view="nexthops"} 0' "$prom"
	grep -q '^bpfscope_fibstat_share_ratio{.*} 0\.[0-9]*$' "$prom"
	local k got want
	for k in 1 2 3 4; do
		for m in packets bytes; do
			got=$(grep -E "^bpfscope_fibstat_${m}_total\\{[^}]*route=\"10\\.99\\.0\\.0/24\"[^}]*\\}" "$prom" |
				grep "gateway=\"10.0.$k.2\"" | awk '{print $NF}')
			want=$(jq ".packets * (if \"$m\" == \"bytes\" then $SIZE + 28 else 1 end)" <<<"$(fib_sink "$k")")
			assert_eq "$got" "$want" "prom $m for nexthop 10.0.$k.2 vs sink $k"
		done
	done
	[ -z "$(ls -A "$FIB_TMP" | grep -v -e '^fib.prom$' -e '^out.json' -e '^sink' -e '^ready')" ] ||
		{ echo "stray files: $(ls -A "$FIB_TMP")" >&2; false; }
}

@test "fibstat [kernel 6.1]: clean under ASan/UBSan, with counts equal to the sinks'" {
	[ -x "$BA/fibstat" ] || skip_because "ASan build missing (make BUILD=build/asan SAN=address testbins)"
	fib_policy 4 1
	FLOWS=32
	ecmp_run 4 "$BA/fibstat"
	sinks_spread all
	check_ecmp 4 "$snap" $((FLOWS * PKTS))
	run "$BA/fibstat" -N "$FIB_R" --tables -o json -c 1 -i 0.3
	[ "$status" -ne 99 ] || { echo "$output" >&2; false; }
	[ "$status" -eq 0 ]
}

@test "fibstat [kernel]: nothing stays attached after exit, SIGINT or SIGKILL" {
	local before left sig mode
	# ids of every program and link; others' objects may vanish meanwhile
	# (freed asynchronously), so only new ids are leftovers
	snap_ids() { { bpftool prog show -j | jq -c '[.[].id | "p\(.)"]'; bpftool link show -j | jq -c '[.[].id | "l\(.)"]'; } | jq -sc 'add'; }
	before=$(snap_ids)
	run "$B/fibstat" -N "$FIB_R" -c 1 -i 0.2
	[ "$status" -eq 0 ]
	for sig in INT KILL; do
		for mode in "" "--tables" "--flows"; do
			# shellcheck disable=SC2086
			fib_tool_start "$FIB_TMP/sig.out" "$B/fibstat" -N "$FIB_R" -i 0.2 $mode
			kill -"$sig" "$FIB_TOOL_PID"
			wait "$FIB_TOOL_PID" || true
			FIB_TOOL_PIDS=() FIB_TOOL_PID=
		done
		"$B/fibstat" -N "$FIB_R" -e >/dev/null 2>&1 &
		sleep 1
		kill -"$sig" $!
		wait $! || true
	done
	for _ in $(seq 1 50); do
		left=$(jq -nc --argjson a "$(snap_ids)" --argjson b "$before" '$a - $b')
		[ "$left" = "[]" ] && break
		sleep 0.2
	done
	assert_eq "$left" "[]" "BPF programs and links the tool left behind"
	[ -z "$(find /sys/fs/bpf -name '*fib*' 2>/dev/null)" ]
}
