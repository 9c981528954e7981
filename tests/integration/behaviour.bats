#!/usr/bin/env bats
# The same behaviour from every tool (one engine): help, --file checked at
# start, missing capabilities.  Each case runs against all seven tools.

load ../lib/helpers

TOOLS="xdpverdict tailcalls mapstat tcpchrono wbtstat fibstat tcverdict"

@test "behaviour: -h prints the help and exits 0, as --help does, in every tool" {
	local t
	for t in $TOOLS; do
		run "$B/$t" -h
		[ "$status" -eq 0 ] || { echo "$t -h: status $status: $output" >&2; return 1; }
		[[ "${lines[0]}" == "Usage: $t "* ]] || { echo "$t -h: ${lines[0]}" >&2; return 1; }
		assert_eq "$output" "$("$B/$t" --help)" "$t -h vs --help"
	done
}

@test "behaviour: an unwritable --file or --state fails at start (not after the interval), naming the path and the cause" {
	local t start
	for t in $TOOLS; do
		start=$(date +%s%N)
		run "$B/$t" -i 50 -o json --file /proc/version
		[ "$status" -eq 2 ] || { echo "$t: status $status: $output" >&2; return 1; }
		assert_one_line_error "cannot write --file /proc/version: cannot create a file in /proc: ENOENT"
		# well before the 50 s interval: nothing was loaded or waited for
		[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ]
		run "$B/$t" -i 50 -o json --file "$BATS_TEST_TMPDIR"
		[ "$status" -eq 2 ]
		assert_one_line_error "cannot write --file $BATS_TEST_TMPDIR: it is a directory"
		run "$B/$t" -i 50 -o prom --file "$BATS_TEST_TMPDIR/x.prom" --state /nonexistent/dir/s
		[ "$status" -eq 2 ]
		assert_one_line_error "cannot write --state /nonexistent/dir/s: cannot create a file in /nonexistent/dir: ENOENT"
	done
	# nothing left behind by the checks
	[ -z "$(ls "$BATS_TEST_TMPDIR")" ]
}

@test "behaviour: root without capabilities (capsh --drop=all) exits 3 with one line naming them, in every tool" {
	command -v capsh >/dev/null || skip_because "capsh not installed"
	local t
	for t in $TOOLS; do
		run capsh --drop=all -- -c "'$B/$t' -c 1 -i 0.1"
		[ "$status" -eq 3 ] || { echo "$t: status $status: $output" >&2; return 1; }
		assert_one_line_error "needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"
	done
}

# Start TOOL ARGS in the background (JSON to $BATS_TEST_TMPDIR/TOOL.out),
# stop it with SIGINT after SECONDS, wait for it.  Sets ST (its status).
interrupt_after() {
	local secs=$1 t=$2
	shift 2
	"$B/$t" "$@" >"$BATS_TEST_TMPDIR/$t.out" 2>"$BATS_TEST_TMPDIR/$t.err" &
	local p=$!
	sleep "$secs"
	kill -INT "$p"
	ST=0
	wait "$p" || ST=$?
}

