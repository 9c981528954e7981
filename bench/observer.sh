#!/usr/bin/env bash
# Observer-effect bench: what each tool costs the machine, on the workloads it observes and on
# those it does not.  Five standard workloads, each set up once with unique names (prefix obs):
#   dd   syscall-bound loop: dd if=/dev/zero of=/dev/null bs=1 count=N (op = one byte: a read + a write)
#   tcp  TCP connect / 1 KiB / close churn on loopback in a private netns (tests/lib/tcpchrono_pair;
#        op = one connection)
#   fwd  UDP forwarding C -> router R -> 2-way ECMP -> 2 sinks over veth, 64 UDP flows of 64-byte
#        payloads, sender unpaced (tests/lib/udpflows; op = one packet R forwarded)
#   wbt  buffered writes (dd bs=1M + fsync) to ext4 on a loop device with wbt (target 2000 us),
#        the loop device's own dirty limit 8 MiB (bdi max_bytes, strict_limit; op = one MiB written)
#   xdp  UDP to a veth whose native XDP program (the xdpverdict fixture) drops it (op = one XDP_DROP)
# For every tool, each round runs all workloads without the tool (baseline) and with it running
# in its default mode, output printed to a file (mapstat -i 1, xdpverdict -N <veth netns> -i 1,
# tcpchrono, wbtstat -d <loop> -i 1, tailcalls -i 1, fibstat -N <router netns> -i 1); rounds
# alternate which side goes first and the order of the tools.  ratio = rate with / rate of the
# same round's baseline (1.00: no cost; 0.97: 3% slower); medians and min-max over rounds.
# The kernel's BPF statistics cost every BPF program two clock reads per run (tens of ns: more
# than some tools' programs), so the timed runs of both sides run with them off; with the tool
# running, each workload runs a second time with kernel.bpf_stats_enabled=1 (restored on exit),
# which gives, for the tool's own programs (the prog ids its process holds, from
# /proc/PID/fdinfo), runs and run time per workload op; an idle interval with the tool
# running (statistics on) gives its background rate (timers, other jobs on the machine).
#
#   bench/observer.sh     OBS_ROUNDS (5), OBS_SECS (1), OBS_DD_COUNT (1500000), OBS_WBT_MB (256),
#                         OBS_IDLE_SECS (1), OBS_TOOLS, OBS_WORKLOADS (space-separated subsets)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
B=${B:-$PWD/build}
ROUNDS=${OBS_ROUNDS:-5}
SECS=${OBS_SECS:-1}
DD_COUNT=${OBS_DD_COUNT:-1500000}
WBT_MB=${OBS_WBT_MB:-256}
IDLE_SECS=${OBS_IDLE_SECS:-1}
read -r -a TOOLS <<<"${OBS_TOOLS:-mapstat xdpverdict tcpchrono wbtstat tailcalls fibstat tcverdict}"
read -r -a WORKLOADS <<<"${OBS_WORKLOADS:-dd tcp fwd wbt xdp}"

[ "$(id -u)" -eq 0 ] || { echo "observer bench: needs root" >&2; exit 3; }
for t in "${TOOLS[@]}"; do
	[ -x "$B/$t" ] || { echo "observer bench: build first (make all testbins): no $B/$t" >&2; exit 1; }
done
for h in tcpchrono_pair udpflows xdpverdict_counts; do
	[ -x "$B/tests/$h" ] || { echo "observer bench: build first (make all testbins): no $B/tests/$h" >&2; exit 1; }
done

# The workloads each tool observes (the others must cost nothing: target <= 1%, no BPF run;
# observed: target <= 3%).  mapstat and tailcalls hook no data path: the XDP workload is theirs
# because its program and maps are what they report.
declare -A OBSERVES=([mapstat]="xdp" [xdpverdict]="xdp" [tcpchrono]="tcp" [wbtstat]="wbt"
	[tailcalls]="xdp" [fibstat]="fwd")
observes() { [[ " ${OBSERVES[$1]:-} " == *" $2 "* ]]; }

