#!/usr/bin/env bats
# mapstat against maps made by tests/lib/mkmaps.c (ground truth: what mkmaps
# put in, its own key walks, and bpftool's view of the same maps).

load ../lib/helpers

setup_file() {
	export MS_DIR; MS_DIR=$(mktemp -d /tmp/bs-mapstat.XXXXXX)
	export PIN_DIR=/sys/fs/bpf/bs_mapstat_$$
	mkdir -p "$PIN_DIR"
	# a known RLIMIT_MEMLOCK (1 MiB) for the --owners check
	prlimit --memlock=1048576:1048576 \
		"$B/tests/mkmaps" "$MS_DIR/maps.json" "$B/fixtures/mapstat_ringbuf.bpf.o" 1000000 "$PIN_DIR" \
		2>"$MS_DIR/mkmaps.err" &
	echo $! >"$MS_DIR/mkmaps.pid"
	for _ in $(seq 1 600); do
		[ -s "$MS_DIR/maps.json" ] && break
		sleep 0.1
	done
	[ -s "$MS_DIR/maps.json" ] || { cat "$MS_DIR/mkmaps.err" >&2; return 1; }
}

teardown_file() {
	kill "$(cat "$MS_DIR/mkmaps.pid")" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$PIN_DIR" "$MS_DIR"
}

teardown() {
	if [ -n "${BAD_PID:-}" ]; then
		kill "$BAD_PID" 2>/dev/null
		wait "$BAD_PID" 2>/dev/null || true
	fi
}

maps_json() { cat "$MS_DIR/maps.json"; }
map_id() { jq -r --arg n "$1" '.maps[] | select(.name == $n) | .id' "$MS_DIR/maps.json"; }
mk_pid() { cat "$MS_DIR/mkmaps.pid"; }

# promtool accepts the exposition and has nothing to say about it.
lint_clean() {
	command -v promtool >/dev/null || skip_because "promtool not installed"
	local lint
	lint=$(promtool check metrics <"$1" 2>&1) || { echo "$1: $lint" >&2; return 1; }
	[ -z "$lint" ] || { echo "$1: $lint" >&2; return 1; }
}

# Every line is valid UTF-8 (strict decode of the raw bytes), then valid
# JSON: one object per line with ts and tool.
strict_json() {
	[ -s "$1" ] || { echo "$1: empty" >&2; return 1; }
	iconv -f UTF-8 -t UTF-8 <"$1" >/dev/null || { echo "$1: not UTF-8" >&2; return 1; }
	jq -e . <"$1" >/dev/null || { echo "$1: not JSON" >&2; return 1; }
	assert_eq "$(jq -c 'select(type == "object" and .tool == "mapstat" and (.ts | type) == "number")' "$1" | wc -l)" \
		"$(wc -l <"$1")" "$1: objects with ts and tool"
}

# The sample of METRIC with exactly LABELS in prom file FILE ("" if none).
prom_value() {
	sed -n "s/^bpfscope_mapstat_$2{$3} //p" "$1"
}

# every fixture map: entries equal to the ground truth (null where not countable)
check_counts() {
	local method=$1 out mech=()
	[ "$method" = auto ] || mech=(--mechanism "$method")
	out=$("$B/mapstat" "${mech[@]}" -o json -p "$(mk_pid)")
	jq -e --slurpfile e "$MS_DIR/maps.json" --arg m "$method" '
		[ $e[0].maps[] as $x
		  | (.maps[] | select(.map_id == $x.id)) as $got
		  | select(($got.entries != $x.expected)
		           and ($m != "walk" or (($x.name | IN("ms_queue","ms_stack","ms_sockmap")) | not)))
		  | "\($x.name): got \($got.entries) (\($got.entries_method)) want \($x.expected)" ]
		| if length == 0 then true else (. | join("; ") | halt_error) end' <<<"$out"
}

@test "mapstat [kernel]: entry counts of every map type match what was put in (best method)" {
	check_counts auto
}

@test "mapstat [kernel]: entry counts are exact without the kfunc (iterators + CO-RE counters)" {
	check_counts iter
}

@test "mapstat: entry counts are exact with user-space walks; queue/stack/sockmap(value 4) are null, not guessed" {
	check_counts walk
	run "$B/mapstat" --mechanism walk -o json -m "$(map_id ms_queue)" -m "$(map_id ms_stack)"
	[ "$status" -eq 0 ]
	assert_jq '[.maps[] | select(.entries == null and .entries_method == "none")] | length == 2'
}

@test "mapstat [kernel]: the hash family is counted with the kfunc where the kernel has it, else the element iterator" {
	run "$B/mapstat" -o json -m "$(map_id ms_hash_big)" -m "$(map_id ms_lru)"
	[ "$status" -eq 0 ]
	# for the feature x kernel matrix (tests/README.md): what this kernel ran
	jq -r '"# entries_method: \([.maps[].entries_method] | unique | join(",")); mechanism: \(.mechanism); memory accounting: \(.memory_accounting)"' <<<"$output" >&3
	if has_feature kfunc:bpf_map_sum_elem_count; then
		assert_jq '[.maps[].entries_method] == ["kfunc","kfunc"]'
	else
		assert_jq '[.maps[].entries_method] == ["iter_elem","iter_elem"]'
	fi
	assert_jq '.maps[0].entries == 1000000'
}

@test "mapstat [kernel]: LRU hash under eviction matches bpftool map dump" {
	local id want
	id=$(map_id ms_lru)
	want=$(bpftool map dump id "$id" -j | jq length)
	[ "$want" -gt 0 ] && [ "$want" -le 128 ]
	for m in "" "--mechanism iter" "--mechanism walk"; do
		run "$B/mapstat" $m -o json -m "$id"
		assert_jq ".maps[0].entries == $want"
	done
}

