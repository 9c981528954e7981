#!/usr/bin/env bash
# make bench: run every bench/TOOL.sh; each writes bench/results/TOOL.txt
# (side-by-side measurements reported as ratios against peers).
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 3; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
export B=$PWD/build PATH=$PWD/build:$PATH
rc=0
for b in bench/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	[ "$(basename "$b")" = lib.sh ] && continue
	name=$(basename "$b" .sh)
	echo "=== bench: $name ==="
	bash "$b" | tee "bench/results/$name.txt" || rc=1
done
exit $rc
