#!/usr/bin/env bats
# The same behaviour from every tool (one engine): help, --file checked at
# start, missing capabilities.  Each case runs against all six tools.

load ../lib/helpers

TOOLS="xdpverdict tailcalls mapstat tcpchrono wbtstat fibstat"

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
	for t in wbtstat tcpchrono fibstat xdpverdict; do
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
	for t in "xdpverdict -e" "xdpverdict --events" "fibstat -e" "wbtstat -e"; do
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
}