@test "mapstat: hash, LPM and hash-of-maps counts match bpftool map dump" {
	for n in ms_hash ms_hash_noprea ms_lpm ms_hash_of_maps ms_devmap_hash ms_percpu_hash; do
		local id want
		id=$(map_id $n)
		want=$(bpftool map dump id "$id" -j | jq length)
		run "$B/mapstat" -o json -m "$id"
		assert_jq ".maps[0].entries == $want" || { echo "map $n" >&2; return 1; }
	done
}

@test "mapstat [kernel]: ring buffer reports unread bytes of the fixture's 5 records, array family is fixed" {
	run "$B/mapstat" -o json -m "$(map_id ms_ringbuf)" -m "$(map_id ms_array)" -m "$(map_id ms_percpu_array)"
	[ "$status" -eq 0 ]
	assert_jq '.maps[] | select(.map_name == "ms_ringbuf") | .entries == 560 and .max_entries == 16384'
	assert_jq '[.maps[] | select(.map_name != "ms_ringbuf") | .entries_method] == ["fixed","fixed"]'
	assert_jq '[.maps[] | select(.map_name != "ms_ringbuf") | .entries == .max_entries and .use_ratio == 1] | all'
}

@test "mapstat: memlock bytes agree with bpftool map show" {
	local id=$(map_id ms_hash_big)
	local want=$(bpftool map show id "$id" -j | jq .bytes_memlock)
	run "$B/mapstat" -o json -m "$id"
	assert_jq ".maps[0].memlock_bytes == $want"
}

@test "mapstat [kernel]: owners (iter/task_file) name the holding process; -p selects exactly its maps" {
	local pid=$(mk_pid)
	run "$B/mapstat" -o json -p "$pid"
	[ "$status" -eq 0 ]
	assert_jq "[.maps[] | .owner_pids | index($pid) != null] | all"
	assert_jq '[.maps[] | .owner_comms | index("mkmaps") != null] | all'
	local want got
	want=$(jq -c '[.maps[].id] | sort' "$MS_DIR/maps.json")
	got=$(jq -c '[.maps[].map_id] | sort' <<<"$output")
	assert_eq "$got" "$want" "map ids held by mkmaps"
	# --no-owners hides the owners, -p still selects by them
	run "$B/mapstat" -o json -p "$pid" --no-owners
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.maps[].map_id] | sort' <<<"$output")" "$want" "map ids held by mkmaps, --no-owners"
	assert_jq '[.maps[] | .owner_pids == [] and .owner_comms == []] | all'
}

@test "mapstat [kernel]: --owners sums each owner's map memory and reports its RLIMIT_MEMLOCK" {
	local pid=$(mk_pid) ids want_mem limit
	ids=$(jq -c '[.maps[].id]' "$MS_DIR/maps.json")
	want_mem=$(bpftool map show -j | jq --argjson ids "$ids" '[.[] | select(.id as $i | $ids | index($i)) | .bytes_memlock] | add')
	limit=$(awk '/^Max locked memory/ {print $4}' "/proc/$pid/limits")
	[ "$limit" -eq 1048576 ]
	run "$B/mapstat" --owners -o json -p "$pid"
	[ "$status" -eq 0 ]
	assert_jq ".owners | length == 1"
	assert_jq ".owners[0] | .pid == $pid and .comm == \"mkmaps\" and .owned_maps == ($ids | length)"
	assert_jq ".owners[0].owned_memlock_bytes == $want_mem"
	assert_jq ".owners[0].memlock_limit_bytes == $limit"
	# the share of the limit as a 0-1 ratio (the table shows percent)
	assert_jq ".owners[0].memlock_limit_ratio - ($want_mem / $limit) | fabs < 1e-12"
	if has_feature memcg; then
		assert_jq '.owners[0].charged_to == "memcg" and .memory_accounting == "memcg"'
	else
		assert_jq '.owners[0].charged_to == "memlock" and .memory_accounting == "memlock"'
	fi
}

@test "mapstat: pinned paths and --pinned filter match the pin the test made" {
	run "$B/mapstat" -o json --pinned "$PIN_DIR"
	[ "$status" -eq 0 ]
	assert_jq "[.maps[].map_id] == [$(map_id ms_hash)]"
	assert_jq ".maps[0].pinned == [\"$PIN_DIR/ms_hash\"]"
}

@test "mapstat: prog_ids of the ring buffer name the program bpftool says uses it" {
	local prog=$(jq .prog_id "$MS_DIR/maps.json") rb=$(map_id ms_ringbuf)
	bpftool prog show id "$prog" -j | jq -e ".map_ids | index($rb) != null"
	run "$B/mapstat" -o json -m "$rb"
	assert_jq ".maps[0].prog_ids == [$prog]"
}

@test "mapstat: -t and -n filters" {
	run "$B/mapstat" -o json -t lru_hash -p "$(mk_pid)"
	assert_jq "[.maps[].map_id] == [$(map_id ms_lru)]"
	run "$B/mapstat" -o json -n 'ms_sock*' -p "$(mk_pid)"
	assert_jq "[.maps[].map_name] | sort == [\"ms_sockhash\",\"ms_sockmap\"]"
}

@test "mapstat: --prefixes gives the LPM trie's prefix-length mix" {
	run "$B/mapstat" -o json --prefixes "$(map_id ms_lpm)"
	[ "$status" -eq 0 ]
	assert_jq '[.prefixes[] | [.prefixlen, .prefix_entries]] == [[8,1],[16,2],[24,3],[32,5]]'
	assert_jq "[.prefixes[] | [.map_id, .map_name]] | unique == [[$(map_id ms_lpm), \"ms_lpm\"]]"
}

