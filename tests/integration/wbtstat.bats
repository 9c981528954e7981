#!/usr/bin/env bats
# wbtstat on a loop device with ext4 and writeback throttling: a buffered writer held back by a low
# vm.dirty_bytes, a concurrent O_DIRECT reader, and a low wbt latency target.  Ground truth: the same
# tracepoints counted in a private tracefs instance (and, for how many of those hits the kernel handed
# to BPF programs, a fixture's own counters), the device's debugfs wbt files, sysfs, and the pids the
# test started.  Nine wbtstat instances watch the one workload (tp_btf, raw_tp, -e, ASan, Prometheus
# to a file, -p writer, -p reader, -e --perf-buffer -p writer, -e -c 1 stopped during the workload);
# each test then checks one of them.  The writer runs
# under a hostile name (a quote, a backslash, an invalid UTF-8 byte and a newline): every format
# must stay parseable and carry it escaped the one way bpfscope-output(7) describes.

load ../lib/helpers
source "$ROOT/tests/lib/wbtstat_env.bash"

TRACEFS=/sys/kernel/tracing
WRITE_MB=64      # buffered writer volume: modest, the 6.1 guest is ~10x slower
READ_MB=16       # file the reader cycles through with O_DIRECT
LAT_USEC=100     # wbt latency target on the test disk
WRITER_NAME=$'d"d\\\xff\nx'   # the writer's comm: d " d \ 0xff newline x
# ... as bpfscope-output(7) escapes it: the text in tables, decoded JSON strings and label values
WRITER_ESC='d"d\\\xff\x0ax'

# ---- scenario helpers ------------------------------------------------------

setup_failed() {
	echo "$*" >"$WS/fail"
}

# Seconds of no new wbt events in the instance's trace, up to a limit.
wait_quiet() { # instance need_s max_s
	local inst=$1 need=$(($2 * 4)) max=$(($3 * 4)) prev=-1 same=0 n i
	for ((i = 0; i < max; i++)); do
		n=$(grep -c ': wbt_' "$inst/trace" || true)
		if [ "$n" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge "$need" ] && return 0
		else
			same=0
			prev=$n
		fi
		sleep 0.25
	done
	return 1
}

