#!/usr/bin/env bash
# bpfscope test runner: unit tests (cmocka, plain and ASan builds), the
# integration suite (bats, root) on this kernel, then the same suite inside
# the second-kernel guest (tests/vm).  Prints every test with the kernel that
# ran it and ends with one line:  N passed, N failed, N skipped
#
#   tests/run.sh [--unit-only | --host-only | --vm-only | --vm-kernel-only] [bats files...]
# (--vm-kernel-only: the guest's part of `make test`, the "[kernel]" tests)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mode=all
case "${1:-}" in
--unit-only) mode=unit; shift ;;
--host-only) mode=host; shift ;;
--vm-only) mode=vm; shift ;;
--vm-kernel-only) mode=vmk; shift ;;
esac
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/integration/*.bats)

pass=0 fail=0 skipped=0
declare -a summary=()

# Parse TAP on stdin, print each result labelled, count it.
tally() {
	local label=$1 p=0 f=0 s=0 line
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# skip"*) s=$((s + 1)); echo "[$label] $line" ;;
		"ok "*) p=$((p + 1)); echo "[$label] $line" ;;
		"not ok "*) f=$((f + 1)); echo "[$label] $line" ;;
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
	run_checked "host $(uname -r)" bats bats --tap --timing "${files[@]}"
}

# The guest is emulated (about 20 times slower): `make test` runs there the
# tests whose outcome depends on the kernel (named "[kernel]"), `make vmtest`
# (--vm-only) runs every test.
run_vm() {
	local out rc kver filter=${1:-}
	local -a fargs=()
	out=$(mktemp -d /tmp/bpfscope-vm.XXXXXX)
	if [ -n "$filter" ]; then
		fargs=(--filter "$filter")
		echo "=== second kernel: kernel-dependent tests ([kernel]) in the guest; 'make vmtest' runs all ==="
	else
		echo "=== second kernel: the whole integration suite in the guest ==="
	fi
	BPFSCOPE_VM_OUT=$out tests/vm/run.sh --timeout "${BPFSCOPE_VM_TIMEOUT:-1800}" -- \
		sh -c 'uname -r > "$BPFSCOPE_VM_OUT/kernel"; bats --tap --timing "$@" > "$BPFSCOPE_VM_OUT/tap" 2>&1' \
		sh "${fargs[@]}" "${files[@]}" >"$out/console" 2>&1
	rc=$?
	kver=$(cat "$out/kernel" 2>/dev/null || echo guest)
	if [ $rc -eq 77 ]; then
		echo "!!! SECOND KERNEL SKIPPED: $(grep -m1 'vm:' "$out/console" || echo 'guest could not be prepared')"
		skipped=$((skipped + 1))
		summary+=("guest: SKIPPED ($(grep -m1 'vm:' "$out/console"))")
	elif [ ! -s "$out/tap" ]; then
		echo "!!! second kernel: guest failed (status $rc):"
		tail -20 "$out/console"
		fail=$((fail + 1))
		summary+=("guest $kver: FAILED to run (status $rc)")
	else
		tally "guest $kver" <"$out/tap"
		if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out/tap"; then
			echo "!!! guest exited with status $rc although no test failed"
			tail -5 "$out/console"
			fail=$((fail + 1))
		fi
	fi
	rm -rf "$out"
}

case $mode in
unit) run_unit build/unit unit; run_unit build/asan/unit unit-asan ;;
host) run_host ;;
vm) run_vm ;;
vmk) run_vm '\[kernel\]' ;;
all)
	run_unit build/unit unit
	run_unit build/asan/unit unit-asan
	run_host
	run_vm '\[kernel\]'
	;;
esac

echo
for s in "${summary[@]}"; do echo "  $s"; done
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
