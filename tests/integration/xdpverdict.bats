#!/usr/bin/env bats
# xdpverdict against a veth pair in two test namespaces: the fixture XDP
# program (tests/fixtures/xdpverdict_fixture.bpf.c) picks the verdict from
# the UDP port and counts its own verdicts in fx_verdicts, the ground truth
# (read by tests/lib/xdpverdict_counts.c, checked once against bpftool).  The test sends known numbers of packets per port from
# the peer namespace (tests/lib/xdpverdict_send.c); IPv6 is off and the
# neighbours are static, so nothing else arrives.

load ../lib/helpers
source "$ROOT/tests/lib/xdpverdict_env.bash"

setup() {
	mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
	XV_TMP=$(mktemp -d /tmp/bs-xdpverdict.XXXXXX)
	XV_TRACE=
	XV_TOOL_PID=
}

teardown() {
	[ -n "$XV_TOOL_PID" ] && kill -KILL "$XV_TOOL_PID" 2>/dev/null
	[ -n "${XV_UNSHARE_PID:-}" ] && kill -KILL "$XV_UNSHARE_PID" 2>/dev/null
	[ -n "$XV_TRACE" ] && [ -d "$XV_TRACE" ] && {
		echo 0 >"$XV_TRACE/events/xdp/xdp_redirect_err/enable"
		echo 0 >"$XV_TRACE/events/xdp/xdp_exception/enable"
		rmdir "$XV_TRACE"
	}
	xd_unload
	xv_teardown
	rm -rf "$XV_TMP"
}

has_fexit() { has_feature fentry; }
need_fexit() { has_fexit || skip_because "BPF trampolines (fentry/fexit) are not allowed on this kernel: fexit counting cannot load here"; }

# The last JSON snapshot's row for the fixture program.
last_row() {
	tail -1 "$1" | jq -c --argjson p "$XV_PROG" '.interfaces[] | select(.prog_id == $p and .queue == null)'
}

# Run the standard traffic under xdpverdict ARGS; leaves the row in $row.
count_with() {
	local out=$XV_TMP/out.json
	xv_tool_start "$out" "$B/xdpverdict" -N "$XV_NSA" -o json -i 0.3 "$@"
	[ "$(xv_counts)" = '[0,0,0,0,0,0]' ]
	xv_send_mix
	xv_tool_stop
	run xv_counts
	assert_eq "$output" "$XV_EXPECT" "fixture counts vs packets sent"
	row=$(last_row "$out")
	[ -n "$row" ] || { cat "$out" "$out.err" >&2; return 1; }
	echo "row: $row" >&2
}

# Every verdict equals the fixture's own count.
assert_exact() {
	local f
	f=$(xv_counts)
	xv_jq --argjson f "$f" '.aborted == $f[0] and .drop == $f[1] and .pass == $f[2] and .tx == $f[3] and .redirect == $f[4] and .packets == ($f[0:5] | add)' "$row"
}

# jq -e with extra jq arguments; the last argument is the document.
xv_jq() {
	local doc="${@: -1}"
	local args=("${@:1:$#-1}")
	if ! jq -e "${args[@]}" >/dev/null <<<"$doc"; then
		echo "jq assertion failed: ${args[*]}" >&2
		echo "document: ${doc:0:2000}" >&2
		return 1
	fi
}

# Every line is valid UTF-8 and valid JSON: a strict decode of the raw
# bytes, then a parse; each line one object with ts and tool.
strict_json() {
	[ -s "$1" ] || { echo "$1: empty" >&2; return 1; }
	iconv -f UTF-8 -t UTF-8 "$1" >/dev/null || { echo "$1: invalid UTF-8" >&2; return 1; }
	jq -e . "$1" >/dev/null || { echo "$1: not JSON" >&2; return 1; }
	assert_eq "$(jq -c 'select(type == "object" and .tool == "xdpverdict" and (.ts | type) == "number")' "$1" | wc -l)" \
		"$(wc -l <"$1")" "$1: objects with ts and tool"
}

# promtool accepts the exposition in $1 and has nothing to say about it.
lint_clean() {
	command -v promtool >/dev/null || skip_because "promtool not installed"
	local lint
	lint=$(promtool check metrics <"$1" 2>&1) || { echo "$lint" >&2; return 1; }
	[ -z "$lint" ] || { echo "$1: $lint" >&2; return 1; }
}

# Run the standard traffic under xdpverdict -o prom --file $XV_TMP/out.prom
# ARGS; SIGINT writes the last exposition.
prom_with() {
	local f=$XV_TMP/out.prom i
	rm -f "$f"
	"$B/xdpverdict" -N "$XV_NSA" -o prom -i 0.3 -c 100000 --file "$f" "$@" 2>"$XV_TMP/prom.err" &
	XV_TOOL_PID=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$f" ] && break
		kill -0 "$XV_TOOL_PID" 2>/dev/null || { cat "$XV_TMP/prom.err" >&2; return 1; }
		sleep 0.1
	done
	[ -s "$f" ] || { echo "xdpverdict wrote no exposition in 60 s" >&2; return 1; }
	xv_send_mix
	xv_tool_stop
	XV_TOOL_PID=
	assert_eq "$(xv_counts)" "$XV_EXPECT" "fixture counts vs packets sent"
}

# The value of the one sample of metric $1 whose labels contain all of the
# label pairs $2 ('verdict="drop"' ...) in $XV_TMP/out.prom; fails unless
# there is exactly one.
prom_value() {
	local m=$1 sel
	shift
	sel=$(grep -E "^bpfscope_xdpverdict_$m\{" "$XV_TMP/out.prom")
	local l
	for l in "$@"; do sel=$(grep -F "$l" <<<"$sel"); done
	[ "$(grep -c . <<<"$sel")" -eq 1 ] || { echo "$m $*: $(grep -c . <<<"$sel") samples: $sel" >&2; return 1; }
	awk '{print $NF}' <<<"$sel"
}