@test "mapstat: thresholds flag maps and set exit status 6 (warn) / 7 (crit) / 0" {
	local id=$(map_id ms_hash)   # 37 of 100
	run "$B/mapstat" -o json -m "$id" --warn 40
	[ "$status" -eq 0 ]
	assert_jq '.maps[0].level == "ok" and .maps[0].use_ratio == 0.37'
	run "$B/mapstat" -o json -m "$id"
	assert_jq '.maps[0].level == null'
	run "$B/mapstat" -o json -m "$id" --warn 30
	[ "$status" -eq 6 ]
	assert_jq '.maps[0].level == "warn"'
	run "$B/mapstat" -o json -m "$id" --warn 30 --crit 37
	[ "$status" -eq 7 ]
	assert_jq '.maps[0].level == "crit"'
	# array maps are always "full": never flagged
	run "$B/mapstat" -o json -m "$(map_id ms_array)" --crit 50
	[ "$status" -eq 0 ]
}

@test "mapstat: interval mode reports the fill rate and time until full" {
	local id=$(map_id ms_grow) before
	before=$(bpftool map dump id "$id" -j | jq length)
	"$B/mapstat" -o json -i 1 -c 3 -m "$id" >"$MS_DIR/iv.json" &
	local mp=$!
	# grow the map right after the first snapshot (however slow start-up is)
	for _ in $(seq 1 300); do [ -s "$MS_DIR/iv.json" ] && break; sleep 0.05; done
	kill -USR1 "$(mk_pid)"
	wait $mp
	local after=$(bpftool map dump id "$id" -j | jq length)
	[ "$after" -eq $((before + 200)) ]
	run cat "$MS_DIR/iv.json"
	[ "$(wc -l <"$MS_DIR/iv.json")" -eq 3 ]
	local first last
	first=$(head -1 "$MS_DIR/iv.json")
	last=$(tail -1 "$MS_DIR/iv.json")
	assert_jq ".maps[0].entries == $before and .maps[0].entries_per_second == null" "$first"
	assert_jq ".maps[0].entries == $after" "$last"
	# 200 entries over one ~1 s interval; full_in = (max - entries) / rate
	assert_jq '[.[] | .maps[0].entries_per_second] | map(select(. != null and . > 0)) | length == 1' \
		"$(jq -s . "$MS_DIR/iv.json")"
	assert_jq '.maps[0] | (.entries_per_second > 120 and .entries_per_second < 260)
		and ((.full_in_seconds - (.max_entries - .entries) / .entries_per_second) | fabs < 1)' \
		"$(jq -s 'map(select(.maps[0].entries_per_second > 0)) | .[0]' "$MS_DIR/iv.json")"
}

@test "mapstat: -o prom passes promtool and is scraped by node_exporter's textfile collector" {
	command -v promtool >/dev/null || skip_because "promtool not installed"
	command -v prometheus-node-exporter >/dev/null || skip_because "node exporter not installed"
	local dir="$MS_DIR/textfile" id=$(map_id ms_hash)
	mkdir -p "$dir"
	"$B/mapstat" -o prom -p "$(mk_pid)" --file "$dir/mapstat.prom"
	lint_clean "$dir/mapstat.prom"
	[ -z "$(ls "$dir" | grep -v '^mapstat.prom$')" ]   # no temp files left
	ip link set lo up 2>/dev/null || true
	local port=$((19100 + RANDOM % 800))
	prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$dir" --web.listen-address="127.0.0.1:$port" \
		>"$MS_DIR/ne.log" 2>&1 &
	local ne=$!
	local body=""
	for _ in $(seq 1 100); do
		body=$(curl -s "http://127.0.0.1:$port/metrics") && [ -n "$body" ] && break
		sleep 0.2
	done
	kill $ne; wait $ne 2>/dev/null || true
	grep -q "^bpfscope_mapstat_entries{map_id=\"$id\",map_name=\"ms_hash\",map_type=\"hash\",view=\"maps\"} 37$" <<<"$body"
	grep -q '^node_textfile_scrape_error 0$' <<<"$body"
}