T=$$
WS=$(mktemp -d /tmp/obsbench.XXXXXX) || exit 1
NS_TCP=obst$T NS_C=obsc$T NS_R=obsr$T NS_S1=obss1$T NS_S2=obss2$T NS_XA=obsxa$T NS_XB=obsxb$T
XDEV_A=obsxa$T XDEV_B=obsxb$T
LOOP= DEV= IMG= TOOLPID= SINKS=()
declare -A saved

# the loop device's own dirty limit (per-bdi max_bytes + strict_limit) makes balance_dirty_pages()
# throttle its writer at 8 MiB dirty whatever other jobs on the machine dirty: no vm.dirty_* change
BDI=
restore_bdi() {
	[ -n "$BDI" ] && [ -n "${saved[bdi_ratio]:-}" ] || return 0
	echo "${saved[bdi_strict]}" >"$BDI/strict_limit"
	echo "${saved[bdi_ratio]}" >"$BDI/max_ratio_fine"
}

cleanup() {
	local pid ns
	trap - EXIT INT TERM
	if [ -n "$TOOLPID" ]; then
		kill -INT "$TOOLPID" 2>/dev/null
		sleep 0.5
		kill -KILL "$TOOLPID" 2>/dev/null
		wait "$TOOLPID" 2>/dev/null
	fi
	for pid in "${SINKS[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	[ -n "${saved[bpf_stats]:-}" ] && echo "${saved[bpf_stats]}" >/proc/sys/kernel/bpf_stats_enabled
	restore_bdi
	mountpoint -q "$WS/mnt" 2>/dev/null && umount "$WS/mnt"
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	[ -n "$IMG" ] && rm -f "$IMG"
	for ns in "$NS_TCP" "$NS_C" "$NS_R" "$NS_S1" "$NS_S2" "$NS_XA" "$NS_XB"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$WS"
}
trap cleanup EXIT
trap 'echo "observer bench: interrupted" >&2; exit 130' INT TERM

saved[bpf_stats]=$(cat /proc/sys/kernel/bpf_stats_enabled)
stats() { echo "$1" >/proc/sys/kernel/bpf_stats_enabled; }
stats 0

# ---- workloads: setup_W builds the scenario (non-zero: the workload is skipped);
# ---- run_W runs it once and prints "OPS SECONDS"

setup_dd() { :; }
run_dd() {
	local ms
	ms=$(wall_ms dd if=/dev/zero of=/dev/null bs=1 count="$DD_COUNT") || return 1
	echo "$DD_COUNT $(awk -v m="$ms" 'BEGIN { print m / 1000 }')"
}

setup_tcp() {
	ip netns add "$NS_TCP" || return 1
	ip -n "$NS_TCP" link set lo up
	ip netns exec "$NS_TCP" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
}
run_tcp() {
	local out
	out=$(ip netns exec "$NS_TCP" "$B/tests/tcpchrono_pair" --churn "$SECS") || return 1
	jq -r '"\(.conns) \(.seconds)"' <<<"$out"
}

