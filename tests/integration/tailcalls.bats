#!/usr/bin/env bats
# tailcalls against the tailcalls_*.bpf.c fixtures loaded by
# tests/lib/tailcalls_load (ground truth: the ids it prints, bpftool's view of
# the prog arrays, programs and links, ip/tc's view of the attachments, the
# fixtures' own hit counters, and the kernel's run_cnt).

load ../lib/helpers

setup_file() {
	export TC_DIR NS PKT
	TC_DIR=$(mktemp -d /tmp/bs-tailcalls.XXXXXX)
	own_map_ids >"$TC_DIR/premaps"
	NS="bstc$$"
	PKT=$TC_DIR/pkt
	head -c 64 /dev/zero >"$PKT"
	ip netns add "$NS"
	# no stray packets: IPv6 off before any interface exists, no other traffic
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$NS" link add tca type veth peer name tcb
	ip -n "$NS" link set tca up
	ip -n "$NS" link set tcb up
	# a test cgroup for the cgroup-rooted pipeline
	export CG_ROOT CG=
	CG_ROOT=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	local cgopt=()
	if [ -n "$CG_ROOT" ]; then
		CG="$CG_ROOT/bstc$$"
		mkdir "$CG" && cgopt=(--cgroup "$CG")
	fi
	"$B/tests/tailcalls_load" --netns "$NS" --xdp tcb --tc tcb --cycle --deep --tracepoint "${cgopt[@]}" \
		>"$TC_DIR/load.json" 2>"$TC_DIR/load.err" 3>&- &
	echo $! >"$TC_DIR/load.pid"
	for _ in $(seq 1 1200); do
		grep -q '}$' "$TC_DIR/load.json" 2>/dev/null && break
		sleep 0.1
	done
	grep -q '}$' "$TC_DIR/load.json" || { cat "$TC_DIR/load.err" >&2; return 1; }
	# every id as a variable (P_name, M_name, ...): jq is slow to start under emulation
	eval "$(jq -r '(.progs | to_entries[] | "export P_\(.key)=\(.value)"),
		(.maps | to_entries[] | "export M_\(.key)=\(.value)"),
		"export NETNS_INO=\(.netns_ino) XDP_IFINDEX=\(.xdp.ifindex) XDP_LINK=\(.xdp.link_id)",
		"export TC_IFINDEX=\(.tc.ifindex) TC_PRIO=\(.tc.priority) TC_HANDLE=\(.tc.handle)",
		"export TP_LINK=\(.tracepoint.link_id) CG_LINK=\(.cgroup.link_id // 0) LOADER_PID=\(.pid)"' "$TC_DIR/load.json")"
}

teardown_file() {
	kill "$(cat "$TC_DIR/load.pid")" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$TC_DIR"
}

prog() { local v="P_$1"; echo "${!v}"; }
map() { local v="M_$1"; echo "${!v}"; }
# all counters of array map NAME, by index
all_hits() { bpftool map dump id "$(map "$1")" -j | jq -c '[sort_by(.formatted.key)[] | .formatted.value]'; }
# run_cnt of every program: {"ID": N, ...}
all_runs() { bpftool prog show -j | jq -c 'map({(.id | tostring): (.run_cnt // 0)}) | add'; }
run_cnt() { bpftool prog show id "$1" -j | jq '.run_cnt // 0'; }
# populated slots of a prog array as bpftool sees them: [[slot, prog], ...]
slots() { bpftool map dump id "$1" -j | jq -c '[.[] | [.formatted.key, .formatted.value]] | sort'; }
# prog array's empty slots below its highest populated one, from bpftool
gaps() { bpftool map dump id "$1" -j | jq -c '[.[].formatted.key] as $k | [range(0; ($k | max)) | select(. as $s | $k | index($s) | not)]'; }
# programs and maps of the tool itself, still loaded
# maps by name from the map iterator (bpfids maps), not bpftool: opening a
# prog array by id as it is released leaks it (tests/lib/progarray_leak.c).
# Maps of those names that existed before this file (leaked by older builds
# on this machine, until reboot) are not ours.
own_map_ids() {
	"$B/tests/bpfids" maps | awk '$3 == "ip_samples" || $3 == "sample_stats" || $3 == "selftest_array" || $3 == "entry_counts" {print $1}' | sort
}
own_objects() {
	local p m
	p=$(bpftool prog show -j | jq '[.[] | select(.name | IN("sample_ip","selftest_caller","selftest_callee","count_entry"))] | length')
	m=$(comm -13 "$TC_DIR/premaps" <(own_map_ids) | grep -c . || true)
	echo $((p + m))
}
# ids of the links of the tool's programs
own_links() {
	local ids
	ids=$(bpftool prog show -j | jq -c '[.[] | select(.name | IN("sample_ip","count_entry")) | .id]')
	bpftool link show -j | jq -c --argjson p "$ids" '[.[] | select(.prog_id as $i | $p | index($i)) | .id]'
}
# Every jq expression holds for $output; checked in one jq run (jq starts
# slowly under emulation).  On failure, prints the expressions that failed.
assert_jq_each() {
	local prog="[" e sep=""
	for e in "$@"; do
		prog+="$sep([($e)] | length > 0 and all)"
		sep=","
	done
	prog+="] | [to_entries[] | select(.value != true) | .key] | map(tostring) | join(\" \")"
	local bad
	bad=$(jq -r "$prog" <<<"$output") || { echo "jq failed on: $prog" >&2; return 1; }
	[ -z "$bad" ] && return 0
	local args=("$@") i
	for i in $bad; do echo "jq assertion failed: ${args[i]}" >&2; done
	echo "document: ${output:0:3000}" >&2
	return 1
}
wait_own_gone() {
	for _ in $(seq 1 100); do
		[ "$(own_objects)" -eq 0 ] && return 0
		sleep 0.1
	done
	echo "still loaded: $(own_objects) tailcalls objects" >&2
	return 1
}
wait_for() { # FILE PATTERN
	for _ in $(seq 1 1800); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1: $(cat "$1")" >&2
	return 1
}

@test "tailcalls [kernel]: XDP pipeline: exactly the fixture's nodes, slots and edges; slot 2 flagged empty" {
	local root parse heavy rare stages ino ifindex
	root=$(prog xdp_root) parse=$(prog xdp_parse) heavy=$(prog xdp_heavy) rare=$(prog xdp_rare)
	stages=$(map stages) ino=$NETNS_INO ifindex=$XDP_IFINDEX
	run "$B/tailcalls" -P "$root" -o json
	[ "$status" -eq 0 ]
	[ "$(grep -c . <<<"$output")" -eq 1 ]
	local att="xdp:$ino:$ifindex:drv"
	assert_eq "$(jq -c '[.nodes[].id] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" "[\$a, \"prog:$root\", \"prog:$parse\", \"prog:$heavy\", \"prog:$rare\", \"map:$stages\"] | sort")" nodes
	# slots: what bpftool reads from the prog array
	local want_slots
	want_slots=$(slots "$stages" | jq -c --arg m "map:$stages" '[.[] | [$m, "prog:\(.[1])", "slot", .[0]]]')
	assert_eq "$(jq -c '[.edges[] | select(.edge == "slot") | [.from, .to, .edge, .slot]] | sort' <<<"$output")" \
		"$(jq -c sort <<<"$want_slots")" "slot edges"
	# uses: xdp_root picks its slot at run time, xdp_parse always tail-calls slot 1
	assert_eq "$(jq -c '[.edges[] | select(.edge != "slot") | [.from, .to, .edge, .calls]] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" "[[\$a, \"prog:$root\", \"attach\", null], [\"prog:$root\", \"map:$stages\", \"uses\", null], [\"prog:$parse\", \"map:$stages\", \"uses\", [1]]] | sort")" "other edges"
	# the attach point: as ip link shows it inside the namespace
	ip -n "$NS" link show tcb | grep -q "prog/xdp id $root "
	assert_jq_each \
		".nodes[] | select(.id == \"map:$stages\") | .empty_slots == $(gaps "$stages")" \
		".nodes[] | select(.id == \"map:$stages\") | .flags == [\"empty_slots\"] and .used_slots == 3 and .max_entries == 8 and .map_name == \"stages\"" \
		".nodes[] | select(.id == \"$att\") | .hook == \"xdp\" and .target == \"tcb\" and .netns == \"$NS\" and .ifindex == $ifindex and .link_id == $XDP_LINK and .detail == \"drv\"" \
		"[.nodes[] | select(.kind == \"prog\") | [.prog_id, .prog_name, .depth, .flags]] | sort == ([[$root, \"xdp_root\", 0, []], [$parse, \"xdp_parse\", 1, [\"tail_call_only\"]], [$heavy, \"xdp_heavy\", 2, [\"tail_call_only\"]], [$rare, \"xdp_rare\", 1, [\"tail_call_only\"]]] | sort)" \
		'[.nodes[] | select(.kind == "prog") | .prog_type] | unique == ["xdp"]'
}

