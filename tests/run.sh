#!/usr/bin/env bash
# bpfscope test runner: unit tests (cmocka, plain and ASan builds), the
# integration suite (bats, root) on this kernel, then the suite inside a
# guest of each kernel series of the matrix (tests/vm: Debian's 6.1 and
# 6.12).  Prints every test with the kernel that ran it, a summary per kernel
# with its wall time, and ends with one line:  N passed, N failed, N skipped
#
#   tests/run.sh [--unit-only | --host-only | --vm-only | --vm-kernel-only]
#                [--kernel SERIES]... [bats files...]
# --vm-kernel-only: the guests' part of `make test`, the "[kernel]" tests;
# --vm-only: every test in the guests (`make vmtest`).  --kernel picks the
# guests (repeatable; default $BPFSCOPE_VM_KERNELS, else "6.1 6.12"), in order.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mode=all
kernels=()
while [ $# -gt 0 ]; do
	case "$1" in
	--unit-only) mode=unit ;;
	--host-only) mode=host ;;
	--vm-only) mode=vm ;;
	--vm-kernel-only) mode=vmk ;;
	--kernel) kernels+=("${2:?--kernel needs a series}"); shift ;;
	--kernel=*) kernels+=("${1#--kernel=}") ;;
	*) break ;;
	esac
	shift