setup_fwd() {
	local ns k
	for ns in "$NS_C" "$NS_R" "$NS_S1" "$NS_S2"; do
		ip netns add "$ns" || return 1
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 1
		ip -n "$ns" link set lo up
	done
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 || return 1
	ip -n "$NS_R" -batch - <<-EOF || return 1
		link add r0 address 02:00:00:0f:00:01 type veth peer name c0 address 02:00:00:0f:00:02 netns $NS_C
		addr add 10.201.0.1/24 dev r0
		link set r0 up
		neigh replace 10.201.0.2 lladdr 02:00:00:0f:00:02 dev r0 nud permanent
		link add r1 address 02:00:00:0f:01:01 type veth peer name s0 address 02:00:00:0f:01:02 netns $NS_S1
		addr add 10.201.1.1/24 dev r1
		link set r1 up
		neigh replace 10.201.1.2 lladdr 02:00:00:0f:01:02 dev r1 nud permanent
		link add r2 address 02:00:00:0f:02:01 type veth peer name s0 address 02:00:00:0f:02:02 netns $NS_S2
		addr add 10.201.2.1/24 dev r2
		link set r2 up
		neigh replace 10.201.2.2 lladdr 02:00:00:0f:02:02 dev r2 nud permanent
		route add 10.202.0.0/24 nexthop via 10.201.1.2 dev r1 weight 1 nexthop via 10.201.2.2 dev r2 weight 1
	EOF
	ip -n "$NS_C" -batch - <<-EOF || return 1
		addr add 10.201.0.2/24 dev c0
		link set c0 up
		neigh replace 10.201.0.1 lladdr 02:00:00:0f:00:01 dev c0 nud permanent
		route add default via 10.201.0.1 dev c0
	EOF
	for k in 1 2; do
		ns=$NS_S1
		[ "$k" = 2 ] && ns=$NS_S2
		ip -n "$ns" -batch - <<-EOF || return 1
			addr add 10.201.$k.2/24 dev s0
			addr add 10.202.0.1/32 dev lo
			link set s0 up
			neigh replace 10.201.$k.1 lladdr 02:00:00:0f:0$k:01 dev s0 nud permanent
			route add default via 10.201.$k.1 dev s0
		EOF
		# a sink for the whole run (so nothing goes back as ICMP port unreachable)
		ip netns exec "$ns" "$B/tests/udpflows" sink --bind 10.202.0.1 --port 5001 --no-list \
			--ready "$WS/sink$k.ready" >/dev/null 2>"$WS/sink$k.err" &
		SINKS+=($!)
	done
	for k in 1 2; do
		for _ in $(seq 1 100); do [ -e "$WS/sink$k.ready" ] && break; sleep 0.05; done
		[ -e "$WS/sink$k.ready" ] || { echo "fwd: sink $k did not start: $(cat "$WS/sink$k.err")" >&2; return 1; }
	done
}
fwd_packets() {
	ip -n "$NS_R" -s -j link show | jq '[.[] | select(.ifname | test("^r[12]$")) | .stats64.tx.packets] | add'
}
run_fwd() {
	local before after out
	before=$(fwd_packets) || return 1
	out=$(ip netns exec "$NS_C" "$B/tests/udpflows" send --src 10.201.0.2 --dst 10.202.0.1 --dport 5001 \
		--sport-base 40000 --flows 64 --duration "$SECS" --rate 0 --size 64) || return 1
	after=$(fwd_packets) || return 1
	echo "$((after - before)) $(jq .seconds <<<"$out")"
}