@test "tailcalls [kernel]: TC chain: its own pipeline, and a prog array no program uses flagged unused" {
	local root stage chain orphan ino ifindex
	root=$(prog tc_root) stage=$(prog tc_stage) chain=$(map tc_chain) orphan=$(map orphan)
	ino=$NETNS_INO ifindex=$TC_IFINDEX
	run "$B/tailcalls" -P "$root" -o json
	[ "$status" -eq 0 ]
	local att="tc:$ino:$ifindex:ingress:$TC_PRIO:$TC_HANDLE"
	tc -n "$NS" filter show dev tcb ingress | grep -q " id $root "
	assert_eq "$(jq -c '[.nodes[].id] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" "[\$a, \"prog:$root\", \"prog:$stage\", \"map:$chain\", \"map:$orphan\"] | sort")" nodes
	assert_eq "$(jq -c '[.edges[] | [.from, .to, .edge, .slot, .calls]] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" "[[\$a, \"prog:$root\", \"attach\", null, null], [\"prog:$root\", \"map:$chain\", \"uses\", null, [0]], [\"map:$chain\", \"prog:$stage\", \"slot\", 0, null], [\"map:$orphan\", \"prog:$stage\", \"slot\", 0, null]] | sort")" edges
	assert_eq "$(slots "$orphan")" "[[0,$stage]]" "orphan slots (bpftool)"
	# no loaded program lists the orphan among its maps
	assert_eq "$(bpftool prog show -j | jq "[.[] | select((.map_ids // []) | index($orphan))] | length")" 0 "users of the orphan"
	assert_jq_each \
		".nodes[] | select(.id == \"map:$orphan\") | .flags == [\"unused\"]" \
		".nodes[] | select(.id == \"map:$chain\") | .flags == [] and .empty_slots == []" \
		".nodes[] | select(.id == \"$att\") | .hook == \"tc\" and .target == \"tcb\" and .netns == \"$NS\" and .link_id == null" \
		".nodes[] | select(.id == \"prog:$stage\") | .flags == [\"tail_call_only\"] and .prog_type == \"sched_cls\""
}

# tcx (Linux 6.6+): the TC chain's root attached a second time, through a tcx
# link on tca's ingress, held by tests/lib/tcx_attach for this test only.
# Ground truth: the link as the kernel describes it to tcx_attach (link id,
# program, ifindex), bpftool's link list, and ip's ifindex of tca.
@test "tailcalls [kernel]: tcx root: the TC chain attached through a tcx link is drawn from it, with the link" {
	local root stage chain orphan ino ifindex tcx pid
	root=$(prog tc_root) stage=$(prog tc_stage) chain=$(map tc_chain) orphan=$(map orphan)
	ino=$NETNS_INO
	tcx=$TC_DIR/tcx.json
	"$B/tests/tcx_attach" --netns "$NS" --dev tca --prog "$root" >"$tcx" 2>"$TC_DIR/tcx.err" &
	pid=$!
	echo "$pid" >"$TC_DIR/tcx.pid"
	for _ in $(seq 1 600); do
		grep -q '}$' "$tcx" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '}$' "$tcx"; then
		local rc=0
		wait "$pid" || rc=$?
		[ "$rc" -eq 4 ] && skip_because "no tcx on this kernel (Linux 6.6+): $(cat "$TC_DIR/tcx.err")"
		echo "tcx_attach exited with status $rc: $(cat "$TC_DIR/tcx.err")" >&2
		return 1
	fi
	local link
	link=$(jq .link_id "$tcx")
	ifindex=$(ip -n "$NS" -j link show tca | jq '.[0].ifindex')
	jq -e --argjson p "$root" --argjson i "$ifindex" --argjson n "$ino" \
		'.prog_id == $p and .ifindex == $i and .netns_ino == $n' "$tcx"
	bpftool link show id "$link" -j | jq -e --argjson p "$root" '.prog_id == $p'
	run "$B/tailcalls" -P "$root" -o json
	[ "$status" -eq 0 ]
	local att="tcx:$ino:$ifindex:ingress:$root" tc="tc:$ino:$TC_IFINDEX:ingress:$TC_PRIO:$TC_HANDLE"
	assert_eq "$(jq -c '[.nodes[].id] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" --arg t "$tc" "[\$a, \$t, \"prog:$root\", \"prog:$stage\", \"map:$chain\", \"map:$orphan\"] | sort")" nodes
	assert_eq "$(jq -c '[.edges[] | [.from, .to, .edge, .slot, .calls]] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" --arg t "$tc" "[[\$a, \"prog:$root\", \"attach\", null, null], [\$t, \"prog:$root\", \"attach\", null, null], [\"prog:$root\", \"map:$chain\", \"uses\", null, [0]], [\"map:$chain\", \"prog:$stage\", \"slot\", 0, null], [\"map:$orphan\", \"prog:$stage\", \"slot\", 0, null]] | sort")" edges
	assert_jq_each \
		".nodes[] | select(.id == \"$att\") | .hook == \"tcx\" and .target == \"tca\" and .netns == \"$NS\" and .ifindex == $ifindex and .link_id == $link and .detail == \"ingress #0\" and .prog_id == $root" \
		".nodes[] | select(.id == \"prog:$root\") | .depth == 0 and .prog_type == \"sched_cls\"" \
		".nodes[] | select(.id == \"prog:$stage\") | .depth == 1 and .flags == [\"tail_call_only\"]"
	# the tree view draws the chain under the tcx attach point too
	run "$B/tailcalls" -P "$root"
	[ "$status" -eq 0 ]
	grep -qx "tcx  tca  ingress #0  netns=$NS  link=$link" <<<"$output" || { echo "$output" >&2; false; }
	grep -q "^\`-- prog $root  tc_root  (sched_cls)  depth=0" <<<"$output"
	kill "$pid"
	wait "$pid"
	rm -f "$TC_DIR/tcx.pid"
	# the link went with the helper: tailcalls no longer sees a tcx root
	run "$B/tailcalls" -P "$root" -o json
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.nodes[] | select(.hook == "tcx")] | length' <<<"$output")" 0 "tcx attach points after the link is gone"
}

teardown() {
	local f
	# helpers a test holds (tcx_attach, tcdisc_lwt, tcdisc_netkit), if it stopped early
	for f in "$TC_DIR/tcx.pid" "$TC_DIR/lwt.pid" "$TC_DIR/nk.pid"; do
		if [ -f "$f" ]; then
			kill "$(cat "$f")" 2>/dev/null
			rm -f "$f"
		fi
	done
	# the tcdisc tests' own interfaces and routes (with their LWT programs),
	# and their mirred actions (the test namespace has no others)
	ip -n "$NS" link del bstda 2>/dev/null || true
	ip netns exec "$NS" tc actions flush action mirred 2>/dev/null || true
}

