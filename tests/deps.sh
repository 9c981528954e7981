#!/usr/bin/env bash
# Install the Debian packages bpfscope's build, tests, demo and benchmarks
# need.  Idempotent; does nothing (quickly) when all are present.
set -euo pipefail
pkgs=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev make gcc pkg-config
      libcmocka-dev bats jq iproute2 ethtool mandoc valgrind strace
      prometheus prometheus-node-exporter bpftrace curl
      qemu-system-x86 busybox-static kmod xz-utils zstd graphviz libcap2-bin
      dpkg-dev debhelper lintian bash-completion man-db
      xdp-tools)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq "${missing[@]}" >/dev/null
# the prometheus packages start daemons where systemd runs: we only want the binaries
for svc in prometheus prometheus-node-exporter; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
		systemctl disable -q "$svc" 2>/dev/null || true
	fi
done
