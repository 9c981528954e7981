#!/usr/bin/env bats
# valgrind (memcheck: errors and definite leaks, tests/valgrind.supp) in every
# mode of every tool: each output format and each view of the man pages, in a
# real scenario (the same fixtures as the tools' own tests).  Host only:
# valgrind_clean skips in the emulated guest, where the ASan runs stand in.

load ../lib/helpers
source "$ROOT/tests/lib/xdpverdict_env.bash"
source "$ROOT/tests/lib/fibstat_env.bash"
source "$ROOT/tests/lib/tcverdict_env.bash"

setup() {
	command -v valgrind >/dev/null || skip_because "valgrind not installed"
	in_vm && skip_because "valgrind under QEMU emulation takes minutes per run; the host suite runs it"
	mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
	VG_PIDS=()
	VG_LOOP= VG_NS= XV_NSA= XV_NSB= FIB_C=
	TV_NSA= TV_NSB= TV_NSC= TV_TMP= TV_PIDS=()
}

teardown() {
	local p
	for p in "${VG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null || true
	done
	xv_teardown
	tv_teardown
	[ -n "$FIB_C" ] && fib_teardown
	[ -n "$VG_NS" ] && ip netns del "$VG_NS" 2>/dev/null
	[ -n "$VG_LOOP" ] && losetup -d "$VG_LOOP" 2>/dev/null
	return 0
}

bg() {
	"$@" 3>&- &
	VG_PIDS+=($!)
}

# vg ARGS...: valgrind_clean, then the tool's exit status must be 0
vg() {
	valgrind_clean "$@"
	[ "$status" -eq 0 ] || { echo "exit status $status: $*" >&2; printf '%s\n' "$output" | tail -5 >&2; return 1; }
}

# vg_fmt FORMAT-CHECK ARGS...: one more run; output parses as FORMAT
json_ok() { printf '%s\n' "$output" | grep '^{' | jq -e . >/dev/null || { echo "not JSON: ${output:0:500}" >&2; return 1; }; }
prom_ok() { printf '%s\n' "$output" | grep -q '^[a-z_]*{\?.* [0-9.e+-]*$' || { echo "no samples: ${output:0:500}" >&2; return 1; }; }

mkmaps_env() {
	VG_DIR=$BATS_TEST_TMPDIR
	bg "$B/tests/mkmaps" "$VG_DIR/maps.json" "$B/fixtures/mapstat_ringbuf.bpf.o" 10000 2>"$VG_DIR/mkmaps.err"
	local i
	for ((i = 0; i < 600; i++)); do
		[ -s "$VG_DIR/maps.json" ] && return 0
		sleep 0.05
	done
	cat "$VG_DIR/mkmaps.err" >&2
	return 1
}

@test "valgrind: mapstat table, prom (an interval), --owners json, --prefixes" {
	mkmaps_env
	local lpm mk
	lpm=$(jq -r '.maps[] | select(.name == "ms_lpm") | .id' "$VG_DIR/maps.json")
	mk=$(jq -r .pid "$VG_DIR/maps.json")
	vg "$B/mapstat" -p "$mk"
	vg "$B/mapstat" -o prom --mechanism walk -i 0.2 -c 1
	prom_ok
	vg "$B/mapstat" --owners -o json
	json_ok
	vg "$B/mapstat" --prefixes "$lpm" -o json
	json_ok
}

@test "valgrind: xdpverdict all netns (table), driver (json), tracepoint (prom), --events (json)" {
	xv_setup "$(uniq_name v)" xdpdrv
	# aborted packets (port 7000) keep coming: counters move, --events has exceptions to stream
	bg sh -c "while :; do ip netns exec $XV_NSB $XV_SEND $XV_IPA 7000 2 200 >/dev/null 2>&1; sleep 0.2; done"
	vg "$B/xdpverdict" --all-netns 0.3 2
	vg "$B/xdpverdict" -N "$XV_NSA" --mechanism driver -o json 0.3 2
	json_ok
	vg "$B/xdpverdict" -N "$XV_NSA" --mechanism raw_tp -o prom 0.3 1
	prom_ok
	vg "$B/xdpverdict" --events -N "$XV_NSA" -o json -c 2
	json_ok
}

@test "valgrind: tcpchrono close events (table), live mode (json, --top prom)" {
	local port=$((20000 + ($$ + BATS_TEST_NUMBER) % 20000))
	bg "$B/tests/tcpchrono_pair" --churn 3600 --port "$port" >/dev/null 2>&1
	vg "$B/tcpchrono" --port "$port" -c 2
	vg "$B/tcpchrono" -i 0.3 -c 2 -o json
	json_ok
	vg "$B/tcpchrono" --top=3 -i 0.3 -c 1 -o prom
	prom_ok
}