@test "tailcalls [kernel]: two-program cycle flagged on both programs and all four edges; the kernel loops it 33 times" {
	local a b arr
	a=$(prog cyc_a) b=$(prog cyc_b) arr=$(map cyc_array)
	run "$B/tailcalls" -P "$a" -o json
	[ "$status" -eq 0 ]
	assert_jq_each \
		"[.nodes[].id] | sort == ([\"prog:$a\", \"prog:$b\", \"map:$arr\"] | sort)" \
		"[.nodes[] | select(.kind == \"prog\") | .flags] == [[\"cycle\", \"tail_call_only\"], [\"cycle\", \"tail_call_only\"]]" \
		"[.edges[] | [.from, .to, .slot, .calls, .flags]] | sort == ([[\"prog:$a\", \"map:$arr\", null, [1], [\"cycle\"]], [\"prog:$b\", \"map:$arr\", null, [0], [\"cycle\"]], [\"map:$arr\", \"prog:$a\", 0, null, [\"cycle\"]], [\"map:$arr\", \"prog:$b\", 1, null, [\"cycle\"]]] | sort)"
	# ground truth: one run of cyc_a really cycles until the kernel's limit
	local a0 b0
	a0=$(all_hits cyc_hits)
	bpftool prog run id "$a" data_in "$PKT" repeat 1 >/dev/null
	b0=$(all_hits cyc_hits)
	assert_eq "$(jq -nc --argjson x "$a0" --argjson y "$b0" '[$y[0] - $x[0], $y[1] - $x[1]]')" "[17,17]" "cyc_a, cyc_b runs"
}

@test "tailcalls [kernel]: chain of 36: too_deep exactly on the programs the kernel never reaches" {
	local d0 i before after
	d0=$(prog deep_0)
	before=$(all_hits deep_hits)
	bpftool prog run id "$d0" data_in "$PKT" repeat 1 >/dev/null
	after=$(all_hits deep_hits)
	# ids of the deep_N whose counter did not move: the kernel never ran them
	local never
	never=$(jq -nc --argjson b "$before" --argjson a "$after" --slurpfile l "$TC_DIR/load.json" \
		'[range(0; 36) | select($a[.] == $b[.]) | "deep_\(.)" as $n | $l[0].progs[$n]] | sort')
	[ "$(jq length <<<"$never")" -lt 6 ]
	run "$B/tailcalls" -P "$d0" -o json
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.nodes[] | select(.kind == "prog" and (.flags | index("too_deep"))) | .prog_id] | sort' <<<"$output")" \
		"$never" "too_deep programs vs never run"
	local checks=()
	for i in 0 1 17 33 34 35; do
		checks+=(".nodes[] | select(.kind == \"prog\" and .prog_id == $(prog "deep_$i")) | .depth == $i")
	done
	assert_jq_each "${checks[@]}"
}

@test "tailcalls [kernel]: cgroup and tracepoint roots: found where bpftool sees them, with their links" {
	local cg tp
	cg=$(prog cg_root) tp=$(prog tp_root)
	# tracepoint through a perf event the loader holds: bpftool perf list is the ground truth
	local pe
	pe=$(bpftool perf list -j | jq -c ".[] | select(.prog_id == $tp)")
	[ -n "$pe" ]
	run "$B/tailcalls" -P "$tp" -o json
	[ "$status" -eq 0 ]
	local want_link=null
	[ "$TP_LINK" != 0 ] && want_link=$TP_LINK
	assert_jq_each \
		"[.nodes[] | select(.kind == \"attach\") | [.hook, .target, .pid, .link_id, .prog_id]] == [[\"tracepoint\", $(jq .tracepoint <<<"$pe"), $(jq .pid <<<"$pe"), $want_link, $tp]]" \
		"[.edges[] | [.from, .to, .edge, .slot, .calls]] | map(.[2]) | sort == [\"attach\", \"slot\", \"uses\"]" \
		".edges[] | select(.edge == \"slot\") | .to == \"prog:$(prog tp_stage)\" and .slot == 0"
	[ -n "$CG" ] || skip_because "no cgroup2 hierarchy mounted"
	bpftool cgroup show "$CG" -j | jq -e "[.[] | select(.id == $cg and .attach_type == \"cgroup_inet_ingress\")] | length == 1"
	run "$B/tailcalls" -P "$cg" -o json
	[ "$status" -eq 0 ]
	assert_jq_each \
		"[.nodes[] | select(.kind == \"attach\") | [.hook, .target, .detail, .link_id, .prog_id]] == [[\"cgroup\", \"${CG#"$CG_ROOT"}\", \"cgroup_inet_ingress\", $CG_LINK, $cg]]" \
		"[.edges[] | [.from, .to, .edge, .slot, .calls]] | map(select(.[2] != \"attach\")) | sort == ([[\"prog:$cg\", \"map:$(map cg_chain)\", \"uses\", null, [0]], [\"map:$(map cg_chain)\", \"prog:$(prog cg_stage)\", \"slot\", 0, null]] | sort)"
}

@test "tailcalls: every netns is searched: the whole-system graph has both attach points of the test namespace" {
	run "$B/tailcalls" -o json
	[ "$status" -eq 0 ]
	# tc_plain has no tail calls and is attached nowhere: not part of any pipeline
	assert_jq_each \
		"[.nodes[] | select(.kind == \"attach\" and .netns_ino == $NETNS_INO) | [.hook, .prog_id]] | sort == ([[\"tc\", $(prog tc_root)], [\"xdp\", $(prog xdp_root)]] | sort)" \
		"[.nodes[] | select(.kind == \"prog\") | .prog_id] | (index($(prog cyc_a)) != null and index($(prog deep_35)) != null)" \
		"[.nodes[] | select(.prog_id == $(prog tc_plain))] | length == 0" \
		'.netns_scanned >= 2'
}

@test "tailcalls: DOT output is accepted by dot, for one pipeline and for the whole system" {
	command -v dot >/dev/null || skip_because "graphviz (dot) not installed"
	"$B/tailcalls" -P "$(prog xdp_root)" -o dot >"$TC_DIR/p.dot"
	dot -Tsvg "$TC_DIR/p.dot" >"$TC_DIR/p.svg"
	grep -q "xdp_heavy" "$TC_DIR/p.svg"
	grep -q "\"prog:$(prog xdp_rare)\"" "$TC_DIR/p.dot"
	# one node statement per JSON node, one edge statement per JSON edge
	"$B/tailcalls" -P "$(prog xdp_root)" -o json >"$TC_DIR/p.json"
	assert_eq "$(grep -c ' \[label=' "$TC_DIR/p.dot")" "$(jq '(.nodes | length) + (.edges | length)' "$TC_DIR/p.json")" statements
	"$B/tailcalls" -o dot >"$TC_DIR/all.dot"
	dot -Tsvg "$TC_DIR/all.dot" >/dev/null
}

@test "tailcalls: the default tree shows the pipeline with its slots and flags" {
	run "$B/tailcalls" -P "$(prog xdp_root)"
	[ "$status" -eq 0 ]
	# the graph facts first ("# name: value"), then the tree
	[[ "${lines[0]}" == "# netns_scanned: "* ]]
	grep -q "^# prog_array_slots: iter/bpf_map" <<<"$output"
	mapfile -t tree < <(grep -v '^#' <<<"$output")
	[[ "${tree[0]}" == "xdp  tcb  drv  netns=$NS  link=$XDP_LINK" ]]
	[[ "${tree[1]}" == "\`-- prog $(prog xdp_root)  xdp_root  (xdp)  depth=0" ]]
	[[ "$output" == *"[3] prog $(prog xdp_rare)  xdp_rare  (xdp)  depth=1  !tail_call_only"* ]]
	[[ "$output" == *"prog_array $(map stages)  stages  used=3  max=8  empty=2  !empty_slots"* ]]
}

