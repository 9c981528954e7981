#!/usr/bin/env bats
# The output contract (bpfscope-output(7)) across all seven tools: schemas
# against the man pages and the golden files, hostile names in every format,
# one exposition per output, and the fleet path for real: node_exporter's
# textfile collector and a Prometheus server on 127.0.0.1, asked with PromQL
# for values the scenario fixed.

load ../lib/helpers
load ../lib/xdpverdict_env

TOOLS="xdpverdict tailcalls mapstat tcpchrono wbtstat fibstat tcverdict"
# b " \ newline 0xff 0xfe: a quote, a backslash, a control byte, invalid UTF-8
BAD_HEX=62225c0afffe
# the decoded text every format must carry for it (bpfscope-output(7))
BAD_TEXT='b"\\\x0a\xff\xfe'

setup_file() {
	export CT_DIR; CT_DIR=$(mktemp -d /tmp/bs-contract.XXXXXX)
}

teardown_file() {
	pkill -f "badcomm $BAD_HEX" 2>/dev/null || true
	rm -rf "$CT_DIR"
}

teardown() {
	pkill -f "badcomm $BAD_HEX" 2>/dev/null || true
	xv_teardown
	[ -n "${NE_PID:-}" ] && kill "$NE_PID" 2>/dev/null
	[ -n "${PR_PID:-}" ] && kill "$PR_PID" 2>/dev/null
	[ -z "${TV_LOADER:-}" ] || kill "$TV_LOADER" 2>/dev/null || true
	[ -n "${BAD_NS:-}" ] && ip netns del "$BAD_NS" 2>/dev/null
	wait 2>/dev/null || true
}

# Every line is valid UTF-8 and valid JSON (a strict decode of the raw bytes,
# then a parse).
strict_json() {
	iconv -f UTF-8 -t UTF-8 <"$1" >/dev/null || { echo "$1: not UTF-8" >&2; return 1; }
	jq -e . <"$1" >/dev/null || { echo "$1: not JSON" >&2; return 1; }
}

# promtool accepts the file and has nothing to say about it.
lint_clean() {
	local lint
	lint=$(promtool check metrics <"$1" 2>&1) || { echo "$lint" >&2; return 1; }
	[ -z "$lint" ] || { echo "$1: $lint" >&2; return 1; }
}

@test "contract: every tool lists its fields, and its man page's FIELDS section documents exactly those" {
	local t
	for t in $TOOLS; do
		"$B/$t" --list-fields >"$CT_DIR/$t.fields"
		strict_json "$CT_DIR/$t.fields"
		[ "$(wc -l <"$CT_DIR/$t.fields")" -gt 3 ]
		"$ROOT/tests/lib/fieldscheck.sh" "$B/$t" "$ROOT/man/man8/$t.8"
	done
}

@test "contract: the schemas are the golden ones (a change of names is a change of the contract)" {
	local t
	for t in $TOOLS; do
		"$B/$t" --list-fields | diff -u "$ROOT/tests/golden/$t.fields" - ||
			{ echo "$t: schema differs from tests/golden/$t.fields (update it with the man page if intended)" >&2; return 1; }
	done
}

@test "contract: -o prom to standard output is one exposition; -c 2 without --file is refused" {
	run "$B/mapstat" -o prom
	[ "$status" -eq 0 ]
	[ "$(grep -c '^# TYPE bpfscope_mapstat_info ' <<<"$output")" -eq 1 ]
	run "$B/mapstat" -o prom -c 2
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"-o prom writes one exposition"* ]]
}