setup_wbt() {
	IMG=$(mktemp /dev/shm/obsbench.XXXXXX) || return 1 # memory-backed: the run does not wait on the shared disk
	truncate -s 2G "$IMG" || return 1
	LOOP=$(losetup -f --show "$IMG") || { LOOP=; return 1; }
	DEV=${LOOP#/dev/}
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP" || return 1
	mkdir -p "$WS/mnt"
	mount -o noatime "$LOOP" "$WS/mnt" || return 1
	echo 2000 >"/sys/block/$DEV/queue/wbt_lat_usec" || return 1
	BDI=/sys/class/bdi/$(cat "/sys/block/$DEV/dev")
	saved[bdi_strict]=$(cat "$BDI/strict_limit") || return 1
	saved[bdi_ratio]=$(cat "$BDI/max_ratio_fine") || return 1
	echo $((8 << 20)) >"$BDI/max_bytes" && echo 1 >"$BDI/strict_limit"
}
run_wbt() {
	local ms
	ms=$(wall_ms dd if=/dev/zero of="$WS/mnt/f" bs=1M count="$WBT_MB" conv=fsync status=none)
	rm -f "$WS/mnt/f"
	sync -f "$WS/mnt"
	echo "$WBT_MB $(awk -v m="$ms" 'BEGIN { print m / 1000 }')"
}

XDP_VERDICTS=
setup_xdp() {
	local ns prog id
	for ns in "$NS_XA" "$NS_XB"; do
		ip netns add "$ns" || return 1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 1
		ip -n "$ns" link set lo up
	done
	ip link add "$XDEV_A" netns "$NS_XA" type veth peer name "$XDEV_B" netns "$NS_XB" || return 1
	ip -n "$NS_XA" link set "$XDEV_A" address 02:00:00:0e:00:01
	ip -n "$NS_XB" link set "$XDEV_B" address 02:00:00:0e:00:02
	ip -n "$NS_XA" addr add 10.203.0.1/24 dev "$XDEV_A"
	ip -n "$NS_XB" addr add 10.203.0.2/24 dev "$XDEV_B"
	ip -n "$NS_XA" link set "$XDEV_A" arp off up
	ip -n "$NS_XB" link set "$XDEV_B" arp off up
	ip -n "$NS_XB" neigh replace 10.203.0.1 lladdr 02:00:00:0e:00:01 dev "$XDEV_B" nud permanent
	ip -n "$NS_XB" link set dev "$XDEV_B" xdpdrv obj "$B/fixtures/xdpverdict_pass.bpf.o" sec xdp || return 1
	ip -n "$NS_XA" link set dev "$XDEV_A" xdpdrv obj "$B/fixtures/xdpverdict_fixture.bpf.o" sec xdp || return 1
	prog=$(ip -n "$NS_XA" -j -d link show dev "$XDEV_A" | jq -r '.[0].xdp.prog.id // .[0].xdp.attached[0].prog.id')
	for id in $(bpftool prog show id "$prog" -j | jq -r '.map_ids[]'); do
		[ "$(bpftool map show id "$id" -j | jq -r .name)" = fx_verdicts ] && XDP_VERDICTS=$id
	done
	[ -n "$XDP_VERDICTS" ]
}
xdp_drops() { "$B/tests/xdpverdict_counts" "$XDP_VERDICTS" | jq '.[1]'; }
run_xdp() {
	local before after out
	before=$(xdp_drops) || return 1
	# port 7001: the fixture's XDP_DROP
	out=$(ip netns exec "$NS_XB" "$B/tests/udpflows" send --dst 10.203.0.1 --dport 7001 --sport-base 40000 \
		--flows 8 --duration "$SECS" --rate 0 --size 64) || return 1
	sleep 0.05
	after=$(xdp_drops) || return 1
	echo "$((after - before)) $(jq .seconds <<<"$out")"
}

wl_label() {
	case $1 in
	dd) echo "dd bs=1 to /dev/null" ;;
	tcp) echo "TCP connect/1KiB/close" ;;
	fwd) echo "UDP forwarding via netns" ;;
	wbt) echo "buffered writes, wbt loop" ;;
	xdp) echo "XDP_DROP on veth" ;;
	idle) echo "idle (tool running)" ;;
	esac
}
wl_op() {
	case $1 in
	dd) echo "byte" ;; tcp) echo "conn" ;; fwd) echo "pkt" ;; wbt) echo "MiB" ;; xdp) echo "pkt" ;; idle) echo "s" ;;
	esac
}

# ---- tools

tool_cmd() {
	case $1 in
	mapstat) echo "$B/mapstat -i 1" ;;
	xdpverdict) echo "$B/xdpverdict -N $NS_XA -i 1" ;;
	tcpchrono) echo "$B/tcpchrono" ;;
	wbtstat) echo "$B/wbtstat -d ${DEV:-loop0} -i 1" ;;
	tailcalls) echo "$B/tailcalls -i 1" ;;
	fibstat) echo "$B/fibstat -N $NS_R -i 1" ;;
	tcverdict) echo "$B/tcverdict --all-netns -i 1" ;;
	esac
}