@test "xdpverdict [kernel 6.1]: native mode, driver counters: every verdict equals the fixture's own count" {
	xv_setup d1 xdpdrv
	count_with --mechanism driver
	# for the feature x kernel matrix (tests/README.md): what this kernel ran
	echo "# --mechanism driver: tracepoints $(tail -1 "$XV_TMP/out.json" | jq -r .tracepoints)" >&3
	xv_jq '.source == "driver" and .mode == "native" and .driver == "veth"' "$row"
	assert_exact
	# failed redirects (the empty devmap slot) are the fixture's slot 5
	xv_jq --argjson f "$(xv_counts)" '.redirect_errors == $f[5]' "$row"
	# the counts helper reads what bpftool reads
	assert_eq "$(bpftool map dump id "$XV_VERDICTS" -j | jq -c '[.[] | select(.formatted.key < 6) | .formatted.value]')" \
		"$(xv_counts)" "bpftool vs xdpverdict_counts"
}

@test "xdpverdict: native mode, driver counters agree with ethtool -S" {
	xv_setup e1 xdpdrv
	count_with --mechanism driver
	local s
	s=$(ip netns exec "$XV_NSA" ethtool -S "$XV_DEVA")
	stat() { awk -v k="$1:" '$1 == k {print $2}' <<<"$s"; }
	# ethtool's own numbers: packets seen by XDP, and the successful redirects
	xv_jq --argjson n "$(stat rx_queue_0_xdp_packets)" '.packets == $n' "$row"
	xv_jq --argjson r "$(stat rx_queue_0_xdp_redirect)" '.redirect - .redirect_errors == $r' "$row"
}

@test "xdpverdict [kernel 6.1]: native mode, tracepoints: exceptions equal ABORTED packets, redirects exact, the rest unknown (null)" {
	xv_setup t1 xdpdrv
	count_with --mechanism raw_tp
	local f
	f=$(xv_counts)
	xv_jq '.source == "tracepoint"' "$row"
	xv_jq --argjson f "$f" '.aborted == $f[0] and .redirect == $f[4] and .redirect_errors == $f[5]' "$row"
	xv_jq '.drop == null and .pass == null and .tx == null and .packets == null' "$row"
	# --mechanism raw_tp: the raw_tp twins counted it
	assert_eq "$(tail -1 "$XV_TMP/out.json" | jq -r '.tracepoints + " " + .fexit')" "raw_tp not used" "mechanism facts"
}

@test "xdpverdict [kernel 6.12]: native mode, fexit on the XDP program: every verdict exact" {
	need_fexit
	xv_setup f1 xdpdrv
	count_with --mechanism fexit
	xv_jq '.source == "fexit"' "$row"
	assert_exact
}

@test "xdpverdict [kernel 6.12]: auto picks the best mechanism (fexit where allowed, else driver counters)" {
	xv_setup a1 xdpdrv
	count_with
	echo "# auto, native: source $(jq -r .source <<<"$row"), tracepoints $(tail -1 "$XV_TMP/out.json" | jq -r .tracepoints)" >&3
	if has_fexit; then
		xv_jq '.source == "fexit"' "$row"
	else
		xv_jq '.source == "driver"' "$row"
	fi
	assert_exact
}

@test "xdpverdict [kernel 6.12]: generic mode, fexit: every verdict exact" {
	need_fexit
	xv_setup g1 xdpgeneric
	count_with
	echo "# auto, generic: source $(jq -r .source <<<"$row")" >&3
	xv_jq '.source == "fexit" and .mode == "generic"' "$row"
	assert_exact
}

@test "xdpverdict [kernel 6.1]: generic mode without trampolines: ABORTED and REDIRECT exact, nothing estimated" {
	xv_setup g2 xdpgeneric
	if has_fexit; then
		count_with --mechanism raw_tp
	else
		count_with
	fi
	local f
	f=$(xv_counts)
	xv_jq '.source == "tracepoint" and .mode == "generic"' "$row"
	xv_jq --argjson f "$f" '.aborted == $f[0] and .redirect == $f[4] and .redirect_errors == $f[5]' "$row"
	xv_jq '.drop == null and .pass == null and .tx == null and .packets == null' "$row"
	# the snapshot says some verdicts are not countable here
	tail -1 "$XV_TMP/out.json" | jq -e '.note | test("cannot count")' >/dev/null
}

@test "xdpverdict: --per-queue: the queue rows add up to the fixture's counts" {
	xv_setup q1 xdpdrv
	count_with -q
	local out=$XV_TMP/out.json f
	f=$(xv_counts)
	tail -1 "$out" | jq -e --argjson f "$f" --argjson p "$XV_PROG" '
		[.interfaces[] | select(.prog_id == $p and .queue != null)] as $q
		| ($q | length) >= 1
		  and ([$q[].drop] | add) == $f[1] and ([$q[].pass] | add) == $f[2]
		  and ([$q[].tx] | add) == $f[3]' >/dev/null || { tail -1 "$out" >&2; false; }
}

