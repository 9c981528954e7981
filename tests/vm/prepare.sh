#!/bin/bash
# Prepare a guest kernel for tests/vm/run.sh: one of Debian's stock kernel series (6.1, the default, or
# 6.12), unpacked from the archive's own package, an ELF vmlinux for fast PVH boot, and a tiny busybox
# initramfs with the 9p/virtio/overlay modules.
#
# Usage: tests/vm/prepare.sh [--kernel SERIES] [CACHE_DIR]
#   SERIES: 6.1 or 6.12 (default: $BPFSCOPE_VM_KERNEL, else 6.1). The package is the one the series'
#   meta-package depends on: linux-image-SERIES-amd64 where the archive has it (6.12 on Debian 12),
#   else linux-image-amd64 if that points into the series (6.1 on Debian 12). Never a fixed version.
#   CACHE_DIR: default $BPFSCOPE_VM_CACHE, else <repo>/build/vm.
#
# On success prints the prepared kernel directory (CACHE_DIR/KVER) on stdout and exits 0; it holds
# vmlinux, initramfs.cpio.gz and root/ (the unpacked package, root/lib/modules/KVER with modules.dep).
# When everything is already in place it only checks stamps. Kernel directories that no series resolves
# to any more (older package versions, about 440 MB each) are removed, unless a guest is using them.
# On failure it prints one line "vm: cannot prepare guest: REASON" on stderr and exits 77.
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
series=${BPFSCOPE_VM_KERNEL:-6.1}
case ${1:-} in
--kernel)
	[ $# -ge 2 ] || { echo 'vm: cannot prepare guest: --kernel needs a value' >&2; exit 77; }
	series=$2
	shift 2
	;;
--kernel=*)
	series=${1#--kernel=}
	shift
	;;
esac
cache=${1:-${BPFSCOPE_VM_CACHE:-$repo/build/vm}}
apt_lists=/var/lib/apt/lists
# Loaded in the initramfs, with their dependencies first (resolved from modules.dep).
initramfs_modules="virtio_pci 9pnet_virtio 9p overlay"
tmp=

errline=unknown

die() {
	printf 'vm: cannot prepare guest: %s\n' "$*" >&2
	exit 77
}

# Whatever goes wrong, leave no temporary directory and keep the promised one-line message and status.
on_exit() {
	local rc=$?
	if [ -n "$tmp" ]; then rm -rf -- "$tmp"; fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		printf 'vm: cannot prepare guest: unexpected failure (status %s near prepare.sh line %s)\n' \
			"$rc" "$errline" >&2
		exit 77
	fi
}
trap on_exit EXIT
trap 'errline=$LINENO' ERR

# Last non-empty line of a log, to name the cause of a failed step.
last_line() {
	sed -e '/^[[:space:]]*$/d' -- "$1" | tail -n 1
}

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found (install package $2)"
}

need qemu-system-x86_64 qemu-system-x86
need busybox busybox-static
need apt-get apt
need apt-cache apt
need dpkg-deb dpkg
need depmod kmod
need xz xz-utils
need gzip gzip
need od coreutils
need timeout coreutils
need flock util-linux

# The series names files and directories of the cache: digits and one dot (6.1, 6.12).
[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || die "kernel series '$series' is not of the form 6.1 or 6.12"

mkdir -p -- "$cache" 2>/dev/null || die "cannot create $cache"
cache=$(cd "$cache" && pwd)

# Serialise concurrent preparations (two run.sh started together on a cold cache).
exec 9>"$cache/.lock"
flock 9

# The layout before kernel series had one "kernel-package" (and a "current" link), always 6.1's.
if [ -f "$cache/kernel-package" ]; then
	case $(cat -- "$cache/kernel-package") in
	linux-image-[0-9]*.[0-9]*-amd64)
		old=$(sed -n '1s/^linux-image-\([0-9]*\.[0-9]*\).*/\1/p' -- "$cache/kernel-package")
		[ -e "$cache/kernel-package-$old" ] || mv -f -- "$cache/kernel-package" "$cache/kernel-package-$old"
		;;
	esac
	rm -f -- "$cache/kernel-package" "$cache/current"
fi

# Which versioned package the series' meta-package points to. apt-cache takes about a second here (no
# binary cache), so the answer is remembered per series and asked again only after the package lists
# change.
resolve_package() {
	local meta pkg
	for meta in "linux-image-$series-amd64" linux-image-amd64; do
		pkg=$(apt-cache depends "$meta" 2>/dev/null |
			sed -n 's/^[ |]*Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1) || true
		case $pkg in
		"linux-image-$series".*-amd64)
			printf '%s\n' "$pkg"
			return 0
			;;
		esac
	done
	return 1
}
resolved=$cache/kernel-package-$series
kpkg=
if [ -s "$resolved" ] && { [ ! -d "$apt_lists" ] || [ "$resolved" -nt "$apt_lists" ]; }; then
	kpkg=$(cat -- "$resolved")