# prog ids the process holds: program fds and link fds (from fdinfo)
held_prog_ids() { # PID
	local fd
	for fd in /proc/"$1"/fd/*; do
		case $(readlink "$fd" 2>/dev/null) in
		anon_inode:bpf-prog | anon_inode:bpf_link | anon_inode:bpf-link)
			awk '$1 == "prog_id:" { print $2 }' "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null ;;
		esac
	done | sort -un | paste -sd, -
}

TOOL_IDS=
start_tool() { # TOOL
	local out=$WS/$1.out i n
	# shellcheck disable=SC2046
	$(tool_cmd "$1") >"$out" 2>"$WS/$1.err" &
	TOOLPID=$!
	# started: first output printed, or (tools that print only on events) programs held for 1 s
	for ((i = 0; i < 300; i++)); do
		kill -0 "$TOOLPID" 2>/dev/null || { wait "$TOOLPID"; TOOLPID=; return 1; }
		[ -s "$out" ] && break
		if [ "$i" -ge 10 ] && [ -n "$(held_prog_ids "$TOOLPID")" ]; then break; fi
		sleep 0.1
	done
	sleep 0.3
	kill -0 "$TOOLPID" 2>/dev/null || { wait "$TOOLPID"; TOOLPID=; return 1; }
	TOOL_IDS=$(held_prog_ids "$TOOLPID")
	TOOL_CPU0=$(awk '{ print $14 + $15 }' "/proc/$TOOLPID/stat")
	TOOL_T0=$(date +%s.%N)
}
stop_tool() { # TOOL
	local i cpu1 t1
	[ -n "$TOOLPID" ] || return 0
	cpu1=$(awk '{ print $14 + $15 }' "/proc/$TOOLPID/stat" 2>/dev/null)
	t1=$(date +%s.%N)
	TOOL_CPU_PCT=$(awk -v a="$TOOL_CPU0" -v b="${cpu1:-$TOOL_CPU0}" -v hz="$(getconf CLK_TCK)" -v t0="$TOOL_T0" \
		-v t1="$t1" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / (t1 - t0) }')
	kill -INT "$TOOLPID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$TOOLPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$TOOLPID" 2>/dev/null && { echo "$1 did not exit on SIGINT in 5 s: SIGKILL" >&2; kill -KILL "$TOOLPID"; }
	wait "$TOOLPID" 2>/dev/null
	TOOL_RC=$?
	TOOLPID=
}

# Where each program sits, from the section of its function in build/*.bpf.o (kernel names are the
# first 15 characters): "periodic" (iterators, which run inside the tool's own reads at each
# interval, and the perf_event sampler, which runs on a timer), or "path" (a hook on a kernel path:
# tracepoints, raw tracepoints, XDP, ...).  Unknown names count as path.
declare -A PKIND
while read -r fn sec; do
	case $sec in
	iter/* | iter.s/* | perf_event*) PKIND[${fn:0:15}]=periodic ;;
	*) PKIND[${fn:0:15}]=path ;;
	esac
done < <(for o in "$B"/*.bpf.o; do
	readelf -SW "$o" | sed -n 's/^ *\[ *\([0-9]*\)\] \([^ ]*\) .*/\1 \2/p' >"$WS/secs"
	readelf -sW "$o" | awk 'NR == FNR { s[$1] = $2; next } $4 == "FUNC" && ($7 in s) { print $8, s[$7] }' "$WS/secs" -
done)
pkind() { echo "${PKIND[$1]:-path}"; }

# "id name run_cnt run_time_ns" per program in the comma list $1
prog_snap() {
	[ -n "$1" ] || return 0
	bpftool prog show -j 2>/dev/null | jq -r --argjson ids "[$1]" \
		'.[] | select(.id as $i | $ids | index($i)) | "\(.id) \(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"'
}
# differences of two snapshots: "name runs ns" per program (all of the tool's programs, 0 included)
prog_delta() { # BEFORE AFTER
	awk 'NR == FNR { c[$1] = $3; n[$1] = $4; next } { print $2, $3 - c[$1], $4 - n[$1] }' \
		<(printf '%s\n' "$1" | grep .) <(printf '%s\n' "$2" | grep .)
}

declare -A base_r tool_r ratios bcnt bns bcntp bnsp bops bsecs pcnt pns cpu_pct mech
declare -A wl_ok
RAW=$WS/raw.txt
: >"$RAW"

add() { # KEY VALUE (into assoc array named by $3)
	local -n arr=$3
	arr[$1]=$(awk -v a="${arr[$1]:-0}" -v b="$2" 'BEGIN { printf "%.0f", a + b }')
}

# add a prog_delta to KEY: all programs (bcnt, bns), path programs only (pcnt_path, pns_path),
# and per program (pcnt, pns under KEY,NAME)
account() { # KEY DELTA
	local key=$1 name c n sc=0 sn=0 pc=0 pn=0
	while read -r name c n; do
		[ -n "$name" ] || continue
		sc=$((sc + c)) sn=$((sn + n))
		if [ "$(pkind "$name")" = path ]; then pc=$((pc + c)) pn=$((pn + n)); fi
		add "$key,$name" "$c" pcnt
		add "$key,$name" "$n" pns
	done <<<"$2"
	add "$key" "$sc" bcnt
	add "$key" "$sn" bns
	add "$key" "$pc" bcntp
	add "$key" "$pn" bnsp
}