done
if [ ${#kernels[@]} -eq 0 ]; then
	list=${BPFSCOPE_VM_KERNELS:-6.1 6.12}
	read -r -a kernels <<<"${list//,/ }"
fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/integration/*.bats)

pass=0 fail=0 skipped=0
declare -a summary=() failures=()

# Parse TAP on stdin, print each result labelled, count it.
tally() {
	local label=$1 p=0 f=0 s=0 line
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# skip"*) s=$((s + 1)); echo "[$label] $line" ;;
		"ok "*) p=$((p + 1)); echo "[$label] $line" ;;
		"not ok "*) f=$((f + 1)); echo "[$label] $line"; failures+=("[$label] ${line% in [0-9]*ms}") ;;
		"#"*) echo "[$label]   $line" ;;
		esac
	done
	pass=$((pass + p)) fail=$((fail + f)) skipped=$((skipped + s))
	summary+=("$label: $p passed, $f failed, $s skipped")
}

# run_checked LABEL NAME CMD...: tally CMD's TAP; a non-zero exit without a
# failing test (a crash, a syntax error) counts as one failure.
run_checked() {
	local label=$1 name=$2 tmp rc
	shift 2
	tmp=$(mktemp)
	"$@" >"$tmp" 2>&1
	rc=$?
	sed -i -e "s/^\(not ok\|ok\) \([0-9]*\) - /\1 \2 $name: /" "$tmp"
	tally "$label" <"$tmp"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$tmp"; then
		echo "[$label] not ok - $name exited with status $rc without a test result:"
		failures+=("[$label] $name exited with status $rc without a test result")
		tail -20 "$tmp" | sed "s/^/[$label]   /"
		fail=$((fail + 1))
	fi
	rm -f "$tmp"
}

mounted=()
mount_if_missing() { # type path
	if ! mountpoint -q "$2" 2>/dev/null; then
		mkdir -p "$2" 2>/dev/null
		mount -t "$1" "$1" "$2" 2>/dev/null && mounted+=("$2")
	fi
}
cleanup() {
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null; done
}
trap cleanup EXIT

run_unit() {
	local dir=$1 label=$2 t
	[ -d "$dir" ] || return 0
	for t in "$dir"/test_*; do
		[ -x "$t" ] || continue
		run_checked "$label" "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
	done
}

run_host() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "!!! integration tests need root: SKIPPED on this kernel"
		skipped=$((skipped + 1))
		summary+=("host $(uname -r): SKIPPED (not root)")
		return
	fi
	mount_if_missing bpf /sys/fs/bpf
	mount_if_missing tracefs /sys/kernel/tracing
	mount_if_missing debugfs /sys/kernel/debug
	local start=$SECONDS
	echo "=== kernel $(uname -r) (host): the whole integration suite ==="
	run_checked "host $(uname -r)" bats bats --tap --timing "${files[@]}"
	summary[-1]+=" ($(took "$start"))"
}

# Wall time since START (seconds) as "12m34s".
took() {
	local t=$((SECONDS - $1))
	printf '%dm%02ds' $((t / 60)) $((t % 60))
}

# The guests are emulated (about 20 times slower): `make test` runs there the
# tests whose outcome depends on the kernel (named "[kernel]"), `make vmtest`
# (--vm-only) runs every test.  One guest per kernel series, one after the
# other or side by side (run_vms).  The TAP comes back in a file on the guest's 9p share (BPFSCOPE_VM_OUT),
# not over the serial console (about 200 KB/s); the console keeps the guest's
# own messages for a post-mortem.
run_vm() { # SERIES [FILTER]
	local series=$1 filter=${2:-} out rc kdir kver vm_pid start=$SECONDS
	local -a fargs=()
	out=$(mktemp -d /tmp/bpfscope-vm.XXXXXX)
	if [ -n "$filter" ]; then
		# "[kernel]" tests run in every guest, "[kernel SERIES]" ones in that series' guest only
		fargs=(--filter "${filter//SERIES/${series//./\\.}}")
		echo "=== kernel $series (guest): kernel-dependent tests ([kernel]); 'make vmtest' runs all ==="
	else
		echo "=== kernel $series (guest): the whole integration suite ==="
	fi
	# The guest's kernel (its directory is named after its uname -r) labels the results as they come.
	kdir=$(tests/vm/prepare.sh --kernel "$series" 2>"$out/console")
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "!!! KERNEL $series SKIPPED: $(grep -m1 'vm:' "$out/console" || echo 'guest could not be prepared')"
		skipped=$((skipped + 1))
		summary+=("guest $series: SKIPPED ($(grep -m1 'vm:' "$out/console"))")
		rm -rf "$out"
		return
	fi
	kver=${kdir##*/}
	: >"$out/tap"
	# [kernel] runs: the virtio-net NICs of tests/integration/xdpcheck.bats (found there by MAC)
	local -a nics=()
	[ -z "$filter" ] || nics=(
		--nic tap,mac=52:54:00:b5:0c:01,ctrl_guest_offloads=off
		--nic tap,mac=52:54:00:b5:0c:02,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,guest_csum=off
		--nic tap,mac=52:54:00:b5:0c:03
		--nic hub,mac=52:54:00:b5:0c:04
		--nic hub,mac=52:54:00:b5:0c:05
	)
	# [kernel] tests: about 12 minutes a guest; the whole suite: about 55
	BPFSCOPE_VM_OUT=$out tests/vm/run.sh --kernel "$series" "${nics[@]}" \
		--timeout "${BPFSCOPE_VM_TIMEOUT:-$([ -n "$filter" ] && echo 1800 || echo 7200)}" -- \
		sh -c 'uname -r > "$BPFSCOPE_VM_OUT/kernel"; bats --tap --timing "$@" > "$BPFSCOPE_VM_OUT/tap" 2>&1' \
		sh "${fargs[@]}" "${files[@]}" >>"$out/console" 2>&1 &
	vm_pid=$!
	# Each result as the guest writes it (tail ends once the guest is gone and the file is read).
	tally "guest $kver" < <(tail -n +1 -F --pid="$vm_pid" "$out/tap" 2>/dev/null)
	wait "$vm_pid"
	rc=$?
	if [ "$(cat "$out/kernel" 2>/dev/null)" != "$kver" ] && [ -s "$out/kernel" ]; then
		echo "!!! guest $series ran kernel $(cat "$out/kernel"), not $kver"
		fail=$((fail + 1))
	fi
	if [ $rc -eq 77 ]; then
		unset 'summary[-1]'
		echo "!!! KERNEL $series SKIPPED: $(grep -m1 'vm:' "$out/console" || echo 'guest could not be prepared')"
		skipped=$((skipped + 1))
		summary+=("guest $series: SKIPPED ($(grep -m1 'vm:' "$out/console"))")
	elif ! grep -q '^1\.\.' "$out/tap"; then
		unset 'summary[-1]'
		echo "!!! kernel $series: guest failed (status $rc):"
		tail -20 "$out/console"
		fail=$((fail + 1))
		summary+=("guest $kver: FAILED to run (status $rc, $(took "$start"))")
	else
		summary[-1]+=" ($(took "$start"))"
		if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out/tap"; then
			echo "!!! guest $kver exited with status $rc although no test failed"
			tail -5 "$out/console"
			fail=$((fail + 1))
			summary[-1]+="; then the guest failed (status $rc): $(grep -m1 'vm:' "$out/console" || tail -1 "$out/console")"
		elif [ "$(grep -c '^\(not \)\?ok ' "$out/tap")" != "$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out/tap" | head -1)" ]; then
			echo "!!! guest $kver stopped before its last test (status $rc)"
			tail -5 "$out/console"
			fail=$((fail + 1))
			summary[-1]+="; stopped before its last test (status $rc): $(grep -m1 'vm:' "$out/console" || tail -1 "$out/console")"
		fi
	fi
	rm -rf "$out"
}

