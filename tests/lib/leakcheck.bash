# Leak checks ("a tool leaves nothing behind", DESIGN.md): snapshot the
# kernel's BPF objects, pins, XDP/TC attachments and kernel.bpf_stats_enabled,
# exercise a tool (short runs, signals at chosen moments, two instances,
# others' objects coming and going), then check that nothing of ours stayed.
# Source after helpers.bash.
#
#   lk_names OBJ.bpf.o...    names (programs, maps, internal .rodata/.bss/...
#                            maps) that count as "ours": LK_NAMES / LK_PFX
#   lk_snapshot DIR          ids, pins, stats, attachments (in LK_NETNS and the
#                            root namespace) before the runs
#   lk_check DIR             after the runs: waits up to LK_WAIT s for the
#                            kernel's asynchronous frees, then fails listing
#                            every leftover
#   lk_run STATUSES CMD...   one run; its exit status must be in STATUSES
#                            (space-separated); a crash is reported with CMD
#   lk_signal SIG WHEN CMD...  start CMD (long-running form), send SIG after
#                            WHEN seconds, or once it printed (WHEN=running)
#   lk_two CMD...            two instances at once, stopped by SIGINT
#   lk_churn CMD...          CMD runs while tailcalls_load --cycle and mkmaps
#                            load their objects and exit, LK_CHURN times each
#
# Attribution: other processes on this machine (other test runs, in other PID
# namespaces too) create and free BPF objects all the time, so a leftover is an
# object that (1) did not exist at lk_snapshot, (2) carries one of our names
# (the tool's BPF objects and the test loaders' fixtures, as the kernel
# truncates them: 15 characters), (3) is held by no file descriptor of any
# process we can see, and (4) is in use by nothing live: a program no link
# points at, a map no loaded program uses.  Leaked objects (the prog arrays of
# issue 12 among them) are exactly that: "held by no process's file
# descriptor, pinned nowhere and used by no program".  Such objects of a
# concurrent run vanish within LK_WAIT; ours do not.

LK_WAIT=${LK_WAIT:-6}
in_vm && LK_WAIT=20
LK_CHURN=${LK_CHURN:-4}
LK_RUN_MAX=${LK_RUN_MAX:-60}
in_vm && LK_RUN_MAX=300
LK_NETNS=()
LK_TMP=${BATS_TEST_TMPDIR:-/tmp}

# lk_names OBJ...: names from each object's BTF (FUNC = programs, VAR =
# maps and globals), truncated as the kernel stores them; LK_PFX: the internal
# maps libbpf names "<first 8 characters of the object name>.<section>".
lk_names() {
	local o base pfx=()
	LK_NAMES=$(for o in "$@"; do
		bpftool btf dump file "$o" 2>/dev/null | awk '$2 == "FUNC" || $2 == "VAR" {gsub("\047", "", $3); print substr($3, 1, 15)}'
	done | sort -u | jq -Rsc 'split("\n") | map(select(length > 0))')
	for o in "$@"; do
		base=$(basename "$o" .bpf.o)
		pfx+=("${base:0:8}" "${base}_bpf")
	done
	LK_PFX="^($(printf '%s\n' "${pfx[@]}" | cut -c1-8 | sort -u | paste -sd'|'))\\."
	[ "$LK_NAMES" != "[]" ] || { echo "lk_names: no names in $*" >&2; return 1; }
}

# Every bpffs mount, and everything in it.
_lk_pins() {
	local m
	for m in $(awk '$3 == "bpf" {print $2}' /proc/mounts | sort -u); do
		find "$m" -mindepth 1 2>/dev/null
	done | sort -u
}

# XDP and TC attachments in namespace NS ("" = ours): bpftool net, ip -d link
# (xdp lines) and tc filters on every device's clsact hooks.
_lk_net() {
	local ns=$1 ipn=() nse=() dev
	if [ -n "$ns" ]; then
		[ -e "/run/netns/$ns" ] || { echo "netns $ns gone"; return; }
		ipn=(-n "$ns") nse=(ip netns exec "$ns")
	fi
	echo "== netns ${ns:-root}"
	"${nse[@]}" bpftool net show 2>&1
	# device index and name, and its XDP lines; not its flags or state (a
	# peer coming up is not an attachment change)
	ip "${ipn[@]}" -d link show 2>/dev/null | awk '/^[0-9]+:/ {print $1, $2; next} /xdp/'
	for dev in $(ip "${ipn[@]}" -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}'); do
		tc "${ipn[@]}" filter show dev "$dev" ingress 2>/dev/null | sed "s/^/$dev ingress: /"
		tc "${ipn[@]}" filter show dev "$dev" egress 2>/dev/null | sed "s/^/$dev egress: /"
	done
}

