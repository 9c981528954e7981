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

maps_json() { cat "$MS_DIR/maps.json"; }
map_id() { jq -r --arg n "$1" '.maps[] | select(.name == $n) | .id' "$MS_DIR/maps.json"; }
mk_pid() { cat "$MS_DIR/mkmaps.pid"; }

# every fixture map: entries equal to the ground truth (null where not countable)
check_counts() {
	local method=$1 out
	out=$("$B/mapstat" --method "$method" -o json -p "$(mk_pid)")
	jq -e --slurpfile e "$MS_DIR/maps.json" --arg m "$method" '
		[ $e[0].maps[] as $x
		  | (.maps[] | select(.id == $x.id)) as $got
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
	run "$B/mapstat" --method walk -o json -m "$(map_id ms_queue)" -m "$(map_id ms_stack)"
	[ "$status" -eq 0 ]
	assert_jq '[.maps[] | select(.entries == null and .entries_method == "none")] | length == 2'
}

@test "mapstat [kernel]: the hash family is counted with the kfunc where the kernel has it, else the element iterator" {
	run "$B/mapstat" -o json -m "$(map_id ms_hash_big)" -m "$(map_id ms_lru)"
	[ "$status" -eq 0 ]
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
	for m in auto iter walk; do
		run "$B/mapstat" --method $m -o json -m "$id"
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
	assert_jq '.maps[] | select(.name == "ms_ringbuf") | .entries == 560 and .max_entries == 16384'
	assert_jq '[.maps[] | select(.name != "ms_ringbuf") | .entries_method] == ["fixed","fixed"]'
	assert_jq '[.maps[] | select(.name != "ms_ringbuf") | .entries == .max_entries] | all'
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
	got=$(jq -c '[.maps[].id] | sort' <<<"$output")
	assert_eq "$got" "$want" "map ids held by mkmaps"
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
	if has_feature memcg; then
		assert_jq '.owners[0].charged_to == "memcg" and .memory_accounting == "memcg"'
	else
		assert_jq '.owners[0].charged_to == "memlock"'
	fi
}

@test "mapstat: pinned paths and --pinned filter match the pin the test made" {
	run "$B/mapstat" -o json --pinned "$PIN_DIR"
	[ "$status" -eq 0 ]
	assert_jq "[.maps[].id] == [$(map_id ms_hash)]"
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
	assert_jq "[.maps[].id] == [$(map_id ms_lru)]"
	run "$B/mapstat" -o json -n 'ms_sock*' -p "$(mk_pid)"
	assert_jq "[.maps[].name] | sort == [\"ms_sockhash\",\"ms_sockmap\"]"
}

@test "mapstat: --prefixes gives the LPM trie's prefix-length mix" {
	run "$B/mapstat" -o json --prefixes "$(map_id ms_lpm)"
	[ "$status" -eq 0 ]
	assert_jq '[.prefixes[] | [.prefixlen, .prefix_entries]] == [[8,1],[16,2],[24,3],[32,5]]'
}

@test "mapstat: thresholds flag maps and set exit status 6 (warn) / 7 (crit) / 0" {
	local id=$(map_id ms_hash)   # 37 of 100
	run "$B/mapstat" -o json -m "$id" --warn 40
	[ "$status" -eq 0 ]
	assert_jq '.maps[0].level == "ok"'
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
	promtool check metrics <"$dir/mapstat.prom"
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
	grep -q "^bpfscope_mapstat_entries{id=\"$id\",name=\"ms_hash\",type=\"hash\"} 37$" <<<"$body"
	grep -q '^node_textfile_scrape_error 0$' <<<"$body"
}

@test "mapstat: --file replaces the file atomically with a complete JSON snapshot" {
	local f="$MS_DIR/snap.json"
	"$B/mapstat" -o json -i 0.2 -c 3 -m "$(map_id ms_hash)" --file "$f"
	jq -e '.maps[0].entries == 37' "$f"
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
	[ "$status" -eq 3 ]; assert_one_line_error "needs root"
}

@test "mapstat: clean under valgrind" {
	valgrind_clean "$B/mapstat" -o json -i 0.3 -c 2 -p "$(mk_pid)"
	[ "$status" -eq 0 ]
	jq -e . <<<"$(head -1 <<<"$output")" >/dev/null
}

@test "mapstat [kernel]: clean under ASan/UBSan, every mode" {
	[ -x "$BA/mapstat" ] || skip_because "ASan build missing (make BUILD=build/asan SAN=address testbins)"
	for args in "-o json -p $(mk_pid)" "--method iter -o table --wide" "--method walk -o prom" \
		"--prefixes $(map_id ms_lpm)" "-i 0.2 -c 2 -m $(map_id ms_grow)"; do
		run "$BA/mapstat" $args
		[ "$status" -eq 0 ] || { echo "args: $args: $output" >&2; return 1; }
	done
}

prog_leftovers() {
	bpftool prog show -j | jq '[.[] | select(.name | IN("maps_kfunc","maps_core","owners_scan","count_elems","count_socks"))] | length'
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
	"$B/mapstat" -i 1 >/dev/null & p=$!
	wait_loaded
	kill -KILL $p; wait $p || true
	wait_gone
	[ "$(find /sys/fs/bpf | sort)" = "$pins_before" ]
}