# The guests one after the other; BPFSCOPE_VM_PARALLEL=1 runs them side by
# side.  Measured on this 2-core machine: side by side, each guest's [kernel]
# tests took over 30 minutes (one after the other: about 15 each), so in turn
# is the default.  Each guest's results go to a file of their own: the first
# guest's are shown as they come, the others' when it is over; the counts and
# summary lines are added up at the end.
run_vms() { # [FILTER]
	local k i dir pids=() p f s line
	if [ "${BPFSCOPE_VM_PARALLEL:-0}" = 0 ] || [ ${#kernels[@]} -lt 2 ]; then
		for k in "${kernels[@]}"; do
			run_vm "$k" "$@"
		done
		return
	fi
	dir=$(mktemp -d /tmp/bpfscope-vms.XXXXXX)
	for i in "${!kernels[@]}"; do
		(
			pass=0 fail=0 skipped=0 summary=() failures=()
			run_vm "${kernels[$i]}" "$@"
			echo "$pass $fail $skipped" >"$dir/$i.counts"
			printf '%s\n' "${summary[@]}" >"$dir/$i.summary"
			printf '%s\n' "${failures[@]}" >"$dir/$i.failures"
		) >"$dir/$i.out" 2>&1 &
		pids+=($!)
	done
	tail -n +1 -F --pid="${pids[0]}" "$dir/0.out" 2>/dev/null
	for i in "${!kernels[@]}"; do
		wait "${pids[$i]}"
		[ "$i" = 0 ] || cat "$dir/$i.out"
		if read -r p f s <"$dir/$i.counts" 2>/dev/null; then
			pass=$((pass + p)) fail=$((fail + f)) skipped=$((skipped + s))
			while IFS= read -r line; do summary+=("$line"); done <"$dir/$i.summary"
			while IFS= read -r line; do [ -z "$line" ] || failures+=("$line"); done <"$dir/$i.failures"
		else
			echo "!!! guest ${kernels[$i]}: its runner ended without results"
			fail=$((fail + 1))
			summary+=("guest ${kernels[$i]}: FAILED (no results)")
		fi
	done
	rm -rf "$dir"
}

case $mode in
unit) run_unit build/unit unit; run_unit build/asan/unit unit-asan ;;
host) run_host ;;
vm) run_vms ;;
vmk) run_vms '\[kernel( SERIES)?\]' ;;
all)
	run_unit build/unit unit
	run_unit build/asan/unit unit-asan
	run_host
	run_vms '\[kernel( SERIES)?\]'
	;;
esac

echo
# The failed tests again at the end, where a CI log's tail shows them.
[ ${#failures[@]} -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
for s in "${summary[@]}"; do echo "  $s"; done
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