# one phase: every workload once (with the tool running: BPF statistics around each, plus idle)
phase() { # TOOL|none ROUND
	local t=$1 r=$2 w res ops secs rate s0 s1 d key
	for w in "${WORKLOADS[@]}"; do
		[ -n "${wl_ok[$w]:-}" ] || continue
		res=$("run_$w") || { echo "  round $r $t $w: run failed" >>"$RAW"; continue; }
		read -r ops secs <<<"$res"
		rate=$(awk -v o="$ops" -v s="$secs" 'BEGIN { if (s > 0) printf "%.1f", o / s; else print 0 }')
		if [ "$t" = none ]; then
			CUR_BASE[$w]=$rate
			echo "  round $r baseline $w: $ops ops in $secs s = $rate/s" >>"$RAW"
			continue
		fi
		CUR_TOOL[$w]=$rate
		# the same workload again with the statistics on: the tool's programs
		# (programs loaded since the start count too)
		TOOL_IDS=$(printf "%s,%s" "$TOOL_IDS" "$(held_prog_ids "$TOOLPID")" | tr , "\n" | grep . | sort -un | paste -sd, -)
		stats 1
		s0=$(prog_snap "$TOOL_IDS")
		res=$("run_$w") || { stats 0; echo "  round $r $t $w: statistics run failed" >>"$RAW"; continue; }
		s1=$(prog_snap "$TOOL_IDS")
		stats 0
		read -r ops secs <<<"$res"
		key="$t,$w"
		add "$key" "$ops" bops
		bsecs[$key]=$(awk -v a="${bsecs[$key]:-0}" -v b="$secs" 'BEGIN { print a + b }')
		d=$(prog_delta "$s0" "$s1")
		account "$key" "$d"
		echo "  round $r $t $w: $rate/s (statistics off); with statistics: $ops ops in $secs s, BPF runs, ns: $(tr '\n' ';' <<<"$d")" >>"$RAW"
	done
	if [ "$t" != none ]; then
		key="$t,idle"
		stats 1
		s0=$(prog_snap "$TOOL_IDS")
		sleep "$IDLE_SECS"
		s1=$(prog_snap "$TOOL_IDS")
		stats 0
		d=$(prog_delta "$s0" "$s1")
		add "$key" "$IDLE_SECS" bops
		bsecs[$key]=$(awk -v a="${bsecs[$key]:-0}" -v b="$IDLE_SECS" 'BEGIN { print a + b }')
		account "$key" "$d"
		echo "  round $r $t idle ${IDLE_SECS}s: BPF runs, ns: $(tr '\n' ';' <<<"$d")" >>"$RAW"
	fi
}

START=$(date +%s)
echo "# observer-effect benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  kernel $(uname -r)  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $ROUNDS rounds; runs of ${SECS}s (dd: $DD_COUNT bytes; wbt: $WBT_MB MiB + fsync); idle interval ${IDLE_SECS}s"
for w in "${WORKLOADS[@]}"; do
	if "setup_$w" >>"$RAW" 2>&1 && "run_$w" >/dev/null 2>>"$RAW"; then # set up, and one warm-up run
		wl_ok[$w]=1
	else
		echo "# workload $w: could not be set up; skipped (see the log below)"
	fi
done
echo "# scenarios: tcp in netns $NS_TCP; fwd $NS_C -> $NS_R (ECMP r1/r2) -> $NS_S1/$NS_S2; wbt ext4 on $DEV (over $IMG);"
echo "#            xdp $NS_XB -> $XDEV_A (fixture XDP_DROP, native) in $NS_XA"