@test "valgrind: wbtstat snapshots (table, prom) and --events on a loop device with wbt" {
	modprobe loop 2>/dev/null || true
	truncate -s 16M "$BATS_TEST_TMPDIR/disk.img"
	VG_LOOP=$(losetup -f --show "$BATS_TEST_TMPDIR/disk.img")
	local d=${VG_LOOP#/dev/}
	[ -f "/sys/block/$d/queue/wbt_lat_usec" ] || skip_because "loop devices have no wbt here"
	echo 2000 >"/sys/block/$d/queue/wbt_lat_usec"
	bg sh -c "while :; do dd if=/dev/zero of=$VG_LOOP bs=64k count=16 oflag=direct status=none; sleep 0.1; done"
	# each run spends ~30 s in libbpf's parse of the kernel BTF under valgrind: three runs
	vg "$B/wbtstat" -d "$d" -i 0.3 -c 2
	vg "$B/wbtstat" -i 0.3 -c 1 -o prom
	prom_ok
	# -e -c 2 counts events: latency-target changes on the disk, made meanwhile
	bg bash -c "source '$ROOT/tests/lib/wbtstat_env.bash'; wbt_target_loop $VG_LOOP"
	vg "$B/wbtstat" -e -d "$d" -c 2 -o json
	assert_eq "$(printf '%s\n' "$output" | grep -c '"type":"\(target\|step\)"')" 2 "event lines"
}

@test "valgrind: tailcalls graph (table, prom, dot) and profiling (-i) with a real pipeline" {
	VG_NS=$(uniq_name vg)
	ip netns add "$VG_NS"
	ip -n "$VG_NS" link add tca type veth peer name tcb
	ip -n "$VG_NS" link set tca up
	ip -n "$VG_NS" link set tcb up
	bg "$B/tests/tailcalls_load" --netns "$VG_NS" --xdp tcb --tc tcb --cycle >"$BATS_TEST_TMPDIR/load.json" 2>&1
	local i root
	for ((i = 0; i < 600; i++)); do
		grep -q '}$' "$BATS_TEST_TMPDIR/load.json" 2>/dev/null && break
		sleep 0.05
	done
	root=$(jq -r .progs.xdp_root "$BATS_TEST_TMPDIR/load.json")
	vg "$B/tailcalls"
	vg "$B/tailcalls" -P "$root" -o prom
	prom_ok
	vg "$B/tailcalls" -P "$root" -o dot
	# profiling: the fentry self-test, BPF_ENABLE_STATS, the perf_event sampler
	# (tests/valgrind.supp: libbpf's parse of the kernel-written target BTF)
	head -c 64 /dev/zero >"$BATS_TEST_TMPDIR/pkt"
	bg sh -c "while :; do bpftool prog run id $root data_in $BATS_TEST_TMPDIR/pkt repeat 100 >/dev/null 2>&1; sleep 0.05; done" 2>/dev/null
	vg "$B/tailcalls" -i 0.5 -c 1 -o json
	json_ok
	vg "$B/tailcalls" -P "$root" -i 0.3 -c 1 -o prom
}

@test "valgrind: fibstat ECMP (prom), --flows (json), --tables (prom), -e (json)" {
	fib_setup "vg$$-$BATS_TEST_NUMBER" || { fib_teardown; false; }
	fib_sinks_start 4
	ip -n "$FIB_R" route add unreachable 10.77.0.0/24
	bg sh -c "while :; do ip netns exec $FIB_C $FIB_UDPFLOWS send --src $FIB_SRC4 --dst $FIB_DST4 --dport $FIB_DPORT --sport-base $FIB_SPORT --flows 8 --packets 2 >/dev/null 2>&1; ip netns exec $FIB_C $FIB_UDPFLOWS send --src $FIB_SRC4 --dst 10.77.0.5 --dport $FIB_DPORT --sport-base $FIB_SPORT --flows 1 --packets 1 >/dev/null 2>&1; sleep 0.1; done"
	vg "$B/fibstat" -N "$FIB_R" -i 0.3 -c 1 -o prom
	prom_ok
	vg "$B/fibstat" -N "$FIB_R" --flows -i 0.3 -c 2 -o json
	json_ok
	vg "$B/fibstat" -N "$FIB_R" --tables -i 0.3 -c 1 -o prom
	vg "$B/fibstat" -N "$FIB_R" -e -c 2 -o json
	json_ok
	fib_sinks_stop
}

@test "valgrind: tcverdict all netns (table), cls_bpf, tcx, mirred and LWT (json, prom), --events (json)" {
	tv_setup "$(uniq_name v)"
	tv_attach cls_bpf
	tv_attach tcx egress tcv_egress "$TV_DEVA" "$TV_NSA" || [ $? -eq 4 ]
	tv_mirred
	tv_lwt_route
	# drops, redirects, mirrored and LWT packets keep coming: counters move, --events has drops to stream
	bg sh -c "while :; do for p in 9002 9003 9006 9202 9012; do ip netns exec $TV_NSA $TV_SEND $TV_IPB \$p 2 200; done; ip netns exec $TV_NSA $TV_UDPFLOWS send --dst $TV_LWT_DST --dport 9102 --packets 2; sleep 0.2; done >/dev/null 2>&1"
	vg "$B/tcverdict" --all-netns -i 0.3 -c 2
	vg "$B/tcverdict" -N "$TV_NSB" -o json -i 0.3 -c 2
	json_ok
	vg "$B/tcverdict" -N "$TV_NSA" -o prom -i 0.3 -c 1
	prom_ok
	vg "$B/tcverdict" -N "$TV_NSB" --events -o json -c 2
	json_ok
}
