#!/usr/bin/env bash
# make demo: each tool's part (demo/parts/NN-TOOL.sh) builds a small scenario,
# runs the tool against it, prints its real output, and removes the scenario.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (BPF): run 'sudo make demo'" >&2
	exit 3
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
export B=$PWD/build PATH=$PWD/build:$PATH
rc=0
for part in demo/parts/*.sh; do
	echo
	echo "################ $(basename "$part" .sh) ################"
	bash "$part" || { echo "demo part $part failed" >&2; rc=1; }
done
exit $rc