declare -A CUR_BASE CUR_TOOL tool_failed
ntools=${#TOOLS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	for ((i = 0; i < ntools; i++)); do
		t=${TOOLS[$(((i + r - 1) % ntools))]}
		[ -n "${tool_failed[$t]:-}" ] && continue
		CUR_BASE=() CUR_TOOL=()
		for side in first second; do
			if { [ "$side" = first ] && ((r % 2)); } || { [ "$side" = second ] && ! ((r % 2)); }; then
				phase none "$r"
				continue
			fi
			if ! start_tool "$t"; then
				echo "  round $r: $t did not start: $(head -c 300 "$WS/$t.err")" >>"$RAW"
				tool_failed[$t]="did not start: $(head -1 "$WS/$t.err")"
				break
			fi
			[ -z "${mech[$t]:-}" ] && mech[$t]="ids $TOOL_IDS: $(bpftool prog show -j | jq -r --argjson ids "[${TOOL_IDS:-0}]" \
				'[.[] | select(.id as $i | $ids | index($i)) | "\(.name) (\(.type))"] | join(", ")')"
			phase "$t" "$r"
			stop_tool "$t"
			cpu_pct[$t]+="$TOOL_CPU_PCT "
			[ "$r" = 1 ] && { head -c 2000 "$WS/$t.out" | head -8 >"$WS/$t.first"; }
			echo "  round $r $t: exit $TOOL_RC, output $(wc -l <"$WS/$t.out") lines / $(wc -c <"$WS/$t.out") bytes, CPU $TOOL_CPU_PCT%" >>"$RAW"
		done
		for w in "${!CUR_TOOL[@]}"; do
			[ -n "${CUR_BASE[$w]:-}" ] || continue
			base_r[$t,$w]+="${CUR_BASE[$w]} "
			tool_r[$t,$w]+="${CUR_TOOL[$w]} "
			ratios[$t,$w]+="$(awk -v a="${CUR_TOOL[$w]}" -v b="${CUR_BASE[$w]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }') "
		done
	done
done
END=$(date +%s)

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
minmax() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.2f-%.2f", a, b }'; }
# spread of a list: (max - min) / median, in percent
spread() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; if (m > 0) printf "%.0f%%", 100 * (v[NR] - v[1]) / m; else print "-" }'; }

echo "# took $((END - START)) s"
echo
echo "## 1. ratio (rate with the tool / baseline of the same round) and the tool's BPF programs (kernel statistics)"
echo "# obs *: a workload the tool observes (target: cost <= 3%); otherwise target: <= 1% and none of its programs runs"
echo "# base/s: median baseline rate (ops/s); noise: (max - min) / median of the baselines; ratio: median, range over rounds"
echo "# runs/op, ns/run, ns/op: the tool's programs on kernel paths (hooks), per workload op, summed over its rounds;"
echo "#   share: ns/op against the baseline time per op (1 / base/s), the cost without the machine's noise;"
echo "#   bg/op: what the same programs' rate in the idle interval (other jobs on the machine) predicts per op."
echo "#   Periodic programs (iterators run by the tool's own reads, the perf_event sampler) are in section 2."
printf '%-10s %-4s %3s %10s %5s %7s %10s %9s %6s %9s %7s %9s  %s\n' tool wl obs base/s noise ratio range runs/op \
	ns/run ns/op share bg/op verdict