@test "tailcalls: Prometheus output is valid exposition text" {
	run "$B/tailcalls" -P "$(prog xdp_root)" -o prom
	[ "$status" -eq 0 ]
	grep -q "^bpfscope_tailcalls_depth{prog_id=\"$(prog xdp_heavy)\",prog_name=\"xdp_heavy\",prog_type=\"xdp\",kind=\"prog\",view=\"graph\"} 2$" <<<"$output"
	grep -q "^bpfscope_tailcalls_max_entries{map_id=\"$(map stages)\",map_name=\"stages\",kind=\"prog_array\",view=\"graph\"} 8$" <<<"$output"
	# this test's namespace and the initial one at least
	[ "$(sed -n 's/^bpfscope_tailcalls_netns_scanned{view="graph"} \([0-9]*\)$/\1/p' <<<"$output")" -ge 2 ]
	command -v promtool >/dev/null || skip_because "promtool not installed"
	# valid and lint-clean: promtool prints nothing
	lint=$(promtool check metrics <<<"$output" 2>&1)
	[ -z "$lint" ] || { echo "$lint"; false; }
	# and a profiled interval
	run "$B/tailcalls" -P "$(prog xdp_root)" -i 0.5 -c 1 -o prom
	[ "$status" -eq 0 ]
	grep -q "^bpfscope_tailcalls_samples{prog_id=\"$(prog xdp_rare)\",prog_name=\"xdp_rare\",prog_type=\"xdp\",kind=\"prog\",view=\"graph\"} 0$" <<<"$output"
	lint=$(promtool check metrics <<<"$output" 2>&1)
	[ -z "$lint" ] || { echo "$lint"; false; }
}