# A map held by a process with a hostile name (mapstat's owners), and a TCP
# connection of that process (tcpchrono's comm).
@test "contract: a hostile process name stays parseable in JSON, Prometheus (promtool, node_exporter) and tables" {
	"$B/tests/badcomm" "$BAD_HEX" map 60 >"$CT_DIR/bad1" &
	"$B/tests/badcomm" "$BAD_HEX" tcp 60 >"$CT_DIR/bad2" &
	for _ in $(seq 1 100); do
		[ -s "$CT_DIR/bad1" ] && [ -s "$CT_DIR/bad2" ] && break
		sleep 0.1
	done
	local t
	mkdir -p "$CT_DIR/tf"
	for t in mapstat tcpchrono; do
		"$B/$t" -o json -c 1 -i 0.2 >"$CT_DIR/$t.json"
		strict_json "$CT_DIR/$t.json"
		# the name arrives whole, escaped by the one rule
		jq -e --arg w "$BAD_TEXT" '[.. | strings] | index($w) != null' "$CT_DIR/$t.json" >/dev/null ||
			{ echo "$t: no string equal to $BAD_TEXT" >&2; return 1; }
		"$B/$t" -o prom -i 0.2 -c 1 --file "$CT_DIR/tf/$t.prom"
		lint_clean "$CT_DIR/tf/$t.prom"
		# tcpchrono labels connections with the owner's comm (mapstat's
		# owners are JSON and table only)
		if [ "$t" = tcpchrono ]; then grep -qF 'comm="b\"\\\\\\x0a\\xff\\xfe"' "$CT_DIR/tf/$t.prom"; fi
		"$B/$t" -c 1 -i 0.2 >"$CT_DIR/$t.txt"
		# one line per record: the newline in the name did not split it
		grep -qF "$BAD_TEXT" "$CT_DIR/$t.txt"
		if LC_ALL=C grep -q $'\xff' "$CT_DIR/$t.txt"; then echo "$t: raw 0xff in the table" >&2; return 1; fi
	done
	# node_exporter serves both files, with no scrape error
	start_node_exporter "$CT_DIR/tf"
	local body; body=$(curl -s "http://127.0.0.1:$NE_PORT/metrics")
	grep -q '^node_textfile_scrape_error 0$' <<<"$body"
	grep -qF 'comm="b\"\\\\\\x0a\\xff\\xfe"' <<<"$body"
}

# An interface name with a quote, a backslash and invalid UTF-8, running an
# XDP program: xdpverdict and tailcalls name it in every format.
@test "contract: a hostile interface name stays parseable (xdpverdict, tailcalls)" {
	BAD_NS=bsbad$$
	ip netns add "$BAD_NS"
	local ifn=$'q"\\\xff'
	ip -n "$BAD_NS" link add name "$ifn" type veth peer name bsbadpeer
	ip -n "$BAD_NS" link set dev "$ifn" up
	ip -n "$BAD_NS" link set dev bsbadpeer up
	ip -n "$BAD_NS" link set dev "$ifn" xdpgeneric obj "$B/fixtures/xdpverdict_pass.bpf.o" sec xdp
	local want='q"\\\xff'
	"$B/xdpverdict" -N "$BAD_NS" -o json -c 1 -i 0.2 >"$CT_DIR/xv.json"
	strict_json "$CT_DIR/xv.json"
	jq -e --arg w "$want" '[.. | strings] | index($w) != null' "$CT_DIR/xv.json" >/dev/null
	mkdir -p "$CT_DIR/tf2"
	"$B/xdpverdict" -N "$BAD_NS" -o prom -c 1 -i 0.2 --file "$CT_DIR/tf2/xdpverdict.prom"
	lint_clean "$CT_DIR/tf2/xdpverdict.prom"
	grep -qF 'q\"\\\\\\xff' "$CT_DIR/tf2/xdpverdict.prom"
	"$B/tailcalls" -o json >"$CT_DIR/tc.json"
	strict_json "$CT_DIR/tc.json"
	jq -e --arg w "$want" '[.nodes[] | .target] | index($w) != null' "$CT_DIR/tc.json" >/dev/null
	"$B/tailcalls" -o prom --file "$CT_DIR/tf2/tailcalls.prom"
	lint_clean "$CT_DIR/tf2/tailcalls.prom"
	"$B/tailcalls" -o dot >"$CT_DIR/tc.dot"
	dot -Tsvg "$CT_DIR/tc.dot" >/dev/null
	"$B/tailcalls" >"$CT_DIR/tc.txt"
	grep -qF "$want" "$CT_DIR/tc.txt"
	start_node_exporter "$CT_DIR/tf2"
	curl -s "http://127.0.0.1:$NE_PORT/metrics" | grep -q '^node_textfile_scrape_error 0$'
}

