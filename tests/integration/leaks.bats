#!/usr/bin/env bats
# "A tool leaves nothing behind (no pins, links or kernel objects) after any
# exit, SIGKILL included" (DESIGN.md), proven for every tool in a real
# scenario: many short runs, SIGINT/SIGTERM/SIGKILL at 5, 20, 50, 100 ms into
# start-up and while running, two instances at once, and other applications'
# BPF objects (tests/lib/tailcalls_load --cycle, tests/lib/mkmaps) loaded and
# released while the tool runs.  Afterwards: no new program, map or link of
# ours (the tools' and the loaders' names, see tests/lib/leakcheck.bash for
# how leftovers are told from other processes' objects), nothing new pinned,
# no XDP/TC attachment changed, kernel.bpf_stats_enabled as it was.
#
# Ground truth: the kernel's id tables (bpftool), /proc/*/fdinfo, bpffs,
# bpftool net / ip -d link / tc filter show, the sysctl.

load ../lib/helpers
source "$ROOT/tests/lib/leakcheck.bash"
source "$ROOT/tests/lib/xdpverdict_env.bash"
source "$ROOT/tests/lib/fibstat_env.bash"
source "$ROOT/tests/lib/tcverdict_env.bash"

setup() {
	mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
	LK_TMP=$BATS_TEST_TMPDIR
	LK_PIDS=()
	LK_LOOP= LK_NS= XV_NSA= XV_NSB= FIB_C=
	TV_NSA= TV_NSB= TV_NSC= TV_TMP= TV_PIDS=()
	LK_NETNS=()
	lk_names_for_tests
	# before anything of the scenario exists: the loaders' objects must go too
	lk_snapshot "$LK_TMP/s0"
}

teardown() {
	local p
	for p in "${LK_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null || true
	done
	xv_teardown
	tv_teardown
	[ -n "$FIB_C" ] && fib_teardown
	[ -n "$LK_NS" ] && ip netns del "$LK_NS" 2>/dev/null
	[ -n "$LK_LOOP" ] && losetup -d "$LK_LOOP" 2>/dev/null
	return 0
}

# A background helper of the scenario (killed by teardown).
bg() {
	"$@" 3>&- &
	LK_PIDS+=($!)
}

# Stop the scenario's helpers gracefully (loaders release their objects).
stop_bg() {
	local p
	for p in "${LK_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${LK_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	LK_PIDS=()
}

# After the scenario is set up: the reference for attachments and ids.
scenario_ready() {
	lk_snapshot "$LK_TMP/s1"
}

# The three leak checks: with the scenario still in place (attachments in its
# namespaces unchanged, nothing of the tool's left), then after it is torn
# down (the loaders' own objects gone as well).  Runs them all; fails at the end.
finish() { # RC of the exercise
	local rc=$1
	lk_check "$LK_TMP/s1" || rc=1
	stop_bg
	xv_teardown; XV_NSA= XV_NSB=
	tv_teardown
	[ -n "$FIB_C" ] && { fib_teardown; FIB_C=; }
	[ -n "$LK_NS" ] && { ip netns del "$LK_NS"; LK_NS=; }
	LK_NETNS=()
	lk_check "$LK_TMP/s0" || rc=1
	return "$rc"
}

# The behavioural part every tool gets, with LONG its long-running form.
exercise() { # LONG...
	local rc=0
	lk_signals "$@" || rc=1
	lk_two "$@" || rc=1
	lk_churn "$@" || rc=1
	return $rc
}

# N runs of CMD back to back, each exiting 0.
short_runs() { # N CMD...
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		lk_run 0 "$@" || return 1
	done
}