# One profiled interval of the XDP pipeline under BPF_PROG_TEST_RUN load,
# shared by the profile tests: the tool's JSON line, the fixture's hit
# counters and the kernel's run_cnt of every stage before and after.
profile_run() {
	local d=$TC_DIR/profile
	[ -s "$d/out.json" ] && return 0
	mkdir -p "$d"
	local root ns_per repeat s
	root=$(prog xdp_root)
	# about 1.5 s of test runs on this kernel
	ns_per=$(bpftool prog run id "$root" data_in "$PKT" repeat 200 | sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p')
	repeat=$((1500000000 / (${ns_per:-1000} + 1)))
	[ "$repeat" -lt 2000 ] && repeat=2000
	[ "$repeat" -gt 500000 ] && repeat=500000
	echo "$repeat" >"$d/repeat"
	all_runs >"$d/runs.0"
	all_hits hits >"$d/hits.0"
	# one long interval, ended by SIGINT once the load is done: the tool
	# prints the interval so far
	# 2999 Hz, unless the kernel lowered its limit (slow perf interrupts under emulation)
	local hz
	hz=$(cat /proc/sys/kernel/perf_event_max_sample_rate)
	[ "$hz" -gt 2999 ] && hz=2999
	echo "$hz" >"$d/hz"
	"$B/tailcalls" -P "$root" -i 600 -c 1 -F "$hz" --run-stats -o json -v >"$d/out.json" 2>"$d/err" 3>&- &
	local tp=$!
	wait_for "$d/err" "sampling started"
	bpftool prog run id "$root" data_in "$PKT" repeat "$repeat" >"$d/load.txt"
	kill -INT "$tp"
	wait "$tp"
	echo $? >"$d/status"
	all_runs >"$d/runs.1"
	all_hits hits >"$d/hits.1"
}
# change during the profiled run: pdelta hits INDEX, pdelta runs PROGNAME
pdelta() {
	local k=$2
	[ "$1" = runs ] && k="\"$(prog "$2")\""
	jq -n --slurpfile a "$TC_DIR/profile/$1.1" --slurpfile b "$TC_DIR/profile/$1.0" "\$a[0][$k] - \$b[0][$k]"
}
pnode() { jq ".nodes[] | select(.kind == \"prog\" and .prog_id == $(prog "$1")) | .$2" "$TC_DIR/profile/out.json"; }

@test "tailcalls [kernel 6.1]: profile: the heavy stage gets the largest share; stages that ran get samples, xdp_rare none" {
	profile_run
	[ "$(cat "$TC_DIR/profile/status")" -eq 0 ]
	local repeat; repeat=$(cat "$TC_DIR/profile/repeat")
	# ground truth: the fixture's own counters (index: parse 0, heavy 1, rare 3, root 4)
	assert_eq "$(pdelta hits 4)" "$repeat" "xdp_root runs"
	assert_eq "$(pdelta hits 0)" "$repeat" "xdp_parse runs"
	assert_eq "$(pdelta hits 1)" "$repeat" "xdp_heavy runs"
	assert_eq "$(pdelta hits 3)" 0 "xdp_rare runs"
	local root parse heavy rare
	root=$(pnode xdp_root samples) parse=$(pnode xdp_parse samples)
	heavy=$(pnode xdp_heavy samples) rare=$(pnode xdp_rare samples)
	echo "# samples: root $root parse $parse heavy $heavy rare $rare of $(jq .samples_all "$TC_DIR/profile/out.json")" >&3
	[ "$root" -gt 0 ] && [ "$parse" -gt 0 ] && [ "$heavy" -gt 0 ]
	[ "$rare" -eq 0 ]
	[ "$heavy" -gt "$root" ] && [ "$heavy" -gt "$parse" ]
	# shares: consistent with the samples, and the run was sampled
	[ "$(jq '.samples_bpf >= ([.nodes[] | .samples // 0] | add)' "$TC_DIR/profile/out.json")" = true ]
	[ "$(jq '.samples_lost' "$TC_DIR/profile/out.json")" -eq 0 ]
	[ "$(jq ".nodes[] | select(.kind == \"prog\" and .prog_id == $(prog xdp_heavy)) | .bpf_ratio > 0.5" "$TC_DIR/profile/out.json")" = true ]
	jq -e ".sampling | startswith(\"perf_event cpu-clock at $(cat "$TC_DIR/profile/hz") Hz\")" "$TC_DIR/profile/out.json"
}

@test "tailcalls [kernel 6.1]: run stats: BPF_ENABLE_STATS counts the dispatched root (as the kernel does), never tail-called stages" {
	profile_run
	local repeat; repeat=$(cat "$TC_DIR/profile/repeat")
	jq -e '.run_stats == "bpf_enable_stats"' "$TC_DIR/profile/out.json"
	# the tool reports exactly what the kernel counted
	assert_eq "$(pnode xdp_root runs)" "$(pdelta runs xdp_root)" "xdp_root run_cnt vs kernel"
	[ "$(pdelta runs xdp_root)" -ge "$repeat" ]
	jq -e ".nodes[] | select(.prog_id == $(prog xdp_root) and .kind == \"prog\") | .run_time_seconds > 0" "$TC_DIR/profile/out.json"
	# tail-called stages ran $repeat times (their own counters) yet the kernel counts none
	for s in xdp_parse xdp_heavy xdp_rare; do
		assert_eq "$(pdelta runs $s)" 0 "$s kernel run_cnt"
		assert_eq "$(pnode $s runs)" 0 "$s run_cnt"
		assert_eq "$(pnode $s avg_run_seconds)" null "$s avg_run_seconds"
	done
	echo "# kernel $KERNEL: run_cnt root $(pdelta runs xdp_root) for $repeat test runs; tail-called stages 0" >&3
}

@test "tailcalls [kernel]: the fentry self-test verdict matches an independent check on this kernel" {
	profile_run
	local tool helper
	tool=$(jq -r .fentry_tail_call_entry "$TC_DIR/profile/out.json")
	run "$B/tests/tailcalls_load" --fentry-check --repeat 100
	[ "$status" -eq 0 ]
	helper=$(jq -r .fentry <<<"${lines[-1]}")
	echo "# kernel $KERNEL: tool says '$tool'; independent check: $(jq -c . <<<"${lines[-1]}")" >&3
	if has_feature fentry; then
		[ "$helper" != unavailable ]
		assert_eq "$tool" "$helper" verdict
	else
		[ "$helper" = unavailable ]
		[[ "$tool" == "fentry unavailable"* ]]
	fi
	if [ "$helper" = "fires" ]; then
		jq -e '.entry_counts == "fentry"' "$TC_DIR/profile/out.json"
	else
		jq -e '.entry_counts == "unavailable"' "$TC_DIR/profile/out.json"
		assert_eq "$(pnode xdp_parse entries)" null "entries without fentry"
	fi
}

@test "tailcalls [kernel]: exact tail-call entry counts with fentry where trampolines fire on tail-call entry" {
	profile_run
	local v; v=$(jq -r .fentry_tail_call_entry "$TC_DIR/profile/out.json")
	[ "$v" = fires ] || skip_because "fentry on tail-call entry: $v"
	assert_eq "$(pnode xdp_parse entries)" "$(pdelta hits 0)" "xdp_parse entries"
	assert_eq "$(pnode xdp_heavy entries)" "$(pdelta hits 1)" "xdp_heavy entries"
	assert_eq "$(pnode xdp_rare entries)" 0 "xdp_rare entries"
}

@test "tailcalls: bad input: one error line and the documented exit status" {
	run "$B/tailcalls" -P 4000000000
	[ "$status" -eq 5 ]
	assert_one_line_error "no BPF program with id 4000000000"
	run "$B/tailcalls" -P "$(prog tc_plain)"
	[ "$status" -eq 5 ]
	assert_one_line_error "has no tail calls"
	run "$B/tailcalls" -i 1 -F 0
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --frequency '0'"
	run "$B/tailcalls" -i 1 -F 100000000
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --frequency"
	run "$B/tailcalls" -F 99
	[ "$status" -eq 2 ]
	assert_one_line_error "--frequency needs an interval"
	run "$B/tailcalls" -P abc
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --prog 'abc'"
	run "$B/tailcalls" -o svg
	[ "$status" -eq 2 ]
	assert_one_line_error "expected table, json, prom or dot"
	# dot is for tools that draw graphs only
	run "$B/mapstat" -o dot
	[ "$status" -eq 2 ]
	assert_one_line_error "output format dot is only for graph tools"
}

# Run the command line CMD as root with only the capabilities KEEP
# (comma-separated) in effect: every other one leaves the bounding set, so
# root's exec gets just those.  The shell first checks that its CapEff is EFF
# (hex, /proc/self/status), else exits 99.

@test "tailcalls: CAP_BPF and CAP_PERFMON alone exit 3 naming CAP_SYS_ADMIN (as REQUIREMENTS says), -P of an existing program too" {
	local root; root=$(prog xdp_root)
	# the kernel's answer, independently: bpftool can neither list nor open programs so
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "bpftool prog show id $root"
	[ "$status" -ne 0 ] && [ "$status" -ne 99 ] && [[ "$output" == *"Operation not permitted"* ]]
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/tailcalls' -o json"
	[ "$status" -eq 3 ]; assert_one_line_error "tailcalls: cannot list BPF programs: EPERM (needs CAP_SYS_ADMIN)"
	# a program that exists: a privilege error, not "no BPF program with id" (5)
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/tailcalls' -P $root -o json"
	[ "$status" -eq 3 ]; assert_one_line_error "(needs CAP_SYS_ADMIN)"
	sed -n '/^\.SH REQUIREMENTS/,/^\.SH OPTIONS/p' "$ROOT/man/man8/tailcalls.8" | grep -q '^Root, or at least CAP_SYS_ADMIN'
}

@test "tailcalls: CAP_SYS_ADMIN alone draws the XDP pipeline: the fixture's programs, and the slots bpftool reads" {
	local root parse heavy rare stages
	root=$(prog xdp_root) parse=$(prog xdp_parse) heavy=$(prog xdp_heavy) rare=$(prog xdp_rare) stages=$(map stages)
	run_caps_only cap_sys_admin $SYS_ADMIN_EFF "'$B/tailcalls' -P $root -o json"
	[ "$status" -eq 0 ]
	local att="xdp:$NETNS_INO:$XDP_IFINDEX:drv"
	assert_eq "$(jq -c '[.nodes[].id] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" "[\$a, \"prog:$root\", \"prog:$parse\", \"prog:$heavy\", \"prog:$rare\", \"map:$stages\"] | sort")" nodes
	assert_eq "$(jq -c '[.edges[] | select(.edge == "slot") | [.from, .to, .slot]] | sort' <<<"$output")" \
		"$(slots "$stages" | jq -c --arg m "map:$stages" '[.[] | [$m, "prog:\(.[1])", .[0]]] | sort')" "slot edges"
	assert_jq ".netns_scanned >= 2"
}

@test "tailcalls: without --run-stats, profiling leaves the kernel's run statistics off (they tax every BPF program)" {
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = 0 ] || skip_because "kernel.bpf_stats_enabled is already on (another process)"
	local root
	root=$(prog xdp_root)
	"$B/tailcalls" -P "$root" -i 60 -o json -v >"$TC_DIR/nostats.json" 2>"$TC_DIR/nostats.err" 3>&- &
	local tp=$!
	wait_for "$TC_DIR/nostats.err" "sampling started"
	# the kernel does not count: run_cnt of the root stays put under load
	local before
	before=$(run_cnt "$root")
	bpftool prog run id "$root" data_in "$PKT" repeat 1000 >/dev/null
	assert_eq "$(cat /proc/sys/kernel/bpf_stats_enabled)" 0 "kernel.bpf_stats_enabled while profiling"
	assert_eq "$(run_cnt "$root")" "$before" "run_cnt of the root while profiling without --run-stats"
	kill -INT "$tp"
	wait "$tp"
	# and the output says so instead of printing zeros
	jq -e '.run_stats | startswith("off")' "$TC_DIR/nostats.json"
	jq -e '[.nodes[] | select(.kind == "prog") | has("runs")] | any | not' "$TC_DIR/nostats.json"
	run "$B/tailcalls" --run-stats
	[ "$status" -eq 2 ]
	assert_one_line_error "--run-stats needs an interval"
}

@test "tailcalls [kernel]: nothing left loaded or attached, and run stats switched off, after exit, SIGINT and SIGKILL" {
	[ "$(own_objects)" -eq 0 ] || skip_because "another tailcalls is running"
	local root
	root=$(prog xdp_root)
	run "$B/tailcalls" -P "$root" -i 0.5 -c 1 -o json
	[ "$status" -eq 0 ]
	wait_own_gone
	for sig in INT KILL; do
		"$B/tailcalls" -P "$root" -i 60 --run-stats -v >/dev/null 2>"$TC_DIR/sig.err" 3>&- &
		local tp=$!
		wait_for "$TC_DIR/sig.err" "sampling started"
		[ "$(own_objects)" -gt 0 ]
		# its perf_event links: one per online CPU
		local mine
		mine=$(own_links)
		assert_eq "$(jq length <<<"$mine")" "$(getconf _NPROCESSORS_ONLN)" "sampling links"
		kill -"$sig" "$tp"
		local st=0
		wait "$tp" || st=$?
		if [ "$sig" = INT ]; then assert_eq "$st" 0 "status after SIGINT"; else assert_eq "$st" 137 "status after SIGKILL"; fi
		wait_own_gone
		assert_eq "$(bpftool link show -j | jq --argjson m "$mine" '[.[] | select(.id as $i | $m | index($i))] | length')" 0 "links left"
	done
	# the kernel stopped counting run time once the last holder went away
	if [ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = 0 ]; then
		local before; before=$(run_cnt "$root")
		bpftool prog run id "$root" data_in "$PKT" repeat 10 >/dev/null
		assert_eq "$(run_cnt "$root")" "$before" "run_cnt with stats off"
	fi
}

