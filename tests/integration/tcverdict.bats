#!/usr/bin/env bats
# tcverdict against three namespaces (tests/lib/tcverdict_env.bash): A sends
# UDP to B over a veth pair; B's end runs the fixture
# (tests/fixtures/tcverdict_ports.bpf.c) as a cls_bpf filter or through a tcx
# link (tests/lib/tcverdict_load.c), returning a verdict chosen by the UDP
# port and redirecting two ports to a second veth in B (out of it to C, or
# into its ingress); u32 filters with act_mirred redirect and mirror two
# other ports; an LWT route in A runs tests/fixtures/tcverdict_lwt.bpf.c.
#
# Ground truth, never tcverdict's own output: the packets the test sent per
# port (and the fixture's documented verdict per port), the fixture's own
# per-port counts (bpftool map dump), the sinks' per-port counts
# (tests/lib/tcverdict_sink.c; the redirect target's ingress counted by a
# socket bound to that device), C's receive counter (ip -s link), the
# kernel's act_mirred statistics (tc -s actions), the senders' failed sends
# (udpflows: an LWT drop is EPERM to the sender), bpftool's program ids.

load ../lib/helpers
source "$ROOT/tests/lib/tcverdict_env.bash"

setup() {
	mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
	TV_TOOL_PID= TV_TOOL2_PID=
	TV_NSA= TV_NSB= TV_NSC= TV_TMP=
	TV_PIDS=()
}

teardown() {
	local p
	for p in $TV_TOOL_PID $TV_TOOL2_PID; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	tv_teardown
}

has_fexit() { has_feature fentry; }

# jq -e with extra jq arguments; the last argument is the document.
tv_jq() {
	local doc="${@: -1}"
	local args=("${@:1:$#-1}")
	if ! jq -e "${args[@]}" >/dev/null <<<"$doc"; then
		echo "jq assertion failed: ${args[*]}" >&2
		echo "document: ${doc:0:3000}" >&2
		return 1
	fi
}

# The last JSON snapshot of FILE.
last_snap() {
	grep '^{' "$1" | tail -1
}

# The one programs row of PROG_ID in the last snapshot of FILE (fails unless
# there is exactly one).
prog_row() { # FILE PROG_ID
	last_snap "$1" | jq -c --argjson p "$2" \
		'[.programs[] | select(.prog_id == $p)] | if length == 1 then .[0] else error("rows of prog \($p): \(length)") end'
}

# Every line valid UTF-8 and JSON, each an object with ts and tool.
strict_json() {
	[ -s "$1" ] || { echo "$1: empty" >&2; return 1; }
	iconv -f UTF-8 -t UTF-8 "$1" >/dev/null || { echo "$1: invalid UTF-8" >&2; return 1; }
	jq -e . "$1" >/dev/null || { echo "$1: not JSON" >&2; return 1; }
	assert_eq "$(jq -c 'select(type == "object" and .tool == "tcverdict" and (.ts | type) == "number")' "$1" | wc -l)" \
		"$(wc -l <"$1")" "$1: objects with ts and tool"
}

# promtool accepts the exposition in $1 and has nothing to say about it.
lint_clean() {
	command -v promtool >/dev/null || skip_because "promtool not installed"
	local lint
	lint=$(promtool check metrics <"$1" 2>&1) || { echo "$lint" >&2; return 1; }
	[ -z "$lint" ] || { echo "$1: $lint" >&2; return 1; }
}

# The value of the one sample of metric bpfscope_tcverdict_$1 in FILE whose
# labels contain all the given pairs; fails unless there is exactly one.
prom_value() { # FILE METRIC LABEL="V"...
	local f=$1 m=$2 sel l
	shift 2
	sel=$(grep -E "^bpfscope_tcverdict_$m\{" "$f")
	for l in "$@"; do sel=$(grep -F "$l" <<<"$sel"); done
	[ "$(grep -c . <<<"$sel")" -eq 1 ] || { echo "$m $*: $(grep -c . <<<"$sel") samples: $sel" >&2; return 1; }
	awk '{print $NF}' <<<"$sel"
}

# A view's own counter, bpfscope_tcverdict_NAME_total (redirected_packets of
# redirects, mirred_* of mirred): one exposition, whose view label is the
# snapshot's (programs).
prom_view_value() { # FILE VIEW NAME LABEL="V"...
	local f=$1 name=$3
	shift 3
	prom_value "$f" "$name" 'view="programs"' "$@"
}