# --events (json) through the given transport ARGS (none: ring buffer, or
# --perf-buffer): each exception and each redirect error, with the errno
# name the kernel's own tracepoint output (a private tracefs instance) shows.
events_truth() {
	local transport=$1
	shift
	# independent witness: the kernel's own tracepoint output in a private tracefs instance
	XV_TRACE=/sys/kernel/tracing/instances/bsxv$$
	mkdir "$XV_TRACE"
	echo 1 >"$XV_TRACE/events/xdp/xdp_redirect_err/enable"
	local out=$XV_TMP/ev.json
	"$B/xdpverdict" -N "$XV_NSA" --events -o json "$@" >"$out" 2>"$out.err" &
	XV_TOOL_PID=$!
	sleep 2
	kill -0 "$XV_TOOL_PID" || { cat "$out.err" >&2; false; }
	xv_send_mix
	xv_tool_stop
	local f kerr
	f=$(xv_counts)
	kerr=$(grep -o 'err=-[0-9]*' "$XV_TRACE/trace" | sort -u)
	[ "$(wc -l <<<"$kerr")" -eq 1 ] || { echo "kernel errors: $kerr" >&2; false; }
	local want
	want=$(errno_to_name "${kerr#err=-}")
	assert_eq "$(jq -s '[.[] | select(.type == "exception" and .action == "ABORTED")] | length' "$out")" \
		"$(jq '.[0]' <<<"$f")" "exception events vs ABORTED packets"
	assert_eq "$(jq -s '[.[] | select(.type == "redirect_error")] | length' "$out")" \
		"$(jq '.[5]' <<<"$f")" "redirect_error events vs redirects to the empty slot"
	assert_eq "$(jq -rs '[.[] | select(.type == "redirect_error") | .errno_name] | unique | join(",")' "$out")" \
		"$want" "errno name"
	# the number is a JSON number
	assert_eq "$(jq -rs '[.[] | select(.type == "redirect_error") | .errno | numbers] | unique | join(",")' "$out")" \
		"${kerr#err=-}" "errno number"
	# exceptions carry no error: null, not 0
	assert_eq "$(jq -s '[.[] | select(.type == "exception") | .errno, .errno_name] | unique' "$out" | jq -c .)" \
		"[null]" "errno of exceptions"
	# the renderer's standard fields, on every line: tool, type, lost and missed events
	assert_eq "$(jq -s '[.[] | .lost_events] | max' "$out")" 0 "lost events"
	assert_eq "$(jq -c 'select(.tool == "xdpverdict" and (.lost_events | type) == "number" and (.missed_events | type) == "number" and (.mechanism | type) == "string")' "$out" | wc -l)" \
		"$(wc -l <"$out")" "events with tool, lost_events, missed_events and mechanism"
	strict_json "$out"
	# the stream says which transport it used
	local mech
	mech=$(jq -r '.mechanism' "$out" | sort -u)
	echo "# --events: $mech" >&3
	[[ "$mech" == *" xdp tracepoints, $transport" ]] || { echo "mechanism: $mech" >&2; false; }
}

@test "xdpverdict [kernel]: --events streams each exception and each redirect error with the kernel's errno name" {
	xv_setup v1 xdpdrv
	events_truth ringbuf
}

@test "xdpverdict [kernel 6.12]: --events --perf-buffer: the same events through a perf buffer" {
	xv_setup v2 xdpdrv
	events_truth perfbuf --perf-buffer
}

@test "xdpverdict [kernel 6.12]: -e -c 1 prints exactly one event after a burst of queued ones" {
	xv_setup v3 xdpdrv
	local out=$XV_TMP/one.txt i
	"$B/xdpverdict" -N "$XV_NSA" -e -c 1 >"$out" 2>"$out.err" &
	XV_TOOL_PID=$!
	# attached once the header is out
	for ((i = 0; i < 600; i++)); do
		grep -q '^TYPE' "$out" && break
		kill -0 "$XV_TOOL_PID" 2>/dev/null || { cat "$out.err" >&2; false; }
		sleep 0.1
	done
	grep -q '^TYPE' "$out"
	# five ABORTED packets (five exception events) while the tool cannot read
	kill -STOP "$XV_TOOL_PID"
	xv_send 7000 5
	xv_wait_count 0 5
	kill -CONT "$XV_TOOL_PID"
	local rc=0
	wait "$XV_TOOL_PID" || rc=$?
	XV_TOOL_PID=
	assert_eq "$rc" 0 "exit status"
	cat "$out" >&2
	assert_eq "$(grep -c '^exception ' "$out")" 1 "event lines"
	assert_eq "$(tail -n +3 "$out" | grep -vc '^exception ')" 0 "other lines"
}

@test "xdpverdict [kernel 6.12]: --events table: fixed-width columns, every event under its header" {
	xv_setup w1 xdpdrv
	local out=$XV_TMP/ev.txt
	"$B/xdpverdict" -N "$XV_NSA" --events >"$out" 2>"$out.err" &
	XV_TOOL_PID=$!
	sleep 2
	kill -0 "$XV_TOOL_PID" || { cat "$out.err" >&2; false; }
	xv_send_mix
	xv_tool_stop
	local f
	f=$(xv_counts)
	[[ "$(head -1 "$out")" == "# mechanism: "* ]]
	local hdr
	hdr=$(sed -n 2p "$out")
	[[ "$hdr" == TYPE* ]] || { cat "$out" >&2; false; }
	# one line per event: ABORTED exceptions and empty-slot redirect errors
	assert_eq "$(grep -c '^exception ' "$out")" "$(jq '.[0]' <<<"$f")" "exception lines"
	assert_eq "$(grep -c '^redirect_error ' "$out")" "$(jq '.[5]' <<<"$f")" "redirect_error lines"
	# every text column starts where its header does, on every line; the
	# program id (a number) ends where its header ends
	local col pos
	for col in IFACE ACTION ERROR TARGET; do
		pos=$(awk -v h="$hdr" -v c="$col" 'BEGIN { print index(h, c " ") ? index(h, c " ") : index(h, c) }')
		[ "$pos" -gt 0 ]
		tail -n +3 "$out" | awk -v p="$pos" -v c="$col" '
			substr($0, p - 1, 1) != " " || substr($0, p, 1) == " " { print c " misplaced: " $0; bad = 1 }
			END { exit bad }' || { cat "$out" >&2; false; }
	done
	pos=$(awk -v h="$hdr" 'BEGIN { print index(h, "PROG ") + 3 }')
	tail -n +3 "$out" | awk -v p="$pos" '
		substr($0, p, 1) !~ /[0-9]/ || substr($0, p + 1, 1) != " " { print "PROG misplaced: " $0; bad = 1 }
		END { exit bad }' || { cat "$out" >&2; false; }
	grep -E '^(exception|redirect_error) ' "$out" | awk -v hdr="$hdr" '{ print substr($0, index(hdr, "ACTION"), 8) }' |
		tr -d ' ' | sort -u | paste -sd, | grep -qx 'ABORTED,REDIRECT'
	tail -n +3 "$out" | grep -q "^redirect_error  *$XV_DEVA  *$XV_PROG  *REDIRECT  *E[A-Z]* "
}

