#!/usr/bin/env bats
# Prog arrays must never be opened by id (common/maplist.h): the kernel leaks
# a prog array whose user references drop to zero twice before its deferred
# clear runs (tests/lib/progarray_leak.c).  Ground truth: bpftool's map list,
# the ids the loaders print, and the bpf(2) calls strace records.

load ../lib/helpers

setup_file() {
	export PA_DIR
	PA_DIR=$(mktemp -d /tmp/bs-progarrays.XXXXXX)
}

teardown_file() {
	for f in "$PA_DIR"/*.pid; do
		[ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$PA_DIR"
}

# ids of the maps named $1 that exist now, one per line.  bpftool opens every
# map by id, which is what leaks a dying prog array: use it only where no
# prog array can be between its owner's last close and its slot clearing.
map_ids_named() { bpftool map show -j | jq -r --arg n "$1" '.[] | select(.name == $n) | .id'; }
# ids in $2 (lines) that are not in $1 (lines)
new_ids() { comm -13 <(sort <<<"$1") <(sort <<<"$2") | grep . || true; }
# map ids from BPF_MAP_GET_NEXT_ID only: opens nothing
map_ids() { "$B/tests/bpfids" map; }

# Start tailcalls_load with prog arrays; prints the ids of its prog arrays.
start_loader() {
	local tag=$1
	"$B/tests/tailcalls_load" --cycle >"$PA_DIR/$tag.json" 2>"$PA_DIR/$tag.err" 3>&- &
	echo $! >"$PA_DIR/$tag.pid"
	for _ in $(seq 1 600); do
		grep -q '}$' "$PA_DIR/$tag.json" 2>/dev/null && break
		sleep 0.1
	done
	grep -q '}$' "$PA_DIR/$tag.json" || { cat "$PA_DIR/$tag.err" >&2; return 1; }
}

stop_loader() {
	kill "$(cat "$PA_DIR/$1.pid")" 2>/dev/null
	wait "$(cat "$PA_DIR/$1.pid")" 2>/dev/null || true
	rm -f "$PA_DIR/$1.pid"
}

# Map ids that a command opened with BPF_MAP_GET_FD_BY_ID, from strace.
opened_map_ids() {
	grep -o 'BPF_MAP_GET_FD_BY_ID, {map_id=[0-9]*' "$1" | grep -o '[0-9]*$' | sort -un
}

# Fails if any id in the strace log $1 was a prog array (types from $2, a
# bpftool map list taken while the tool ran).
assert_no_prog_array_opened() {
	local ids bad
	ids=$(opened_map_ids "$1")
	bad=$(jq -r --argjson ids "[$(paste -sd, <<<"${ids:-0}")]" \
		'.[] | select(.type == "prog_array" and (.id as $i | $ids | index($i))) | "\(.id) \(.name)"' "$2")
	if [ -n "$bad" ]; then
		echo "prog arrays opened by id: $bad" >&2
		return 1
	fi
}

@test "prog arrays [kernel]: the kernel's reference leak reproduced, and its control case" {
	command -v bpftool >/dev/null || skip_because "bpftool not installed"
	# control: the same calls with the deferred clear given time to run
	run "$B/tests/progarray_leak" --wait 2
	[ "$status" -eq 0 ]
	[[ "$output" == *"leaked 0 of 2"* ]]
	# the race: whether this kernel leaks is what we learn; the reproducer's
	# verdict must agree with bpftool's list
	run "$B/tests/progarray_leak" 1
	[ "$status" -le 1 ]
	local said left
	said=$(sed -n 1p <<<"$output" | sed 's/^leaked *//')
	left=$(map_ids_named pa_leak)
	for id in $said; do
		grep -qx "$id" <<<"$left" || { echo "reproducer says $id leaked, bpftool does not list it" >&2; return 1; }
	done
	if [ "$status" -eq 1 ]; then
		echo "# kernel $KERNEL: leaks a prog array (ids $said, owned by nothing)" >&3
		# held by no process: no fd of any process refers to it
		run bash -c "bpftool map show id ${said%% *} -j | jq -e '.pids == null'"
		[ "$status" -eq 0 ]
	else
		echo "# kernel $KERNEL: did not leak in this run" >&3
	fi
}