_lk_net_all() {
	local ns
	_lk_net ""
	for ns in "${LK_NETNS[@]}"; do
		_lk_net "$ns"
	done
}

lk_snapshot() { # DIR
	local d=$1
	mkdir -p "$d"
	# ids only (BPF_*_GET_NEXT_ID): `bpftool map show` opens every map by id,
	# and opening a prog array whose owner just closed it leaks it in the
	# kernel (tests/lib/progarray_leak.c); a test must not cause what it checks
	local k
	for k in prog map link; do
		"$B/tests/bpfids" "$k" | jq -sc . >"$d/${k}s"
	done
	_lk_pins >"$d/pins"
	cat /proc/sys/kernel/bpf_stats_enabled >"$d/stats"
	_lk_net_all >"$d/net"
}

# Ids held by a file descriptor of a process visible here.
_lk_held() {
	grep -hs '^\(prog\|map\|link\)_id:' /proc/[0-9]*/fdinfo/* 2>/dev/null |
		awk '{sub(":", "", $1); print "{\"" $1 "\":" $2 "}"}' | jq -sc '
			{progs: [.[] | .prog_id // empty], maps: [.[] | .map_id // empty], links: [.[] | .link_id // empty]}'
}

# Leftovers now, one per line (empty: none).
_lk_leftovers() {
	local d=$1 progs maps links held pins p name
	progs=$(bpftool prog show -j) || return 0
	maps=$(bpftool map show -j) || return 0
	links=$(bpftool link show -j 2>/dev/null)
	[ -n "$links" ] || links='[]'
	held=$(_lk_held)
	jq -nr --argjson names "$LK_NAMES" --arg pfx "$LK_PFX" --argjson held "$held" \
		--argjson P "$progs" --argjson M "$maps" --argjson L "$links" \
		--slurpfile bp "$d/progs" --slurpfile bm "$d/maps" --slurpfile bl "$d/links" '
		def ours: (.name // "") as $n | ($names | index($n)) != null or ($n | test($pfx));
		def new($b): .id as $i | ($b[0] | index($i)) == null;
		([$L[].prog_id]) as $linked
		| ([$P[] | (.map_ids // [])[]]) as $used
		| ([$P[] | select(new($bp) and ours and ((.id as $i | $held.progs | index($i)) == null)
		           and ((.id as $i | $linked | index($i)) == null))]) as $lp
		| ([$lp[].id]) as $lpid
		| ($lp[] | "prog \(.id) \(.name) (\(.type); loaded \(.loaded_at // "?"); held by no fd, attached by no link)"),
		  ($M[] | select(new($bm) and ours and ((.id as $i | $held.maps | index($i)) == null)
		           and ((.id as $i | $used | index($i)) == null))
		   | "map \(.id) \(.name) (\(.type), max_entries \(.max_entries); held by no fd, used by no program)"),
		  ($L[] | select(new($bl) and ((.id as $i | $held.links | index($i)) == null)
		           and ((.prog_id as $i | $lpid | index($i)) != null
		                or ((.prog_id as $i | [$P[] | select(.id == $i) | select(ours)] | length) > 0)))
		   | "link \(.id) (\(.type), prog \(.prog_id); held by no fd)")'
	# new pins of objects with our names, or with a tool name in the path
	comm -13 "$d/pins" <(_lk_pins) | while read -r p; do
		[ -f "$p" ] || [ -L "$p" ] || continue
		name=$( { bpftool map show pinned "$p" -j || bpftool prog show pinned "$p" -j || bpftool link show pinned "$p" -j; } 2>/dev/null | jq -r '.name // .prog_id // ""')
		if jq -e --arg n "$name" --arg pfx "$LK_PFX" --argjson names "$LK_NAMES" \
			'($names | index($n)) != null or ($n | test($pfx))' <<<null >/dev/null ||
			[[ $p == *bpfscope* || $p =~ (mapstat|xdpverdict|tcpchrono|wbtstat|tailcalls|fibstat|tcverdict) ]]; then
			echo "pin $p ($name)"
		fi
	done
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = "$(cat "$d/stats")" ] ||
		echo "kernel.bpf_stats_enabled is $(cat /proc/sys/kernel/bpf_stats_enabled), was $(cat "$d/stats")"
	_lk_net_all >"$d/net.now"
	if ! cmp -s "$d/net" "$d/net.now"; then
		echo "XDP/TC attachments changed:"
		diff "$d/net" "$d/net.now" | sed 's/^/    /'
	fi
}

# "KIND ID" of every object that did not exist at the snapshot; opens nothing.
_lk_new_ids() { # DIR
	local d=$1 k
	for k in prog map link; do
		comm -13 <(jq -r '.[]' "$d/${k}s" | sort) <("$B/tests/bpfids" "$k" | sort) | sed "s/^/$k /"
	done
}

lk_check() { # DIR
	local d=$1 out prev i n=$((LK_WAIT * 2))
	# wait for the runs' objects to go, watching ids only (see lk_snapshot)
	for ((i = 0; i <= n; i++)); do
		[ -z "$(_lk_new_ids "$d")" ] && break
		sleep 0.5
	done
	# by now no prog array of the runs can be between its last close and its
	# slot clearing, so naming what is left with bpftool cannot leak it
	sleep 1
	out=$(_lk_leftovers "$d")
	[ -z "$out" ] && return 0
	# what stayed: found again a second later (another process's object in
	# transit, created and not yet held or used, is not)
	prev=$out
	sleep 1
	out=$(grep -Fxf <(printf '%s\n' "$prev") <(_lk_leftovers "$d"))
	[ -z "$out" ] && return 0
	echo "left behind (after ${LK_WAIT} s):" >&2
	printf '%s\n' "$out" | sed 's/^/  /' >&2
	return 1
}

# Start CMD in the background as a shell would start it in the foreground:
# bash starts background commands with SIGINT and SIGQUIT ignored, which would
# hide a Ctrl-C that comes before the tool installs its handler.
_lk_spawn() { # OUTBASE CMD...: the tool's pid in LK_SPAWNED
	local o=$1 i
	shift
	rm -f "$o.pid" "$o.rc"
	# a subshell waits for it and records its status: bash would otherwise
	# print "Killed" for every SIGKILLed run
	(
		exec 2>/dev/null
		env --default-signal=INT,QUIT "$@" >"$o.out" 2>"$o.err" 3>&- &
		echo $! >"$o.pid"
		wait $!
		echo $? >"$o.rc"
	) 3>&- &
	LK_WAITER=$!
	for ((i = 0; i < 1000; i++)); do
		[ -s "$o.pid" ] && break
		sleep 0.001
	done
	LK_SPAWNED=$(cat "$o.pid")
}

# _lk_reap PID OUTBASE: the exit status of a tool started by _lk_spawn, at
# most LK_EXIT_WAIT s after it was told to stop; a tool still running then is
# killed and reported (status 124).
LK_EXIT_WAIT=${LK_EXIT_WAIT:-10}
in_vm && LK_EXIT_WAIT=60
_lk_reap() { # PID OUTBASE
	local i
	for ((i = 0; i < LK_EXIT_WAIT * 20; i++)); do
		[ -s "$2.rc" ] && break
		sleep 0.05
	done
	if [ ! -s "$2.rc" ]; then
		kill -KILL "$1" 2>/dev/null
		for ((i = 0; i < 100; i++)); do [ -s "$2.rc" ] && break; sleep 0.05; done
		echo "still running ${LK_EXIT_WAIT} s after the signal (killed)" >&2
		return 124
	fi
	return "$(cat "$2.rc")"
}

# lk_run "STATUSES" CMD...: one run in the foreground; its status must be one of STATUSES.
lk_run() {
	local ok=$1 st=0
	shift
	timeout -k 5 "${LK_RUN_MAX:-60}" "$@" >"$LK_TMP/lk.out" 2>"$LK_TMP/lk.err" 3>&- || st=$?
	_lk_status_ok "$st" "$ok" "$*"
}

_lk_status_ok() { # STATUS "ALLOWED..." WHAT
	local s
	for s in $2; do
		[ "$1" = "$s" ] && return 0
	done
	echo "exit status $1 (allowed: $2) from: $3" >&2
	[ "$1" -gt 128 ] 2>/dev/null && echo "  (killed by signal $(($1 - 128)): $(kill -l $(($1 - 128)) 2>/dev/null))" >&2
	sed 's/^/  stderr: /' "$LK_TMP/lk.err" 2>/dev/null | tail -20 >&2
	return 1
}

# Wait until FILE has a line (the tool is loaded, attached and printing), max ~S s.
_lk_wait_output() { # PID FILE S
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		[ -s "$2" ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# lk_signal SIG WHEN CMD...: WHEN is seconds after start, or "running" (once it
# printed its first output, then 0.2 s more).  SIGINT/SIGTERM: the tool exits
# 0, or 128+SIG when the signal came before its handlers were installed;
# SIGKILL: 137.  Anything else (a crash) fails.
lk_signal() {
	local sig=$1 when=$2 pid st=0 n ok
	shift 2
	n=$(kill -l "$sig")
	_lk_spawn "$LK_TMP/lk" "$@"
	pid=$LK_SPAWNED
	if [ "$when" = running ]; then
		local max=30
		in_vm && max=120
		_lk_wait_output "$pid" "$LK_TMP/lk.out" $max || {
			kill -KILL "$pid" 2>/dev/null; _lk_reap "$pid" "$LK_TMP/lk" || st=$?
			echo "$* printed nothing before SIG$sig (status $st)" >&2
			sed 's/^/  stderr: /' "$LK_TMP/lk.err" >&2
			return 1
		}
		sleep 0.2
		ok="0"
	else
		sleep "$when"
		ok="0 $((128 + n))"
	fi
	[ "$sig" = KILL ] && ok=137
	# a one-shot run (tailcalls' graph) may be done before the signal,
	# including between this check and the kill (LK_ONESHOT=1)
	[ -s "$LK_TMP/lk.rc" ] && ok="0"
	[ -n "${LK_ONESHOT:-}" ] && ok="$ok 0"
	kill -"$sig" "$pid" 2>/dev/null
	_lk_reap "$pid" "$LK_TMP/lk" || st=$?
	_lk_status_ok "$st" "$ok" "$* (SIG$sig after $when)"
}

# lk_signals CMD...: SIGINT, SIGTERM and SIGKILL at each of LK_MOMENTS.
LK_MOMENTS=${LK_MOMENTS:-"0.005 0.02 0.05 0.1 running"}
lk_signals() {
	local sig when rc=0
	for sig in INT TERM KILL; do
		for when in $LK_MOMENTS; do
			lk_signal "$sig" "$when" "$@" || rc=1
		done
	done
	return $rc
}

# lk_two CMD...: two instances at once; both print, both exit 0 on SIGINT.
lk_two() {
	local p1 p2 s1=0 s2=0
	_lk_spawn "$LK_TMP/lk1" "$@"
	p1=$LK_SPAWNED
	_lk_spawn "$LK_TMP/lk2" "$@"
	p2=$LK_SPAWNED
	_lk_wait_output "$p1" "$LK_TMP/lk1.out" 60 && _lk_wait_output "$p2" "$LK_TMP/lk2.out" 60 ||
		echo "two instances of $*: one printed nothing: $(cat "$LK_TMP/lk1.err" "$LK_TMP/lk2.err")" >&2
	sleep 0.3
	kill -INT "$p1" "$p2" 2>/dev/null
	_lk_reap "$p1" "$LK_TMP/lk1" || s1=$?
	_lk_reap "$p2" "$LK_TMP/lk2" || s2=$?
	[ "$s1" = 0 ] && [ "$s2" = 0 ] && return 0
	echo "two instances of $*: exit statuses $s1 and $s2" >&2
	cat "$LK_TMP/lk1.err" "$LK_TMP/lk2.err" | sed 's/^/  stderr: /' >&2
	return 1
}

# Start LOADER (tailcalls_load --cycle or mkmaps), wait until it has loaded
# everything (it printed its ids), then let it exit (SIGTERM).
_lk_loader_cycle() { # tailcalls|mkmaps
	local pid i out=$LK_TMP/loader.json
	rm -f "$out"
	case $1 in
	tailcalls) "$B/tests/tailcalls_load" --cycle >"$out" 2>"$LK_TMP/loader.err" 3>&- & ;;
	mkmaps) "$B/tests/mkmaps" "$out" "$B/fixtures/mapstat_ringbuf.bpf.o" 1000 2>"$LK_TMP/loader.err" 3>&- & ;;
	esac
	pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q '}' "$out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	sleep 0.1
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# lk_churn CMD...: CMD (long-running form) runs while the loaders load their
# pipelines and maps and exit, LK_CHURN times each; then SIGINT, status 0.
lk_churn() {
	local pid st=0 k
	_lk_spawn "$LK_TMP/lkc" "$@"
	pid=$LK_SPAWNED
	_lk_wait_output "$pid" "$LK_TMP/lkc.out" 60 || {
		kill -KILL "$pid" 2>/dev/null; _lk_reap "$pid" "$LK_TMP/lkc" || st=$?
		echo "$* printed nothing (status $st): $(cat "$LK_TMP/lkc.err")" >&2
		return 1
	}
	for ((k = 0; k < LK_CHURN; k++)); do
		_lk_loader_cycle tailcalls
		_lk_loader_cycle mkmaps
	done
	sleep 0.2
	kill -INT "$pid" 2>/dev/null
	_lk_reap "$pid" "$LK_TMP/lkc" || st=$?
	[ "$st" = 0 ] && return 0
	echo "$* while others' objects came and went: exit status $st" >&2
	sed 's/^/  stderr: /' "$LK_TMP/lkc.err" >&2
	return 1
}

# The names that count as ours for TOOL: every bpfscope object (the tools'
# and the shared engine's) and the loaders' fixtures.
lk_names_for_tests() {
	lk_names "$B"/*.bpf.o "$B"/fixtures/tailcalls_*.bpf.o "$B/fixtures/mapstat_ringbuf.bpf.o"
}
