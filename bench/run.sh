#!/usr/bin/env bash
# make bench: run every bench/TOOL.sh, then bench/observer.sh (what each tool costs the workloads
# it does and does not observe); each writes bench/results/NAME.txt (side-by-side measurements
# reported as ratios).  bench/run.sh NAME... runs only those (e.g. bench/run.sh observer).
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 3; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
export B=$PWD/build PATH=$PWD/build:$PATH
if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for b in bench/*.sh; do
		case $(basename "$b") in run.sh | lib.sh | observer.sh) continue ;; esac
		names+=("$(basename "$b" .sh)")
	done
	names+=(observer) # last: it runs every tool against every workload
fi
rc=0
for name in "${names[@]}"; do
	[ -f "bench/$name.sh" ] || { echo "bench: no bench/$name.sh" >&2; rc=1; continue; }
	echo "=== bench: $name ==="
	bash "bench/$name.sh" | tee "bench/results/$name.txt" || rc=1
done
exit $rc