@test "mapstat: every view's Prometheus text is lint-clean, one exposition, with the values put in (maps, interval, --owners, --prefixes)" {
	command -v promtool >/dev/null || skip_because "promtool not installed"
	local d="$MS_DIR/promviews" pid=$(mk_pid) id=$(map_id ms_hash) big=$(map_id ms_hash_big) lpm=$(map_id ms_lpm)
	local f ids want_mem nmaps
	mkdir -p "$d"
	ids=$(jq -c '[.maps[].id]' "$MS_DIR/maps.json")
	nmaps=$(jq length <<<"$ids")
	want_mem=$(bpftool map show -j | jq --argjson ids "$ids" '[.[] | select(.id as $i | $ids | index($i)) | .bytes_memlock] | add')
	"$B/mapstat" -o prom -p "$pid" --file "$d/maps.prom"
	"$B/mapstat" -o prom -i 0.2 -c 2 -m "$id" --file "$d/interval.prom"
	"$B/mapstat" --owners -o prom -p "$pid" --file "$d/owners.prom"
	"$B/mapstat" --prefixes "$lpm" -o prom --file "$d/prefixes.prom"
	"$B/mapstat" -o prom --mechanism walk -m "$id" >"$d/stdout.prom"
	for f in "$d"/*.prom; do
		lint_clean "$f"
		assert_eq "$(grep -c '^# TYPE bpfscope_mapstat_info gauge$' "$f")" 1 "$f: expositions"
		# base units only: no metric of the old shape
		assert_eq "$(grep -v '^#' "$f" | sed 's/[{ ].*//' | grep -E '_(percent|pct|us|ms|count)$')" "" "$f: old-style names"
	done
	# maps: the fixture's known contents, labelled by the catalogue's names
	local l="map_id=\"$id\",map_name=\"ms_hash\",map_type=\"hash\",view=\"maps\""
	assert_eq "$(prom_value "$d/maps.prom" entries "$l")" 37 "entries"
	assert_eq "$(prom_value "$d/maps.prom" max_entries "$l")" 100 "max_entries"
	assert_eq "$(prom_value "$d/maps.prom" use_ratio "$l")" 0.37 "use_ratio"
	assert_eq "$(prom_value "$d/maps.prom" memlock_bytes "map_id=\"$big\",map_name=\"ms_hash_big\",map_type=\"hash\",view=\"maps\"")" \
		"$(bpftool map show id "$big" -j | jq .bytes_memlock)" "memlock_bytes vs bpftool"
	assert_eq "$(grep -c '^bpfscope_mapstat_entries{' "$d/maps.prom")" \
		"$(jq '[.maps[] | select(.expected != null)] | length' "$MS_DIR/maps.json")" "one entries series per countable map"
	grep -q '^bpfscope_mapstat_info{version="[^"]*",mechanism="\(kfunc\|iter\)",memory_accounting="\(memcg\|memlock\)",view="maps"} 1$' "$d/maps.prom"
	# interval mode: the rate of a map nothing writes to is 0
	assert_eq "$(prom_value "$d/interval.prom" entries_per_second "$l")" 0 "entries_per_second"
	# --owners: mkmaps' maps, their memory and its 1 MiB RLIMIT_MEMLOCK
	local o="pid=\"$pid\",comm=\"mkmaps\",view=\"owners\""
	assert_eq "$(prom_value "$d/owners.prom" owned_maps "$o")" "$nmaps" "owned_maps"
	assert_eq "$(prom_value "$d/owners.prom" owned_memlock_bytes "$o")" "$want_mem" "owned_memlock_bytes"
	assert_eq "$(prom_value "$d/owners.prom" memlock_limit_bytes "$o")" 1048576 "memlock_limit_bytes"
	jq -en --argjson got "$(prom_value "$d/owners.prom" memlock_limit_ratio "$o")" \
		"(\$got - $want_mem / 1048576) | fabs < 1e-12" >/dev/null
	grep -q '^bpfscope_mapstat_info{version="[^"]*",memory_accounting="\(memcg\|memlock\)",view="owners"} 1$' "$d/owners.prom"
	# --prefixes: the trie's mix, one series per prefix length
	assert_eq "$(grep -c '^bpfscope_mapstat_prefix_entries{' "$d/prefixes.prom")" 4 "prefix series"
	assert_eq "$(prom_value "$d/prefixes.prom" prefix_entries "map_id=\"$lpm\",map_name=\"ms_lpm\",prefixlen=\"32\",view=\"prefixes\"")" 5 "/32 entries"
	# walk: the same count as the default method, to standard output
	assert_eq "$(prom_value "$d/stdout.prom" entries "$l")" 37 "entries (walk)"
	grep -q '^bpfscope_mapstat_info{.*mechanism="walk"' "$d/stdout.prom"
}