# A script's background job starts with SIGINT ignored (bash does that): a
# SIGINT or SIGTERM that came while the tool was still loading was lost, and
# `-i` ran on for ever.  The handlers are installed before the first option
# is read, so a stop asked for at any moment of the start-up ends the run.
@test "behaviour: SIGINT or SIGTERM during start-up ends every interval tool with status 0, also when started with SIGINT ignored" {
	local t d sig st
	for t in $TOOLS; do
		for sig in INT TERM; do
			# from 30 ms on: before main() a signal meets the dispositions
			# the tool was started with (SIGTERM's kills it, an ignored SIGINT
			# is lost), which no program can change
			for d in 0.03 0.06 0.15; do
				st=$(bash -c '"$1" -i 60 -o json >"$2.out" 2>"$2.err" & p=$!
					sleep "$3"; kill -"$4" $p
					for i in $(seq 200); do kill -0 $p 2>/dev/null || break; sleep 0.05; done
					if kill -0 $p 2>/dev/null; then kill -KILL $p; wait $p; echo running; else wait $p; echo $?; fi' \
					sh "$B/$t" "$BATS_TEST_TMPDIR/$t" "$d" "$sig")
				[ "$st" = 0 ] || { echo "$t: SIG$sig ${d} s after the start: status $st (running: still running 10 s later)" >&2; cat "$BATS_TEST_TMPDIR/$t.err" >&2; return 1; }
				# whatever it printed is whole JSON lines
				[ ! -s "$BATS_TEST_TMPDIR/$t.out" ] || jq -e -c . "$BATS_TEST_TMPDIR/$t.out" >/dev/null
			done
		done
	done
}

@test "behaviour: Ctrl-C in the middle of the first interval prints that interval, in every interval tool" {
	local t n
	for t in $TOOLS; do
		interrupt_after 3 "$t" -i 60 -o json
		[ "$ST" -eq 0 ] || { echo "$t: status $ST: $(cat "$BATS_TEST_TMPDIR/$t.err")" >&2; return 1; }
		n=$(wc -l <"$BATS_TEST_TMPDIR/$t.out")
		[ "$n" -ge 1 ] || { echo "$t printed nothing when interrupted in its first interval" >&2; return 1; }
		jq -e --arg t "$t" '.tool == $t and (.ts | type) == "number"' "$BATS_TEST_TMPDIR/$t.out" >/dev/null
	done
}

@test "behaviour: Ctrl-C after the first interval prints the interval in progress too" {
	local t n
	for t in wbtstat tcpchrono fibstat xdpverdict tcverdict; do
		interrupt_after 3 "$t" -i 1 -o json
		[ "$ST" -eq 0 ] || { echo "$t: status $ST" >&2; return 1; }
		n=$(wc -l <"$BATS_TEST_TMPDIR/$t.out")
		# one full interval (at ~1 s after start-up) and the partial one
		[ "$n" -ge 2 ] || { echo "$t: $n snapshots" >&2; cat "$BATS_TEST_TMPDIR/$t.out" >&2; return 1; }
	done
}

@test "behaviour: contradictory options exit 2 with one line, never silently" {
	local t
	for t in $TOOLS; do
		# the interval or the count given twice (0.2 used to win silently)
		run "$B/$t" -i 3 0.2
		[ "$status" -eq 2 ]; assert_one_line_error "the interval is given twice"
		run "$B/$t" -c 2 -c 3
		[ "$status" -eq 2 ]; assert_one_line_error "the count is given twice"
	done
	# event streams have no snapshots to write to a file (xdpverdict and
	# fibstat ignored --file there)
	for t in "xdpverdict -e" "xdpverdict --events" "fibstat -e" "wbtstat -e" "tcverdict -e"; do
		run $B/$t --file "$BATS_TEST_TMPDIR/x"
		[ "$status" -eq 2 ]; assert_one_line_error "--file writes snapshots and cannot be used with"
		run $B/$t -o prom
		[ "$status" -eq 2 ]; assert_one_line_error "streams events"
	done
	run "$B/mapstat" --owners --no-owners
	[ "$status" -eq 2 ]; assert_one_line_error "--owners and --no-owners exclude each other"
	run "$B/wbtstat" --long-pause 5 -c 1
	[ "$status" -eq 2 ]; assert_one_line_error "--long-pause applies to --events"
	run "$B/fibstat" --flow dst=10.0.0.1,dst=10.0.0.2
	[ "$status" -eq 2 ]; assert_one_line_error "dst= is given twice"
	run "$B/tcverdict" -e --state "$BATS_TEST_TMPDIR/s"
	[ "$status" -eq 2 ]; assert_one_line_error "--state keeps snapshot counters and cannot be used with --events"
	run "$B/tcverdict" -e -i 5
	[ "$status" -eq 2 ]; assert_one_line_error "an interval is for snapshots"
}

@test "behaviour: tcpchrono --top 3 means three rows (as --top=3), not a 3 s interval" {
	# a 3 s interval would take 3 s; the default interval is 1 s
	local start; start=$(date +%s%N)
	run "$B/tcpchrono" --top 3 -c 1 -o json
	[ "$status" -eq 0 ]
	local ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -lt 2800 ] || { echo "took $ms ms" >&2; return 1; }
	jq -e '(.interval_seconds > 0.9 and .interval_seconds < 1.5) and (.connections | length) <= 3' <<<"$output"
}