# Wait until PID holds a BPF link (it attached), and its number of links
# stayed the same for 0.6 s.
wait_attached() { # PID
	local i n prev=-1 same=0
	for ((i = 0; i < 600; i++)); do
		kill -0 "$1" 2>/dev/null || return 1
		n=$(grep -ls '^link_id:' /proc/"$1"/fdinfo/* 2>/dev/null | wc -l)
		if [ "$n" -gt 0 ] && [ "$n" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge 3 ] && return 0
		else
			same=0
		fi
		prev=$n
		sleep 0.2
	done
	echo "process $1 attached nothing in 120 s" >&2
	return 1
}

# A program id no program has now (and none will reach during the test).
free_prog_id() {
	bpftool prog show -j | jq '[.[].id] | max + 1000000'
}

# ---- cls_bpf and tcx: the verdicts by port, the redirects ---------------------

# The standard mix through the fixture attached as KIND on B's ingress,
# tcverdict -N B watching.  Checks the scenario's own witnesses, then the
# tool's row and redirect rows against them.
verdicts_case() { # KIND TAG
	local kind=$1 rc=0
	tv_setup "$2"
	tv_attach "$kind" || rc=$?
	[ "$rc" -ne 4 ] || skip_because "no tcx on this kernel (Linux 6.6+)"
	[ "$rc" -eq 0 ]
	local out=$TV_TMP/out.json rx0 rx want
	rx0=$(tv_rx "$TV_NSC" "$TV_DEVC")
	want=$(tv_expect_sinks "$kind")
	tv_tool_start "$out" "$B/tcverdict" -N "$TV_NSB" -o json -i 1
	tv_send_mix
	tv_wait_sinks "$want"
	tv_tool_stop
	rx=$(( $(tv_rx "$TV_NSC" "$TV_DEVC") - rx0 ))
	# the scenario did what the fixture says, by its own witnesses: the
	# program saw every packet sent, the sinks got exactly what it passed
	# or redirected, C received exactly the packets redirected out of DEVR
	assert_eq "$(tv_seen)" "$(tv_mix_seen)" "fixture's per-port counts vs packets sent"
	tv_jq --argjson w "$want" --argjson b "$(tv_sink b)" --argjson c "$(tv_sink c)" \
		'all($w.b | to_entries[]; $b[.key] == .value) and all($w.c | to_entries[]; $c[.key] == .value)' '{}'
	assert_eq "$rx" "${TV_SENT[9003]}" "packets $TV_DEVC received"

	local row exp
	row=$(prog_row "$out" "$TV_PROG")
	echo "row: $row" >&2
	echo "# $kind: source $(jq -r .source <<<"$row")" >&3
	tv_jq --arg ns "$TV_NSB" --arg dev "$TV_DEVB" --arg k "$kind" --argjson l "$TV_LOADED" \
		'.netns == $ns and .interface == $dev and .ifindex == $l.ifindex and .direction == "ingress"
		 and .kind == $k and .route == null and .prog_name == $l.prog' "$row"
	exp=$(tv_expect "$kind")
	local redirects
	redirects=$(last_snap "$out" | jq -c --argjson p "$TV_PROG" '[.redirects[]? | select(.prog_id == $p)]')
	if has_fexit; then
		tv_jq '.source == "fexit"' "$row"
		# every verdict (0 for those the fixture never returns) and the total
		tv_jq --argjson e "$exp" '. as $r | all($e | keys[]; $r[.] == $e[.])' "$row"
		# one row per target and direction: out of DEVR (C's counter and
		# sink), into DEVR's ingress (the socket bound to DEVR)
		tv_jq --arg t "$TV_DEVR" --argjson l "$TV_LOADED" --argjson rx "$rx" --argjson c "$(tv_sink c)" \
			--argjson b "$(tv_sink b)" --arg k9006 "9006@$TV_DEVR" --arg ns "$TV_NSB" --arg dev "$TV_DEVB" --arg kind "$kind" '
			length == 2
			and all(.[]; .netns == $ns and .interface == $dev and .direction == "ingress" and .kind == $kind
			             and .prog_name == $l.prog and .target == $t and .via == "redirect")
			and ([.[] | select(.target_direction == "egress")] | length == 1 and .[0].target_ifindex == $l.egress_target
			     and .[0].redirected_packets == $rx and .[0].redirected_packets == $c["9003"])
			and ([.[] | select(.target_direction == "ingress")] | length == 1 and .[0].target_ifindex == $l.ingress_target
			     and .[0].redirected_packets == $b[$k9006])' "$redirects"
	else
		tv_jq '.source == "drop_reason"' "$row"
		# SHOT from skb:kfree_skb (reason TC_INGRESS), the only program on the hook
		tv_jq --argjson e "$exp" '.shot == $e.shot' "$row"
		# everything else is unknown here: null, never 0
		tv_jq --argjson e "$exp" '. as $r | all($e | keys[] | select(. != "shot"); . as $k | ($r | has($k)) and $r[$k] == null)' "$row"
		assert_eq "$redirects" "[]" "redirect rows without fexit"
	fi
	# rate x interval, summed over the snapshots, is the count: the first
	# snapshot came before any traffic, each later one covers the time since
	# the one before (ts), the last one the partial interval up to SIGINT
	assert_eq "$(jq -s --argjson p "$TV_PROG" '
		[.[] | {ts, r: ([.programs[] | select(.prog_id == $p)][0].shot_packets_per_second)}] as $s
		| [range(1; $s | length) | $s[.].r * ($s[.].ts - $s[. - 1].ts)] | add | round' "$out")" \
		"$(jq .shot <<<"$exp")" "shot_packets_per_second integrated"
	strict_json "$out"
}

@test "tcverdict [kernel]: cls_bpf: every verdict the mechanism can count equals the packets sent, redirects equal the targets' counts" {
	verdicts_case cls_bpf c1
}

@test "tcverdict [kernel]: tcx: every verdict the mechanism can count equals the packets sent, redirects equal the targets' counts" {
	verdicts_case tcx x1
}

# ---- act_mirred ------------------------------------------------------------------

@test "tcverdict: act_mirred: each action's row equals tc -s actions and what its target received" {
	tv_setup m1
	# the fixture after the mirred filters on B's ingress (they take 9201
	# and 9202, it sees the rest): a hook with more than one filter
	tv_attach cls_bpf
	tv_mirred
	local out=$TV_TMP/out.json rx0 rx n_red=12 n_mir=7 n_shot=5
	rx0=$(tv_rx "$TV_NSC" "$TV_DEVC")
	tv_tool_start "$out" "$B/tcverdict" -N "$TV_NSB" -o json -i 1
	tv_send 9201 "$n_red"
	tv_send 9202 "$n_mir"
	tv_send 9002 "$n_shot"
	tv_wait_sinks "{\"b\":{\"9201@$TV_DEVR\":$n_red,\"9202\":$n_mir},\"c\":{\"9202\":$n_mir}}"
	tv_tool_stop
	rx=$(( $(tv_rx "$TV_NSC" "$TV_DEVC") - rx0 ))
	local red mir ifr
	red=$(tv_mirred_stats "$TV_MIRRED_REDIRECT")
	mir=$(tv_mirred_stats "$TV_MIRRED_MIRROR")
	ifr=$(ip -n "$TV_NSB" -j link show dev "$TV_DEVR" | jq '.[0].ifindex')
	# the witnesses agree with each other: the redirected packets arrived on
	# DEVR, the mirrored ones reached B's socket and (the copies) C
	tv_jq --argjson n "$n_red" '.stats.packets == $n' "$red"
	tv_jq --argjson n "$n_mir" '.stats.packets == $n' "$mir"
	assert_eq "$(jq --arg k "9201@$TV_DEVR" '.[$k]' <<<"$(tv_sink b)")" "$n_red" "redirected packets received on $TV_DEVR"
	assert_eq "$rx" "$n_mir" "mirrored copies $TV_DEVC received"
	local rows
	rows=$(last_snap "$out" | jq -c '.mirred')
	echo "mirred: $rows" >&2
	tv_jq --argjson i "$TV_MIRRED_REDIRECT" --argjson s "$red" --arg t "$TV_DEVR" --argjson ifr "$ifr" --arg ns "$TV_NSB" '
		[.[] | select(.index == $i)] | length == 1 and (.[0] | .netns == $ns and .action == "redirect"
		and .target_direction == "ingress" and .target == $t and .target_ifindex == $ifr
		and .mirred_packets == $s.stats.packets and .mirred_bytes == $s.stats.bytes
		and .mirred_drops == $s.stats.drops and .mirred_overlimits == $s.stats.overlimits)' "$rows"
	tv_jq --argjson i "$TV_MIRRED_MIRROR" --argjson s "$mir" --arg t "$TV_DEVR" --argjson ifr "$ifr" --argjson rx "$rx" '
		[.[] | select(.index == $i)] | length == 1 and (.[0] | .action == "mirror"
		and .target_direction == "egress" and .target == $t and .target_ifindex == $ifr
		and .mirred_packets == $s.stats.packets and .mirred_packets == $rx and .mirred_bytes == $s.stats.bytes
		and .mirred_drops == $s.stats.drops)' "$rows"
	# every mirred action of the namespace, and only those
	assert_eq "$(jq -c '[.[].index] | sort' <<<"$rows")" \
		"$(tc -n "$TV_NSB" -j actions ls action mirred | jq -c '[.. | objects | select(.kind? == "mirred") | .index] | sort')" \
		"mirred actions listed"
	# the program saw only its own packets; without fexit a TC_INGRESS drop on
	# a hook with other filters is nobody's for certain: unknown, not counted
	assert_eq "$(tv_seen)" "{\"9002\":$n_shot}" "fixture's per-port counts"
	local row
	row=$(prog_row "$out" "$TV_PROG")
	echo "# cls_bpf sharing its hook with u32 filters: source $(jq -r .source <<<"$row")" >&3
	if has_fexit; then
		tv_jq --argjson n "$n_shot" '.source == "fexit" and .shot == $n and .packets == $n' "$row"
	else
		tv_jq '.source == "none" and .shot == null and .packets == null' "$row"
	fi
	strict_json "$out"
}

# ---- LWT -------------------------------------------------------------------------

@test "tcverdict [kernel]: LWT: the route's row names the route and bpftool's program; counts under fexit, unknown (null) without" {
	tv_setup l1
	tv_lwt_route
	local out=$TV_TMP/out.json pass drop n_pass=17 n_drop=8
	tv_tool_start "$out" "$B/tcverdict" -N "$TV_NSA" -o json -i 1
	pass=$(tv_lwt_send 9101 "$n_pass")
	drop=$(tv_lwt_send 9102 "$n_drop")
	tv_wait_sinks '{"b":{"9101":'"$n_pass"'},"c":{}}'
	tv_tool_stop
	# witnesses: the program saw both ports; what it passed reached B's
	# socket; what it dropped failed at the sender (EPERM), every one
	assert_eq "$(tv_seen "$TV_LWT_SEEN" 9100)" "{\"9101\":$n_pass,\"9102\":$n_drop}" "LWT fixture's per-port counts"
	tv_jq --argjson n "$n_pass" '.sent == $n and .errors == 0' "$pass"
	tv_jq --argjson n "$n_drop" '.sent == 0 and .errno.EPERM == $n' "$drop"
	assert_eq "$(tv_sink b | jq '.["9101"]')" "$n_pass" "sink 9101"
	local row route
	route="$(jq -r .dst <<<"$TV_LWT_ROUTE") table main"
	row=$(last_snap "$out" | jq -c '[.programs[] | select(.kind == "lwt")] | if length == 1 then .[0] else error("lwt rows: \(.)") end')
	echo "row: $row" >&2
	echo "# lwt: source $(jq -r .source <<<"$row")" >&3
	tv_jq --arg ns "$TV_NSA" --arg dev "$TV_DEVA" --arg r "$route" --argjson p "$TV_LWT_PROG" \
		'.netns == $ns and .interface == $dev and .direction == "xmit" and .route == $r and .prog_id == $p
		 and .prog_name == "tcv_lwt_dropper"' "$row"
	if has_fexit; then
		tv_jq --argjson p "$n_pass" --argjson d "$n_drop" \
			'.source == "fexit" and .ok == $p and .shot == $d and .packets == $p + $d and .redirect == 0 and .reroute == 0 and .other == 0' "$row"
	else
		tv_jq --arg all "$TV_VERDICTS packets" '.source == "none" and (. as $r | all($all | split(" ")[]; . as $k | ($r | has($k)) and $r[$k] == null))' "$row"
	fi
	strict_json "$out"
}

# ---- events ----------------------------------------------------------------------

@test "tcverdict [kernel 6.12]: --events: one drop event per packet dropped, with program, interface, direction and reason; -c N exact" {
	tv_setup e1
	tv_attach cls_bpf
	local p_in=$TV_PROG l_in=$TV_LOADED
	tv_attach cls_bpf egress tcv_egress "$TV_DEVA" "$TV_NSA"
	local p_eg=$TV_PROG n_eg=5
	local ob=$TV_TMP/ev_b.json oa=$TV_TMP/ev_a.json
	"$B/tcverdict" -N "$TV_NSB" --events -o json >"$ob" 2>"$ob.err" 3>&- &
	TV_TOOL_PID=$!
	"$B/tcverdict" -N "$TV_NSA" --events -o json >"$oa" 2>"$oa.err" 3>&- &
	TV_TOOL2_PID=$!
	wait_attached "$TV_TOOL_PID" || { cat "$ob.err" >&2; false; }
	wait_attached "$TV_TOOL2_PID" || { cat "$oa.err" >&2; false; }
	tv_send_mix
	tv_send 9012 "$n_eg"
	tv_wait_sinks "$(tv_expect_sinks cls_bpf)"
	sleep 0.5
	kill -INT "$TV_TOOL_PID" "$TV_TOOL2_PID"
	local rc1=0 rc2=0
	wait "$TV_TOOL_PID" || rc1=$?
	wait "$TV_TOOL2_PID" || rc2=$?
	TV_TOOL_PID= TV_TOOL2_PID=
	assert_eq "$rc1 $rc2" "0 0" "exit statuses"
	# witnesses: each program saw the packets it dropped
	tv_jq --argjson n "${TV_SENT[9002]}" '.["9002"] == $n' "$(tv_seen "$(jq .seen_map_id <<<"$l_in")")"
	tv_jq --argjson n "$n_eg" '.["9012"] == $n' "$(tv_seen)"
	# tcverdict(8): a drop reason names the hook (verdict null); fexit the
	# verdict (reason null)
	local r_in='.reason == "TC_INGRESS" and .verdict == null' r_eg='.reason == "TC_EGRESS" and .verdict == null'
	has_fexit && r_in='.verdict == "shot" and .reason == null' r_eg=$r_in
	echo "# --events: $(jq -r '.mechanism // empty' "$ob" | sort -u | paste -sd,)" >&3
	cat "$ob" >&2
	# one event per packet to 9002 on B's ingress; stolen (9009) and
	# redirected packets are no drops
	assert_eq "$(jq -s '[.[] | select(.type == "drop")] | length' "$ob")" "${TV_SENT[9002]}" "drop events in B"
	assert_eq "$(jq -s '[.[] | select(.type != "drop")] | length' "$ob")" 0 "other events in B"
	assert_eq "$(jq -sc --argjson p "$p_in" --arg dev "$TV_DEVB" --arg ns "$TV_NSB" --argjson l "$l_in" \
		"[.[] | select(.prog_id == \$p and .prog_name == \"tcv_cls\" and .interface == \$dev and .netns == \$ns
		  and .ifindex == \$l.ifindex and .direction == \"ingress\" and $r_in)] | length" "$ob")" \
		"${TV_SENT[9002]}" "drop events in B naming program, interface, direction and reason"
	assert_eq "$(jq -s '[.[] | select(.type == "drop")] | length' "$oa")" "$n_eg" "drop events in A"
	assert_eq "$(jq -sc --argjson p "$p_eg" --arg dev "$TV_DEVA" --arg ns "$TV_NSA" \
		"[.[] | select(.prog_id == \$p and .prog_name == \"tcv_egress\" and .interface == \$dev and .netns == \$ns
		  and .direction == \"egress\" and $r_eg)] | length" "$oa")" \
		"$n_eg" "drop events in A naming program, interface, direction and reason"
	assert_eq "$(jq -s '[.[] | .lost_events] | max' "$ob")" 0 "lost events"
	strict_json "$ob"
	strict_json "$oa"

	# -c 3 with 13 drops: exactly three events, exit 0
	local oc=$TV_TMP/ev_c.json
	"$B/tcverdict" -N "$TV_NSB" --events -c 3 -o json >"$oc" 2>"$oc.err" 3>&- &
	TV_TOOL_PID=$!
	wait_attached "$TV_TOOL_PID" || { cat "$oc.err" >&2; false; }
	tv_send 9002 "${TV_SENT[9002]}"
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$TV_TOOL_PID" 2>/dev/null || break
		sleep 0.1
	done
	rc1=0
	wait "$TV_TOOL_PID" || rc1=$?
	TV_TOOL_PID=
	assert_eq "$rc1" 0 "exit status of -c 3"
	assert_eq "$(grep -c . "$oc")" 3 "lines of -e -c 3"
	assert_eq "$(jq -s '[.[] | select(.type == "drop")] | length' "$oc")" 3 "drop events of -e -c 3"
}

# ---- options, exit statuses, leftovers, formats -----------------------------------

@test "tcverdict [kernel]: a redirect to an interface that does not exist: counted as a redirect and a redirect error, streamed with its errno and target" {
	has_fexit || skip_because "failed redirects are seen by fexit on skb_do_redirect: no BPF trampolines on this kernel"
	tv_setup f1
	# port 9003 redirects to ifindex 4242, which B does not have: skb_do_redirect fails (EINVAL)
	local out=$TV_TMP/load.bad n=6
	"$TV_LOAD" --netns "$TV_NSB" --obj "$TV_OBJ" cls_bpf "$TV_DEVB" ingress tcv_cls "#4242" - >"$out" 2>"$out.err" 3>&- &
	TV_PIDS+=("$!")
	local i
	for ((i = 0; i < 600; i++)); do grep -q '}$' "$out" 2>/dev/null && break; sleep 0.02; done
	local prog
	prog=$(jq .prog_id "$out")
	[ -z "$(ip -n "$TV_NSB" -j link show | jq '.[] | select(.ifindex == 4242)')" ]
	local snap=$TV_TMP/bad.json ev=$TV_TMP/bad_ev.json
	"$B/tcverdict" -N "$TV_NSB" --events -o json >"$ev" 2>"$ev.err" 3>&- &
	local evpid=$!
	tv_tool_start "$snap" "$B/tcverdict" -N "$TV_NSB" -o json -i 0.3
	wait_attached "$evpid" || { cat "$ev.err" >&2; false; }
	tv_send 9003 "$n"
	# witness: the program saw every packet
	for ((i = 0; i < 100; i++)); do
		[ "$(tv_seen "$(jq .seen_map_id "$out")" | jq '.["9003"]')" = "$n" ] && break
		sleep 0.1
	done
	sleep 1
	tv_tool_stop
	kill -INT "$evpid"
	wait "$evpid"
	local row
	row=$(prog_row "$snap" "$prog")
	echo "# redirect to no interface: $(jq -c '{redirect, redirect_errors}' <<<"$row")" >&3
	tv_jq --argjson n "$n" '.source == "fexit" and .redirect == $n and .redirect_errors == $n and .packets == $n' "$row"
	tv_jq --argjson n "$n" '[.redirects[] | select(.target_ifindex == 4242 and .target_direction == "egress")
		| .redirected_packets] == [$n]' "$(last_snap "$snap")"
	assert_eq "$(jq -s --argjson p "$prog" '[.[] | select(.type == "redirect_error" and .prog_id == $p
		and .errno_name == "EINVAL" and (.target | test("ifindex 4242 egress")))] | length' "$ev")" "$n" "redirect_error events"
	strict_json "$ev"
}

# netkit (Linux 6.7+): one program attached as primary runs on what the
# primary device (in A) sends, another as peer on what its peer (moved to C)
# sends.  Truth: the packets each side sent per port, and each program's own
# count of what it saw (ICMP errors for closed ports ride along: ok).
@test "tcverdict [kernel]: netkit: the primary and the peer program each count what their side sent, every verdict" {
	tv_setup k1
	local l1=$TV_TMP/nk1.json l2=$TV_TMP/nk2.json nk=$TV_TMP/nk.json i
	"$TV_LOAD" --obj "$TV_OBJ" none - ingress tcv_nk >"$l1" 2>&1 3>&- &
	TV_PIDS+=("$!")
	"$TV_LOAD" --obj "$TV_OBJ" none - ingress tcv_nk >"$l2" 2>&1 3>&- &
	TV_PIDS+=("$!")
	for ((i = 0; i < 300; i++)); do grep -q '}$' "$l1" && grep -q '}$' "$l2" && break; sleep 0.05; done
	local p1 p2
	p1=$(jq .prog_id "$l1") p2=$(jq .prog_id "$l2")
	local dev=tvnp$$ peer=tvnq$$
	"$B/tests/tcdisc_netkit" --netns "$TV_NSA" --dev "$dev" --peer "$peer" --prog "$p1" --peer-prog "$p2" >"$nk" 2>"$nk.err" 3>&- &
	local nkpid=$!
	TV_PIDS=("$nkpid" "${TV_PIDS[@]}")
	for ((i = 0; i < 300; i++)); do grep -q '}$' "$nk" 2>/dev/null && break; kill -0 "$nkpid" 2>/dev/null || break; sleep 0.05; done
	if ! grep -q '}$' "$nk"; then
		local rc=0
		wait "$nkpid" || rc=$?
		[ "$rc" -eq 4 ] && skip_because "no netkit: $(cat "$nk.err")"
		cat "$nk.err" >&2
		false
	fi
	jq -e --argjson a "$p1" --argjson b "$p2" '.primary_prog == $a and .peer_prog == $b' "$nk"
	ip -n "$TV_NSA" link set "$peer" netns "$TV_NSC"
	ip -n "$TV_NSA" addr add 10.88.0.1/24 dev "$dev"
	ip -n "$TV_NSC" addr add 10.88.0.2/24 dev "$peer"
	ip -n "$TV_NSA" link set "$dev" up
	ip -n "$TV_NSC" link set "$peer" up
	local out=$TV_TMP/nk_out.json
	tv_tool_start "$out" "$B/tcverdict" -N "$TV_NSA" -o json -i 0.3
	wait_attached "$TV_TOOL_PID"
	local p
	declare -A a2c=([9001]=3 [9002]=4 [9004]=5 [9008]=6) c2a=([9001]=7 [9002]=2)
	for p in "${!a2c[@]}"; do ip netns exec "$TV_NSA" "$TV_SEND" 10.88.0.2 "$p" "${a2c[$p]}" 200; done
	for p in "${!c2a[@]}"; do ip netns exec "$TV_NSC" "$TV_SEND" 10.88.0.1 "$p" "${c2a[$p]}" 200; done
	sleep 1
	tv_tool_stop
	local s1 s2
	s1=$(tv_seen "$(jq .seen_map_id "$l1")") s2=$(tv_seen "$(jq .seen_map_id "$l2")")
	echo "# netkit: primary saw $s1, peer saw $s2" >&3
	# the programs saw what each side sent
	tv_jq '.["9001"] == 3 and .["9002"] == 4 and .["9004"] == 5 and .["9008"] == 6' "$s1"
	tv_jq '.["9001"] == 7 and .["9002"] == 2 and .["9004"] == null' "$s2"
	local r1 r2
	r1=$(last_snap "$out" | jq -c --argjson p "$p1" '.programs[] | select(.prog_id == $p)')
	r2=$(last_snap "$out" | jq -c --argjson p "$p2" '.programs[] | select(.prog_id == $p)')
	local idx
	idx=$(jq .ifindex "$nk")
	tv_jq --arg d "$dev" --arg ns "$TV_NSA" --argjson i "$idx" \
		'.kind == "netkit" and .direction == "primary" and .interface == $d and .ifindex == $i and .netns == $ns' "$r1"
	tv_jq --arg d "$dev" '.kind == "netkit" and .direction == "peer" and .interface == $d' "$r2"
	if has_fexit; then
		# NETKIT_DROP 9002, NETKIT_NEXT 9004, 42 for 9008, NETKIT_PASS the rest
		# (what the program saw besides the test's ports is ICMP: pass)
		tv_jq --argjson s "$s1" '.source == "fexit" and .shot == 4 and .unspec == 5 and .other == 6
			and .ok == 3 + ($s.other // 0) and .packets == ([$s[]] | add) and .redirect == 0' "$r1"
		tv_jq --argjson s "$s2" '.source == "fexit" and .shot == 2 and .unspec == 0 and .other == 0
			and .ok == 7 + ($s.other // 0) and .packets == ([$s[]] | add)' "$r2"
	else
		tv_jq '.source == "none" and .shot == null and .packets == null' "$r1"
	fi
	strict_json "$out"
}

@test "tcverdict [kernel]: --mechanism: fexit where trampolines are allowed, else exit 4 naming them; nonsense exits 2" {
	tv_setup f1
	tv_attach cls_bpf
	if has_fexit; then
		run "$B/tcverdict" -N "$TV_NSB" --mechanism fexit -o json -c 1 -i 0.2
		[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
		tv_jq --argjson p "$TV_PROG" '[.programs[] | select(.prog_id == $p)] | length == 1 and .[0].source == "fexit"' \
			"$(grep '^{' <<<"$output" | tail -1)"
	else
		run "$B/tcverdict" -N "$TV_NSB" --mechanism fexit -c 1 -i 0.2
		[ "$status" -eq 4 ]
		assert_one_line_error "--mechanism fexit"
		[[ "$output" == *trampoline* ]] || { echo "does not name trampolines: $output" >&2; false; }
	fi
	run "$B/tcverdict" -N "$TV_NSB" --mechanism drop_reason -o json -c 1 -i 0.2
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	tv_jq --argjson p "$TV_PROG" '[.programs[] | select(.prog_id == $p)] | length == 1 and .[0].source == "drop_reason"' \
		"$(grep '^{' <<<"$output" | tail -1)"
	run "$B/tcverdict" --mechanism nonsense
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --mechanism 'nonsense'"
}

@test "tcverdict: bad input: one error line and the documented exit status" {
	tv_setup b1
	tv_attach cls_bpf
	run "$B/tcverdict" -N "$TV_NSB" -I nosuchif0 -c 1
	[ "$status" -eq 5 ]
	assert_one_line_error "nosuchif0"
	run "$B/tcverdict" -N "bs-no-such-netns-$$" -c 1
	[ "$status" -eq 5 ]
	assert_one_line_error "no network namespace 'bs-no-such-netns-$$'"
	run "$B/tcverdict" -N "$TV_NSB" --all-netns -c 1
	[ "$status" -eq 2 ]
	assert_one_line_error "--all-netns"
	local free
	free=$(free_prog_id)
	run "$B/tcverdict" -N "$TV_NSB" -P "$free" -c 1
	[ "$status" -eq 5 ]
	assert_one_line_error "$free"
	run "$B/tcverdict" -N "$TV_NSB" -c 0
	[ "$status" -eq 2 ]
	assert_one_line_error "tcverdict"
	run "$B/tcverdict" -N "$TV_NSB" -i -1
	[ "$status" -eq 2 ]
	assert_one_line_error "tcverdict"
	run "$B/tcverdict" --events -o prom
	[ "$status" -eq 2 ]
	assert_one_line_error "--events"
	run "$B/tcverdict" --no-such-option
	[ "$status" -eq 2 ]
}

@test "tcverdict: -P shows only that program; --all-netns finds each program in its namespace" {
	tv_setup n1
	tv_attach cls_bpf
	local p_in=$TV_PROG
	tv_attach cls_bpf egress tcv_egress "$TV_DEVA" "$TV_NSA"
	local p_eg=$TV_PROG
	run "$B/tcverdict" --all-netns -o json -c 1 -i 0.2
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	local snap
	snap=$(grep '^{' <<<"$output" | tail -1)
	tv_jq --argjson pi "$p_in" --argjson pe "$p_eg" --arg a "$TV_NSA" --arg b "$TV_NSB" --arg da "$TV_DEVA" --arg db "$TV_DEVB" '
		([.programs[] | select(.prog_id == $pi)] | length == 1 and (.[0] | .netns == $b and .interface == $db and .direction == "ingress"))
		and ([.programs[] | select(.prog_id == $pe)] | length == 1 and (.[0] | .netns == $a and .interface == $da and .direction == "egress"))' "$snap"
	run "$B/tcverdict" --all-netns -P "$p_eg" -o json -c 1 -i 0.2
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	snap=$(grep '^{' <<<"$output" | tail -1)
	tv_jq --argjson pe "$p_eg" '(.programs | length) == 1 and .programs[0].prog_id == $pe
		and ([.redirects[]? | select(.prog_id != $pe)] | length) == 0' "$snap"
	# the same with -N: the namespace's own program only
	run "$B/tcverdict" -N "$TV_NSB" -o json -c 1 -i 0.2
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	tv_jq --argjson pi "$p_in" '[.programs[].prog_id] == [$pi]' "$(grep '^{' <<<"$output" | tail -1)"
}

@test "tcverdict [kernel]: nothing stays attached or loaded after exit, SIGINT or SIGKILL; the fixtures stay as they were" {
	source "$ROOT/tests/lib/leakcheck.bash"
	tv_setup k1
	tv_attach cls_bpf
	local p_cls=$TV_PROG
	tv_attach tcx egress tcv_egress "$TV_DEVA" "$TV_NSA" || true
	tv_mirred
	tv_lwt_route
	LK_TMP=$TV_TMP
	LK_NETNS=("$TV_NSA" "$TV_NSB" "$TV_NSC")
	# the tool's objects and the engine's count as ours
	lk_names "$B"/*.bpf.o
	lk_snapshot "$TV_TMP/s1"
	local rc=0 sig
	lk_run 0 "$B/tcverdict" -N "$TV_NSB" -o json -c 1 -i 0.2 || rc=1
	lk_run 0 "$B/tcverdict" --all-netns -o prom -c 1 -i 0.2 || rc=1
	for sig in INT KILL; do
		lk_signal "$sig" running "$B/tcverdict" -N "$TV_NSB" -i 0.2 || rc=1
		lk_signal "$sig" 0.3 "$B/tcverdict" -N "$TV_NSB" --events || rc=1
		lk_signal "$sig" 0.05 "$B/tcverdict" -N "$TV_NSA" -i 0.2 || rc=1
	done
	lk_check "$TV_TMP/s1" || rc=1
	# the fixture is still the filter on B's ingress
	assert_eq "$(tc -n "$TV_NSB" -j filter show dev "$TV_DEVB" ingress | jq -c '[.[].options.prog.id? // empty]')" \
		"[$p_cls]" "cls_bpf programs on $TV_DEVB ingress"
	return $rc
}

# tcverdict -N B -o prom --file FILE in the background; returns once the
# first exposition is there.
prom_start() { # FILE
	local f=$1 i
	rm -f "$f"
	"$B/tcverdict" -N "$TV_NSB" -o prom -i 0.3 -c 100000 --file "$f" 2>"$f.err" 3>&- &
	TV_TOOL_PID=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$f" ] && return 0
		kill -0 "$TV_TOOL_PID" 2>/dev/null || { cat "$f.err" >&2; return 1; }
		sleep 0.1
	done
	echo "tcverdict wrote no exposition in 60 s" >&2
	return 1
}

# Every family once, every series once, and promtool has nothing to say.
prom_clean() { # FILE
	assert_eq "$(grep -c '^# TYPE ' "$1")" "$(grep '^# TYPE ' "$1" | sort -u | wc -l)" "metric families written once"
	assert_eq "$(grep -v '^#' "$1" | sed 's/ [^ ]*$//' | sort | uniq -d)" "" "duplicate series"
	lint_clean "$1"
}

@test "tcverdict: prom: one sample per verdict it can count, mirred counters equal tc's, lint-clean" {
	tv_setup p1
	tv_attach cls_bpf
	# 1. the program alone on B's ingress: the verdicts (and, with fexit, the redirects)
	local f=$TV_TMP/verdicts.prom
	prom_start "$f"
	tv_send_mix
	tv_wait_sinks "$(tv_expect_sinks cls_bpf)"
	tv_tool_stop
	cat "$f" >&2
	local exp v n
	exp=$(tv_expect cls_bpf)
	grep -q '^# TYPE bpfscope_tcverdict_packets_total counter$' "$f"
	if has_fexit; then
		for v in $TV_VERDICTS; do
			assert_eq "$(prom_value "$f" packets_total "prog_id=\"$TV_PROG\"" "verdict=\"$v\"" 'source="fexit"')" \
				"$(jq --arg v "$v" '.[$v]' <<<"$exp")" "prom $v"
		done
		assert_eq "$(prom_view_value "$f" redirects redirected_packets_total "prog_id=\"$TV_PROG\"" 'target_direction="egress"')" \
			"${TV_SENT[9003]}" "prom redirects out of $TV_DEVR"
		assert_eq "$(prom_view_value "$f" redirects redirected_packets_total "prog_id=\"$TV_PROG\"" 'target_direction="ingress"')" \
			"${TV_SENT[9006]}" "prom redirects into $TV_DEVR"
	else
		assert_eq "$(prom_value "$f" packets_total "prog_id=\"$TV_PROG\"" 'verdict="shot"' 'source="drop_reason"')" \
			"$(jq .shot <<<"$exp")" "prom shot"
		# the verdicts drop reasons cannot tell have no sample, not 0
		n=$(grep "^bpfscope_tcverdict_packets_total{.*prog_id=\"$TV_PROG\"" "$f" | grep -c 'verdict=' || true)
		assert_eq "$n" 1 "samples of the program's verdicts"
		# no redirect rows, so no redirect samples
		assert_eq "$(grep -E '^bpfscope_tcverdict_redirected_packets_total\{' "$f" | grep -c . || true)" \
			0 "redirect samples"
	fi
	prom_clean "$f"

	# 2. act_mirred filters join the program on B's ingress: the mirred
	# counters; a SHOT on that hook is no longer the program's for certain
	tv_mirred
	local n_shot=5
	f=$TV_TMP/mirred.prom
	prom_start "$f"
	tv_send 9201 4
	tv_send 9202 3
	tv_send 9002 "$n_shot"
	tv_wait_sinks "{\"b\":{\"9201@$TV_DEVR\":4,\"9202\":3},\"c\":{\"9202\":3}}"
	tv_tool_stop
	cat "$f" >&2
	assert_eq "$(tv_seen | jq '.["9002"]')" "$(( ${TV_SENT[9002]} + n_shot ))" "fixture's count of 9002"
	local s
	for i in "$TV_MIRRED_REDIRECT" "$TV_MIRRED_MIRROR"; do
		s=$(tv_mirred_stats "$i")
		assert_eq "$(prom_view_value "$f" mirred mirred_packets_total "index=\"$i\"")" "$(jq .stats.packets <<<"$s")" "mirred $i packets"
		assert_eq "$(prom_view_value "$f" mirred mirred_bytes_total "index=\"$i\"")" "$(jq .stats.bytes <<<"$s")" "mirred $i bytes"
		assert_eq "$(prom_view_value "$f" mirred mirred_drops_total "index=\"$i\"")" "$(jq .stats.drops <<<"$s")" "mirred $i drops"
	done
	assert_eq "$(prom_view_value "$f" mirred mirred_packets_total "index=\"$TV_MIRRED_REDIRECT\"")" 4 "mirred redirect packets sent"
	if has_fexit; then
		assert_eq "$(prom_value "$f" packets_total "prog_id=\"$TV_PROG\"" 'verdict="shot"' 'source="fexit"')" "$n_shot" "prom shot"
	else
		n=$(grep "^bpfscope_tcverdict_packets_total{.*prog_id=\"$TV_PROG\"" "$f" | grep -c 'verdict=' || true)
		assert_eq "$n" 0 "samples of the program's verdicts while it shares its hook (drop reasons)"
	fi
	prom_clean "$f"
}

@test "tcverdict [kernel 6.1]: clean under ASan/UBSan, counts and events" {
	[ -x "$BA/tcverdict" ] || skip_because "ASan build missing (make BUILD=build/asan SAN=address testbins)"
	tv_setup s1
	tv_attach cls_bpf
	local out=$TV_TMP/asan.json rc=0
	tv_tool_start "$out" "$BA/tcverdict" -N "$TV_NSB" -o json -i 0.3
	tv_send_mix
	tv_wait_sinks "$(tv_expect_sinks cls_bpf)"
	tv_tool_stop || rc=$?
	[ "$rc" -ne 99 ] || { cat "$out.err" >&2; false; }
	[ "$rc" -eq 0 ]
	tv_jq --argjson e "$(tv_expect cls_bpf)" '.shot == $e.shot' "$(prog_row "$out" "$TV_PROG")"
	# --events until the first event: one dropped packet every 2 s until
	# the (slow to start under ASan and emulation) tool has seen one
	( for _ in $(seq 1 100); do sleep 2; tv_send 9002 1; done ) 3>&- &
	local sender=$!
	run timeout 300 "$BA/tcverdict" -N "$TV_NSB" --events -c 1 -o json
	kill "$sender" 2>/dev/null
	wait "$sender" 2>/dev/null || true
	[ "$status" -ne 99 ] || { echo "$output" >&2; false; }
	[ "$status" -eq 0 ]
	tv_jq --argjson p "$TV_PROG" '.type == "drop" and .prog_id == $p' "$(grep '^{' <<<"$output" | tail -1)"
}