# errno number -> name, from the C library's own table (perl's Errno).
errno_to_name() {
	perl -e 'use Errno; $! = shift; for my $k (sort keys %!) { if ($!{$k}) { print "$k\n"; last } }' "$1"
}

@test "xdpverdict: prom: the verdicts are one counter with a verdict label, exact, and the exposition is lint-clean" {
	xv_setup p1 xdpdrv
	prom_with --mechanism driver
	local out=$XV_TMP/out.prom f v
	f=$(xv_counts)
	grep -q '^# TYPE bpfscope_xdpverdict_packets_total counter$' "$out"
	for v in aborted:0 drop:1 pass:2 tx:3 redirect:4; do
		assert_eq "$(prom_value packets_total "interface=\"$XV_DEVA\"" "prog_id=\"$XV_PROG\"" \
			"verdict=\"${v%%:*}\"" 'source="driver"' 'mode="native"' 'view="interfaces"')" \
			"$(jq ".[${v#*:}]" <<<"$f")" "prom ${v%%:*}"
	done
	assert_eq "$(prom_value redirect_errors_total "prog_id=\"$XV_PROG\"")" "$(jq '.[5]' <<<"$f")" "prom redirect_errors"
	# the loss counters are metrics of their own (nothing lost: the maps hold 4096 keys)
	grep -q '^bpfscope_xdpverdict_missed_updates_total{view="interfaces"} 0$' "$out"
	grep -q '^bpfscope_xdpverdict_missed_events_total{view="interfaces"} [0-9][0-9]*$' "$out"
	# static facts only in the _info labels; no verdict metric of the old shape, no rates
	# (tracepoints: one mechanism, or one per tracepoint where they differ, as on 6.1 and 6.12: xdpverdict(8))
	grep -Eq '^bpfscope_xdpverdict_info\{version="[^"]*",tracepoints="(tp_btf|raw_tp|none|[a-z_]+: (tp_btf|raw_tp|none)(, [a-z_]+: (tp_btf|raw_tp|none))*)",fexit="[a-z ]*",view="interfaces"\} 1$' "$out"
	assert_eq "$(grep -v '^#' "$out" | sed 's/[{ ].*//' | sort -u | grep -E '_(aborted|drop|pass|tx|redirect)_total$|_pps$|per_second' || true)" \
		"" "metrics of the old shape"
	assert_eq "$(grep -c '^# TYPE ' "$out")" "$(grep '^# TYPE ' "$out" | sort -u | wc -l)" "metric families written once"
	lint_clean "$out"
}

@test "xdpverdict: prom with --per-queue and with tracepoint counting: unique series, lint-clean, unknown verdicts have no sample" {
	xv_setup p2 xdpdrv
	prom_with --mechanism driver -q
	local out=$XV_TMP/out.prom f
	f=$(xv_counts)
	lint_clean "$out"
	# the interface's row (empty queue label) and queue 0's row both count every packet (veth: one queue)
	assert_eq "$(prom_value packets_total "prog_id=\"$XV_PROG\"" 'queue=""' 'verdict="drop"')" "$(jq '.[1]' <<<"$f")" "interface row"
	assert_eq "$(prom_value packets_total "prog_id=\"$XV_PROG\"" 'queue="0"' 'verdict="drop"')" "$(jq '.[1]' <<<"$f")" "queue 0 row"
	assert_eq "$(grep -v '^#' "$out" | sed 's/ [^ ]*$//' | sort | uniq -d)" "" "duplicate series"
	xv_teardown
	xv_setup p3 xdpdrv
	prom_with --mechanism raw_tp
	f=$(xv_counts)
	lint_clean "$out"
	assert_eq "$(prom_value packets_total "prog_id=\"$XV_PROG\"" 'verdict="aborted"' 'source="tracepoint"')" "$(jq '.[0]' <<<"$f")" "aborted"
	assert_eq "$(prom_value packets_total "prog_id=\"$XV_PROG\"" 'verdict="redirect"')" "$(jq '.[4]' <<<"$f")" "redirect"
	# DROP, PASS and TX are not visible to any tracepoint: no sample, not 0
	assert_eq "$(grep -c "^bpfscope_xdpverdict_packets_total{.*prog_id=\"$XV_PROG\".*verdict=\"\(drop\|pass\|tx\)\"" "$out")" 0 \
		"samples of verdicts tracepoints cannot count"
}

@test "xdpverdict: -o prom to standard output is one lint-clean exposition; -c 2 without --file is refused" {
	xv_setup p4 xdpdrv
	run "$B/xdpverdict" -N "$XV_NSA" -o prom -i 0.2
	[ "$status" -eq 0 ]
	assert_eq "$(grep -c '^# TYPE bpfscope_xdpverdict_info gauge$' <<<"$output")" 1 "expositions"
	printf '%s\n' "$output" >"$XV_TMP/one.prom"
	lint_clean "$XV_TMP/one.prom"
	run "$B/xdpverdict" -N "$XV_NSA" -o prom -i 0.2 -c 2
	[ "$status" -eq 2 ]
	assert_one_line_error "one exposition"
}