@test "behaviour [kernel]: name probes find functions in module BTF (veth), as bpftool sees them" {
	[ -d /sys/kernel/btf ] || skip "no /sys/kernel/btf"
	# a veth pair loads the veth module where it is one
	ip link add bpfsbtf0 type veth peer name bpfsbtf1 || skip "cannot create a veth pair"
	ip link del bpfsbtf0
	[ -e /sys/kernel/btf/veth ] || skip "veth is built into this kernel (no module BTF to probe)"
	# independent truth: the function is in veth's BTF and not in vmlinux's
	bpftool btf dump file /sys/kernel/btf/veth | grep -q "FUNC 'veth_xdp_xmit'"
	! bpftool btf dump file /sys/kernel/btf/vmlinux | grep -q "FUNC 'veth_xdp_xmit'"
	run "$B/tests/bpfprobe" kfunc:veth_xdp_xmit
	[ "$status" -eq 0 ]
	[ "$output" = "yes (module veth)" ]
	run "$B/tests/bpfprobe" kfunc:veth_no_such_function_here
	[ "$status" -eq 1 ]
}

@test "behaviour: the minimal capabilities each man page documents are enough, and the truth behind them" {
	command -v capsh >/dev/null || skip_because "capsh not installed"
	local t
	# each man page's REQUIREMENTS names its minimal set
	grep -A12 '^\.SH REQUIREMENTS' "$ROOT/man/man8/tcpchrono.8" | grep -q 'CAP_BPF and CAP_PERFMON'
	grep -A12 '^\.SH REQUIREMENTS' "$ROOT/man/man8/wbtstat.8" | grep -q 'CAP_BPF with CAP_PERFMON'
	grep -A12 '^\.SH REQUIREMENTS' "$ROOT/man/man8/fibstat.8" | grep -q 'CAP_BPF with CAP_PERFMON'
	grep -A12 '^\.SH REQUIREMENTS' "$ROOT/man/man8/xdpverdict.8" | grep -q 'CAP_BPF and CAP_PERFMON'
	grep -A12 '^\.SH REQUIREMENTS' "$ROOT/man/man8/mapstat.8" | grep -q 'CAP_SYS_ADMIN'
	grep -A12 '^\.SH REQUIREMENTS' "$ROOT/man/man8/tailcalls.8" | grep -q 'CAP_SYS_ADMIN'

	# tcpchrono with CAP_BPF + CAP_PERFMON sees a connection this test holds
	# open, as ss does
	python3 -c 'import socket,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); p=s.getsockname()[1]
c=socket.create_connection(("127.0.0.1",p)); a,_=s.accept(); c.send(b"x"*100000)
open("'"$BATS_TEST_TMPDIR"'/port","w").write(str(p)); time.sleep(8)' &
	local py=$! port
	# python starts in a few seconds under emulation (the guests), not one
	for _ in $(seq 1 100); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.1
	done
	port=$(cat "$BATS_TEST_TMPDIR/port")
	ss -tn state established "( sport = :$port or dport = :$port )" | grep -q "$port"
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/tcpchrono' -i 0.5 -c 1 -o json --port $port"
	kill "$py" 2>/dev/null || true
	[ "$status" -eq 0 ] || { echo "tcpchrono: $status: $output" >&2; return 1; }
	echo "$output" | grep '^{' | jq -e "[.connections[]? | select(.lport == $port or .rport == $port)] | length == 2" >/dev/null

	# wbtstat: every disk sysfs lists with a wbt latency target and a size
	# (an unbound loop device has none)
	local want got
	want=$(for d in /sys/block/*; do [ -r "$d/queue/wbt_lat_usec" ] && [ "$(cat "$d/size")" != 0 ] &&
		basename "$d"; done | sort | paste -sd' ')
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/wbtstat' -c 1 -o json"
	[ "$status" -eq 0 ] || { echo "wbtstat: $status: $output" >&2; return 1; }
	got=$(echo "$output" | grep '^{' | jq -r '.devices[]?.device' | sort -u | paste -sd' ')
	for d in $want; do [[ " $got " == *" $d "* ]] || { echo "wbtstat misses $d: $got" >&2; return 1; }; done

	# fibstat and xdpverdict: their own namespace, one snapshot
	for t in fibstat xdpverdict; do
		run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/$t' -c 1 -o json"
		[ "$status" -eq 0 ] || { echo "$t: $status: $output" >&2; return 1; }
		echo "$output" | grep '^{' | jq -e 'select(.tool)' >/dev/null
	done

	# mapstat and tailcalls: CAP_SYS_ADMIN, as documented; the maps listed
	# are bpftool's
	run_caps_only cap_sys_admin $SYS_ADMIN_EFF "'$B/mapstat' -c 1 -o json"
	[ "$status" -eq 0 ] || { echo "mapstat: $status: $output" >&2; return 1; }
	got=$(echo "$output" | grep '^{' | jq -r '.maps[]?.map_id' | sort -n | paste -sd' ')
	want=$(bpftool map list -j | jq -r '.[].id' | sort -n | paste -sd' ')
	[ -n "$want" ] || skip_because "no BPF maps on this machine to compare with"
	for id in $want; do [[ " $got " == *" $id "* ]] || { echo "mapstat misses map $id" >&2; return 1; }; done
	run_caps_only cap_sys_admin $SYS_ADMIN_EFF "'$B/tailcalls' -o json"
	[ "$status" -eq 0 ] || { echo "tailcalls: $status: $output" >&2; return 1; }
	# ... and CAP_BPF + CAP_PERFMON alone are refused with the capability named
	for t in mapstat tailcalls; do
		run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/$t' -c 1"
		[ "$status" -eq 3 ] || { echo "$t: $status: $output" >&2; return 1; }
		[[ "$output" == *"needs CAP_SYS_ADMIN"* ]]
	done
}

@test "behaviour: --mechanism names that are no hook's, or two ways for one hook, exit 2 with one line" {
	run "$B/wbtstat" --mechanism kprobe -c 1
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --mechanism 'kprobe'"
	run "$B/tcpchrono" --mechanism tp_btf,raw_tp -c 1
	[ "$status" -eq 2 ]
	assert_one_line_error "two ways to hook"
	run "$B/fibstat" --mechanism "" -c 1
	[ "$status" -eq 2 ]
	run "$B/mapstat" --mechanism nosuch -c 1
	[ "$status" -eq 2 ]
	run "$B/tcverdict" --mechanism kprobe -c 1
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --mechanism 'kprobe'"
	run "$B/tcverdict" --mechanism tp_btf,raw_tp -c 1
	[ "$status" -eq 2 ]
	assert_one_line_error "two ways to hook"
	run "$B/tcverdict" --mechanism fexit,drop_reason -c 1
	[ "$status" -eq 2 ]
	assert_one_line_error "exclude each other"
}

# tcverdict's capability scenario.  Namespace TCV_NS holds veth TCV_VA
# (TCV_NET.2) whose peer TCV_VB (TCV_NET.1) is in this namespace, and a veth
# TCV_DOWN that stays down.  On TCV_VA's ingress, for IPv4 only, a cls_bpf
# filter (tcdisc_cls: its program matches every packet) whose action
# redirects to TCV_DOWN: act_mirred cannot send there, so the hook drops each
# packet (drop reason TC_INGRESS) and the kernel counts an overlimit of the
# action.  Packets sent from here to TCV_NET.2 are the count to find.
tcv_setup() {
	local o="$B/fixtures/tcdisc_cls.bpf.o"
	[ -f "$o" ] || skip_because "$o not built (make testbins)"
	TCV_NS=$(uniq_name tn) TCV_VA=$(uniq_name ta) TCV_VB=$(uniq_name tb) TCV_DOWN=$(uniq_name td)
	TCV_NET=10.251.$(($$ % 250))
	ip netns add "$TCV_NS"
	ip link add "$TCV_VB" type veth peer name "$TCV_VA" netns "$TCV_NS"
	ip -n "$TCV_NS" link add "$TCV_DOWN" type veth peer name "${TCV_DOWN}p"
	ip addr add "$TCV_NET.1/30" dev "$TCV_VB"
	ip link set "$TCV_VB" up
	ip -n "$TCV_NS" addr add "$TCV_NET.2/30" dev "$TCV_VA"
	ip -n "$TCV_NS" link set "$TCV_VA" up
	tc -n "$TCV_NS" qdisc add dev "$TCV_VA" clsact
	tc -n "$TCV_NS" filter add dev "$TCV_VA" ingress protocol ip pref 1 bpf obj "$o" sec tcd_match_all_cls \
		action mirred egress redirect dev "$TCV_DOWN" 2>"$BATS_TEST_TMPDIR/tc.err" ||
		skip_because "cls_bpf with act_mirred: $(cat "$BATS_TEST_TMPDIR/tc.err")"
	# the truth: the program tc attached, as bpftool names it
	TCV_PROG=$(tc -n "$TCV_NS" -j filter show dev "$TCV_VA" ingress | jq '[.[] | .options.prog.id // empty] | first')
	TCV_PROG_NAME=$(bpftool -j prog show id "$TCV_PROG" | jq -r .name)
	[ -n "$TCV_PROG_NAME" ] && [ "$TCV_PROG_NAME" != null ]
}

teardown() {
	[ -n "${TCV_PID:-}" ] && kill "$TCV_PID" 2>/dev/null && wait "$TCV_PID" 2>/dev/null
	[ -n "${TCV_NS:-}" ] || return 0
	ip link del "$TCV_VB" 2>/dev/null
	ip netns del "$TCV_NS" 2>/dev/null
	return 0
}

# the kernel's own count of packets the filter's action could not send
tcv_overlimits() {
	tc -n "$TCV_NS" -s -j filter show dev "$TCV_VA" ingress | jq '[.[] | .options.actions[]? | .stats.overlimits] | add'
}

# tcv_drop KEEP: the capabilities capsh --drop must take away to leave KEEP
tcv_drop() {
	capsh --print | sed -n 's/^Bounding set =//p' | tr , '\n' | grep -vxF "$(tr , '\n' <<<"$1")" | paste -sd, -
}

# tcv_mask CAP_A CAP_B ...: the CapEff mask of exactly these (numbers from
# the kernel's uapi header)
tcv_mask() {
	local c n m=0
	for c in "$@"; do
		n=$(sed -n "s/^#define $c[[:space:]]\{1,\}\([0-9]\{1,\}\)$/\1/p" /usr/include/linux/capability.h)
		[ -n "$n" ] || { echo "tcv_mask: no $c in linux/capability.h" >&2; return 1; }
		m=$((m | (1 << n)))
	done
	printf '%016x\n' "$m"
}

# tcv_count KEEP EFF WHERE N ARGS...: tcverdict ARGS -o json with only the
# capabilities KEEP (CapEff must read EFF), started in TCV_NS (WHERE=ns) or
# here (WHERE=here); once it printed its first snapshot, send N packets, wait
# for the kernel to count them, stop it with SIGINT.  TCV_OUT: its last
# snapshot.
tcv_count() {
	local keep=$1 eff=$2 where=$3 n=$4 out="$BATS_TEST_TMPDIR/tcv.out" before i pre=()
	shift 4
	[ "$where" = ns ] && pre=(ip netns exec "$TCV_NS")
	# a previous run's output would pass for this one's first snapshot
	rm -f "$out" "$out.err"
	before=$(tcv_overlimits)
	"${pre[@]}" capsh --drop="$(tcv_drop "$keep")" -- -c \
		"grep -qx 'CapEff:[[:space:]]*$eff' /proc/self/status || { grep CapEff /proc/self/status >&2; exit 99; }; exec '$B/tcverdict' $* -i 0.2 -o json" \
		>"$out" 2>"$out.err" &
	TCV_PID=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$out" ] && break
		kill -0 "$TCV_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$out" ]; then
		wait "$TCV_PID"
		echo "tcverdict $* with $keep: status $?, $(cat "$out.err")" >&2
		TCV_PID=
		return 1
	fi
	"$B/tests/xdpverdict_send" "$TCV_NET.2" 9000 "$n"
	for ((i = 0; i < 100; i++)); do
		[ $(($(tcv_overlimits) - before)) -ge "$n" ] && break
		sleep 0.1
	done
	assert_eq "$(($(tcv_overlimits) - before))" "$n" "packets the kernel's mirred action could not send (tc -s)"
	sleep 0.5
	kill -INT "$TCV_PID"
	wait "$TCV_PID" || { echo "tcverdict $* with $keep: status $?, $(cat "$out.err")" >&2; TCV_PID=; return 1; }
	TCV_PID=
	TCV_OUT=$(tail -1 "$out")
}

# tcv_assert_row N: TCV_OUT's row of the filter counts the N packets the
# hook dropped (drop reasons: shot; fexit: the program ran N times and
# returned no SHOT, the action dropped them), names the program as bpftool
# does, and the mirred row has the kernel's own overlimits
tcv_assert_row() {
	local n=$1 row
	row=$(jq -c --arg i "$TCV_VA" '[.programs[] | select(.interface == $i and .kind == "cls_bpf" and .direction == "ingress")]' <<<"$TCV_OUT")
	assert_jq 'length == 1' "$row"
	assert_jq ".[0].prog_id == $TCV_PROG and .[0].prog_name == \"$TCV_PROG_NAME\"" "$row"
	case $(jq -r '.[0].source' <<<"$row") in
	drop_reason) assert_jq ".[0].shot == $n and .[0].ok == null and .[0].packets == null" "$row" ;;
	fexit) assert_jq ".[0].packets == $n and .[0].shot == 0" "$row" ;;
	*) echo "source: $row" >&2; return 1 ;;
	esac
	assert_jq "[.mirred[] | select(.target == \"$TCV_DOWN\")] | length == 1 and .[0].mirred_overlimits == $(tcv_overlimits)" "$TCV_OUT"
}

@test "behaviour: tcverdict with its unit's capabilities counts a cls_bpf hook's drops as tc -s does, names the program as bpftool does, here and with -N" {
	command -v capsh >/dev/null || skip_because "capsh not installed"
	local conf="$ROOT/systemd/bpfscope@tcverdict.service.d/capabilities.conf" caps keep eff
	caps=$(sed -n 's/^CapabilityBoundingSet=\(..*\)/\1/p' "$conf")
	[ -n "$caps" ]
	keep=$(tr ' ' '\n' <<<"$caps" | tr 'A-Z' 'a-z' | paste -sd,)
	# shellcheck disable=SC2086
	eff=$(tcv_mask $caps)
	tcv_setup
	echo "# $caps; $(tc -n "$TCV_NS" -j filter show dev "$TCV_VA" ingress | jq -c '[.[] | .options.actions[]? | {kind, to_dev, direction}]')" >&3
	# in its own namespace
	tcv_count "$keep" "$eff" ns 25
	tcv_assert_row 25
	assert_jq '.programs[0].netns == "-"' "$TCV_OUT"
	# from here with -N (setns)
	tcv_count "$keep" "$eff" here 17 -N "$TCV_NS"
	tcv_assert_row 17
	echo "# -N: $(jq -c '{fexit, drop_reasons, row: .programs[0] | {netns, prog_name, source, shot}}' <<<"$TCV_OUT")" >&3
}

@test "behaviour: tcverdict with the capabilities tcverdict(8) REQUIREMENTS names, or CAP_BPF and CAP_PERFMON alone, counts or exits 3 naming what it lacks" {
	command -v capsh >/dev/null || skip_because "capsh not installed"
	local keep caps bad=""
	# the man page's minimal set
	grep -A4 '^\.SH REQUIREMENTS' "$ROOT/man/man8/tcverdict.8" | tr '\n' ' ' | grep -q 'Root, or CAP_BPF and CAP_PERFMON: enough for drop'
	tcv_setup
	for caps in "CAP_BPF CAP_PERFMON CAP_NET_ADMIN" "CAP_BPF CAP_PERFMON"; do
		keep=$(tr ' ' '\n' <<<"$caps" | tr 'A-Z' 'a-z' | paste -sd,)
		# shellcheck disable=SC2086
		run ip netns exec "$TCV_NS" capsh --drop="$(tcv_drop "$keep")" -- -c \
			"grep -qx 'CapEff:[[:space:]]*$(tcv_mask $caps)' /proc/self/status || exit 99; '$B/tcverdict' -c 1 -i 0.3 -o json"
		case $status in
		0)
			# the program is found as tc has it; its name is bpftool's or unknown, never another
			TCV_OUT=$(tail -1 <<<"$output")
			assert_jq "[.programs[] | select(.prog_id == $TCV_PROG and (.prog_name == \"$TCV_PROG_NAME\" or .prog_name == null))] | length == 1" "$TCV_OUT"
			# and it counts: without CAP_SYS_ADMIN no program is opened by id, so no
			# fexit: the drop reasons give the hook's drops, equal to tc's count
			tcv_count "$keep" "$(tcv_mask $caps)" ns 7
			assert_jq "[.programs[] | select(.prog_id == $TCV_PROG)] | length == 1 and .[0].source == \"drop_reason\"
				and .[0].shot == 7" "$TCV_OUT"
			;;
		3) assert_one_line_error "needs CAP_" ;;
		*) bad+="tcverdict with $caps: status $status (0, or 3 naming the capability it lacks, expected): $output"$'\n' ;;
		esac
		echo "# $caps: status $status" >&3
	done
	[ -z "$bad" ] || { printf '%s' "$bad" >&2; return 1; }
}