# The same interface name carrying a cls_bpf program (the tcverdict fixture,
# held by tests/lib/tcverdict_load) and an act_mirred action that mirrors to
# it: tcverdict names it in every format, in program and mirred rows.
@test "contract: a hostile interface name stays parseable (tcverdict)" {
	BAD_NS=bsbadtv$$
	ip netns add "$BAD_NS"
	local ifn=$'q"\\\xff'
	ip -n "$BAD_NS" link add name "$ifn" type veth peer name bsbadpeer
	ip -n "$BAD_NS" link set dev "$ifn" up
	ip -n "$BAD_NS" link set dev bsbadpeer up
	"$B/tests/tcverdict_load" --netns "$BAD_NS" cls_bpf "$ifn" ingress tcv_cls >"$CT_DIR/tvload.json" 2>&1 &
	TV_LOADER=$!
	for _ in $(seq 1 100); do
		grep -q '}$' "$CT_DIR/tvload.json" && break
		sleep 0.1
	done
	local prog
	prog=$(jq .prog_id "$CT_DIR/tvload.json")
	[ "$prog" -gt 0 ] || { cat "$CT_DIR/tvload.json" >&2; false; }
	tc -n "$BAD_NS" qdisc add dev bsbadpeer clsact
	tc -n "$BAD_NS" filter add dev bsbadpeer ingress prio 1 protocol ip u32 match u32 0 0 \
		action mirred egress mirror dev "$ifn"
	local want='q"\\\xff'
	"$B/tcverdict" -N "$BAD_NS" -o json -c 1 -i 0.2 >"$CT_DIR/tv.json"
	strict_json "$CT_DIR/tv.json"
	jq -e --arg w "$want" --argjson p "$prog" \
		'[.programs[] | select(.prog_id == $p) | .interface] == [$w] and ([.mirred[].target] | index($w)) != null' \
		"$CT_DIR/tv.json" >/dev/null || { cat "$CT_DIR/tv.json" >&2; false; }
	mkdir -p "$CT_DIR/tf3"
	"$B/tcverdict" -N "$BAD_NS" -o prom -c 1 -i 0.2 --file "$CT_DIR/tf3/tcverdict.prom"
	lint_clean "$CT_DIR/tf3/tcverdict.prom"
	grep -qF 'q\"\\\\\\xff' "$CT_DIR/tf3/tcverdict.prom"
	"$B/tcverdict" -N "$BAD_NS" -c 1 -i 0.2 >"$CT_DIR/tv.txt"
	grep -qF "$want" "$CT_DIR/tv.txt"
	if LC_ALL=C grep -q $'\xff' "$CT_DIR/tv.txt"; then echo "tcverdict: raw 0xff in the table" >&2; return 1; fi
	start_node_exporter "$CT_DIR/tf3"
	curl -s "http://127.0.0.1:$NE_PORT/metrics" | grep -q '^node_textfile_scrape_error 0$'
}

# node_exporter's textfile collector on DIR (NE_PORT, NE_PID, log in NE_LOG).
start_node_exporter() {
	ip link set lo up 2>/dev/null || true
	NE_PORT=$((19100 + RANDOM % 800))
	NE_LOG="$CT_DIR/ne.$NE_PORT.log"
	prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$1" --web.listen-address="127.0.0.1:$NE_PORT" \
		>"$NE_LOG" 2>&1 &
	NE_PID=$!
	for _ in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$NE_PORT/metrics" >/dev/null && return 0
		sleep 0.1
	done
	cat "$NE_LOG" >&2
	return 1
}

# A Prometheus server scraping node_exporter every second (PR_PORT, PR_PID).
start_prometheus() {
	PR_PORT=$((19900 + RANDOM % 90))
	cat >"$CT_DIR/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	scrape_configs:
	  - job_name: node
	    static_configs:
	      - targets: ['127.0.0.1:$NE_PORT']
	EOF
	prometheus --config.file="$CT_DIR/prometheus.yml" --storage.tsdb.path="$CT_DIR/tsdb" \
		--web.listen-address="127.0.0.1:$PR_PORT" >"$CT_DIR/prometheus.log" 2>&1 &
	PR_PID=$!
	for _ in $(seq 1 300); do
		curl -sf "http://127.0.0.1:$PR_PORT/-/ready" >/dev/null && return 0
		sleep 0.1
	done
	tail -20 "$CT_DIR/prometheus.log" >&2
	return 1
}

# promql EXPR: the value of a one-series instant vector ("" when empty).
promql() {
	curl -s "http://127.0.0.1:$PR_PORT/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // ""'
}