@test "xdpverdict: JSON snapshots: strict UTF-8 and JSON, numbers as numbers, rates that add up to the counts" {
	xv_setup j1 xdpdrv
	count_with --mechanism driver -q
	local out=$XV_TMP/out.json f
	f=$(xv_counts)
	strict_json "$out"
	local last
	last=$(tail -1 "$out")
	xv_jq '(.missed_updates | type) == "number" and .missed_updates == 0 and (.missed_events | type) == "number"
		and (.start_time_seconds | type) == "number" and (.tracepoints | type) == "string"
		and (.fexit | type) == "string" and .note == null' "$last"
	xv_jq '(.ifindex | type) == "number" and (.prog_id | type) == "number" and .queue == null' "$row"
	# the old names are gone
	xv_jq '[.interfaces[] | keys[] | select(test("_pps$"))] | length == 0' "$last"
	# rate x interval, summed over the snapshots, is the count: the first
	# snapshot came before any traffic, each later one covers the time since
	# the one before (ts), the last one the partial interval up to SIGINT
	local v
	for v in aborted:0 drop:1 pass:2 tx:3 redirect:4; do
		assert_eq "$(jq -s --argjson p "$XV_PROG" --arg k "${v%%:*}_packets_per_second" '
			[.[] | {ts, r: ([.interfaces[] | select(.prog_id == $p and .queue == null)][0][$k])}] as $s
			| [range(1; $s | length) | $s[.].r * ($s[.].ts - $s[. - 1].ts)] | add | round' "$out")" \
			"$(jq ".[${v#*:}]" <<<"$f")" "${v%%:*}_packets_per_second integrated"
	done
}

@test "xdpverdict: --all-netns finds the interface and names its namespace" {
	xv_setup n1 xdpdrv
	run "$B/xdpverdict" --all-netns -o json -c 1 -i 0.2
	[ "$status" -eq 0 ]
	xv_jq --arg ns "$XV_NSA" --arg d "$XV_DEVA" --argjson p "$XV_PROG" \
		'[.interfaces[] | select(.netns == $ns and .interface == $d and .prog_id == $p)] | length == 1' "$output"
	# the peer's XDP_PASS program is found too, in its own namespace
	local peer
	peer=$(ip -n "$XV_NSB" -j link show dev "$XV_DEVB" | jq '.[0].xdp.prog.id')
	xv_jq --arg ns "$XV_NSB" --argjson p "$peer" \
		'[.interfaces[] | select(.netns == $ns and .prog_id == $p)] | length == 1' "$output"
}