declare -A VERDICT
for t in "${TOOLS[@]}"; do
	if [ -n "${tool_failed[$t]:-}" ]; then
		echo "$t: ${tool_failed[$t]}"
		continue
	fi
	idle_rate=$(awk -v c="${bcntp[$t,idle]:-0}" -v s="${bsecs[$t,idle]:-0}" 'BEGIN { if (s > 0) print c / s; else print 0 }')
	for w in "${WORKLOADS[@]}"; do
		key="$t,$w"
		[ -n "${ratios[$key]:-}" ] || { printf '%-10s %-4s %3s %s\n' "$t" "$w" "" "no data"; continue; }
		o=""; observes "$t" "$w" && o="*"
		bm=$(med "${base_r[$key]}")
		rm=$(med "${ratios[$key]}" | xargs printf '%.3f')
		rr=$(minmax "${ratios[$key]}")
		sp=$(spread "${base_r[$key]}")
		read -r runs nsrun nsop share bg <<<"$(awk -v c="${bcntp[$key]:-0}" -v n="${bnsp[$key]:-0}" -v o="${bops[$key]:-0}" \
			-v s="${bsecs[$key]:-0}" -v b="$bm" -v ir="$idle_rate" 'BEGIN {
			runs = o ? c / o : 0; nsrun = c ? n / c : 0; nsop = o ? n / o : 0
			share = b ? 100 * nsop / (1e9 / b) : 0; bg = o ? ir * s / o : 0
			printf "%.3g %.0f %.3g %.2f%% %.2g\n", runs, nsrun, nsop, share, bg }')"
		if observes "$t" "$w"; then
			if awk -v r="$rm" -v s="${share%\%}" 'BEGIN { exit !(r >= 0.97 && s <= 3) }'; then v="met"
			elif awk -v s="${share%\%}" 'BEGIN { exit !(s <= 3) }'; then v="BPF time met ($share); wall ratio $rm, noise $sp"
			else v="NOT met: its programs take $share of each op"; fi
		else
			if [ "${bcntp[$key]:-0}" = 0 ]; then
				if awk -v r="$rm" 'BEGIN { exit !(r >= 0.99) }'; then v="met: none of its programs ran"
				else v="none of its programs ran; wall ratio $rm, noise $sp"; fi
			elif awk -v c="${bcntp[$key]}" -v ir="$idle_rate" -v s="${bsecs[$key]}" 'BEGIN { exit !(c <= 1.5 * ir * s + 5) }'; then
				v="ran only at its idle rate ($(printf '%.0f' "$idle_rate")/s, other activity), not per op"
			else
				v="NOT met: its programs ran $runs times per op ($share)"
			fi
		fi
		VERDICT[$key]=$v
		printf '%-10s %-4s %3s %10.0f %5s %7s %10s %9s %6s %9s %7s %9s  %s\n' "$t" "$w" "$o" "$bm" "$sp" "x$rm" "$rr" "$runs" \
			"$nsrun" "$nsop" "$share" "$bg" "$v"
	done
done

echo
echo "## 2. each tool's programs (kernel statistics per program), periodic cost and own CPU"
echo "# per program: runs per op (per second for idle) and ns per run; [periodic] = iterator or sampler"
for t in "${TOOLS[@]}"; do
	[ -n "${tool_failed[$t]:-}" ] && continue
	echo "$t: $(tool_cmd "$t" | sed "s|$B/||") > file"
	echo "  programs held: ${mech[$t]:-none}"
	awk -v c="${bcnt[$t,idle]:-0}" -v n="${bns[$t,idle]:-0}" -v cp="${bcntp[$t,idle]:-0}" -v np="${bnsp[$t,idle]:-0}" \
		-v s="${bsecs[$t,idle]:-1}" 'BEGIN { printf "  idle: periodic programs %.0f runs/s, %.1f us BPF per s (%.4f%% of one CPU); hooks %.0f runs/s (other activity on the machine)\n",
		(c - cp) / s, (n - np) / s / 1000, 100 * (n - np) / s / 1e9, cp / s }'
	echo "  tool process CPU (user+sys, % of one CPU) per round: ${cpu_pct[$t]:-}"
	for w in "${WORKLOADS[@]}" idle; do
		[ -n "${bops[$t,$w]:-}" ] || continue
		line=""
		for k in $(printf '%s\n' "${!pcnt[@]}" | grep "^$t,$w," | sort); do
			name=${k#"$t,$w,"}
			line+=$(awk -v nm="$name" -v c="${pcnt[$k]}" -v n="${pns[$k]}" -v o="${bops[$t,$w]}" -v u="$(wl_op "$w")" \
				-v p="$([ "$(pkind "$name")" = periodic ] && echo ' [periodic]')" \
				'BEGIN { if (c > 0) printf " %s%s %.3g/%s %.0fns;", nm, p, o ? c / o : 0, u, n / c; else printf " %s%s 0;", nm, p }')
		done
		echo "  $w:${line:- (no programs)}"
	done
	if [ -s "$WS/$t.first" ]; then
		echo "  first lines of its output (round 1):"
		sed 's/^/    | /' "$WS/$t.first" | cut -c1-150
	fi
done

echo
echo "## 3. all rounds"
for t in "${TOOLS[@]}"; do
	for w in "${WORKLOADS[@]}"; do
		[ -n "${ratios[$t,$w]:-}" ] || continue
		echo "  $t $w ratios: ${ratios[$t,$w]} (baseline/s: ${base_r[$t,$w]}; with: ${tool_r[$t,$w]})"
	done
done
echo
echo "## 4. log"
cat "$RAW"