# Wait until EXPR evaluates to WANT (Prometheus scrapes every second).
promql_wait() {
	local got=""
	for _ in $(seq 1 150); do
		got=$(promql "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.2
	done
	echo "PromQL $1: expected $2, got '$got'" >&2
	return 1
}

# One cron-style run of xdpverdict for instance NAME: the first snapshot says
# it is attached, then N packets to the XDP_PASS port, then the final
# snapshot; counters carried on in the state file.
xv_cron_run() {
	local name=$1 n=$2 f="$CT_DIR/fleet/xdpverdict-$1.prom"
	rm -f "$f"
	"$B/xdpverdict" -N "$XV_NSA" -o prom -i 1 -c 2 --instance "$name" \
		--state "$CT_DIR/xdpverdict-$name.state" --file "$f" &
	local pid=$!
	for _ in $(seq 1 300); do
		[ -s "$f" ] && break
		sleep 0.05
	done
	[ -s "$f" ] || { echo "xdpverdict wrote no first snapshot" >&2; return 1; }
	xv_send 7002 "$n"
	wait $pid
}

@test "contract: the fleet path: node_exporter and Prometheus see every tool, two instances, and counters that survive cron runs" {
	command -v prometheus >/dev/null || skip_because "prometheus not installed"
	xv_setup ct
	mkdir -p "$CT_DIR/fleet"
	start_node_exporter "$CT_DIR/fleet"
	start_prometheus
	# every tool (and two views of one) into one directory
	"$B/mapstat" -o prom --file "$CT_DIR/fleet/mapstat.prom"
	"$B/tailcalls" -o prom --file "$CT_DIR/fleet/tailcalls.prom"
	"$B/tcpchrono" -o prom -i 0.2 -c 1 --file "$CT_DIR/fleet/tcpchrono.prom"
	"$B/wbtstat" -o prom -i 0.2 -c 1 --file "$CT_DIR/fleet/wbtstat.prom"
	"$B/fibstat" -o prom -i 0.2 -c 1 --file "$CT_DIR/fleet/fibstat.prom"
	"$B/fibstat" --flows -o prom -i 0.2 -c 1 --file "$CT_DIR/fleet/fibstat-flows.prom"
	"$B/tcverdict" --all-netns -o prom -i 0.2 -c 1 --file "$CT_DIR/fleet/tcverdict.prom"
	local f
	for f in "$CT_DIR"/fleet/*.prom; do lint_clean "$f"; done
	# three cron runs of instance a (30, 50, 70 packets), one of instance b (40)
	xv_cron_run a 30
	promql_wait 'bpfscope_xdpverdict_packets_total{run="a",verdict="pass"}' 30
	xv_cron_run a 50
	promql_wait 'bpfscope_xdpverdict_packets_total{run="a",verdict="pass"}' 80
	xv_cron_run b 40
	xv_cron_run a 70
	promql_wait 'bpfscope_xdpverdict_packets_total{run="a",verdict="pass"}' 150
	promql_wait 'bpfscope_xdpverdict_packets_total{run="b",verdict="pass"}' 40
	# ground truth: the fixture's own count of XDP_PASS is every packet sent
	assert_eq "$(xv_count 2)" 190 "fixture's XDP_PASS count"
	# no counter reset seen across the runs, and the largest value is the
	# sum of instance a's runs
	promql_wait 'resets(bpfscope_xdpverdict_packets_total{run="a",verdict="pass"}[10m])' 0
	promql_wait 'max_over_time(bpfscope_xdpverdict_packets_total{run="a",verdict="pass"}[10m])' 150
	# the first run's start stays the start of the counters
	local s1 s2
	s1=$(head -2 "$CT_DIR/xdpverdict-a.state" | sed -n 's/ start$//p')
	s2=$(promql 'bpfscope_xdpverdict_start_time_seconds{run="a"}')
	[ "$(jq -n "($s1 - $s2) | fabs < 0.01")" = true ]
	# every file scraped, no error, no duplicate series
	promql_wait 'node_textfile_scrape_error' 0
	promql_wait 'count(bpfscope_mapstat_info)' 1
	promql_wait 'count(bpfscope_fibstat_info)' 2
	promql_wait 'count(bpfscope_tcverdict_info)' 1
	promql_wait 'count(bpfscope_xdpverdict_info)' 2
	if grep -q 'collected before' "$NE_LOG"; then cat "$NE_LOG" >&2; return 1; fi
}