fi
if [ -z "$kpkg" ]; then
	kpkg=$(resolve_package) || kpkg=
	if [ -z "$kpkg" ]; then
		# Offline or lists missing: keep using the kernel prepared earlier, if any.
		if [ -s "$resolved" ]; then
			kpkg=$(cat -- "$resolved")
		else
			die "apt knows no package of kernel series $series (neither linux-image-$series-amd64 nor linux-image-amd64 points to one; run apt-get update)"
		fi
	else
		printf '%s\n' "$kpkg" >"$resolved.tmp"
		mv -f -- "$resolved.tmp" "$resolved"
	fi
fi
kver=${kpkg#linux-image-}
kdir=$cache/$kver

# --- kernel: download, unpack, depmod, vmlinux -------------------------------------------------------

# Byte at OFFSET of FILE as an unsigned decimal, and a little-endian 32-bit word.
byte_at() {
	od -An -tu1 -j "$2" -N1 -- "$1" | tr -d ' '
}
le32_at() {
	local b0 b1 b2 b3
	b0=$(byte_at "$1" "$2")
	b1=$(byte_at "$1" $(($2 + 1)))
	b2=$(byte_at "$1" $(($2 + 2)))
	b3=$(byte_at "$1" $(($2 + 3)))
	echo $((b0 | b1 << 8 | b2 << 16 | b3 << 24))
}

# Decompress the bzImage payload to an ELF vmlinux: QEMU boots it through its PVH entry point and the
# guest skips several seconds of decompression under emulation. The x86 boot header gives the offset:
# (setup_sects + 1) * 512 + payload_offset (boot protocol 2.08+). Debian compresses 6.1's payload with
# xz and 6.12's with zstd.
extract_vmlinux() {
	local bz=$1 out=$2 setup_sects payload_off off magic
	[ "$(od -An -c -j 514 -N4 -- "$bz" | tr -d ' ')" = HdrS ] || die "$bz is not a bzImage"
	setup_sects=$(byte_at "$bz" $((0x1f1)))
	[ "$setup_sects" -ne 0 ] || setup_sects=4
	payload_off=$(le32_at "$bz" $((0x248)))
	off=$(((setup_sects + 1) * 512 + payload_off))
	magic=$(od -An -tx1 -j "$off" -N6 -- "$bz" | tr -d ' ')
	case $magic in
	fd377a585a00)
		# The size the kernel build appends after the stream is garbage to xz: --single-stream ignores it.
		tail -c +$((off + 1)) -- "$bz" | xz -dc --single-stream >"$out" 2>/dev/null ||
			die "cannot decompress the kernel payload (xz)"
		;;
	28b52ffd*)
		# zstd fails on what follows the frame: the payload (payload_length at 0x24c) ends with the
		# 4-byte size the kernel build appends, which is left out.
		need zstd zstd
		tail -c +$((off + 1)) -- "$bz" | head -c $(($(le32_at "$bz" $((0x24c))) - 4)) | zstd -dcq >"$out" 2>/dev/null ||
			die "cannot decompress the kernel payload (zstd)"
		;;
	*) die "kernel payload is neither xz nor zstd (magic $magic)" ;;
	esac
	[ "$(od -An -c -N4 -- "$out" | tr -d ' ')" = '177ELF' ] || die "decompressed kernel is not ELF"
}

if [ ! -f "$kdir/.stamp-kernel" ]; then
	printf 'vm: preparing guest kernel %s in %s (once)\n' "$kver" "$kdir" >&2
	rm -rf -- "$kdir"
	tmp=$(mktemp -d "$cache/.prepare.XXXXXX")
	log=$tmp/log
	(cd "$tmp" && apt-get download "$kpkg") >"$log" 2>&1 ||
		die "apt-get download $kpkg failed: $(last_line "$log")"
	deb=$(find "$tmp" -maxdepth 1 -name "${kpkg}_*.deb" | head -n 1)
	[ -n "$deb" ] || die "apt-get download $kpkg produced no .deb"
	dpkg-deb -x "$deb" "$tmp/root" >"$log" 2>&1 || die "dpkg-deb -x failed: $(last_line "$log")"
	rm -f -- "$deb"
	[ -d "$tmp/root/lib/modules/$kver" ] || die "$kpkg has no lib/modules/$kver"
	[ -f "$tmp/root/boot/vmlinuz-$kver" ] || die "$kpkg has no boot/vmlinuz-$kver"
	depmod -b "$tmp/root" "$kver" >"$log" 2>&1 || die "depmod failed: $(last_line "$log")"
	extract_vmlinux "$tmp/root/boot/vmlinuz-$kver" "$tmp/vmlinux"
	rm -f -- "$log"
	printf '%s\n' "$kpkg" >"$tmp/.stamp-kernel"
	chmod 755 "$tmp"
	mv -- "$tmp" "$kdir"
	tmp=