@test "tailcalls: valgrind: graph and one profiled interval, no errors or leaks" {
	valgrind_clean "$B/tailcalls" -P "$(prog xdp_root)" -o json
	[ "$status" -eq 0 ]
	assert_jq ".nodes | length == 6"
	# libbpf's bpf_program__set_attach_target() reads the target program's BTF
	# into its own buffer through a pointer in bpf_attr: valgrind does not see
	# the kernel write it, and reports the parse as uninitialised reads.  Only
	# reports from inside that call are suppressed.
	cat >"$TC_DIR/libbpf.supp" <<-'EOF'
	{
	   libbpf-target-btf-written-by-the-kernel-cond
	   Memcheck:Cond
	   ...
	   fun:bpf_program__set_attach_target
	}
	{
	   libbpf-target-btf-written-by-the-kernel-value8
	   Memcheck:Value8
	   ...
	   fun:bpf_program__set_attach_target
	}
	EOF
	valgrind_clean --suppressions="$TC_DIR/libbpf.supp" "$B/tailcalls" -P "$(prog xdp_root)" -i 1 -c 1 -o json
	[ "$status" -eq 0 ]
	assert_jq "(.nodes | length == 6) and has(\"samples_all\")"
}

@test "tailcalls [kernel 6.1]: ASan/UBSan build: graph, tree, dot and one profiled interval" {
	[ -x "$BA/tailcalls" ] || skip_because "ASan build missing (make BUILD=build/asan SAN=address testbins)"
	for fmt in json table dot prom; do
		run "$BA/tailcalls" -o "$fmt"
		[ "$status" -ne 99 ] || { echo "$output" >&2; false; }
		[ "$status" -eq 0 ]
	done
	run "$BA/tailcalls" -P "$(prog xdp_root)" -i 1 -c 1 -o json
	[ "$status" -ne 99 ] || { echo "$output" >&2; false; }
	[ "$status" -eq 0 ]
	assert_jq ".nodes | length == 6"
}

# ---- TC-family discovery (common/tcdisc): LWT routes and netkit devices as
# roots, and what tcdisc itself reports (tests/lib/tcdisc_dump) against tc,
# ip and bpftool.  Each test adds its own veth pair bstda/bstdb to the test
# namespace and removes it (routes through it go with it).

tcd_veth() {
	ip -n "$NS" link add bstda type veth peer name bstdb
	ip -n "$NS" link set bstda up
	ip -n "$NS" link set bstdb up
}
# start a helper that prints one JSON line and holds what it made: NAME PIDFILE-TAG ARGS...
tcd_hold() {
	local out=$TC_DIR/$1.json tag=$1 pid
	shift
	"$@" >"$out" 2>"$TC_DIR/$tag.err" &
	pid=$!
	echo "$pid" >"$TC_DIR/$tag.pid"
	for _ in $(seq 1 600); do
		grep -q '}$' "$out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	local rc=0
	wait "$pid" || rc=$?
	rm -f "$TC_DIR/$tag.pid"
	echo "$rc" >"$TC_DIR/$tag.rc"
	return 1
}
tcd_release() { # TAG: stop the helper and wait for it
	local pid
	pid=$(cat "$TC_DIR/$1.pid")
	kill "$pid"
	wait "$pid" || true
	rm -f "$TC_DIR/$1.pid"
}
tcd_dump() { "$B/tests/tcdisc_dump" --netns "$NS" "$@"; }

