# Shared helpers for bats integration tests.  Load with:  load ../lib/helpers
# Environment: BPFSCOPE_BUILD (default build), BPFSCOPE_ASAN_BUILD (build/asan).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
B="${BPFSCOPE_BUILD:-$ROOT/build}"
BA="${BPFSCOPE_ASAN_BUILD:-$ROOT/build/asan}"
KERNEL="$(uname -r)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99"

# True inside the second-kernel guest (tests/vm sets BPFSCOPE_KERNEL there):
# CPU-bound work is ~20x slower, so tests may scale volumes, never assertions.
in_vm() {
	[ -n "${BPFSCOPE_KERNEL:-}" ]
}

# Skip with a reason printed (never pass silently).
skip_because() {
	skip "$* [kernel $KERNEL]"
}

# Feature probe through the same code the tools use (tests/lib/bpfprobe.c).
has_feature() {
	"$B/tests/bpfprobe" "$1" >/dev/null 2>&1
}

require_feature() {
	has_feature "$1" || skip_because "kernel lacks $1"
}

# Run a command under valgrind; fails the test on any error or definite leak.
valgrind_clean() {
	command -v valgrind >/dev/null || skip_because "valgrind not installed"
	in_vm && skip_because "valgrind under QEMU emulation takes minutes per run; the host suite runs it (ASan runs here)"
	local log="${BATS_TEST_TMPDIR:-/tmp}/valgrind.$$.log"
	run valgrind -q --error-exitcode=98 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --suppressions="$ROOT/tests/valgrind.supp" \
		--log-file="$log" "$@"
	if [ "$status" -eq 98 ]; then
		grep -v 'unhandled eBPF command' "$log" >&2
	fi
	rm -f "$log"
}

# Assert a JSON document ($output) satisfies a jq expression (prints both on failure).
assert_jq() {
	local expr="$1" doc="${2:-$output}"
	if ! jq -e "$expr" >/dev/null <<<"$doc"; then
		echo "jq assertion failed: $expr" >&2
		echo "document: ${doc:0:2000}" >&2
		return 1
	fi
}

# assert_eq ACTUAL EXPECTED [what]
assert_eq() {
	if [ "$1" != "$2" ]; then
		echo "${3:-value}: expected '$2', got '$1'" >&2
		return 1
	fi
}

# Exactly one line of stderr/stdout, naming the tool.
assert_one_line_error() {
	local n
	n=$(printf '%s\n' "$output" | grep -c .)
	if [ "$n" -ne 1 ]; then
		echo "expected exactly one error line, got $n: $output" >&2
		return 1
	fi
	[[ "$output" == *"$1"* ]] || { echo "error line lacks '$1': $output" >&2; return 1; }
}

# Unique names for namespaces and devices made by a test.
uniq_name() {
	echo "bs$1$$${BATS_TEST_NUMBER:-0}"
}

# Run CMD (a shell command line) as root whose capabilities are only KEEP
# (comma-separated, e.g. cap_bpf,cap_perfmon): the bounding set is cut to
# them before exec, and the effective set must read EFF (else status 99).
# Sets bats' status and output.
run_caps_only() { # KEEP EFF CMD
	command -v capsh >/dev/null || skip_because "capsh not installed"
	local drop
	drop=$(capsh --print | sed -n 's/^Bounding set =//p' | tr , '\n' | grep -vxF "$(tr , '\n' <<<"$1")" | paste -sd, -)
	run capsh --drop="$drop" -- -c "grep -qx 'CapEff:[[:space:]]*$2' /proc/self/status || { grep CapEff /proc/self/status; exit 99; }; $3"
}
BPF_PERFMON_EFF=000000c000000000  # CAP_PERFMON (38), CAP_BPF (39)
SYS_ADMIN_EFF=0000000000200000    # CAP_SYS_ADMIN (21)