@test "xdpverdict: --all-netns sees a process's namespace that has no name under /run/netns, as pid:N" {
	xv_setup n2 xdpdrv
	# a namespace held only by a process: unshare's sleep, with a veth pair and an XDP program
	unshare --net sleep 100 &
	XV_UNSHARE_PID=$!
	local pid=$XV_UNSHARE_PID i
	for ((i = 0; i < 50; i++)); do
		[ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.1
	done
	[ -z "$(ip netns identify "$pid")" ] || { echo "namespace of $pid is named: $(ip netns identify "$pid")" >&2; false; }
	nsenter -t "$pid" -n ip link add xvun2 type veth peer name xvun2p
	nsenter -t "$pid" -n ip link set dev xvun2 xdpgeneric obj "$XV_PASS" sec xdp
	local prog
	prog=$(nsenter -t "$pid" -n ip -j -d link show dev xvun2 | jq -r '.[0].xdp.prog.id // .[0].xdp.attached[0].prog.id')
	[ -n "$prog" ] && [ "$prog" != null ]
	run "$B/xdpverdict" --all-netns -o json -c 1 -i 0.2
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	XV_UNSHARE_PID=
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	echo "$output" | jq -c '[.interfaces[] | {netns, interface, prog_id}]' >&2
	# the namespace is named after its (lowest) process, once, with its program
	xv_jq --arg ns "pid:$pid" --argjson p "$prog" \
		'[.interfaces[] | select(.netns == $ns)] | length == 1 and .[0].interface == "xvun2" and .[0].prog_id == $p' \
		"$(grep '^{' <<<"$output" | tail -1)"
	# and the named ones keep their /run/netns names (each namespace once)
	xv_jq --arg ns "$XV_NSA" --argjson p "$XV_PROG" \
		'[.interfaces[] | select(.prog_id == $p)] | length == 1 and .[0].netns == $ns' "$(grep '^{' <<<"$output" | tail -1)"
}

@test "xdpverdict: -N that is not a network namespace exits 2, one that does not exist 5" {
	run "$B/xdpverdict" -N /etc/passwd -c 1
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --netns '/etc/passwd': not a network namespace"
	run "$B/xdpverdict" -N /proc/self/ns/uts -c 1
	[ "$status" -eq 2 ]
	assert_one_line_error "not a network namespace"
	run "$B/xdpverdict" -N bs-no-such-netns-$$ -c 1
	[ "$status" -eq 5 ]
	assert_one_line_error "no network namespace 'bs-no-such-netns-$$'"
	run "$B/xdpverdict" -N /nonexistent/ns -e -c 1
	[ "$status" -eq 5 ]
}

@test "xdpverdict: bad input: one error line and the documented exit status" {
	xv_setup b1 xdpdrv
	run "$B/xdpverdict" -N "$XV_NSA" -I nosuchif0 -c 1
	[ "$status" -eq 5 ]
	assert_one_line_error "no interface 'nosuchif0'"
	run "$B/xdpverdict" -N "$XV_NSA" -I lo -c 1
	[ "$status" -eq 5 ]
	assert_one_line_error "has no XDP program"
	run "$B/xdpverdict" -N bs-no-such-netns -c 1
	[ "$status" -eq 5 ]
	assert_one_line_error "no network namespace 'bs-no-such-netns'"
	run "$B/xdpverdict" --mechanism sometimes
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid --mechanism 'sometimes'"
	run "$B/xdpverdict" --mechanism fexit,driver
	[ "$status" -eq 2 ]
	assert_one_line_error "exclude each other"
	run "$B/xdpverdict" --source driver
	[ "$status" -eq 2 ]
	run "$B/xdpverdict" --events -o prom
	[ "$status" -eq 2 ]
	assert_one_line_error "--events"
	run "$B/xdpverdict" -i 0
	[ "$status" -eq 2 ]
	assert_one_line_error "invalid interval"
	# a forced mechanism this interface or kernel cannot offer
	if has_fexit; then
		xv_attach xdpgeneric
		run "$B/xdpverdict" -N "$XV_NSA" -I "$XV_DEVA" --mechanism driver -c 1
		[ "$status" -eq 4 ]
		assert_one_line_error "--mechanism driver is unavailable"
	else
		run "$B/xdpverdict" -N "$XV_NSA" --mechanism fexit -c 1
		[ "$status" -eq 4 ]
		assert_one_line_error "--mechanism fexit: the kernel cannot hook xdp_program_return that way (no BPF trampolines)"
	fi
}

@test "xdpverdict [kernel]: nothing stays attached after exit, SIGINT or SIGKILL" {
	xv_setup k1 xdpdrv
	local before after
	# ids of every program and link; others' objects may vanish meanwhile
	# (freed asynchronously by earlier tests), so only new ids are leftovers
	snap() { { bpftool prog show -j | jq -c '[.[].id | "p\(.)"]'; bpftool link show -j | jq -c '[.[].id | "l\(.)"]'; } | jq -sc 'add'; }
	before=$(snap)
	run "$B/xdpverdict" -N "$XV_NSA" -c 1 -i 0.2
	[ "$status" -eq 0 ]
	for sig in INT KILL; do
		xv_tool_start "$XV_TMP/sig.out" "$B/xdpverdict" -N "$XV_NSA" --events
		sleep 0.5
		kill -"$sig" "$XV_TOOL_PID"
		wait "$XV_TOOL_PID" || true
		XV_TOOL_PID=
		xv_tool_start "$XV_TMP/sig.out" "$B/xdpverdict" -N "$XV_NSA" -i 0.2
		kill -"$sig" "$XV_TOOL_PID"
		wait "$XV_TOOL_PID" || true
		XV_TOOL_PID=
	done
	# programs and links are freed asynchronously after the last fd closes
	local left
	for _ in $(seq 1 50); do
		left=$(jq -nc --argjson a "$(snap)" --argjson b "$before" '$a - $b')
		[ "$left" = "[]" ] && break
		sleep 0.2
	done
	assert_eq "$left" "[]" "BPF programs and links the tool left behind"
	# and the fixture is still the program on the interface, untouched
	assert_eq "$(ip -n "$XV_NSA" -j link show dev "$XV_DEVA" | jq '.[0].xdp.prog.id')" "$XV_PROG" "fixture prog id"
}

@test "xdpverdict: clean under valgrind" {
	xv_setup m1 xdpdrv
	# driver counting on every kernel: valgrind cannot model the BTF buffers
	# the kernel fills in for the fexit set-up (BPF_OBJ_GET_INFO_BY_FD), so
	# it reports libbpf's reads of them; the fexit path runs under ASan below.
	valgrind_clean "$B/xdpverdict" -N "$XV_NSA" -o json -c 2 -i 0.3 --mechanism driver
	[ "$status" -eq 0 ]
	xv_jq --argjson p "$XV_PROG" '[.interfaces[] | select(.prog_id == $p)] | length == 1' "$(tail -1 <<<"$output")"
}

@test "xdpverdict [kernel 6.1]: clean under ASan/UBSan, counts and events" {
	[ -x "$BA/xdpverdict" ] || skip_because "ASan build missing (make BUILD=build/asan SAN=address testbins)"
	xv_setup s1 xdpdrv
	local out=$XV_TMP/asan.json
	xv_tool_start "$out" "$BA/xdpverdict" -N "$XV_NSA" -o json -i 0.3 -q
	xv_send_mix
	xv_tool_stop
	local rc=$?
	[ "$rc" -ne 99 ] || { cat "$out.err" >&2; false; }
	[ "$rc" -eq 0 ]
	row=$(last_row "$out")
	assert_exact
	# --events until the first event: one ABORTED packet every 2 s until
	# the (slow to start under ASan and emulation) tool has seen one
	( for _ in $(seq 1 100); do sleep 2; xv_send 7000 1; done ) &
	local sender=$!
	run timeout 300 "$BA/xdpverdict" -N "$XV_NSA" --events -c 1 -o json
	kill "$sender" 2>/dev/null
	wait "$sender" 2>/dev/null || true
	[ "$status" -ne 99 ] || { echo "$output" >&2; false; }
	[ "$status" -eq 0 ]
	xv_jq '.type == "exception" and .action == "ABORTED"' "$(grep '^{' <<<"$output" | tail -1)"
}

# ---- libxdp's dispatcher: components loaded by xdp-loader ------------------
# Two components (tests/fixtures/xdpverdict_comp1.bpf.c, _comp2.bpf.c) on the
# fixture's interface, through xdp-loader (xdp-tools): comp1 (priority 10,
# chain-call actions PASS) drops UDP port 7101 and passes the rest on; comp2
# (priority 20, chain-call actions PASS and DROP) "drops" port 7102 but, both
# verdicts continuing after the last component, the dispatcher returns
# XDP_PASS for everything comp2 sees.  Each component counts its own
# verdicts (c1_verdicts, c2_verdicts: the ground truth, read by id).
XD_COMP1="$B/fixtures/xdpverdict_comp1.bpf.o"
XD_COMP2="$B/fixtures/xdpverdict_comp2.bpf.o"
XD_LOADED=

# xdp-loader wants bpffs at /sys/fs/bpf, which `ip netns exec` hides (it
# mounts a fresh /sys): nsenter --net keeps this mount namespace.
xd_loader() { nsenter --net="/run/netns/$XV_NSA" xdp-loader "$@"; }

# Replace the fixture on XV_DEVA by the components (FILES), native mode.
# Returns xdp-loader's status; its messages are in $XV_TMP/loader.err.
xd_load() {
	command -v xdp-loader >/dev/null || skip_because "xdp-tools not installed (make deps)"
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	ip -n "$XV_NSA" link set dev "$XV_DEVA" xdp off || return 1
	XD_LOADED=1
	xd_loader load -m native "$XV_DEVA" "$@" >"$XV_TMP/loader.err" 2>&1
}

xd_unload() {
	[ -n "$XD_LOADED" ] || return 0
	XD_LOADED=
	xd_loader unload --all "$XV_DEVA" >/dev/null 2>&1
	return 0
}

# After a load of both: XD_DISP (the interface's program), XD_C1/XD_C2 (the
# components, as xdp-loader status lists them), XD_M1/XD_M2 (their counts).
xd_ids() {
	XD_DISP=$(ip -n "$XV_NSA" -j link show dev "$XV_DEVA" | jq '.[0].xdp.prog.id')
	xd_loader status >"$XV_TMP/status"
	XD_C1=$(awk '$1 == "=>" && $3 == "xdpverdict_comp1" {print $4}' "$XV_TMP/status")
	XD_C2=$(awk '$1 == "=>" && $3 == "xdpverdict_comp2" {print $4}' "$XV_TMP/status")
	[ -n "$XD_C1" ] && [ -n "$XD_C2" ] || { cat "$XV_TMP/status" >&2; return 1; }
	XD_M1=$(xd_map "$XD_C1" c1_verdicts) XD_M2=$(xd_map "$XD_C2" c2_verdicts)
	[ -n "$XD_M1" ] && [ -n "$XD_M2" ]
}
xd_map() {
	local id
	for id in $(bpftool prog show id "$1" -j | jq -r '.map_ids[]'); do
		[ "$(bpftool map show id "$id" -j | jq -r .name)" = "$2" ] && echo "$id"
	done
}

# The traffic: 4 packets to 7101 (comp1 drops), 5 to 7102 (comp2 drops,
# the dispatcher passes), 3 to 7100 (passed by both).
XD_C1_EXPECT='[0,4,8,0,0,0]' XD_C2_EXPECT='[0,5,3,0,0,0]'
xd_send() {
	xv_send 7101 4 && xv_send 7102 5 && xv_send 7100 3 || return 1
	local i
	for ((i = 0; i < 150; i++)); do
		[ "$("$XV_COUNTS" "$XD_M1")" = "$XD_C1_EXPECT" ] && [ "$("$XV_COUNTS" "$XD_M2")" = "$XD_C2_EXPECT" ] && break
		sleep 0.2
	done
	assert_eq "$("$XV_COUNTS" "$XD_M1")" "$XD_C1_EXPECT" "comp1's own counts vs packets sent"
	assert_eq "$("$XV_COUNTS" "$XD_M2")" "$XD_C2_EXPECT" "comp2's own counts vs packets sent"
	sleep 0.5
}

# The component record of program $2 in JSON snapshot $1.
xd_comp() { jq -c --argjson p "$2" '.components[]? | select(.prog_id == $p)' <<<"$1"; }

@test "xdpverdict [kernel]: libxdp dispatcher: each component's verdicts and the dispatcher's chain decisions, exact (fexit)" {
	need_fexit
	xv_setup x1 xdpdrv
	xd_load "$XD_COMP1" "$XD_COMP2" || { cat "$XV_TMP/loader.err" >&2; false; }
	xd_ids
	echo "# dispatcher $XD_DISP, components $XD_C1 $XD_C2" >&3
	local links_before out=$XV_TMP/out.json last c1 c2 d
	links_before=$(bpftool link show -j | jq -c '[.[].id]')
	xv_tool_start "$out" "$B/xdpverdict" -N "$XV_NSA" -o json -i 0.3
	xd_send
	kill -INT "$XV_TOOL_PID"
	wait "$XV_TOOL_PID"
	XV_TOOL_PID=
	strict_json "$out"
	last=$(tail -1 "$out")
	c1=$(xd_comp "$last" "$XD_C1") c2=$(xd_comp "$last" "$XD_C2")
	d=$(jq -c --argjson p "$XD_DISP" '.interfaces[] | select(.prog_id == $p)' <<<"$last")
	echo "comp1: $c1" >&2
	echo "comp2: $c2" >&2
	echo "dispatcher: $d" >&2
	# what libxdp configured: slots in priority order, chain-call actions
	xv_jq --argjson d "$XD_DISP" '.slot == 0 and .run_priority == 10 and .chain_call_actions == ["pass"]
		and .dispatcher_prog_id == $d and .prog_name == "xdpverdict_comp1" and .source == "fexit" and .note == null' "$c1"
	xv_jq --argjson d "$XD_DISP" '.slot == 1 and .run_priority == 20 and .chain_call_actions == ["drop","pass"]
		and .dispatcher_prog_id == $d and .prog_name == "xdpverdict_comp2" and .source == "fexit"' "$c2"
	# each component's verdicts equal its own counts; comp2 saw only what comp1 passed on
	xv_jq --argjson f "$("$XV_COUNTS" "$XD_M1")" '.aborted == $f[0] and .drop == $f[1] and .pass == $f[2]
		and .tx == $f[3] and .redirect == $f[4] and .packets == 12' "$c1"
	xv_jq --argjson f "$("$XV_COUNTS" "$XD_M2")" '.aborted == $f[0] and .drop == $f[1] and .pass == $f[2]
		and .tx == $f[3] and .redirect == $f[4] and .packets == 8' "$c2"
	# chain decisions: comp1 returned its 4 DROPs and passed 8 on; comp2's
	# DROP and PASS both continue (after the last component: XDP_PASS)
	xv_jq '.chain_continued == 8 and .chain_returned == 4' "$c1"
	xv_jq '.chain_continued == 8 and .chain_returned == 0' "$c2"
	# the dispatcher itself: what the sender's traffic makes of it
	xv_jq '.source == "fexit" and .prog_name == "xdp_dispatcher" and .drop == 4 and .pass == 8 and .packets == 12' "$d"
	# the tool's trampolines are gone with it; xdp-loader's links stay
	local left
	for _ in $(seq 1 50); do
		left=$(bpftool link show -j | jq -c '[.[].id]')
		[ "$left" = "$links_before" ] && break
		sleep 0.2
	done
	assert_eq "$left" "$links_before" "BPF links after xdpverdict exited"
	# prom: one exposition, lint-clean, a series per component and verdict
	run "$B/xdpverdict" -N "$XV_NSA" -o prom -i 0.3
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$XV_TMP/out.prom"
	lint_clean "$XV_TMP/out.prom"
	assert_eq "$(grep -c "^bpfscope_xdpverdict_component_packets_total{.*dispatcher_prog_id=\"$XD_DISP\",slot=\"[01]\"" "$XV_TMP/out.prom")" 10 \
		"component_packets samples (2 components x 5 verdicts)"
	grep -q "^bpfscope_xdpverdict_chain_returned_total{.*slot=\"0\",prog_id=\"$XD_C1\"" "$XV_TMP/out.prom"
	grep -q "^bpfscope_xdpverdict_run_priority{.*slot=\"1\",prog_id=\"$XD_C2\".*} 20$" "$XV_TMP/out.prom"
	assert_eq "$(grep -v '^#' "$XV_TMP/out.prom" | sed 's/ [^ ]*$//' | sort | uniq -d)" "" "duplicate series"
	# xdp-loader unload --all: nothing of libxdp's left either
	local ifx
	ifx=$(ip -n "$XV_NSA" -j link show dev "$XV_DEVA" | jq '.[0].ifindex')
	xd_loader unload --all "$XV_DEVA"
	XD_LOADED=
	assert_eq "$(ip -n "$XV_NSA" -j link show dev "$XV_DEVA" | jq -c '.[0].xdp')" "null" "XDP after unload"
	for _ in $(seq 1 50); do
		left=$(bpftool link show -j | jq -c --argjson a "$XD_C1" --argjson b "$XD_C2" '[.[] | select(.prog_id == $a or .prog_id == $b)]')
		[ "$left" = "[]" ] && break
		sleep 0.2
	done
	assert_eq "$left" "[]" "components' links after unload"
	assert_eq "$(ls -d /sys/fs/bpf/xdp/dispatch-"$ifx"-* 2>/dev/null)" "" "libxdp pins after unload"
}

@test "xdpverdict [kernel 6.12]: libxdp dispatcher without fexit (--mechanism driver): components listed, counts null, the reason given" {
	xv_setup x2 xdpdrv
	if ! xd_load "$XD_COMP1" "$XD_COMP2"; then
		cat "$XV_TMP/loader.err" >&2
		has_fexit && false
		skip_because "libxdp cannot build its dispatcher on this kernel (freplace refused; see the next test)"
	fi
	xd_ids
	local out=$XV_TMP/out.json last c d
	xv_tool_start "$out" "$B/xdpverdict" -N "$XV_NSA" -o json -i 0.3 --mechanism driver
	xd_send
	kill -INT "$XV_TOOL_PID"
	wait "$XV_TOOL_PID"
	XV_TOOL_PID=
	last=$(tail -1 "$out")
	echo "$last" | jq -c . >&2
	for c in "$XD_C1" "$XD_C2"; do
		xv_jq '.source == "none" and .aborted == null and .drop == null and .pass == null and .tx == null
			and .redirect == null and .packets == null and .chain_continued == null and .chain_returned == null
			and (.note | test("fexit only"))' "$(xd_comp "$last" "$c")"
	done
	# the configuration is still known
	xv_jq '.slot == 0 and .run_priority == 10' "$(xd_comp "$last" "$XD_C1")"
	xv_jq '.note | test("dispatcher components not counted")' "$last"
	# the dispatcher keeps the counts of the mechanism in use (veth's driver counters)
	d=$(jq -c --argjson p "$XD_DISP" '.interfaces[] | select(.prog_id == $p)' <<<"$last")
	xv_jq '.source == "driver" and .drop == 4 and .pass == 8 and .packets == 12' "$d"
}

@test "xdpverdict [kernel]: xdp-loader where freplace is refused: two programs fail, one is attached alone, no components" {
	has_fexit && skip_because "BPF trampolines (freplace) work on this kernel: libxdp builds its dispatcher (tested above)"
	xv_setup x3 xdpdrv
	# observed on 6.18 without trampolines: libxdp's compatibility check
	# (an freplace program) fails with EPERM, and with two programs it
	# cannot fall back to loading one without a dispatcher
	run xd_load "$XD_COMP1" "$XD_COMP2"
	[ "$status" -ne 0 ]
	grep -q "Can't fall back to legacy load with 2 programs" "$XV_TMP/loader.err" || { cat "$XV_TMP/loader.err" >&2; false; }
	assert_eq "$(ip -n "$XV_NSA" -j link show dev "$XV_DEVA" | jq -c '.[0].xdp')" "null" "XDP after the failed load"
	# one program: loaded alone (libxdp's legacy mode), no dispatcher
	xd_load "$XD_COMP1" || { cat "$XV_TMP/loader.err" >&2; false; }
	local prog out=$XV_TMP/out.json last m
	prog=$(ip -n "$XV_NSA" -j link show dev "$XV_DEVA" | jq '.[0].xdp.prog.id')
	assert_eq "$(bpftool prog show id "$prog" -j | jq -r '.type + " " + .name')" "xdp xdpverdict_comp1" "the attached program"
	m=$(xd_map "$prog" c1_verdicts)
	xv_tool_start "$out" "$B/xdpverdict" -N "$XV_NSA" -o json -i 0.3
	xv_send 7101 4 && xv_send 7100 3
	for _ in $(seq 1 100); do [ "$("$XV_COUNTS" "$m")" = '[0,4,3,0,0,0]' ] && break; sleep 0.2; done
	sleep 0.5
	kill -INT "$XV_TOOL_PID"
	wait "$XV_TOOL_PID"
	XV_TOOL_PID=
	last=$(tail -1 "$out")
	echo "$last" | jq -c . >&2
	# one row, the program itself, counted like any XDP program; no components
	xv_jq --argjson p "$prog" '.interfaces | length == 1 and .[0].prog_id == $p
		and .[0].drop == 4 and .[0].pass == 3' "$last"
	xv_jq '(.components // []) | length == 0' "$last"
}