# A route whose LWT xmit program (tcd_lwt_root) tail-calls tcd_lwt_stage,
# put there by tests/lib/tcdisc_lwt under the program's own name, as a libbpf
# loader would.  Ground truth: bpftool's programs, prog array and a test run
# of the root (the stage's counter moves), ip's route and device.
@test "tailcalls: LWT root: an encap bpf xmit route is drawn as a root with its tail-call chain, matched to the program bpftool shows" {
	tcd_veth
	tcd_hold lwt "$B/tests/tcdisc_lwt" --netns "$NS" --dev bstda --route 10.231.0.0/24 ||
		{ cat "$TC_DIR/lwt.err" >&2; false; }
	local root stage jmp ifindex att
	root=$(jq .root "$TC_DIR/lwt.json") stage=$(jq .stage "$TC_DIR/lwt.json") jmp=$(jq .map "$TC_DIR/lwt.json")
	ifindex=$(ip -n "$NS" -j link show bstda | jq '.[0].ifindex')
	# bpftool: exactly one loaded lwt_xmit program of the name the route carries, the root
	local route
	route=$(ip -n "$NS" -j route show table main 10.231.0.0/24)
	assert_eq "$(jq -c '[.[] | [.dst, .encap, .dev]]' <<<"$route")" '[["10.231.0.0/24","bpf","bstda"]]' "ip route"
	local name
	name=$(jq -r '.[0].xmit' <<<"$route")
	assert_eq "$(bpftool prog show -j | jq -c --arg n "$name" '[.[] | select(.type == "lwt_xmit" and .name == $n) | .id]')" \
		"[$root]" "lwt_xmit programs named $name"
	assert_eq "$(slots "$jmp")" "[[0,$stage]]" "prog array slots (bpftool)"
	# the chain is real: a test run of the root runs the stage
	local hits h0 h1
	hits=$(bpftool prog show id "$root" -j | jq '.map_ids[]' | while read -r m; do
		bpftool map show id "$m" -j | jq -r 'select(.name == "tcd_lwt_hits") | .id'; done)
	h0=$(bpftool map dump id "$hits" -j | jq -c '[sort_by(.formatted.key)[] | .formatted.value]')
	bpftool prog run id "$root" data_in "$PKT" repeat 1 >/dev/null
	h1=$(bpftool map dump id "$hits" -j | jq -c '[sort_by(.formatted.key)[] | .formatted.value]')
	assert_eq "$(jq -nc --argjson a "$h0" --argjson b "$h1" '[$b[0] - $a[0], $b[1] - $a[1]]')" "[1,1]" "root, stage runs"

	# tcdisc: the route, its name, its device and the program
	run tcd_dump progs
	[ "$status" -eq 0 ]
	assert_eq "$(jq -sc '[.[] | select(.kind == "lwt") | [.dir, .ifindex, .ifname, .route, .lwt_name, .prog_id, .prog_name, .candidates]]' <<<"$output")" \
		"$(jq -nc --arg n "$name" "[[\"xmit\", $ifindex, \"bstda\", \"10.231.0.0/24 table main\", \$n, $root, \"tcd_lwt_root\", 1]]")" "tcdisc lwt rows"

	run "$B/tailcalls" -P "$root" -o json
	[ "$status" -eq 0 ]
	att="lwt:$NETNS_INO:10.231.0.0/24 table main:$ifindex:xmit"
	assert_eq "$(jq -c '[.nodes[].id] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" "[\$a, \"prog:$root\", \"prog:$stage\", \"map:$jmp\"] | sort")" nodes
	assert_eq "$(jq -c '[.edges[] | [.from, .to, .edge, .slot, .calls]] | sort' <<<"$output")" \
		"$(jq -nc --arg a "$att" "[[\$a, \"prog:$root\", \"attach\", null, null], [\"prog:$root\", \"map:$jmp\", \"uses\", null, [0]], [\"map:$jmp\", \"prog:$stage\", \"slot\", 0, null]] | sort")" edges
	assert_jq_each \
		".nodes[] | select(.id == \"$att\") | .hook == \"lwt\" and .target == \"10.231.0.0/24 table main via bstda\" and .detail == \"xmit\" and .netns == \"$NS\" and .ifindex == $ifindex and .prog_id == $root and .link_id == null" \
		".nodes[] | select(.id == \"prog:$root\") | .depth == 0 and .prog_type == \"lwt_xmit\" and .prog_name == \"tcd_lwt_root\"" \
		".nodes[] | select(.id == \"prog:$stage\") | .depth == 1 and .flags == [\"tail_call_only\"]"
	run "$B/tailcalls" -P "$root"
	[ "$status" -eq 0 ]
	grep -qx "lwt  10.231.0.0/24 table main via bstda  xmit  netns=$NS" <<<"$output" || { echo "$output" >&2; false; }

	# the route goes with the helper, and the root with it
	tcd_release lwt
	assert_eq "$(ip -n "$NS" -j route show table main 10.231.0.0/24)" "[]" "route after the helper"
	run tcd_dump progs
	[ "$status" -eq 0 ]
	assert_eq "$(jq -sc '[.[] | select(.kind == "lwt")] | length' <<<"$output")" 0 "tcdisc lwt rows after"
	ip -n "$NS" link del bstda
}

# Two routes loaded by iproute2 from the same object and section: two
# programs of one type and name, and the name the routes carry
# ("FILE:[SECTION]") does not say which is whose.  The routes go through two
# devices: IPv4 routes whose nexthops are alike share one fib_info, and the
# kernel tells LWT encaps apart by name only, so a second route through the
# same device would share the first one's program.  Ground truth: bpftool's
# lwt_xmit programs of that name, ip's routes.
@test "tailcalls: LWT ambiguous: two routes whose programs share type and name get no program and the number of candidates; one route gone, the other is matched" {
	tcd_veth
	local obj=$B/fixtures/tcdisc_lwt.bpf.o
	ip -n "$NS" route add 10.232.0.0/24 dev bstda encap bpf xmit obj "$obj" section tcd_lwt_amb_section
	ip -n "$NS" route add 10.233.0.0/24 dev bstdb encap bpf xmit obj "$obj" section tcd_lwt_amb_section
	local ids name ifa ifb
	ids=$(bpftool prog show -j | jq -c '[.[] | select(.type == "lwt_xmit" and .name == "tcd_lwt_amb_sec") | .id] | sort')
	assert_eq "$(jq length <<<"$ids")" 2 "lwt_xmit programs named tcd_lwt_amb_sec (bpftool)"
	name=$(ip -n "$NS" -j route show table main 10.232.0.0/24 | jq -r '.[0].xmit')
	assert_eq "$(ip -n "$NS" -j route show table main 10.233.0.0/24 | jq -r '.[0].xmit')" "$name" "both routes' names"
	ifa=$(ip -n "$NS" -j link show bstda | jq '.[0].ifindex') ifb=$(ip -n "$NS" -j link show bstdb | jq '.[0].ifindex')
	run tcd_dump progs
	[ "$status" -eq 0 ]
	assert_eq "$(jq -sc '[.[] | select(.kind == "lwt") | [.route, .ifindex, .lwt_name, .prog_id, .candidates]] | sort' <<<"$output")" \
		"$(jq -nc --arg n "$name" --argjson c "$(jq length <<<"$ids")" "[[\"10.232.0.0/24 table main\", $ifa, \$n, 0, \$c], [\"10.233.0.0/24 table main\", $ifb, \$n, 0, \$c]]")" "tcdisc lwt rows"
	# tailcalls: both routes are attach points, with no program and the note
	run "$B/tailcalls" -o json
	[ "$status" -eq 0 ]
	assert_jq_each \
		"[.nodes[] | select(.kind == \"attach\" and .hook == \"lwt\" and .netns_ino == $NETNS_INO) | [.target, .prog_id, .detail]] | sort == [[\"10.232.0.0/24 table main via bstda\", null, \"xmit, ambiguous: 2 candidates for $name\"], [\"10.233.0.0/24 table main via bstdb\", null, \"xmit, ambiguous: 2 candidates for $name\"]]" \
		"[.edges[] | select(.from | startswith(\"lwt:$NETNS_INO:\"))] == []"
	# one route gone: its program goes (the kernel frees it after a grace period)
	ip -n "$NS" route del 10.233.0.0/24
	local left
	for _ in $(seq 1 100); do
		left=$(bpftool prog show -j | jq -c '[.[] | select(.type == "lwt_xmit" and .name == "tcd_lwt_amb_sec") | .id]')
		[ "$(jq length <<<"$left")" -eq 1 ] && break
		sleep 0.1
	done
	assert_eq "$(jq length <<<"$left")" 1 "programs left (bpftool)"
	run tcd_dump progs
	[ "$status" -eq 0 ]
	assert_eq "$(jq -sc '[.[] | select(.kind == "lwt") | [.route, .prog_id, .prog_name, .candidates]]' <<<"$output")" \
		"[[\"10.232.0.0/24 table main\",$(jq '.[0]' <<<"$left"),\"tcd_lwt_amb_sec\",1]]" "tcdisc lwt rows, one route"
	ip -n "$NS" link del bstda
}

# netkit (Linux 6.7+, CONFIG_NETKIT): the TC chain's root attached to a
# netkit pair as primary and as peer through links held by
# tests/lib/tcdisc_netkit.  Ground truth: the links as the kernel describes
# them to the helper, bpftool's link list, ip's ifindex of the device.
@test "tailcalls [kernel]: netkit roots: the TC chain attached to a netkit device as primary and peer is drawn from both, with their links" {
	local root stage chain orphan
	root=$(prog tc_root) stage=$(prog tc_stage) chain=$(map tc_chain) orphan=$(map orphan)
	if ! tcd_hold nk "$B/tests/tcdisc_netkit" --netns "$NS" --dev bstnk0 --peer bstnk1 --prog "$root"; then
		[ "$(cat "$TC_DIR/nk.rc")" -eq 4 ] && skip_because "no netkit: $(cat "$TC_DIR/nk.err")"
		cat "$TC_DIR/nk.err" >&2
		false
	fi
	local nk=$TC_DIR/nk.json ifindex plink qlink
	ifindex=$(ip -n "$NS" -j link show bstnk0 | jq '.[0].ifindex')
	plink=$(jq .primary_link "$nk") qlink=$(jq .peer_link "$nk")
	jq -e --argjson p "$root" --argjson i "$ifindex" '.primary_prog == $p and .peer_prog == $p and .ifindex == $i' "$nk"
	bpftool link show id "$plink" -j | jq -e --argjson p "$root" '.prog_id == $p'
	bpftool link show id "$qlink" -j | jq -e --argjson p "$root" '.prog_id == $p'
	run tcd_dump progs
	[ "$status" -eq 0 ]
	assert_eq "$(jq -sc '[.[] | select(.kind == "netkit") | [.dir, .ifindex, .ifname, .prog_id, .prog_name, .link_id, .others_on_hook]]' <<<"$output")" \
		"[[\"primary\",$ifindex,\"bstnk0\",$root,\"tc_root\",$plink,0],[\"peer\",$ifindex,\"bstnk0\",$root,\"tc_root\",$qlink,0]]" "tcdisc netkit rows"
	run "$B/tailcalls" -P "$root" -o json
	[ "$status" -eq 0 ]
	local p="netkit:$NETNS_INO:$ifindex:primary:$root" q="netkit:$NETNS_INO:$ifindex:peer:$root"
	local t="tc:$NETNS_INO:$TC_IFINDEX:ingress:$TC_PRIO:$TC_HANDLE"
	assert_eq "$(jq -c '[.nodes[].id] | sort' <<<"$output")" \
		"$(jq -nc --arg p "$p" --arg q "$q" --arg t "$t" "[\$p, \$q, \$t, \"prog:$root\", \"prog:$stage\", \"map:$chain\", \"map:$orphan\"] | sort")" nodes
	assert_jq_each \
		".nodes[] | select(.id == \"$p\") | .hook == \"netkit\" and .target == \"bstnk0\" and .detail == \"primary #0\" and .ifindex == $ifindex and .link_id == $plink and .netns == \"$NS\"" \
		".nodes[] | select(.id == \"$q\") | .hook == \"netkit\" and .target == \"bstnk0\" and .detail == \"peer #0\" and .ifindex == $ifindex and .link_id == $qlink" \
		"[.edges[] | select(.edge == \"attach\") | .from] | sort == ([\"$p\", \"$q\", \"$t\"] | sort)" \
		"[.nodes[] | select(.kind == \"attach\" and (.hook | IN(\"link\", \"netkit\")) and (.id | startswith(\"link:\")))] == []"
	tcd_release nk
	run "$B/tailcalls" -P "$root" -o json
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.nodes[] | select(.hook == "netkit")] | length' <<<"$output")" 0 "netkit attach points after the links are gone"
}

# What tcdisc reports of cls_bpf filters, the other filters on their hook,
# tcx programs and act_mirred actions, against tc -j, tc -s -j actions and
# the packets the test sent.
@test "tailcalls [kernel]: tcdisc: cls_bpf filters with the filters sharing their hook (tc -j), tcx with its link, mirred actions with their statistics (tc -s -j actions)" {
	tcd_veth
	local cls=$B/fixtures/tcdisc_cls.bpf.o
	ip netns exec "$NS" tc qdisc add dev bstda clsact
	ip netns exec "$NS" tc filter add dev bstda ingress pref 3 bpf da obj "$B/fixtures/tailcalls_tc.bpf.o" sec tc
	ip netns exec "$NS" tc filter add dev bstda ingress pref 4 bpf obj "$cls" sec tcd_match_all_cls action mirred ingress mirror dev bstdb
	ip netns exec "$NS" tc filter add dev bstda egress pref 1 bpf obj "$cls" sec tcd_match_all_cls action mirred egress mirror dev bstdb
	ip netns exec "$NS" tc actions add action mirred ingress redirect dev bstdb index 4242
	local ifindex
	ifindex=$(ip -n "$NS" -j link show bstda | jq '.[0].ifindex')
	# 5 UDP packets out of bstda to a static neighbour: no ARP, nothing else
	ip -n "$NS" addr add 10.230.0.1/24 dev bstda
	ip -n "$NS" neigh add 10.230.0.3 lladdr 02:00:00:00:00:03 dev bstda
	ip netns exec "$NS" bash -c 'for i in 1 2 3 4 5; do echo x >/dev/udp/10.230.0.3/9; done'

	run tcd_dump
	[ "$status" -eq 0 ]
	local dump=$output
	# cls_bpf rows as tc -j shows the filters (id, pref, handle, direct-action),
	# others_on_hook from the filters tc lists on the same hook
	local dir want
	for dir in ingress egress; do
		want=$(ip netns exec "$NS" tc -j filter show dev bstda "$dir" | jq -c --arg d "$dir" --argjson i "$ifindex" '
			[.[] | select(.options != null and .options.ht_divisor == null)] as $f |
			[$f[] | select(.kind == "bpf") | [$d, $i, .options.prog.id, .options.prog.name, .pref,
			  (.options.handle | ltrimstr("0x") | tonumber), (.options["direct-action"] // false), ($f | length) - 1]]')
		assert_eq "$(jq -sc --arg d "$dir" --argjson i "$ifindex" '[.[] | select(.kind == "cls_bpf" and .dir == $d and .ifindex == $i) | [.dir, .ifindex, .prog_id, .prog_name, .pref, .handle, .direct_action, .others_on_hook]]' <<<"$dump")" \
			"$want" "cls_bpf rows, $dir"
	done
	assert_eq "$(jq -sc "[.[] | select(.kind == \"cls_bpf\" and .ifindex == $ifindex)] | length" <<<"$dump")" 3 "cls_bpf rows"
	# mirred: every field tc -s -j prints, and the 5 packets sent
	want=$(ip netns exec "$NS" tc -s -j actions ls action mirred | jq -c '
		[.[1].actions[] | [.index,
		  ({"redirect egress": 1, "mirror egress": 2, "redirect ingress": 3, "mirror ingress": 4}["\(.mirred_action) \(.direction)"]),
		  .to_dev, ({"pass": 0, "drop": 2, "pipe": 3, "stolen": 4}[.control_action.type]), .ref, .bind,
		  .stats.packets, .stats.bytes, .stats.drops, .stats.overlimits]] | sort')
	assert_eq "$(jq -sc '[.[] | select(.what == "mirred") | [.index, .eaction, .target, .action, .refcnt, .bindcnt, .packets, .bytes, .drops, .overlimits]] | sort' <<<"$dump")" \
		"$want" "mirred rows vs tc -s -j actions"
	assert_eq "$(jq -c '[.[] | select(.what == "mirred" and .eaction == 2) | .packets]' <<<"$(jq -sc . <<<"$dump")")" "[5]" "egress mirror packets (sent 5)"
	assert_eq "$(jq -sc '[.[] | select(.what == "mirred") | .ifindex] | unique' <<<"$dump")" \
		"[$(ip -n "$NS" -j link show bstdb | jq '.[0].ifindex')]" "mirred target ifindex"

	# tcx on the same ingress: its own row with its link; every program on
	# that hook now has one more neighbour
	local root
	root=$(prog tc_plain)
	if ! tcd_hold tcx "$B/tests/tcx_attach" --netns "$NS" --dev bstda --prog "$root"; then
		[ "$(cat "$TC_DIR/tcx.rc")" -eq 4 ] && skip_because "no tcx: $(cat "$TC_DIR/tcx.err")"
		cat "$TC_DIR/tcx.err" >&2
		false
	fi
	local link
	link=$(jq .link_id "$TC_DIR/tcx.json")
	bpftool link show id "$link" -j | jq -e --argjson p "$root" '.prog_id == $p'
	run tcd_dump progs
	[ "$status" -eq 0 ]
	assert_eq "$(jq -sc "[.[] | select(.ifindex == $ifindex and .dir == \"ingress\") | [.kind, .prog_id, .link_id, .others_on_hook]]" <<<"$output")" \
		"$(jq -sc --argjson p "$root" --argjson l "$link" --argjson i "$ifindex" '[.[] | select(.kind == "cls_bpf" and .ifindex == $i and .dir == "ingress") | ["cls_bpf", .prog_id, 0, 2]] + [["tcx", $p, $l, 2]]' <<<"$dump")" "ingress rows with tcx"
	tcd_release tcx
	ip -n "$NS" link del bstda
	ip netns exec "$NS" tc actions del action mirred index 4242
}

@test "tailcalls: valgrind: tcdisc with LWT routes, filters and mirred actions, no errors or leaks" {
	tcd_veth
	ip netns exec "$NS" tc qdisc add dev bstda clsact
	ip netns exec "$NS" tc filter add dev bstda egress pref 1 bpf obj "$B/fixtures/tcdisc_cls.bpf.o" sec tcd_match_all_cls action mirred egress mirror dev bstdb
	ip -n "$NS" route add 10.234.0.0/24 dev bstda encap bpf xmit obj "$B/fixtures/tcdisc_lwt.bpf.o" section tcd_lwt_amb_section
	valgrind_clean "$B/tests/tcdisc_dump" --netns "$NS"
	[ "$status" -eq 0 ]
	local ifindex
	ifindex=$(ip -n "$NS" -j link show bstda | jq '.[0].ifindex')
	assert_eq "$(jq -sc "[.[] | select(.ifindex == $ifindex or .target == \"bstdb\") | [.what, .kind]] | sort" <<<"$output")" \
		'[["mirred",null],["prog","cls_bpf"],["prog","lwt"]]' "rows"
	valgrind_clean "$B/tailcalls" -o json
	[ "$status" -eq 0 ]
	assert_jq "[.nodes[] | select(.hook == \"lwt\" and .netns_ino == $NETNS_INO)] | length == 1"
	ip -n "$NS" link del bstda
}