loop_device() { # sets LK_LOOP, LK_DISK: a loop device with writeback throttling
	modprobe loop 2>/dev/null || true
	truncate -s 16M "$LK_TMP/disk.img"
	LK_LOOP=$(losetup -f --show "$LK_TMP/disk.img") || return 1
	LK_DISK=${LK_LOOP#/dev/}
	[ -f "/sys/block/$LK_DISK/queue/wbt_lat_usec" ] || skip_because "loop devices have no wbt here"
	echo 2000 >"/sys/block/$LK_DISK/queue/wbt_lat_usec"
	# some I/O on it while the tool runs
	bg sh -c "while :; do dd if=/dev/zero of=$LK_LOOP bs=64k count=16 oflag=direct status=none; sleep 0.2; done"
}

tailcalls_env() { # sets LK_NS, TC_ROOT: tailcalls_load's XDP/TC/cycle pipelines in a netns
	LK_NS=$(uniq_name lk)
	ip netns add "$LK_NS"
	ip netns exec "$LK_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$LK_NS" link add tca type veth peer name tcb
	ip -n "$LK_NS" link set tca up
	ip -n "$LK_NS" link set tcb up
	bg "$B/tests/tailcalls_load" --netns "$LK_NS" --xdp tcb --tc tcb --cycle >"$LK_TMP/load.json" 2>"$LK_TMP/load.err"
	local i
	for ((i = 0; i < 1200; i++)); do
		grep -q '}$' "$LK_TMP/load.json" 2>/dev/null && break
		sleep 0.05
	done
	TC_ROOT=$(jq -r .progs.xdp_root "$LK_TMP/load.json") || { cat "$LK_TMP/load.err" >&2; return 1; }
	LK_NETNS=("$LK_NS")
}

tcp_churn() { # TCP connections opening and closing on loopback port LK_PORT
	LK_PORT=$((20000 + ($$ + BATS_TEST_NUMBER) % 20000))
	bg "$B/tests/tcpchrono_pair" --churn 3600 --port "$LK_PORT" >/dev/null 2>"$LK_TMP/pair.err"
}

# ---- host: every tool, every way of stopping it ------------------------------

@test "leaks: mapstat (snapshots, intervals, --owners) leaves nothing behind" {
	bg "$B/tests/mkmaps" "$LK_TMP/maps.json" "$B/fixtures/mapstat_ringbuf.bpf.o" 10000 2>"$LK_TMP/mkmaps.err"
	scenario_ready
	local rc=0
	short_runs 10 "$B/mapstat" -o json || rc=1
	short_runs 10 "$B/mapstat" -i 0.1 -c 2 -o prom --file "$LK_TMP/lk.prom" || rc=1
	short_runs 5 "$B/mapstat" --owners -o json || rc=1
	exercise "$B/mapstat" -i 0.1 -o json || rc=1
	finish $rc
}

@test "leaks: xdpverdict (driver, tracepoint, --events, --perf-buffer) on a veth pair with XDP leaves nothing behind" {
	xv_setup "$(uniq_name l)" xdpdrv
	LK_NETNS=("$XV_NSA" "$XV_NSB")
	scenario_ready
	local rc=0
	short_runs 10 "$B/xdpverdict" -N "$XV_NSA" -o json 0.1 2 || rc=1
	short_runs 5 "$B/xdpverdict" -N "$XV_NSA" --mechanism raw_tp -o prom --file "$LK_TMP/lk.prom" 0.1 2 || rc=1
	short_runs 5 "$B/xdpverdict" --all-netns -o json 0.1 1 || rc=1
	exercise "$B/xdpverdict" -N "$XV_NSA" -o json 0.1 || rc=1
	# --events prints nothing until an exception: started, stopped by signals, and as a pair
	local sig
	for sig in INT TERM KILL; do
		lk_signal "$sig" 0.3 "$B/xdpverdict" --events -N "$XV_NSA" || rc=1
	done
	lk_signal INT 0.3 "$B/xdpverdict" -e --perf-buffer -N "$XV_NSA" || rc=1
	finish $rc
}

@test "leaks: tcpchrono (close events, live mode) under TCP churn leaves nothing behind" {
	tcp_churn
	scenario_ready
	local rc=0
	short_runs 10 "$B/tcpchrono" --port "$LK_PORT" -c 1 -o json || rc=1
	short_runs 10 "$B/tcpchrono" -i 0.1 -c 2 -o json || rc=1
	exercise "$B/tcpchrono" --port "$LK_PORT" -o json || rc=1
	lk_two "$B/tcpchrono" -i 0.1 -o prom || rc=1
	finish $rc
}

@test "leaks: wbtstat (snapshots, --events) on a loop device with wbt leaves nothing behind" {
	loop_device
	scenario_ready
	local rc=0
	short_runs 8 "$B/wbtstat" -d "$LK_DISK" -i 0.1 -c 2 -o json || rc=1
	# -e -c 2 counts events: latency-target changes on the disk, made meanwhile
	bg bash -c "source '$ROOT/tests/lib/wbtstat_env.bash'; wbt_target_loop $LK_LOOP"
	short_runs 4 "$B/wbtstat" -e -d "$LK_DISK" -c 2 -o json || rc=1
	exercise "$B/wbtstat" -d "$LK_DISK" -i 0.1 -o json || rc=1
	finish $rc
}

@test "leaks: tailcalls graph mode with a real pipeline leaves nothing behind" {
	tailcalls_env
	scenario_ready
	local rc=0
	short_runs 10 "$B/tailcalls" -o json || rc=1
	short_runs 5 "$B/tailcalls" -P "$TC_ROOT" -o dot || rc=1
	LK_ONESHOT=1 lk_signals "$B/tailcalls" -o json || rc=1
	finish $rc
}

@test "leaks: tailcalls profiling mode (-i) with a real pipeline leaves nothing behind" {
	tailcalls_env
	scenario_ready
	local rc=0
	# issue 12's reproducer: back to back, each run's self-test opens its own prog array
	short_runs 8 "$B/tailcalls" -i 0.05 -c 1 -o json || rc=1
	short_runs 4 "$B/tailcalls" -P "$TC_ROOT" -i 0.1 -c 2 -o prom --file "$LK_TMP/lk.prom" || rc=1
	exercise "$B/tailcalls" -i 0.1 -o json || rc=1
	finish $rc
}

@test "leaks: fibstat (ECMP, --flows, --tables, -e) in a router namespace leaves nothing behind" {
	fib_setup "lk$$-$BATS_TEST_NUMBER" || { fib_teardown; false; }
	LK_NETNS=("$FIB_C" "$FIB_R")
	# traffic through the router while the tool runs
	fib_sinks_start 4
	bg sh -c "while :; do ip netns exec $FIB_C $FIB_UDPFLOWS send --src $FIB_SRC4 --dst $FIB_DST4 --dport $FIB_DPORT --sport-base $FIB_SPORT --flows 8 --packets 2 >/dev/null 2>&1; sleep 0.1; done"
	scenario_ready
	local rc=0
	short_runs 8 "$B/fibstat" -N "$FIB_R" -i 0.1 -c 2 -o json || rc=1
	short_runs 4 "$B/fibstat" -N "$FIB_R" --flows -i 0.1 -c 2 -o json || rc=1
	short_runs 4 "$B/fibstat" -N "$FIB_R" --tables -i 0.1 -c 2 -o prom --file "$LK_TMP/lk.prom" || rc=1
	exercise "$B/fibstat" -N "$FIB_R" -i 0.1 -o json || rc=1
	local sig
	for sig in INT TERM KILL; do
		lk_signal "$sig" 0.3 "$B/fibstat" -N "$FIB_R" -e || rc=1
	done
	fib_sinks_stop
	finish $rc
}

@test "leaks: tcverdict (snapshots, --all-netns, prom, --events, -P) with cls_bpf, tcx, act_mirred and an LWT route leaves nothing behind" {
	tv_setup "$(uniq_name t)"
	# the loaders' fixtures count as ours too: they must go with the scenario
	lk_names "$B"/*.bpf.o "$B"/fixtures/tailcalls_*.bpf.o "$B/fixtures/mapstat_ringbuf.bpf.o" "$B"/fixtures/tcverdict_*.bpf.o
	tv_attach cls_bpf
	local prog=$TV_PROG
	tv_attach tcx egress tcv_egress "$TV_DEVA" "$TV_NSA" || [ $? -eq 4 ]
	tv_mirred
	tv_lwt_route
	LK_NETNS=("$TV_NSA" "$TV_NSB" "$TV_NSC")
	# dropped, redirected and mirrored packets keep coming: counters move, --events has drops to stream
	bg sh -c "while :; do for p in 9002 9003 9006 9202; do ip netns exec $TV_NSA $TV_SEND $TV_IPB \$p 2 200; done >/dev/null 2>&1; sleep 0.1; done"
	scenario_ready
	local rc=0
	short_runs 10 "$B/tcverdict" -N "$TV_NSB" -o json -i 0.1 -c 2 || rc=1
	short_runs 5 "$B/tcverdict" --all-netns -o prom --file "$LK_TMP/lk.prom" -i 0.1 -c 2 || rc=1
	short_runs 5 "$B/tcverdict" -N "$TV_NSB" -P "$prog" -o json -i 0.1 -c 1 || rc=1
	short_runs 5 "$B/tcverdict" -N "$TV_NSB" -e -c 2 -o json || rc=1
	exercise "$B/tcverdict" -N "$TV_NSB" -o json -i 0.1 || rc=1
	local sig
	for sig in INT TERM KILL; do
		lk_signal "$sig" 0.3 "$B/tcverdict" --events -N "$TV_NSB" || rc=1
	done
	lk_signal INT 0.3 "$B/tcverdict" -e --perf-buffer -N "$TV_NSB" || rc=1
	finish $rc
}

# ---- issue 12's reproducers, sharp (also in the guest) -------------------------

@test "leaks [kernel 6.1]: tailcalls -i back to back, and tailcalls -i / mapstat -i while tailcalls_load --cycle exits, leave no prog array" {
	scenario_ready
	local rc=0 i
	LK_CHURN=3
	short_runs 8 "$B/tailcalls" -i 0.05 -c 1 -o json || rc=1
	lk_check "$LK_TMP/s1" || { echo "^ after 8 runs of: tailcalls -i 0.05 -c 1" >&2; rc=1; }
	for tool in tailcalls mapstat; do
		lk_snapshot "$LK_TMP/s1"
		lk_churn "$B/$tool" -i 0.05 -o json || rc=1
		lk_check "$LK_TMP/s1" || { echo "^ with: $tool -i 0.05 running while tailcalls_load --cycle and mkmaps load and exit ($LK_CHURN times)" >&2; rc=1; }
	done
	return $rc
}

# ---- guest: a compact pass over every tool ------------------------------------

@test "leaks: every tool: short runs, SIGKILL in start-up, SIGINT and SIGTERM while running" {
	xv_setup "$(uniq_name g)" xdpdrv
	LK_NETNS=("$XV_NSA" "$XV_NSB")
	loop_device
	# an LRU map, so that mapstat -i hooks LRU evictions and updates (fexit or kprobe)
	bg "$B/tests/lrufill" lru_hash 64 common lk_lru "$LK_TMP/lru.go" "$LK_TMP/lru.out"
	scenario_ready
	local rc=0 i
	local -a cmds=(
		"$B/mapstat -i 0.1 --updates -o json"
		"$B/xdpverdict -N $XV_NSA -o json 0.1"
		"$B/tcpchrono -i 0.1 -o json"
		"$B/wbtstat -d $LK_DISK -i 0.1 -o json"
		"$B/tailcalls -i 0.1 -o json"
		"$B/fibstat -N $XV_NSA -i 0.1 -o json"
		"$B/tcverdict -N $XV_NSA -i 0.1 -o json"
	)
	for i in "${!cmds[@]}"; do
		# shellcheck disable=SC2086
		set -- ${cmds[$i]}
		lk_run 0 "$@" -c 1 || rc=1
		lk_run 0 "$@" -c 2 || rc=1
		lk_signal KILL 0.05 "$@" || rc=1
		lk_signal INT running "$@" || rc=1
		lk_signal TERM running "$@" || rc=1
	done
	finish $rc
}