@test "mapstat: every JSON line of every view is valid UTF-8 and parses; numbers are numbers; meta names the mechanisms" {
	local d="$MS_DIR/jsonviews" pid=$(mk_pid) id=$(map_id ms_hash) f
	mkdir -p "$d"
	"$B/mapstat" -o json -p "$pid" >"$d/auto.json"
	"$B/mapstat" -o json -p "$pid" --mechanism iter --wide >"$d/iter.json"
	"$B/mapstat" -o json -p "$pid" --mechanism walk >"$d/walk.json"
	"$B/mapstat" -o json -i 0.2 -c 2 -m "$id" >"$d/interval.json"
	"$B/mapstat" --owners -o json -p "$pid" >"$d/owners.json"
	"$B/mapstat" --prefixes "$(map_id ms_lpm)" -o json >"$d/prefixes.json"
	for f in "$d"/*.json; do strict_json "$f"; done
	assert_eq "$(wc -l <"$d/interval.json")" 2 "interval snapshots"
	local want_mechanism=iter want_acct=memlock
	has_feature kfunc:bpf_map_sum_elem_count && want_mechanism=kfunc
	has_feature memcg && want_acct=memcg
	assert_jq ".mechanism == \"$want_mechanism\" and .memory_accounting == \"$want_acct\"" "$(cat "$d/auto.json")"
	assert_jq '.mechanism == "iter"' "$(cat "$d/iter.json")"
	assert_jq '.mechanism == "walk"' "$(cat "$d/walk.json")"
	assert_jq ".memory_accounting == \"$want_acct\" and has(\"mechanism\") == false" "$(cat "$d/owners.json")"
	assert_jq 'has("mechanism") == false and has("memory_accounting") == false and has("map") == false' "$(cat "$d/prefixes.json")"
	assert_jq '[.maps[] | (.map_id | type) == "number" and (.map_name | type) == "string" and (.map_type | type) == "string"
		and (.key_size_bytes | type) == "number" and (.value_size_bytes | type) == "number"
		and (.max_entries | type) == "number" and ((.use_ratio == null) or (.use_ratio >= 0 and .use_ratio <= 1))
		and (.owner_pids | type) == "array" and (.owner_comms | type) == "array" and (.prog_ids | type) == "array"] | all' \
		"$(cat "$d/auto.json")"
	# old names are gone
	assert_jq '[.maps[] | has("id") or has("name") or has("type") or has("use_percent") or has("key_size")] | any | not' \
		"$(cat "$d/auto.json")"
	assert_jq '[.owners[] | (.pid | type) == "number" and has("memlock_limit_percent") == false] | all' "$(cat "$d/owners.json")"
	# key and value sizes are what mkmaps created (bpftool's view)
	assert_jq ".maps[] | select(.map_id == $id) | .key_size_bytes == $(bpftool map show id "$id" -j | jq .bytes_key) and
		.value_size_bytes == $(bpftool map show id "$id" -j | jq .bytes_value)" "$(cat "$d/auto.json")"
}

# A process with a quote, a backslash, a newline and invalid UTF-8 in its
# name, holding a map: every format keeps it one escaped string
# (bpfscope-output(7)).
@test "mapstat: a hostile owner name stays parseable in JSON, Prometheus (--owners, promtool) and tables" {
	local hex=6d73225c0afffe d="$MS_DIR/hostile"
	# the decoded text every format carries, and the same as a Prometheus label value
	local want='ms"\\\x0a\xff\xfe' label='comm="ms\"\\\\\\x0a\\xff\\xfe"'
	mkdir -p "$d"
	"$B/tests/badcomm" "$hex" map 60 >"$d/ready" &
	BAD_PID=$!
	for _ in $(seq 1 100); do [ -s "$d/ready" ] && break; sleep 0.1; done
	[ -s "$d/ready" ]
	local bp=$BAD_PID
	"$B/mapstat" -o json -p "$bp" >"$d/maps.json"
	strict_json "$d/maps.json"
	jq -e --arg w "$want" '.maps | length == 1 and .[0].map_name == "badcomm_map" and .[0].owner_comms == [$w]' \
		"$d/maps.json" >/dev/null || { cat "$d/maps.json" >&2; return 1; }
	"$B/mapstat" --owners -o json -p "$bp" >"$d/owners.json"
	strict_json "$d/owners.json"
	jq -e --arg w "$want" ".owners == [.owners[0]] and .owners[0].comm == \$w and .owners[0].pid == $bp" \
		"$d/owners.json" >/dev/null || { cat "$d/owners.json" >&2; return 1; }
	"$B/mapstat" --owners -o prom -p "$bp" --file "$d/owners.prom"
	lint_clean "$d/owners.prom"
	grep -qF "bpfscope_mapstat_owned_maps{pid=\"$bp\",$label,view=\"owners\"} 1" "$d/owners.prom" ||
		{ grep owned_maps "$d/owners.prom" >&2; return 1; }
	"$B/mapstat" -p "$bp" >"$d/maps.txt"
	"$B/mapstat" --owners -p "$bp" >"$d/owners.txt"
	grep -qF "$bp/$want" "$d/maps.txt"
	grep -qF "$want" "$d/owners.txt"
	if LC_ALL=C grep -q $'\xff' "$d/maps.txt" "$d/owners.txt"; then echo "raw 0xff in a table" >&2; return 1; fi
	# one line per record: the newline in the name did not split them
	assert_eq "$(grep -vc '^#' "$d/maps.txt")" 2 "table lines (header + map)"
	assert_eq "$(grep -vc '^#' "$d/owners.txt")" 2 "table lines (header + owner)"
}

@test "mapstat: --file replaces the file atomically with a complete JSON snapshot" {
	local f="$MS_DIR/snap.json"
	"$B/mapstat" -o json -i 0.2 -c 3 -m "$(map_id ms_hash)" --file "$f"
	jq -e '.maps[0].entries == 37' "$f"
	strict_json "$f"
	[ "$(wc -l <"$f")" -eq 1 ]
	[ -z "$(ls "$MS_DIR" | grep 'snap.json.tmp')" ]
}

@test "mapstat: bad input gets one line and a documented exit status" {
	run "$B/mapstat" -m 4000000000
	[ "$status" -eq 5 ]; assert_one_line_error "no BPF map with id"
	run "$B/mapstat" --warn abc
	[ "$status" -eq 2 ]; assert_one_line_error "invalid --warn"
	run "$B/mapstat" --warn 150
	[ "$status" -eq 2 ]; assert_one_line_error "invalid --warn"
	run "$B/mapstat" --warn 90 --crit 50
	[ "$status" -eq 2 ]; assert_one_line_error "below --warn"
	run "$B/mapstat" -t nosuchtype
	[ "$status" -eq 2 ]; assert_one_line_error "unknown map type"
	run "$B/mapstat" --mechanism nosuch
	[ "$status" -eq 2 ]; assert_one_line_error "invalid --mechanism 'nosuch': expected one of kfunc, iter, walk, fexit, kprobe"
	if ! has_feature kfunc:bpf_map_sum_elem_count; then
		run "$B/mapstat" --mechanism kfunc
		[ "$status" -eq 4 ]; assert_one_line_error "--mechanism kfunc: the kernel cannot hook map entries that way"
	fi
	run "$B/mapstat" -o yaml
	[ "$status" -eq 2 ]; assert_one_line_error "invalid output format"
	run "$B/mapstat" -i 0
	[ "$status" -eq 2 ]; assert_one_line_error "invalid interval"
	run "$B/mapstat" --prefixes "$(map_id ms_hash)"
	[ "$status" -eq 2 ]; assert_one_line_error "needs an lpm_trie"
	run "$B/mapstat" -p 4000000
	[ "$status" -eq 5 ]; assert_one_line_error "no process with pid"
	run "$B/mapstat" --pinned /sys/fs/bpf/does/not/exist
	[ "$status" -eq 5 ]; assert_one_line_error "does not exist"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$B/mapstat"
	[ "$status" -eq 3 ]; assert_one_line_error "needs CAP_BPF and CAP_PERFMON"
}

# Run the command line CMD as root with only the capabilities KEEP
# (comma-separated) in effect: every other one leaves the bounding set, so
# root's exec gets just those.  The shell first checks that its CapEff is EFF
# (hex, /proc/self/status), else exits 99.

@test "mapstat: CAP_BPF and CAP_PERFMON alone exit 3 naming CAP_SYS_ADMIN (as REQUIREMENTS says), -m and --prefixes of existing maps too" {
	local id lpm
	id=$(map_id ms_hash) lpm=$(map_id ms_lpm)
	# the kernel's answer, independently: bpftool can neither list nor open maps so
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "bpftool map show id $id"
	[ "$status" -ne 0 ] && [ "$status" -ne 99 ] && [[ "$output" == *"Operation not permitted"* ]]
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/mapstat' -o json"
	[ "$status" -eq 3 ]; assert_one_line_error "mapstat: cannot list BPF maps: EPERM (needs CAP_SYS_ADMIN)"
	# maps that exist: a privilege error, not "no BPF map with id" (5)
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/mapstat' -m $id"
	[ "$status" -eq 3 ]; assert_one_line_error "(needs CAP_SYS_ADMIN)"
	run_caps_only cap_bpf,cap_perfmon $BPF_PERFMON_EFF "'$B/mapstat' --prefixes $lpm -o json"
	[ "$status" -eq 3 ]; assert_one_line_error "(needs CAP_SYS_ADMIN)"
	sed -n '/^\.SH REQUIREMENTS/,/^\.SH OPTIONS/p' "$ROOT/man/man8/mapstat.8" | grep -q '^run as root or with CAP_SYS_ADMIN\.$'
}

@test "mapstat: CAP_SYS_ADMIN alone is enough: entries and memory as bpftool has them; owners' memory unknown (null) without CAP_SYS_PTRACE" {
	local id want mem pid=$(mk_pid) ids
	id=$(map_id ms_hash)
	want=$(bpftool map dump id "$id" -j | jq length)
	mem=$(bpftool map show id "$id" -j | jq .bytes_memlock)
	run_caps_only cap_sys_admin $SYS_ADMIN_EFF "'$B/mapstat' -o json -m $id -p $pid"
	[ "$status" -eq 0 ]
	assert_jq ".maps | length == 1"
	assert_jq ".maps[0] | .map_id == $id and .entries == $want and .memlock_bytes == $mem and .owner_pids == [$pid]"
	# mkmaps holds capabilities the tool lacks: its fdinfo is closed to it
	ids=$(jq -c '[.maps[].id]' "$MS_DIR/maps.json")
	run_caps_only cap_sys_admin $SYS_ADMIN_EFF "'$B/mapstat' --owners -o json -p $pid"
	[ "$status" -eq 0 ]
	assert_jq ".owners | length == 1"
	assert_jq ".owners[0] | .pid == $pid and .owned_maps == ($ids | length)"
	assert_jq ".owners[0] | .owned_memlock_bytes == null and .memlock_limit_ratio == null and .memlock_limit_bytes == 1048576"
}

# ---- LRU evictions and updates (tests/lib/lrufill.c: its own key walk is the truth) ----

# lru_start TYPE FLAGS K D [VIA]: an LRU map of 128 entries held by lrufill,
# which inserts K new keys and deletes D present ones once $LF/go exists;
# VIA=prog inserts them from an XDP program (BPF_PROG_TEST_RUN).  Sets LF
# (its directory) and LF_ID.
lru_start() {
	LF=$(mktemp -d "$MS_DIR/lru.XXXXXX")
	if [ "${5:-}" = prog ]; then
		LRUFILL_PROG="$B/fixtures/mapstat_lru.bpf.o" "$B/tests/lrufill" "$1" 128 "$2" bs_lru "$LF/go" "$LF/truth" "$3" "$4" &
	else
		"$B/tests/lrufill" "$1" 128 "$2" bs_lru "$LF/go" "$LF/truth" "$3" "$4" &
	fi
	echo $! >"$LF/pid"
	BAD_PID=$!
	for _ in $(seq 1 300); do [ -s "$LF/truth" ] && break; sleep 0.05; done
	LF_ID=$(jq .id "$LF/truth")
	[ -n "$LF_ID" ]
}

# lru_go: let lrufill insert and wait for its truth (present counted by its walk).
lru_go() {
	touch "$LF/go"
	for _ in $(seq 1 600); do jq -e .inserted "$LF/truth" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}

# lru_measure ARGS...: mapstat -m LF_ID -i 3 -c 2 ARGS > $LF/out; the inserts
# happen between its first snapshot (taken once hooked) and its second (the
# first written to stdout, or to --file $LF/prom).
lru_measure() {
	"$B/mapstat" -m "$LF_ID" -i 3 -c 2 "$@" >"$LF/out" 2>"$LF/err" &
	local mp=$!
	for _ in $(seq 1 600); do [ -s "$LF/out" ] || [ -s "$LF/prom" ] && break; sleep 0.05; done
	lru_go
	wait $mp
}

# The kernel can count evictions here (trampolines or kprobes), as mapstat probes it.
lru_hookable() {
	has_feature fentry || has_feature kprobe
}

lru_check_exact() { # TYPE FLAGS MECH VIA
	local mech=()
	[ "$3" = auto ] || mech=(--mechanism "$3")
	lru_start "$1" "$2" 1000 10 "$4"
	lru_measure -o json --updates "${mech[@]}"
	local truth; truth=$(cat "$LF/truth")
	echo "# $1 $2 via ${4:-syscall} ($KERNEL): $truth; mapstat: $(tail -1 "$LF/out" | jq -c '{lru_mechanism, missed_events, m: .maps[0] | {evictions, updates, entries}}')" >&3
	assert_jq '.update_errors == 0' "$truth"
	[ "$(wc -l <"$LF/out")" -eq 2 ]
	# at start nothing is counted yet: null, not 0
	assert_jq '.maps[0] | .evictions == null and .evictions_per_second == null' "$(head -1 "$LF/out")"
	local want_mech=$3; [ "$3" = auto ] && { has_feature fentry && want_mech=fexit || want_mech=kprobe; }
	assert_jq ".t as \$t | .m | .lru_mechanism == \"$want_mech\" and .missed_events == 0
		and (.maps[0] | .map_type == \"$1\"
		     and .evictions == (\$t.inserted - \$t.present - \$t.deleted)
		     and .updates == \$t.inserted and .entries == \$t.present
		     and .evictions > 0 and .evictions_per_second > 0 and .updates_per_second > 0)" \
		"$(jq -n --argjson t "$truth" --argjson m "$(tail -1 "$LF/out")" '{t: $t, m: $m}')"
}

lru_stop() {
	kill "$(cat "$LF/pid")" 2>/dev/null
	wait "$(cat "$LF/pid")" 2>/dev/null || true
	BAD_PID=
}

@test "mapstat [kernel]: LRU evictions = inserts - present - deleted, updates = inserts (lru_hash, lru_percpu_hash; best mechanism)" {
	lru_hookable || skip_because "no trampolines and no kprobes: the unavailable case is tested instead"
	lru_check_exact lru_hash common auto
	lru_stop
	lru_check_exact lru_percpu_hash nocommon auto
	lru_stop
}

@test "mapstat [kernel]: LRU evictions and updates are exact with --mechanism kprobe (keys inserted by an XDP program)" {
	has_feature kprobe || skip_because "no kprobes"
	lru_check_exact lru_hash common kprobe prog
	lru_stop
	lru_check_exact lru_percpu_hash common kprobe prog
	lru_stop
}

@test "mapstat [kernel]: kprobes do not see bpf(2) updates (the kernel disables them there): counted as missed where the kernel reports it" {
	has_feature kprobe || skip_because "no kprobes"
	lru_start lru_hash common 200 0
	lru_measure -o json --updates --mechanism kprobe
	local last; last=$(tail -1 "$LF/out")
	echo "# kprobe mode, 200 bpf(2) inserts ($KERNEL): $(jq -c '{missed_events, m: .maps[0] | {evictions, updates}}' <<<"$last")" >&3
	lru_stop
	# the kernel counts kprobe runs it skipped since about 6.7: not on 6.1
	[ "$(jq .missed_events <<<"$last")" -gt 0 ] ||
		skip_because "the kernel does not report the kprobe runs it skipped: bpf(2) updates go uncounted (mapstat(8) CAVEATS)"
	# every update and eviction the syscall made: an entry and a return skipped each
	assert_jq '.missed_events >= 2 * 200 and .maps[0].updates == 0' "$last"
}

@test "mapstat [kernel 6.12]: --warn-evictions / --crit-evictions against the measured rate: 6, 7, 0; -c 1 waits one interval; prom passes promtool" {
	lru_hookable || skip_because "no trampolines and no kprobes (tested: --warn-evictions exits 4)"
	lru_start lru_hash common 2000 0
	# the rate mapstat measures, checked against the truth over the interval
	lru_measure -o json
	local truth rate ev
	truth=$(cat "$LF/truth")
	ev=$(jq '.inserted - .present' <<<"$truth")
	rate=$(tail -1 "$LF/out" | jq '.maps[0].evictions_per_second')
	assert_jq ".maps[0].evictions == $ev and (.maps[0].evictions_per_second * 3 / $ev | . > 0.8 and . < 1.2)" \
		"$(tail -1 "$LF/out")"
	lru_stop
	# thresholds: a fresh map, the same inserts each time
	local warn crit
	warn=$(jq -n "$rate / 4") crit=$(jq -n "$rate / 2")
	lru_start lru_hash common 2000 0
	run lru_measure -o json --warn-evictions "$warn" --crit-evictions 1000000
	[ "$status" -eq 6 ]
	assert_jq '.maps[0].level == "warn"' "$(tail -1 "$LF/out")"
	assert_jq '.maps[0].level == "ok"' "$(head -1 "$LF/out")"
	lru_stop
	lru_start lru_hash common 2000 0
	run lru_measure -o json --warn-evictions "$warn" --crit-evictions "$crit"
	[ "$status" -eq 7 ]
	assert_jq '.maps[0].level == "crit"' "$(tail -1 "$LF/out")"
	lru_stop
	lru_start lru_hash common 2000 0
	run lru_measure -o prom --file "$LF/prom" --warn-evictions 1000000 --updates
	[ "$status" -eq 0 ]
	lint_clean "$LF/prom"
	local labels="map_id=\"$LF_ID\",map_name=\"bs_lru\",map_type=\"lru_hash\",view=\"maps\""
	ev=$(jq '.inserted - .present' "$LF/truth")
	assert_eq "$(prom_value "$LF/prom" evictions_total "$labels" | tail -1)" "$ev" "evictions_total"
	assert_eq "$(prom_value "$LF/prom" updates_total "$labels" | tail -1)" 2000 "updates_total"
	lru_stop
	# -c 1 (cron): one snapshot, after one interval, with a rate
	lru_start lru_hash common 10 0
	local t0=$SECONDS
	run "$B/mapstat" -m "$LF_ID" -i 2 -c 1 -o json
	[ "$status" -eq 0 ]
	[ $((SECONDS - t0)) -ge 2 ]
	assert_jq '.maps[0].evictions == 0 and .maps[0].evictions_per_second == 0'
	lru_stop
}

@test "mapstat: without trampolines or kprobes, LRU evictions are null / - with a note, never 0; --warn-evictions exits 4" {
	lru_hookable && skip_because "this kernel can hook LRU evictions (tested above)"
	lru_start lru_hash common 1000 0
	lru_go
	run "$B/mapstat" -m "$LF_ID" -i 1 -c 2 -o json --updates
	[ "$status" -eq 0 ]
	assert_jq '.lru_mechanism == "none" and .maps[0].evictions == null and .maps[0].evictions_per_second == null
		and .maps[0].updates == null' "$(tail -1 <<<"$output")"
	[[ "$output" == *"LRU evictions: not counted (fexit: no BPF trampolines; kprobe: no kprobes)"* ]]
	# without --updates, a note under -v (cron mail stays quiet), the fact says none
	run "$B/mapstat" -m "$LF_ID" -i 1 -c 1 -o json
	[ "$status" -eq 0 ]
	assert_jq '.lru_mechanism == "none" and .maps[0].evictions == null'
	run "$B/mapstat" -m "$LF_ID" -i 1 -c 1 -o json -v
	[[ "$output" == *"note: LRU evictions: not counted (fexit: no BPF trampolines; kprobe: no kprobes)"* ]]
	run "$B/mapstat" -m "$LF_ID" -i 1 -c 1 --no-owners
	[ "$status" -eq 0 ]
	local row; row=$(grep -E "^ *$LF_ID " <<<"$output")
	[[ "$row" =~ lru_hash\ .*\ -\ +-\ *$ ]] || { echo "row: $row" >&2; false; }
	run "$B/mapstat" -m "$LF_ID" -i 1 -c 1 -o prom
	[ "$status" -eq 0 ]
	! grep -q evictions_total <<<"$output"
	run "$B/mapstat" -m "$LF_ID" -i 1 -c 1 --warn-evictions 10
	[ "$status" -eq 4 ]
	assert_one_line_error "kernel offers no way to hook LRU evictions"
	lru_stop
}

@test "mapstat: LRU options need an interval, exclude --owners, and check their values" {
	run "$B/mapstat" --warn-evictions 10
	[ "$status" -eq 2 ]
	[[ "$output" == *"--warn-evictions needs an interval"* ]]
	run "$B/mapstat" --updates
	[ "$status" -eq 2 ]
	run "$B/mapstat" -i 1 --updates --owners
	[ "$status" -eq 2 ]
	run "$B/mapstat" -i 1 --warn-evictions 0
	[ "$status" -eq 2 ]
	run "$B/mapstat" -i 1 --warn-evictions 10 --crit-evictions 5
	[ "$status" -eq 2 ]
	# no LRU map selected: nothing is hooked, the fields are absent
	run "$B/mapstat" -m "$(map_id ms_hash)" -i 1 -c 1 -o json --updates
	[ "$status" -eq 0 ]
	assert_jq '.lru_mechanism == null and .maps[0].evictions == null'
}

@test "mapstat [kernel 6.1]: clean under ASan/UBSan, every mode" {
	[ -x "$BA/mapstat" ] || skip_because "ASan build missing (make BUILD=build/asan SAN=address testbins)"
	for args in "-o json -p $(mk_pid)" "--mechanism iter -o table --wide" "--mechanism walk -o prom" \
		"--prefixes $(map_id ms_lpm)" "-i 0.2 -c 2 -m $(map_id ms_grow)" "-i 0.2 -c 2 -t lru_hash --updates"; do
		run "$BA/mapstat" $args
		[ "$status" -eq 0 ] || { echo "args: $args: $output" >&2; return 1; }
	done
}

prog_leftovers() {
	bpftool prog show -j | jq '[.[] | (.name // "") as $n | select($n | IN("maps_kfunc","maps_core","owners_scan","count_elems","count_socks","lru_evict_fx","lru_evict_kp","lru_evict_kr","lru_update_fx","lru_update_kp","lru_update_kr","lru_pupdate_fx","lru_pupdate_kp","lru_pupdate_kr"))] | length'
}

@test "mapstat [kernel]: leaves no programs or links behind after exit, SIGINT and SIGKILL" {
	wait_gone() {
		for _ in $(seq 1 200); do [ "$(prog_leftovers)" -eq 0 ] && return 0; sleep 0.1; done
		return 1
	}
	wait_gone
	local pins_before; pins_before=$(find /sys/fs/bpf | sort)
	"$B/mapstat" -o json >/dev/null
	wait_gone
	wait_loaded() { # it really had programs loaded (slow under emulation)
		for _ in $(seq 1 200); do [ "$(prog_leftovers)" -gt 0 ] && return 0; sleep 0.1; done
		return 1
	}
	"$B/mapstat" -i 1 >/dev/null & local p=$!
	wait_loaded
	kill -INT $p; wait $p || true
	wait_gone
	"$B/mapstat" -i 1 --updates >/dev/null & p=$!
	wait_loaded
	kill -KILL $p; wait $p || true
	wait_gone
	[ "$(find /sys/fs/bpf | sort)" = "$pins_before" ]
}