fi

# --- initramfs: busybox + modules + tests/vm/init -------------------------------------------------

# Rebuilt when the init script, this script or the kernel changes (takes about a second).
want=$( (cat -- "$here/init" "$here/prepare.sh"; printf '%s\n' "$kver") | cksum)
if [ ! -f "$kdir/initramfs.cpio.gz" ] || [ "$(cat -- "$kdir/.stamp-initramfs" 2>/dev/null)" != "$want" ]; then
	if ldd "$(command -v busybox)" 2>/dev/null | grep -q '=>'; then
		die "busybox is dynamically linked (install package busybox-static)"
	fi
	moddir=$kdir/root/lib/modules/$kver
	tmp=$(mktemp -d "$cache/.initramfs.XXXXXX")
	stage=$tmp/root
	mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/modules" \
		"$stage/lower" "$stage/rw" "$stage/newroot"
	cp -- "$(command -v busybox)" "$stage/bin/busybox"
	cp -- "$here/init" "$stage/init"
	chmod 755 "$stage/init" "$stage/bin/busybox"
	# Without /dev/console the kernel starts init with no stdio; init also reopens it after mounting
	# devtmpfs, so failing here (not root) is harmless.
	mknod "$stage/dev/console" c 5 1 2>/dev/null || true

	# Dependency order as modprobe would do it: modules.dep lists every (transitive) dependency of a
	# module, the last one to be loaded first.
	declare -A deps=() done_mod=()
	while IFS= read -r line; do
		path=${line%%:*}
		name=${path##*/}
		name=${name%%.ko*}
		deps[$name]="$path${line#*:}"
	done <"$moddir/modules.dep"
	n=0
	add_module() {
		local name=$1 list path i file
		[ -z "${done_mod[$name]:-}" ] || return 0
		done_mod[$name]=1
		if [ -z "${deps[$name]:-}" ]; then
			grep -q "/$name\.ko\$" "$moddir/modules.builtin" ||
				die "module $name is neither built in nor in modules.dep"
			return 0
		fi
		read -r -a list <<<"${deps[$name]}"
		for ((i = ${#list[@]} - 1; i >= 1; i--)); do
			path=${list[i]##*/}
			add_module "${path%%.ko*}"
		done
		n=$((n + 1))
		file=$stage/modules/$(printf '%02d' "$n")-$name.ko
		case ${list[0]} in
		*.ko) cp -- "$moddir/${list[0]}" "$file" ;;
		*.ko.xz) xz -dc -- "$moddir/${list[0]}" >"$file" ;;
		*.ko.gz) gzip -dc -- "$moddir/${list[0]}" >"$file" ;;
		*) die "cannot load compressed module ${list[0]}" ;;
		esac
	}
	for m in $initramfs_modules; do
		add_module "$m"
	done

	(cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$tmp/initramfs.cpio.gz" ||
		die "cannot pack the initramfs"
	mv -f -- "$tmp/initramfs.cpio.gz" "$kdir/initramfs.cpio.gz"
	printf '%s\n' "$want" >"$kdir/.stamp-initramfs"
	rm -rf -- "$tmp"
	tmp=
fi

ln -sfn -- "$kver" "$cache/current-$series"
# --- keep only the kernels in use ---------------------------------------------------------------------

# In use: the version each series resolves to now (kernel-package-SERIES). Any other kernel directory is
# an older package version (about 440 MB) and is removed, unless a guest still runs on it: run.sh holds a
# shared lock on KVER/.inuse while its guest is up, and that directory is left for a later preparation.
keep=" $kver "
for f in "$cache"/kernel-package-*; do
	[ -s "$f" ] || continue
	keep="$keep$(sed -n '1s/^linux-image-//p' -- "$f") "
done
for d in "$cache"/*/; do
	d=${d%/}
	name=${d##*/}
	if [ -L "$d" ] || [ ! -f "$d/.stamp-kernel" ]; then continue; fi
	case $keep in *" $name "*) continue ;; esac
	if (exec 8>"$d/.inuse" && flock -xn 8 && rm -rf -- "$d"); then
		printf 'vm: removed guest kernel %s (no series uses it any more)\n' "$name" >&2
	fi
done

printf '%s\n' "$kdir"