wait_lines() { # file n max_s
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ -f "$1" ] && [ "$(grep -c . "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

wait_timer() { # instance: a wbt timer run has been traced (0.5 s allowed for the tool to read it)
	local i
	for ((i = 0; i < 600; i++)); do
		grep -q ': wbt_timer: ' "$1/trace" && { sleep 0.5; return 0; }
		sleep 0.1
	done
	echo "no wbt timer run in $1" >&2
	return 1
}

wait_grep() { # file pattern max_s
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

wait_stopped() { # pid: until the process has stopped itself
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.05
	done
	return 1
}

new_instance() { # name devnum(MAJ:MIN) -> prints path; wbt + balance_dirty_pages filtered to the disk
	local inst=$TRACEFS/instances/$1
	mkdir "$inst" || return 1
	echo 4096 >"$inst/buffer_size_kb"
	echo 0 >"$inst/tracing_on"
	echo "name == \"$2\"" >"$inst/events/wbt/filter" || return 1
	echo "bdi == \"$2\"" >"$inst/events/writeback/balance_dirty_pages/filter" || return 1
	echo 1 >"$inst/events/wbt/enable"
	echo 1 >"$inst/events/writeback/balance_dirty_pages/enable"
	echo "$inst"
}

save_sysctls() {
	local k
	for k in dirty_bytes dirty_ratio dirty_background_bytes dirty_background_ratio; do
		echo "$k $(cat /proc/sys/vm/$k)"
	done >"$WS/sysctl.saved"
}

# Writing *_bytes zeroes *_ratio and the reverse: restore whichever was in use.
restore_sysctls() {
	[ -f "$WS/sysctl.saved" ] || return 0
	local db dr dbb dbr
	db=$(awk '$1 == "dirty_bytes" {print $2}' "$WS/sysctl.saved")
	dr=$(awk '$1 == "dirty_ratio" {print $2}' "$WS/sysctl.saved")
	dbb=$(awk '$1 == "dirty_background_bytes" {print $2}' "$WS/sysctl.saved")
	dbr=$(awk '$1 == "dirty_background_ratio" {print $2}' "$WS/sysctl.saved")
	if [ "$db" != 0 ]; then echo "$db" >/proc/sys/vm/dirty_bytes; else echo "$dr" >/proc/sys/vm/dirty_ratio; fi
	if [ "$dbb" != 0 ]; then echo "$dbb" >/proc/sys/vm/dirty_background_bytes; else echo "$dbr" >/proc/sys/vm/dirty_background_ratio; fi
}

new_loop() { # image size -> loop device path (recorded for teardown)
	truncate -s "$2" "$1" || return 1
	local dev
	dev=$(losetup -f --show "$1") || return 1
	echo "$dev" >>"$WS/loops"
	echo "$dev"
}

start_tool() { # name binary args...: background wbtstat, stdout to $WS/name.out
	local name=$1
	shift
	"$@" >"$WS/$name.out" 2>"$WS/$name.err" 3>&- &
	echo $! >"$WS/$name.pid"
}

stop_tool() { # name
	local pid rc
	pid=$(cat "$WS/$1.pid")
	kill -INT "$pid" 2>/dev/null
	rc=0
	wait "$pid" || rc=$?
	echo "$rc" >"$WS/$1.rc"
}

run_workload() {
	local dev=$1 maj inst wpid rpid t
	maj=$(cat "/sys/block/${dev#/dev/}/dev")
	inst=$(new_instance "bs_wbtstat_$$" "$maj") || { setup_failed "cannot set up tracefs instance"; return; }
	echo "$inst" >>"$WS/instances"
	echo "$inst" >"$WS/inst"

	# the disk must be quiet before anything watches it
	echo 1 >"$inst/tracing_on"
	wait_quiet "$inst" 2 60 || { setup_failed "loop device never went quiet"; return; }

	# writer and reader, stopped until everything watches
	# comm is the name the program was executed by: dd through a symlink with the hostile name
	mkdir -p "$WS/bin" && ln -sf "$(command -v dd)" "$WS/bin/$WRITER_NAME" ||
		{ setup_failed "cannot link dd under the writer's name"; return; }
	(kill -STOP "$BASHPID"; exec "$WS/bin/$WRITER_NAME" if=/dev/zero of="$WS/mnt/big" bs=1M count=$WRITE_MB status=none) 3>&- &
	wpid=$!
	(kill -STOP "$BASHPID"; exec "$B/tests/wbtstat_reader" "$WS/mnt/rfile") >"$WS/reader.out" 3>&- &
	rpid=$!
	echo "$wpid" >"$WS/writer.pid"
	echo "$rpid" >"$WS/reader.pid"
	wait_stopped "$wpid" && wait_stopped "$rpid" || { setup_failed "writer/reader did not start"; return; }

	local d=${dev#/dev/}
	start_tool A "$B/wbtstat" -d "$d" -i 0.5 -o json
	start_tool B "$B/wbtstat" --mechanism raw_tp -d "$d" -i 0.5 -o json
	# an event stream prints nothing before its first event: -v says when the programs are attached
	start_tool C "$B/wbtstat" -v -d "$d" -e -o json --long-pause 0
	start_tool D "$BA/wbtstat" -d "$d" -i 0.5 -T --wide
	start_tool E "$B/wbtstat" -d "$d" -i 0.5 -o prom --file "$WS/E.prom"
	start_tool F "$B/wbtstat" -d "$d" -p "$wpid" -i 0.5 -o json
	start_tool G "$B/wbtstat" -d "$d" -p "$rpid" -i 0.5 -o json
	# the same events as C through a perf buffer, only the writer's pauses
	start_tool H "$B/wbtstat" -v -d "$d" -e --perf-buffer -p "$wpid" -o json --long-pause 0
	# -e -c 1, stopped while the workload queues its events: prints the first one only
	start_tool I "$B/wbtstat" -v -d "$d" -e -c 1 -p "$wpid" -o json --long-pause 0
	for t in A B F G; do
		wait_lines "$WS/$t.out" 1 120 || { setup_failed "wbtstat $t did not start: $(cat "$WS/$t.err")"; return; }
	done
	for t in C H I; do
		wait_grep "$WS/$t.err" '^wbtstat: note: attached: ' 120 ||
			{ setup_failed "wbtstat $t did not start: $(tail -c 300 "$WS/$t.err")"; return; }
	done
	kill -STOP "$(cat "$WS/I.pid")"
	wait_lines "$WS/E.prom" 1 120 || { setup_failed "wbtstat E did not start: $(cat "$WS/E.err")"; return; }
	wait_lines "$WS/D.out" 2 120 || { setup_failed "wbtstat D (ASan) did not start: $(cat "$WS/D.err")"; return; }
	# the fixture's own count of what the kernel hands to BPF programs on these tracepoints
	start_tool K "$B/tests/wbtstat_count" "$B/fixtures/wbtstat_count.bpf.o" "$maj"
	wait_lines "$WS/K.out" 1 120 || { setup_failed "wbtstat_count did not start: $(cat "$WS/K.err")"; return; }
	echo >"$inst/trace" # counting starts now; the disk has been quiet since wait_quiet

	save_sysctls
	echo $((1 << 20)) >/proc/sys/vm/dirty_bytes
	echo $((512 << 10)) >/proc/sys/vm/dirty_background_bytes
	kill -CONT "$rpid" "$wpid"
	wait "$wpid"
	echo $? >"$WS/writer.rc"
	kill -CONT "$(cat "$WS/I.pid")"
	kill -TERM "$rpid"
	wait "$rpid"
	restore_sysctls
	sync
	wait_quiet "$inst" 3 180 || { setup_failed "wbt did not settle after the workload"; return; }
	echo 0 >"$inst/tracing_on"
	cp "$inst/trace" "$WS/trace.txt"
	local f
	for f in curr_win_nsec enabled min_lat_nsec wb_background wb_normal inflight; do
		cat "/sys/kernel/debug/block/$d/rqos/wbt/$f" >"$WS/dbg.$f" 2>/dev/null
	done
	# one more snapshot after the last event, then stop every instance
	sleep 1.5
	for t in A B C D E F G H I K; do
		stop_tool "$t"
	done
	truth "$wpid" "$rpid" >"$WS/truth.vars"
	figures "$d" "$wpid" "$rpid" >"$WS/tool.vars"
}

# Ground truth from the tracefs instance, in one pass (process spawns are dear under emulation):
# shell assignments T_*; the steps with the verdict before each go to steps.want.
truth() { # writer_pid reader_pid
	awk -v w="$1" -v r="$2" -v seq="$WS/steps.want" -v wpauses="$WS/wpauses.ms" '
	function num(re, off) { return match($0, re) ? substr($0, RSTART + off, RLENGTH - off) + 0 : 0 }
	function pidof() { return match($0, /-[0-9]+ +\[[0-9]+\]/) ? substr($0, RSTART + 1, RLENGTH - 1) + 0 : -1 }
	/: wbt_timer: / { st = num("status=[0-9]+", 7); n[st]++; last_step = num("step=-?[0-9]+", 5) }
	/: wbt_step: / {
		dir = /: scale up:/ ? "up" : "down"; steps[dir]++
		last_step = num("step=-?[0-9]+", 5); last_max = num("max=[0-9]+", 4)
		why = st == 1 ? "latency ok" : st == 2 ? "too few samples" : st == 3 ? "writes only" : "latency exceeded"
		print dir, last_step, why > seq
	}
	/: wbt_lat: / { lat++ }
	/: wbt_stat: / { nstat++; rs += num("rsamples=[0-9]+", 9); ws += num("wsamples=[0-9]+", 9) }
	/: balance_dirty_pages: / {
		pid = pidof(); pause = num(" pause=-?[0-9]+", 7); dirtied = num(" dirtied=[0-9]+", 9)
		if (pause > 0) allp++
		if (pid == r) rev++
		if (pid == w) {
			wc++
			if (pause > 0) { wn++; wms += pause; wd += dirtied; print pause > wpauses }
			wtrl = num(" task_ratelimit=[0-9]+", 16); wdrl = num(" dirty_ratelimit=[0-9]+", 17)
			if (wc == 1 || pause > wpmax) wpmax = pause
			if (num(" dirty=[0-9]+", 7) > wdirty) wdirty = num(" dirty=[0-9]+", 7)
			wlimit = num(" limit=[0-9]+", 7)
		}
	}
	END {
		close(seq); close(wpauses)
		printf "T_timers=%d\nT_timer1=%d\nT_timer2=%d\nT_timer3=%d\nT_timer4=%d\n", \
			n[1] + n[2] + n[3] + n[4], n[1], n[2], n[3], n[4]
		printf "T_down=%d\nT_up=%d\nT_lat=%d\nT_rsamples=%d\nT_wsamples=%d\n", \
			steps["down"], steps["up"], lat, rs, ws
		printf "T_steps=%d\nT_last_step=%d\nT_last_max=%d\n", steps["down"] + steps["up"], last_step, last_max
		printf "T_total=%d\n", n[0] + n[1] + n[2] + n[3] + n[4] + steps["down"] + steps["up"] + lat + nstat
		printf "T_w_checks=%d\nT_w_pauses=%d\nT_w_ms=%d\nT_w_dirtied=%d\nT_r_events=%d\nT_pauses=%d\n", \
			wc, wn, wms, wd, rev, allp
		printf "T_w_task_rl_kib=%d\nT_w_dirty_rl_kib=%d\n", wtrl, wdrl
		printf "T_w_diag=\"%d checks, longest pause %d ms, most dirty %d pages, last limit %d pages\"\n", \
			wc, wpmax, wdirty, wlimit
	}' "$WS/trace.txt"
	: >>"$WS/steps.want"
	: >>"$WS/wpauses.ms"
	local f v
	for f in curr_win_nsec enabled min_lat_nsec wb_background wb_normal; do
		v=$(cat "$WS/dbg.$f" 2>/dev/null)
		echo "DBG_$f=${v:-missing}"
	done
	echo "DBG_inflight=$(awk '{s += $NF} END {print s + 0}' "$WS/dbg.inflight" 2>/dev/null)"
}

# The instances' last snapshots (and C's events) as shell assignments, one jq per instance.
figures() { # disk writer_pid reader_pid
	local t
	for t in A B F G; do
		grep '^{' "$WS/$t.out" | tail -1 | jq -r --arg d "$1" --argjson w "$2" --argjson r "$3" --arg p "$t" '
			def v: if . == null then "null" else tostring end;
			def ns: if . == null then "null" else (. * 1e9 | round) end;
			(.devices[] | select(.device == $d)
			 | ((to_entries[] | "\($p)_\(.key)=\(.value | v | @sh)"),
			    "\($p)_window_ns=\(.window_seconds | ns)",
			    "\($p)_min_latency_ns=\(.min_latency_seconds | ns)")),
			"\($p)_mechanism=\(.mechanism | @sh)",
			"\($p)_kernel_hz=\(.kernel_hz)",
			"\($p)_untracked=\(.untracked)",
			([.processes[] | select(.pid == $w)][0] // {} | to_entries[] | "\($p)_w_\(.key)=\(.value | v | @sh)"),
			"\($p)_w_rows=\([.processes[] | select(.pid == $w)] | length)",
			"\($p)_r_rows=\([.processes[] | select(.pid == $r)] | length)",
			"\($p)_pids=\([.processes[].pid] | map(tostring) | join(",") | @sh)",
			"\($p)_nhist=\([.processes[] | select(.pause_seconds.count > 0)] | length)",
			"\($p)_w_hist=\([.processes[] | select(.pid == $w) | .pause_seconds.count] | add // 0)",
			"\($p)_w_buckets=\([.processes[] | select(.pid == $w) | .pause_seconds.buckets[] | "\(.le):\(.count)"] | join(" ") | @sh)"'
		echo "${t}_rc=$(cat "$WS/$t.rc")"
	done
	jq -r 'select(.type == "step") | "\(.direction) \(.step) \(.reason)"' "$WS/C.out" >"$WS/steps.got"
	jq -rs '"C_pauses=\([.[] | select(.type == "pause")] | length)",
		"C_w_pauses=\([.[] | select(.type == "pause" and .pid == '"$2"')] | length)",
		"C_missed=\([.[].missed_events] | max // "none")",
		"C_lost=\([.[].lost_events] | max // "none")",
		"C_tools=\([.[].tool] | unique | join(",") | @sh)",
		"C_mechanism=\([.[].mechanism] | unique | join("|") | @sh)",
		"C_w_comms=\([.[] | select(.type == "pause" and .pid == '"$2"') | .comm] | unique | join("|") | @sh)"' "$WS/C.out"
	echo "C_rc=$(cat "$WS/C.rc")"
	jq -r 'select(.type == "step") | "\(.direction) \(.step) \(.reason)"' "$WS/H.out" >"$WS/steps.H"
	jq -rs '"H_pauses=\([.[] | select(.type == "pause")] | length)",
		"H_w_pauses=\([.[] | select(.type == "pause" and .pid == '"$2"')] | length)",
		"H_missed=\([.[].missed_events] | max // "none")",
		"H_lost=\([.[].lost_events] | max // "none")",
		"H_mechanism=\([.[].mechanism] | unique | join("|") | @sh)"' "$WS/H.out"
	echo "H_rc=$(cat "$WS/H.rc")"
	echo "I_lines=$(wc -l <"$WS/I.out")"
	echo "I_rc=$(cat "$WS/I.rc")"
	# I's one event, and the first of C's that I could print (-p: pauses of the writer only)
	# paused_seconds reads jiffies when each instance's program runs: a tick
	# may fall between the two, so it is left out of the comparison
	jq -c 'del(.ts, .lost_events, .missed_events, .paused_seconds)' "$WS/I.out" >"$WS/I.event"
	jq -c 'select(.type != "pause" or .pid == '"$2"') | del(.ts, .lost_events, .missed_events, .paused_seconds)' "$WS/C.out" |
		head -1 >"$WS/C.first"
	echo "D_rc=$(cat "$WS/D.rc")"
	echo "E_rc=$(cat "$WS/E.rc")"
	grep '^K_' "$WS/K.out"
	echo "K_rc=$(cat "$WS/K.rc")"
	echo "W=$2"
	echo "R=$3"
	echo "WRITER_RC=$(cat "$WS/writer.rc")"
}

# bats runs setup_file and teardown_file with errexit; these bodies check each step themselves
# (a function called on the left of || runs without errexit).
setup_file() {
	export WS
	WS=$(mktemp -d /var/tmp/bs-wbtstat.XXXXXX)
	do_setup || setup_failed "setup aborted (status $?)"
}

teardown_file() {
	do_teardown || true
}

do_setup() {
	: >"$WS/loops"
	: >"$WS/instances"
	local why=
	command -v mkfs.ext4 >/dev/null || why="mkfs.ext4 not installed (package e2fsprogs)"
	command -v losetup >/dev/null || why="losetup not installed (package mount)"
	[ -d "$TRACEFS/instances" ] || why="tracefs not mounted at $TRACEFS"
	[ -d /sys/kernel/debug/block ] || why="debugfs not mounted (no /sys/kernel/debug/block)"
	[ -d "$TRACEFS/events/wbt/wbt_step" ] || why="kernel has no wbt tracepoints (CONFIG_BLK_WBT)"
	if [ -n "$why" ]; then
		echo "$why" >"$WS/skip"
		return 0
	fi
	# the guest kernel has loop and ext4 as modules
	modprobe loop 2>/dev/null
	modprobe ext4 2>/dev/null

	local main idle tgt
	main=$(new_loop "$WS/main.img" 160M) || { setup_failed "cannot create a loop device"; return 0; }
	[ -f "/sys/block/${main#/dev/}/queue/wbt_lat_usec" ] ||
		{ echo "loop devices have no wbt here (not blk-mq)" >"$WS/skip"; return 0; }
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$main" >"$WS/mkfs.log" 2>&1 ||
		{ setup_failed "mkfs.ext4 failed: $(cat "$WS/mkfs.log")"; return 0; }
	mkdir "$WS/mnt"
	mount -o noatime "$main" "$WS/mnt" || { setup_failed "cannot mount ext4 on $main"; return 0; }
	echo "$WS/mnt" >"$WS/mounted"
	dd if=/dev/zero of="$WS/mnt/rfile" bs=1M count=$READ_MB status=none
	sync
	echo $LAT_USEC >"/sys/block/${main#/dev/}/queue/wbt_lat_usec"
	# One page per request: writeback has to be slower than the writer for balance_dirty_pages() to
	# put it to sleep, also under emulation, where both are bound by the same CPUs.
	echo 4 >"/sys/block/${main#/dev/}/queue/max_sectors_kb"
	echo "$main" >"$WS/main"

	# an idle disk with wbt and one to change the target of: no filesystem, no I/O yet
	idle=$(new_loop "$WS/idle.img" 16M) && echo 3000 >"/sys/block/${idle#/dev/}/queue/wbt_lat_usec" &&
		echo "$idle" >"$WS/idle"
	tgt=$(new_loop "$WS/tgt.img" 32M) && echo 3000 >"/sys/block/${tgt#/dev/}/queue/wbt_lat_usec" &&
		echo "$tgt" >"$WS/tgt"

	run_workload "$main"
}

do_teardown() {
	[ -n "${WS:-}" ] && [ -d "$WS" ] || return 0
	local f p i
	for f in "$WS"/*.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	wait 2>/dev/null
	restore_sysctls
	if [ -f "$WS/mounted" ]; then
		for i in 1 2 3 4 5; do umount "$WS/mnt" 2>/dev/null && break; sleep 1; done
	fi
	while read -r i; do
		[ -n "$i" ] && losetup -d "$i" 2>/dev/null
	done <"$WS/loops"
	while read -r i; do
		[ -n "$i" ] && [ -d "$i" ] && { echo 0 >"$i/tracing_on"; rmdir "$i"; }
	done <"$WS/instances"
	[ -f "$WS/brd" ] && rmmod brd 2>/dev/null
	rm -rf "$WS"
}

scenario() {
	[ -f "$WS/skip" ] && skip_because "$(cat "$WS/skip")"
	if [ -f "$WS/fail" ]; then
		echo "scenario failed: $(cat "$WS/fail")" >&2
		return 1
	fi
	# shellcheck source=/dev/null
	. "$WS/truth.vars"
	# shellcheck source=/dev/null
	. "$WS/tool.vars"
	pick_truth
}

# The wbt figures to compare with: tracefs's, when the kernel ran BPF programs for every event tracefs
# recorded (the fixture counts what BPF got).  The kernel may skip BPF programs on a tracepoint hit
# and still trace it; on this test machine that happens now and then when the wbt timer softirq
# interrupts one particular foreign thread.  Then the fixture's counts are the truth for BPF, and
# tracefs bounds them.
pick_truth() {
	local k
	if [ "${K_total:-x}" = "$T_total" ]; then
		TRUTH=tracefs
		for k in down up timer1 timer2 timer3 timer4 lat rsamples wsamples; do
			eval "G_$k=\$T_$k"
		done
	else
		TRUTH="fixture (BPF ran for ${K_total:-?} of $T_total wbt events tracefs recorded)"
		for k in down up timer1 timer2 timer3 timer4 lat rsamples wsamples; do
			eval "G_$k=\${K_$k:-x}"
		done
	fi
}

# wbt runs on blk-mq queues (sysfs: an mq directory) that have the wbt_lat_usec attribute; 6.1 shows
# the attribute on bio-based queues too
can_wbt() { [ -d "$1/mq" ] && [ -f "$1/queue/wbt_lat_usec" ]; }

check_counts() { # instance prefix
	local t=$1 v k
	[ "$T_timers" -gt 0 ] || { echo "the workload produced no wbt timer runs" >&2; return 1; }
	assert_eq "$K_rc" 0 "fixture counter exit status"
	# the fixture never sees more than tracefs
	for k in down up timer1 timer2 timer3 timer4 lat; do
		v=K_$k
		[ "${!v}" -le "$(eval echo "\$T_$k")" ] || { echo "fixture $k ${!v} > tracefs" >&2; return 1; }
	done
	[ "$TRUTH" = tracefs ] || echo "# ground truth: $TRUTH" >&3
	v=${t}_device; assert_eq "${!v}" "$(basename "$(cat "$WS/main")")" "disk record"
	v=${t}_steps_down; assert_eq "${!v}" "$G_down" "steps down ($TRUTH)"
	v=${t}_steps_up; assert_eq "${!v}" "$G_up" "steps up ($TRUTH)"
	v=${t}_timer_ok; assert_eq "${!v}" "$G_timer1" "timer verdicts ok ($TRUTH)"
	v=${t}_timer_unknown; assert_eq "${!v}" "$G_timer2" "timer verdicts unknown ($TRUTH)"
	v=${t}_timer_unknown_writes; assert_eq "${!v}" "$G_timer3" "timer verdicts unknown writes ($TRUTH)"
	v=${t}_timer_exceeded; assert_eq "${!v}" "$G_timer4" "timer verdicts exceeded ($TRUTH)"
	v=${t}_untracked; assert_eq "${!v}" 0 "untracked (a number)"
	v=${t}_rc; assert_eq "${!v}" 0 "wbtstat $t exit status"
}

# ---- tests -----------------------------------------------------------------

@test "wbtstat [kernel]: scale steps and timer verdicts match tracefs (tp_btf)" {
	scenario
	has_feature tp_btf:wbt_step || skip_because "no tp_btf for wbt tracepoints"
	check_counts A
	assert_eq "$A_mechanism" tp_btf mechanism
}

@test "wbtstat [kernel]: scale steps and timer verdicts match tracefs (raw_tp fallback)" {
	scenario
	check_counts B
	assert_eq "$B_mechanism" raw_tp mechanism
}

@test "wbtstat [kernel]: final window and limits match debugfs; step and max_depth match the last wbt event" {
	scenario
	assert_eq "$A_wb_background" "$DBG_wb_background" wb_background
	assert_eq "$A_wb_normal" "$DBG_wb_normal" wb_normal
	assert_eq "$A_window_ns" "$DBG_curr_win_nsec" "window_seconds (as ns)"
	assert_eq "$A_min_latency_ns" "$DBG_min_lat_nsec" "min_latency_seconds (as ns)"
	# seconds, as JSON writes them: the shortest text that reads back as the value
	assert_eq "$A_min_latency_seconds" 0.0001 "min_latency_seconds ($LAT_USEC us written to sysfs)"
	assert_eq "$A_enable_state" on-manual enable_state
	assert_eq "$A_inflight" "$DBG_inflight" inflight
	assert_eq "$A_step" "$T_last_step" step
	if [ "$T_steps" -gt 0 ]; then
		assert_eq "$A_max_depth" "$T_last_max" max_depth
	fi
	# the raw_tp instance saw the same final state
	assert_eq "$B_step $B_max_depth" "$A_step $A_max_depth" "raw_tp step and max_depth"
}

@test "wbtstat [kernel]: wbt_stat sample totals and wbt_lat counts match tracefs" {
	scenario
	assert_eq "$A_read_samples" "$G_rsamples" "read_samples ($TRUTH)"
	assert_eq "$A_write_samples" "$G_wsamples" "write_samples ($TRUTH)"
	assert_eq "$A_latency_exceeded" "$G_lat" "latency_exceeded ($TRUTH)"
	# per-interval means only where windows were reported: the last interval had none
	assert_eq "$A_read_latency_mean_seconds" null read_latency_mean_seconds
}

@test "wbtstat [kernel]: the throttled writer shows its pauses and paused time; the reader does not appear" {
	scenario
	assert_eq "$WRITER_RC" 0 "writer exit status"
	[ "$T_w_pauses" -gt 0 ] || { echo "tracefs saw no pause of the writer: not throttled ($T_w_diag)" >&2; return 1; }
	assert_eq "$T_r_events" 0 "tracefs events of the reader"
	assert_eq "$A_w_rows" 1 "writer rows"
	assert_eq "$A_w_comm" "$WRITER_ESC" "comm (escaped: quote, backslash, invalid byte, newline)"
	assert_eq "$A_w_throttle_checks" "$T_w_checks" throttle_checks
	assert_eq "$A_w_pauses" "$T_w_pauses" pauses
	assert_eq "$A_w_dirtied_pages" "$T_w_dirtied" dirtied_pages
	assert_eq "$A_r_rows" 0 "reader rows"
	# tracefs prints each pause in whole ms (pause * 1000 / HZ): allow 1 ms of rounding per pause
	awk -v s="$A_w_paused_seconds" -v ms="$T_w_ms" -v n="$T_w_pauses" \
		'BEGIN { d = s * 1000 - ms; if (d < 0) d = -d; exit !(s > 0 && d <= n) }' ||
		{ echo "paused_seconds $A_w_paused_seconds vs tracefs $T_w_ms ms" >&2; return 1; }
	# rates in bytes per second; tracefs prints KiB/s
	assert_eq "$A_w_task_ratelimit_bytes_per_second" "$((T_w_task_rl_kib * 1024))" "task_ratelimit_bytes_per_second"
	assert_eq "$A_w_dirty_ratelimit_bytes_per_second" "$((T_w_dirty_rl_kib * 1024))" "dirty_ratelimit_bytes_per_second"
	# the last interval had no pause, and ratios are 0-1
	assert_eq "$A_w_paused_ratio" 0 paused_ratio
}

@test "wbtstat [kernel]: pause_seconds is a histogram whose buckets hold tracefs's pauses of the writer" {
	scenario
	[ "$T_w_pauses" -gt 0 ] || { echo "tracefs saw no pause of the writer ($T_w_diag)" >&2; return 1; }
	assert_eq "$A_w_hist" "$T_w_pauses" "count of pause_seconds"
	assert_jq ".sum == $A_w_paused_seconds and (.buckets | length) == 31" "$A_w_pause_seconds"
	# cumulative counts against tracefs's pauses in ms, exact where a jiffy is a whole number of ms
	[ $((1000 % A_kernel_hz)) -eq 0 ] || skip_because "HZ $A_kernel_hz: tracefs rounds pauses to ms"
	local want
	want=$(awk -v les="$A_w_buckets" 'NR == FNR { p[++n] = $1; next } END {
		k = split(les, b, " ")
		for (i = 1; i <= k; i++) {
			split(b[i], f, ":"); c = 0
			for (j = 1; j <= n; j++) if (p[j] / 1000 <= f[1] + 0) c++
			printf "%s%s:%d", (i > 1 ? " " : ""), f[1], c
		}
	}' "$WS/wpauses.ms" /dev/null)
	assert_eq "$A_w_buckets" "$want" "cumulative buckets (le:count) vs tracefs"
}

@test "wbtstat [kernel]: -p PID shows only that process (writer: the same figures as tracefs; reader: nothing)" {
	scenario
	assert_eq "$F_pids" "$W" "processes with -p writer (exit $F_rc, $(grep -c . "$WS/F.out") lines: $(head -c 300 "$WS/F.err"))"
	assert_eq "$F_w_pauses" "$T_w_pauses" "pauses with -p writer"
	assert_eq "$G_pids" "" "processes with -p reader"
	assert_eq "$G_nhist" 0 "histograms with pauses with -p reader"
	assert_eq "$F_rc $G_rc" "0 0" "exit statuses"
}

@test "wbtstat [kernel]: --events streams every scale step with its reason, and every pause" {
	scenario
	[ "$T_steps" -gt 0 ] || { echo "wbt never stepped during the workload" >&2; return 1; }
	assert_eq "$C_lost" 0 "lost_events on every event line"
	assert_eq "$C_tools" wbtstat "tool on every event line"
	if [ "$TRUTH" = tracefs ]; then
		if ! cmp -s "$WS/steps.got" "$WS/steps.want"; then
			echo "step events differ from tracefs:" >&2
			diff "$WS/steps.want" "$WS/steps.got" >&2
			return 1
		fi
	else
		# the events BPF got: tracefs's sequence less the steps the kernel did not run BPF for
		echo "# ground truth: $TRUTH" >&3
		assert_eq "$(grep -c . "$WS/steps.got")" "$((G_down + G_up))" "step events ($TRUTH)"
		awk 'NR == FNR { want[++n] = $0; next } { while (i < n && want[++i] != $0) ; if (want[i] != $0) exit 1 }' \
			"$WS/steps.want" "$WS/steps.got" ||
			{ echo "step events are not tracefs's sequence less some" >&2; return 1; }
	fi
	assert_eq "$C_pauses" "$T_pauses" "pause events"
	assert_eq "$C_w_comms" "$WRITER_ESC" "comm of the writer's pause events"
	# the writer's pauses as tracefs recorded them: reported plus missed (the recursion misses every
	# event line carries), in the same window
	[ "$T_w_pauses" -gt 0 ] || { echo "tracefs saw no pause of the writer ($T_w_diag)" >&2; return 1; }
	[ "$C_missed" != none ] || { echo "no missed_events on the event lines" >&2; return 1; }
	echo "# writer's pauses: tracefs $T_w_pauses, reported $C_w_pauses, missed_events $C_missed" >&3
	assert_eq "$((C_w_pauses + C_missed))" "$T_w_pauses" "reported + missed pause events of the writer"
	[[ "$C_mechanism" =~ ^(tp_btf|raw_tp),\ events:\ (ringbuf|perfbuf)$ ]] || { echo "mechanism: $C_mechanism" >&2; return 1; }
	assert_eq "$C_rc" 0 "exit status"
}

@test "wbtstat [kernel]: -e --perf-buffer -p writer: the same steps and the writer's pauses, reported + missed = tracefs" {
	scenario
	[ "$T_w_pauses" -gt 0 ] || { echo "tracefs saw no pause of the writer ($T_w_diag)" >&2; return 1; }
	[[ "$H_mechanism" =~ ^(tp_btf|raw_tp),\ events:\ perfbuf$ ]] || { echo "mechanism: $H_mechanism" >&2; return 1; }
	assert_eq "$H_lost" 0 "lost_events on every event line"
	[ "$H_missed" != none ] || { echo "no missed_events on the event lines" >&2; return 1; }
	# -p: pauses of the writer only; scale steps are the disk's, as C (ring buffer) streamed them
	assert_eq "$H_pauses" "$H_w_pauses" "pause events of other processes"
	assert_eq "$((H_w_pauses + H_missed))" "$T_w_pauses" "reported + missed pause events of the writer"
	if [ "$TRUTH" = tracefs ]; then
		# a perf buffer is one ring per CPU, read CPU by CPU: steps taken on two CPUs
		# close together may arrive in either order, so the same steps, in any order
		cmp -s <(sort "$WS/steps.H") <(sort "$WS/steps.want") ||
			{ diff <(sort "$WS/steps.want") <(sort "$WS/steps.H") >&2; return 1; }
	else
		assert_eq "$(grep -c . "$WS/steps.H")" "$((G_down + G_up))" "step events ($TRUTH)"
	fi
	assert_eq "$H_rc" 0 "exit status"
}

@test "wbtstat [kernel]: -e -c 1 stopped while events queue prints exactly the first one, then exits 0" {
	scenario
	# several events were queued while it was stopped: the writer's pauses and the disk's steps
	[ "$((T_w_pauses + T_steps))" -ge 2 ] || { echo "only $T_w_pauses pauses, $T_steps steps" >&2; return 1; }
	assert_eq "$I_lines" 1 "event lines printed"
	assert_eq "$I_rc" 0 "exit status"
	assert_eq "$(cat "$WS/I.event")" "$(cat "$WS/C.first")" "the event printed vs the first of C's stream"
}

@test "wbtstat [kernel]: a latency-target change is reported at the next wbt timer run" {
	scenario
	[ -f "$WS/tgt" ] || skip_because "no second loop device"
	local dev d inst maj
	dev=$(cat "$WS/tgt")
	d=${dev#/dev/}
	maj=$(cat "/sys/block/$d/dev")
	inst=$(new_instance "bs_wbtstat_t$$" "$maj")
	echo "$inst" >>"$WS/instances"
	echo 1 >"$inst/tracing_on"
	start_tool T "$B/wbtstat" -v -d "$d" -e -o json
	# the table prints its header at once: fixed widths per kind of field
	start_tool U "$B/wbtstat" -d "$d" -e
	wait_grep "$WS/T.err" '^wbtstat: note: attached: ' 120
	wait_lines "$WS/U.out" 2 120
	# buffered writes to the disk: wbt tracks them and runs its timer, which wbtstat sees
	dd if=/dev/zero of="$dev" bs=64k count=16 status=none
	sync
	wait_timer "$inst"
	echo 1500 >"/sys/block/$d/queue/wbt_lat_usec"
	echo >"$inst/trace"
	dd if=/dev/zero of="$dev" bs=64k count=16 seek=16 status=none
	sync
	wait_timer "$inst"
	wait_grep "$WS/T.out" '"type":"target"' 60
	wait_grep "$WS/U.out" '^target ' 60
	stop_tool T
	stop_tool U
	assert_eq "$(cat "/sys/block/$d/queue/wbt_lat_usec")" 1500 "sysfs target"
	assert_eq "$(jq -c 'select(.type == "target") | [.tool, .device, .old_min_latency_seconds, .min_latency_seconds]' "$WS/T.out")" \
		"[\"wbtstat\",\"$d\",0.003,0.0015]" "target events"
	assert_eq "$(sed -n 2p "$WS/U.out")" "$(printf '%-6s  %-10s  %s' TYPE DEVICE DETAIL)" "event table header"
	assert_eq "$(grep '^target ' "$WS/U.out")" \
		"$(printf '%-6s  %-10s  %s' target "$d" 'latency target 3000us -> 1500us')" "event table line"
	assert_eq "$(cat "$WS/T.rc") $(cat "$WS/U.rc")" "0 0" "exit statuses"
}

@test "wbtstat [kernel]: disks without events and disks without wbt are listed from sysfs and debugfs" {
	scenario
	local idle d want got dj nowbt
	idle=$(cat "$WS/idle")
	d=${idle#/dev/}
	run "$B/wbtstat" -c 1 -i 0.2 -o json
	[ "$status" -eq 0 ]
	# every disk with a medium, by name; wbt "none" exactly where the queue cannot run wbt
	want=$(for p in /sys/block/*; do
		[ "$(cat "$p/size")" -gt 0 ] || continue
		if can_wbt "$p"; then echo "$(basename "$p") wbt"; else echo "$(basename "$p") none"; fi
	done | sort)
	got=$(jq -r '.devices[] | "\(.device) \(if .wbt == "none" then "none" else "wbt" end)"' <<<"$output" | sort)
	assert_eq "$got" "$want" "disks listed"
	dj=$(jq -c --arg d "$d" '.devices[] | select(.device == $d)' <<<"$output")
	assert_eq "$(jq -r .wbt <<<"$dj")" on wbt
	assert_eq "$(jq '.min_latency_seconds * 1e6 | round' <<<"$dj")" "$(cat "/sys/block/$d/queue/wbt_lat_usec")" \
		"min_latency_seconds (as us)"
	assert_eq "$(jq '.window_seconds * 1e9 | round' <<<"$dj")" "$(cat "/sys/kernel/debug/block/$d/rqos/wbt/curr_win_nsec")" \
		"window_seconds (as ns)"
	assert_eq "$(jq .wb_normal <<<"$dj")" "$(cat "/sys/kernel/debug/block/$d/rqos/wbt/wb_normal")" wb_normal
	assert_eq "$(jq .wb_background <<<"$dj")" "$(cat "/sys/kernel/debug/block/$d/rqos/wbt/wb_background")" wb_background
	assert_jq '.step == null and .max_depth == null and .steps_down == 0 and .timer_ok == 0' "$dj"

	# a disk without wbt (bio-based): one from /sys/block, else a RAM disk made for the test
	for p in /sys/block/*; do
		can_wbt "$p" || { nowbt=$(basename "$p"); break; }
	done
	if [ -z "$nowbt" ] && ! lsmod 2>/dev/null | grep -q '^brd ' && modprobe brd rd_nr=1 rd_size=1024 2>/dev/null; then
		touch "$WS/brd"
		nowbt=ram0
	fi
	[ -n "$nowbt" ] || skip_because "no disk without wbt here, and no brd module to make one"
	! can_wbt "/sys/block/$nowbt"
	run "$B/wbtstat" -c 1 -i 0.2 -o json -d "$nowbt"
	[ "$status" -eq 0 ]
	assert_jq "[.devices[] | [.device, .wbt, .enabled]] == [[\"$nowbt\", \"none\", null]]"
}

@test "wbtstat: -o prom --file replaces the file with metrics that match sysfs" {
	scenario
	local idle d f
	idle=$(cat "$WS/idle")
	d=${idle#/dev/}
	f=$WS/wbtstat.prom
	run "$B/wbtstat" -c 2 -i 0.2 -o prom --file "$f" -d "$d"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	grep -q '^# TYPE bpfscope_wbtstat_min_latency_seconds gauge$' "$f"
	assert_eq "$(sed -n "s/^bpfscope_wbtstat_min_latency_seconds{device=\"$d\",view=\"devices\"} //p" "$f" |
		awk '{ printf "%d", $1 * 1e6 + 0.5 }')" \
		"$(cat "/sys/block/$d/queue/wbt_lat_usec")" "min_latency_seconds metric (as us)"
	grep -q "^bpfscope_wbtstat_steps_down_total{device=\"$d\",view=\"devices\"} 0$" "$f"
	grep -q '^bpfscope_wbtstat_info{.*mechanism=' "$f"
	grep -q '^bpfscope_wbtstat_untracked_total{view="devices"} 0$' "$f"
	[ "$(ls "$WS" | grep -c 'wbtstat.prom.tmp')" -eq 0 ]
	command -v promtool >/dev/null || skip_because "promtool not installed"
	local lint
	lint=$(promtool check metrics <"$f" 2>&1)
	[ -z "$lint" ] || { echo "$lint"; false; }
}

@test "wbtstat: Prometheus text of the workload is lint-clean and has the writer's pause histogram" {
	scenario
	local f=$WS/E.prom d lint
	d=$(basename "$(cat "$WS/main")")
	assert_eq "$E_rc" 0 "exit status"
	[ "$T_w_pauses" -gt 0 ] || { echo "tracefs saw no pause of the writer ($T_w_diag)" >&2; return 1; }
	# one series per process: the writer's, its hostile name escaped in the comm label
	assert_eq "$(grep -c "^bpfscope_wbtstat_pauses_total{pid=\"$W\"," "$f")" 1 "writer's pauses_total series"
	local comm_label
	comm_label=$(sed 's/\\/\\\\/g; s/"/\\"/g' <<<"$WRITER_ESC")
	grep -qF "bpfscope_wbtstat_pauses_total{pid=\"$W\",comm=\"$comm_label\",device=\"$d\",view=\"devices\"} $T_w_pauses" "$f" ||
		{ grep "pid=\"$W\"" "$f" | head -3 >&2; false; }
	# a real histogram: _bucket{le} up to +Inf, _sum, _count
	assert_eq "$(sed -n "s/^bpfscope_wbtstat_pause_seconds_count{pid=\"$W\",.*} //p" "$f")" "$T_w_pauses" "_count"
	assert_eq "$(sed -n "s/^bpfscope_wbtstat_pause_seconds_bucket{pid=\"$W\",.*,le=\"+Inf\"} //p" "$f")" "$T_w_pauses" \
		"bucket le=+Inf"
	assert_eq "$(grep -c "^bpfscope_wbtstat_pause_seconds_bucket{pid=\"$W\"," "$f")" 32 "buckets"
	assert_eq "$(sed -n "s/^bpfscope_wbtstat_pause_seconds_sum{pid=\"$W\",.*} //p" "$f")" \
		"$(sed -n "s/^bpfscope_wbtstat_paused_seconds_total{pid=\"$W\",.*} //p" "$f")" "_sum is paused_seconds_total"
	grep -q '^# TYPE bpfscope_wbtstat_pause_seconds histogram$' "$f"
	# no metric of the old shape
	assert_eq "$(grep -v '^#' "$f" | sed 's/[{ ].*//' | grep '_us$\|_ms$\|_kbps$\|_percent$\|hist_pauses')" "" \
		"metrics with abbreviated units"
	command -v promtool >/dev/null || skip_because "promtool not installed"
	lint=$(promtool check metrics <"$f" 2>&1)
	[ -z "$lint" ] || { echo "$lint"; false; }
}

@test "wbtstat: -o prom to standard output is one lint-clean exposition" {
	scenario
	run "$B/wbtstat" -i 0.2 -o prom
	[ "$status" -eq 0 ]
	assert_eq "$(grep -c '^# TYPE bpfscope_wbtstat_info gauge$' <<<"$output")" 1 "expositions"
	# the tick rate is a fact of the run: a label of the info metric
	grep -q '^bpfscope_wbtstat_info{.*,kernel_hz="[0-9][0-9]*",.*view="devices"} 1$' <<<"$output"
	run "$B/wbtstat" -i 0.2 -c 2 -o prom
	[ "$status" -eq 2 ]
	assert_one_line_error "one exposition"
	command -v promtool >/dev/null || skip_because "promtool not installed"
	run "$B/wbtstat" -i 0.2 -o prom
	[ "$status" -eq 0 ]
	local lint
	lint=$(promtool check metrics <<<"$output" 2>&1)
	[ -z "$lint" ] || { echo "$lint"; false; }
}

@test "wbtstat: every JSON line (snapshots, -p, --events) is valid UTF-8 and parses" {
	scenario
	local t f
	for t in A B C F G; do
		f=$WS/$t.out
		[ -s "$f" ] || { echo "$t: no output" >&2; return 1; }
		iconv -f UTF-8 -t UTF-8 "$f" >/dev/null || { echo "$t: invalid UTF-8" >&2; return 1; }
		jq -e . "$f" >/dev/null || { echo "$t: not JSON" >&2; return 1; }
		# one object per line, each with ts and tool
		assert_eq "$(jq -c 'select(type == "object" and .tool == "wbtstat" and (.ts | type) == "number")' "$f" | wc -l)" \
			"$(wc -l <"$f")" "$t: objects with ts and tool"
	done
	# numbers are numbers
	assert_jq '(.kernel_hz | type) == "number" and (.untracked | type) == "number"' "$(tail -1 "$WS/A.out")"
	# the writer's pause events carry its escaped name; lines without a pause carry null
	assert_eq "$(jq -r 'select(.type == "pause" and .pid == '"$W"') | .comm' "$WS/C.out" | sort -u)" "$WRITER_ESC" "comm"
}

@test "wbtstat: the table fits 80 columns and names the mechanism" {
	scenario
	run "$B/wbtstat" -c 1 -i 0.2 -d "$(basename "$(cat "$WS/main")")"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "# mechanism: "* ]]
	[ "$(printf '%s\n' "$output" | awk '{ if (length($0) > m) m = length($0) } END {print m}')" -le 80 ]
	# the ASan instance's wide table (-T --wide) listed the writer with its throttling, its name
	# escaped as in JSON
	WE=$WRITER_ESC W=$W awk '$1 == ENVIRON["W"] && $2 == ENVIRON["WE"] { found = 1 } END { exit !found }' "$WS/D.out"
}

@test "wbtstat: bad input gives one error line and the documented exit status" {
	run "$B/wbtstat" -d no_such_disk9
	[ "$status" -eq 5 ]
	assert_one_line_error "no block device"
	run "$B/wbtstat" -i 0
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid interval"
	run "$B/wbtstat" -e -o prom
	[ "$status" -eq 2 ]
	assert_one_line_error "--events"
	run "$B/wbtstat" -e --file "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	assert_one_line_error "--file"
	run "$B/wbtstat" --long-pause -3
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --long-pause"
	run "$B/wbtstat" -p 4194000
	[ "$status" -eq 5 ]
	assert_one_line_error "no process with pid 4194000"
	run "$B/wbtstat" -p abc
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --pid 'abc'"
	# the tool's old mechanism override is gone; --mechanism names the alternatives
	run "$B/wbtstat" --raw-tp
	[ "$status" -eq 2 ]
	run "$B/wbtstat" --mechanism fexit
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --mechanism 'fexit': expected one of tp_btf, raw_tp"
	run "$B/wbtstat" -e -i 1
	[ "$status" -eq 2 ]
	assert_one_line_error "an interval is for snapshots (-c counts events)"
	if command -v setpriv >/dev/null; then
		run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$B/wbtstat" -c 1
		[ "$status" -eq 3 ]
		assert_one_line_error "needs CAP_BPF and CAP_PERFMON"
	fi
}

# valgrind runs in valgrind.bats (host only: ~30 s in libbpf's parse of the kernel BTF); in the 6.1
# guest the ASan instance that watched the workload stands in, and --events runs under ASan.
@test "wbtstat [kernel 6.1]: the ASan/UBSan build ran the workload cleanly and handles --events" {
	scenario
	[ -x "$BA/wbtstat" ] || skip_because "ASan build missing ($BA)"
	assert_eq "$D_rc" 0 "exit status of the ASan instance (99 = sanitizer report)"
	# -e -c 2: two events (latency-target changes on the second disk), then exit 0
	local dev d
	dev=$(cat "$WS/tgt")
	d=${dev#/dev/}
	start_tool AE "$BA/wbtstat" -v -d "$d" -e -c 2 -o json
	wait_grep "$WS/AE.err" '^wbtstat: note: attached: ' 120
	wbt_target_events "$dev" 3
	local pid i rc=0 ended=no
	pid=$(cat "$WS/AE.pid")
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || { ended=yes; break; }; sleep 0.1; done
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	assert_eq "$ended $rc" "yes 0" "ended by itself after 2 events, exit status (ASan)"
	# target changes (a step, if a window exceeded the target meanwhile): exactly two
	assert_eq "$(wc -l <"$WS/AE.out")" 2 "event lines"
	jq -e 'select(.type != "target" and .type != "step")' "$WS/AE.out" && return 1
	# (on a slow guest both may be steps): every event is the disk's
	assert_eq "$(jq -r '.device' "$WS/AE.out" | sort -u)" "$d" "the events' device"
	run "$BA/wbtstat" -d no_such_disk9
	[ "$status" -eq 5 ]
}

my_prog_ids() {
	bpftool prog show -j | jq -c '[.[] | select(.name | test("^(btf|raw)_(wbt_|bdp)")) | .id] | sort'
}

links_of() { # json array of prog ids -> number of links attached to them
	bpftool link show -j | jq --argjson ids "$1" '[.[] | select(.prog_id as $p | $ids | index($p))] | length'
}

wait_gone() { # json array of prog ids
	local i
	for i in $(seq 1 100); do
		[ "$(bpftool prog show -j | jq --argjson ids "$1" '[.[] | select(.id as $p | $ids | index($p))] | length')" -eq 0 ] &&
			return 0
		sleep 0.1
	done
	echo "programs $1 still loaded" >&2
	return 1
}

@test "wbtstat [kernel]: nothing stays attached or pinned after exit, SIGINT or SIGKILL" {
	local before ids sig pid pins
	before=$(my_prog_ids)
	pins=$(find /sys/fs/bpf -maxdepth 3 2>/dev/null | wc -l)
	run "$B/wbtstat" -c 1 -i 0.2
	[ "$status" -eq 0 ]
	# the kernel frees programs shortly after their last reference goes
	for _ in $(seq 1 100); do
		[ "$(my_prog_ids)" = "$before" ] && break
		sleep 0.1
	done
	assert_eq "$(my_prog_ids)" "$before" "programs after a normal exit"
	for sig in INT KILL; do
		"$B/wbtstat" -i 0.2 -o json >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
		pid=$!
		wait_lines "$BATS_TEST_TMPDIR/out" 1 60
		ids=$(bpftool prog show -j | jq -c --argjson b "$before" \
			'[.[] | select(.name | test("^(btf|raw)_(wbt_|bdp)")) | .id | select(. as $i | $b | index($i) | not)]')
		[ "$(jq length <<<"$ids")" -ge 5 ]
		[ "$(links_of "$ids")" -ge 5 ]
		kill -"$sig" "$pid"
		wait "$pid" || true
		wait_gone "$ids"
		assert_eq "$(links_of "$ids")" 0 "links after SIG$sig"
	done
	assert_eq "$(find /sys/fs/bpf -maxdepth 3 2>/dev/null | wc -l)" "$pins" "bpffs entries"
}