@test "tailcalls [kernel 6.1]: profiling and graph modes never open a prog array by id (strace)" {
	command -v strace >/dev/null || skip_because "strace not installed"
	start_loader tc1
	bpftool map show -j >"$PA_DIR/maps.json"
	[ "$(jq '[.[] | select(.type == "prog_array")] | length' "$PA_DIR/maps.json")" -ge 3 ]
	run strace -f -qq -e trace=bpf -o "$PA_DIR/tc-i.strace" "$B/tailcalls" -i 0.2 -c 2 -o json
	[ "$status" -eq 0 ]
	# it did read the loader's arrays and their slots (from the iterator)
	local arr
	arr=$(jq -r '.maps.cyc_array // .maps.stages // empty' "$PA_DIR/tc1.json" | head -n 1)
	[ -n "$arr" ]
	grep -q "\"map:$arr\"" <<<"$output"
	assert_no_prog_array_opened "$PA_DIR/tc-i.strace" "$PA_DIR/maps.json"
	run strace -f -qq -e trace=bpf -o "$PA_DIR/tc-g.strace" "$B/tailcalls" -o json
	[ "$status" -eq 0 ]
	assert_no_prog_array_opened "$PA_DIR/tc-g.strace" "$PA_DIR/maps.json"
	stop_loader tc1
}

@test "mapstat [kernel 6.1]: snapshots, --owners and -m never open a prog array by id (strace)" {
	command -v strace >/dev/null || skip_because "strace not installed"
	start_loader ms1
	bpftool map show -j >"$PA_DIR/maps.json"
	local arr
	arr=$(jq -r '[.[] | select(.type == "prog_array")][0].id' "$PA_DIR/maps.json")
	run strace -f -qq -e trace=bpf -o "$PA_DIR/ms.strace" "$B/mapstat" -i 0.2 -c 2 -o json
	[ "$status" -eq 0 ]
	assert_no_prog_array_opened "$PA_DIR/ms.strace" "$PA_DIR/maps.json"
	run strace -f -qq -e trace=bpf -o "$PA_DIR/ms-m.strace" "$B/mapstat" -m "$arr" -o json -c 1
	[ "$status" -eq 0 ]
	assert_no_prog_array_opened "$PA_DIR/ms-m.strace" "$PA_DIR/maps.json"
	# the prog array is still counted: its slots against bpftool's dump
	local want
	want=$(bpftool map dump id "$arr" -j | jq 'length')
	assert_jq ".maps[0].map_id == $arr and .maps[0].entries == $want" "$(head -n 1 <<<"$output")"
	run strace -f -qq -e trace=bpf -o "$PA_DIR/ms-o.strace" "$B/mapstat" --owners -o json -c 1
	[ "$status" -eq 0 ]
	assert_no_prog_array_opened "$PA_DIR/ms-o.strace" "$PA_DIR/maps.json"
	stop_loader ms1
}

@test "tailcalls: eight back-to-back profiled runs leave no prog array behind" {
	local before left id names=""
	before=$(map_ids)
	for _ in 1 2 3 4 5 6 7 8; do
		"$B/tailcalls" -i 0.05 -c 1 >/dev/null
	done
	# watch ids without opening anything until the runs' maps are freed
	for _ in $(seq 1 50); do
		left=$(new_ids "$before" "$(map_ids)")
		[ -z "$left" ] && break
		sleep 0.1
	done
	# what is left (possibly other processes' maps): name it, now that no
	# slot clearing of the runs can still be pending
	sleep 1
	for id in $left; do
		names+=$(bpftool map show id "$id" -j 2>/dev/null | jq -r 'select(.name == "selftest_array") | " \(.id)"')
	done
	assert_eq "$names" "" "selftest_array maps left behind"
}

@test "tailcalls and mapstat running while a loader exits three times: none of its prog arrays stays" {
	"$B/tailcalls" -i 0.05 -o json >/dev/null 2>&1 3>&- &
	local t=$!
	echo $t >"$PA_DIR/watch-t.pid" # teardown_file stops it if the test fails
	"$B/mapstat" -i 0.05 -o json >/dev/null 2>&1 3>&- &
	local m=$!
	echo $m >"$PA_DIR/watch-m.pid"
	local ids=""
	for k in 1 2 3; do
		start_loader "exit$k"
		ids+="$(jq -r '.maps[]' "$PA_DIR/exit$k.json")"$'\n'
		sleep 0.3
		stop_loader "exit$k"
		sleep 0.2
	done
	kill -INT "$t" "$m"
	wait "$t" "$m" || true
	[ "$(grep -c . <<<"$ids")" -ge 6 ]
	local left=""
	for _ in $(seq 1 50); do
		left=$(comm -12 <(grep . <<<"$ids" | sort) <(map_ids | sort))
		[ -z "$left" ] && break
		sleep 0.1
	done
	assert_eq "$(paste -sd ' ' <<<"$left")" "" "the loader's maps left in the kernel"
}
