#!/usr/bin/env bats
# The distribution path (issue 15).  setup_file builds the Debian package once
# with `make deb` (in a copy of the tree) and installs it for real with
# `dpkg -i` (unless bpfscope is already installed: that machine is left
# alone); the last test purges it again.  Then: contents, stripping,
# Depends, lintian; every installed tool runs once from /usr/sbin; the
# systemd units (systemd-analyze verify, each ExecStart by hand with the
# unit's capabilities into node_exporter, the system call filter against
# strace, and systemd 252 as PID 1 in the 6.1 guest); the alert rules
# (promtool); bash completion against a namespace, a veth and mkmaps' maps;
# make install/uninstall.

load ../lib/helpers

TOOLS="mapstat xdpverdict tcpchrono wbtstat tailcalls fibstat tcverdict"
UNITDIR=/lib/systemd/system

setup_file() {
	in_vm && return 0
	export PK_DIR; PK_DIR=$(mktemp -d /tmp/bs-pkg.XXXXXX)
	export PK_VERSION; PK_VERSION=$(sed -n 's/.*BPFSCOPE_VERSION "\(.*\)".*/\1/p' "$ROOT/common/util.h")
	export PK_DEB="$PK_DIR/deb/bpfscope_${PK_VERSION}_amd64.deb"
	export PK_DBG="$PK_DIR/deb/bpfscope-dbgsym_${PK_VERSION}_amd64.deb"
	if ! make -C "$ROOT" --no-print-directory deb DEBBUILD="$PK_DIR/deb" >"$PK_DIR/build.log" 2>&1; then
		tail -40 "$PK_DIR/build.log" >&2
		return 1
	fi
	export PK_ROOT="$PK_DIR/root"
	dpkg-deb -x "$PK_DEB" "$PK_ROOT"
	# a real install, unless bpfscope is installed already (then left as found)
	export PK_INSTALLED=0 PK_WHY=""
	if dpkg-query -W -f '${Status}' bpfscope 2>/dev/null | grep -q ' installed$'; then
		PK_WHY="bpfscope $(dpkg-query -W -f '${Version}' bpfscope) is installed on this machine: not replaced"
	elif dpkg -i "$PK_DEB" >"$PK_DIR/dpkg-i.log" 2>&1; then
		PK_INSTALLED=1
	else
		cat "$PK_DIR/dpkg-i.log" >&2
		return 1
	fi
}

teardown_file() {
	in_vm && return 0
	[ -n "${PK_DIR:-}" ] || return 0
	[ -f "$PK_DIR/ne.pid" ] && kill "$(cat "$PK_DIR/ne.pid")" 2>/dev/null
	[ -f "$PK_DIR/mkmaps.pid" ] && kill "$(cat "$PK_DIR/mkmaps.pid")" 2>/dev/null
	local ns
	[ -f "$PK_DIR/netns" ] && for ns in $(cat "$PK_DIR/netns"); do ip netns del "$ns" 2>/dev/null; done
	wait 2>/dev/null
	# the purge test normally did this; a failure before it must not leave
	# the package behind
	if [ "${PK_INSTALLED:-0}" = 1 ] && dpkg-query -W -f '${Status}' bpfscope 2>/dev/null | grep -q installed; then
		dpkg -P bpfscope >/dev/null 2>&1
	fi
	rm -rf "$PK_DIR"
}

setup() {
	in_vm && skip_because "the package is built and installed on the host (dpkg-buildpackage under emulation takes minutes)"
	return 0
}

need_installed() {
	[ "$PK_INSTALLED" = 1 ] || skip_because "$PK_WHY"
}

# the unit's bounding set for TOOL, as setpriv wants it: +bpf,+perfmon,...
unit_caps() {
	sed -n 's/^CapabilityBoundingSet=\(..*\)/\1/p' "$UNITDIR/bpfscope@$1.service.d/capabilities.conf" |
		tr ' ' '\n' | sed 's/^CAP_/+/' | tr 'A-Z' 'a-z' | paste -sd,
}

# the template's ExecStart for TOOL, as systemd would run it
unit_exec() {
	local c
	c=$(sed -n 's/^ExecStart=//p' "$UNITDIR/bpfscope@.service")
	echo "${c//%i/$1}"
}

# settings for the runs by hand: short intervals, files under PK_DIR
write_defaults() { # FILE
	mkdir -p "$PK_DIR/tf" "$PK_DIR/state" "$PK_DIR/log"
	cat >"$1" <<-EOF
	TEXTFILE_DIR=$PK_DIR/tf
	STATE_DIR=$PK_DIR/state
	LOG_DIR=$PK_DIR/log
	MAPSTAT_OPTS="-i 1 -c 2"
	XDPVERDICT_OPTS="${XV_OPTS:--i 1 -c 1}"
	TCPCHRONO_OPTS="-i 1 -c 1"
	WBTSTAT_OPTS="-i 1 -c 1"
	TAILCALLS_OPTS=""
	FIBSTAT_OPTS="${FS_OPTS:--i 1 -c 1}"
	TCVERDICT_OPTS="${TV_OPTS:--i 1 -c 1}"
	MAPSTAT_JSON=yes
	EOF
}

lint_clean() { # FILE: promtool accepts it and has nothing to say
	local lint
	lint=$(promtool check metrics <"$1" 2>&1) || { echo "$1: $lint" >&2; return 1; }
	[ -z "$lint" ] || { echo "$1: promtool: $lint" >&2; return 1; }
}

# every system call in a systemd SystemCallFilter= allow list, groups expanded
expand_filter() { # WORDS...
	local w
	for w in "$@"; do
		if [[ $w == @* ]]; then
			# shellcheck disable=SC2046
			expand_filter $(systemd-analyze syscall-filter "$w" | sed -n 's/^ \{4\}\([@a-z0-9_-]\+\)$/\1/p')
		else
			echo "$w"
		fi
	done
}

# complete WORDS...: run the installed completion (or the tree's) under bash
# with bash-completion's functions, as for a TAB after the last word; one
# reply per line
complete_words() {
	local file="$ROOT/completion/bpfscope"
	[ "$PK_INSTALLED" = 1 ] && file=/usr/share/bash-completion/completions/bpfscope
	mkdir -p "$PK_DIR/cwd"
	( cd "$PK_DIR/cwd" && bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$0"
		compopt() { :; }
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_bpfscope "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' "$file" "$@" )
}

tool_bin() { # installed or built
	if [ "$PK_INSTALLED" = 1 ]; then echo "/usr/sbin/$1"; else echo "$B/$1"; fi
}

@test "package: make deb builds bpfscope_VERSION_amd64.deb and bpfscope-dbgsym, and leaves the tree clean" {
	[ -f "$PK_DEB" ]
	[ -f "$PK_DBG" ]
	assert_eq "$(dpkg-deb -f "$PK_DEB" Version)" "$PK_VERSION" "package version (debian/changelog) vs BPFSCOPE_VERSION"
	assert_eq "$(dpkg-deb -f "$PK_DEB" Architecture)" amd64
	assert_eq "$(dpkg-deb -f "$PK_DBG" Depends)" "bpfscope (= $PK_VERSION)"
	grep -q 'dpkg-buildpackage -us -uc -b' "$PK_DIR/build.log"
	# dpkg-buildpackage ran in a copy: nothing of its work in the tree
	local f
	for f in debian/.debhelper debian/bpfscope debian/tmp debian/files debian/debhelper-build-stamp \
		debian/bpfscope.substvars; do
		[ ! -e "$ROOT/$f" ] || { echo "left in the tree: $f" >&2; return 1; }
	done
	[ -z "$(ls "$ROOT"/../bpfscope_*.deb "$ROOT"/../bpfscope_*.changes 2>/dev/null)" ]
}

@test "package: contents are the tools, man pages, completion, units, settings and examples, nothing in /usr/local" {
	local want got t
	want=$(
		for t in $TOOLS; do
			echo "/usr/sbin/$t"
			echo "/usr/share/man/man8/$t.8.gz"
			echo "/usr/share/bash-completion/completions/$t"
			echo "$UNITDIR/bpfscope@$t.service.d/capabilities.conf"
		done
		echo /usr/share/man/man7/bpfscope-output.7.gz
		echo /usr/share/bash-completion/completions/bpfscope
		echo "$UNITDIR/bpfscope@.service"
		echo "$UNITDIR/bpfscope@.timer"
		echo /usr/libexec/bpfscope/bpfscope-snapshot
		echo /etc/default/bpfscope
		echo /etc/logrotate.d/bpfscope
		echo /usr/share/doc/bpfscope/README.md.gz
		echo /usr/share/doc/bpfscope/changelog.gz
		echo /usr/share/doc/bpfscope/copyright
		echo /usr/share/doc/bpfscope/examples/bpfscope-alerts.yml
		echo /usr/share/doc/bpfscope/examples/bpfscope-alerts.test.yml
		echo /usr/share/lintian/overrides/bpfscope
	)
	# files and links (directories: /var/lib/bpfscope and /var/log/bpfscope below)
	got=$(dpkg-deb -c "$PK_DEB" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|')
	diff <(sort <<<"$want") <(sort <<<"$got")
	dpkg-deb -c "$PK_DEB" | awk '{ print $6 }' | grep -qx './var/lib/bpfscope/'
	dpkg-deb -c "$PK_DEB" | awk '{ print $6 }' | grep -qx './var/log/bpfscope/'
	! dpkg-deb -c "$PK_DEB" | grep -q '\./usr/local' || return 1
	# one completion file, a link per tool
	for t in $TOOLS; do
		assert_eq "$(readlink "$PK_ROOT/usr/share/bash-completion/completions/$t")" bpfscope "$t completion link"
	done
	# the units name the installed paths, the settings the textfile directory
	grep -qx 'ExecStart=/usr/libexec/bpfscope/bpfscope-snapshot %i' "$PK_ROOT$UNITDIR/bpfscope@.service"
	grep -qx 'SBINDIR=/usr/sbin' "$PK_ROOT/usr/libexec/bpfscope/bpfscope-snapshot"
	grep -q '^#TEXTFILE_DIR=/var/lib/prometheus/node-exporter$' "$PK_ROOT/etc/default/bpfscope"
	! grep -rq '@[A-Z]*DIR@' "$PK_ROOT" || return 1
}

@test "package: the tools are stripped and hardened (PIE, BIND_NOW, fortify); their debug symbols are in bpfscope-dbgsym" {
	local t f id dbg fortified=0
	dbg=$(dpkg-deb -c "$PK_DBG" | awk '{ print $6 }')
	for t in $TOOLS; do
		f="$PK_ROOT/usr/sbin/$t"
		file -b "$f" | grep -q 'stripped'
		! file -b "$f" | grep -q 'not stripped' || return 1
		! readelf -S -W "$f" | grep -Eq ' \.(symtab|debug_info) ' || return 1
		readelf -d "$f" | grep -q 'Flags: NOW PIE'
		readelf --dyn-syms -W "$f" | grep -q '_chk@' && fortified=$((fortified + 1))
		id=$(readelf -n "$f" | sed -n 's/.*Build ID: \([0-9a-f]*\)/\1/p')
		[ -n "$id" ]
		grep -qx "./usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" <<<"$dbg" ||
			{ echo "$t: no debug file for build id $id in bpfscope-dbgsym" >&2; return 1; }
	done
	[ "$fortified" -gt 0 ]
}

@test "package: Depends come from dh_shlibdeps (libbpf1, zlib1g, libc6; libelf1 through libbpf1) and cover every library the tools load" {
	local dep t lib path owner
	dep=$(dpkg-deb -f "$PK_DEB" Depends)
	echo "# Depends: $dep" >&3
	for p in libbpf1 zlib1g libc6; do
		[[ ", $dep," == *", $p "* || ", $dep," == *", $p,"* ]] || { echo "Depends lacks $p: $dep" >&2; return 1; }
	done
	# written by no hand: debian/control says ${shlibs:Depends} and no library
	grep -q '^Depends: .*\${shlibs:Depends}' "$ROOT/debian/control"
	! grep -E '^Depends:' "$ROOT/debian/control" | grep -Eq 'libbpf|libelf|zlib' || return 1
	# every NEEDED library belongs to a package in Depends
	for t in $TOOLS; do
		for lib in $(readelf -d "$PK_ROOT/usr/sbin/$t" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ { print $NF; exit }')
			owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
			[ -n "$owner" ] || owner=$(dpkg -S "$path" | head -1 | cut -d: -f1)
			[[ ", $dep" == *", $owner "* || ", $dep," == *", $owner,"* ]] ||
				{ echo "$t needs $lib ($owner), not in Depends: $dep" >&2; return 1; }
		done
	done
	# libelf1 (which libbpf links) comes with libbpf1
	dpkg-query -W -f '${Depends}' libbpf1 | grep -q 'libelf1'
}

@test "package: lintian reports no error and no warning; each override says why" {
	command -v lintian >/dev/null || skip_because "lintian not installed"
	local changes out
	changes=$(ls "$PK_DIR"/deb/bpfscope_*_amd64.changes)
	out=$(lintian --pedantic -E -I --show-overrides "$changes" 2>&1) || true
	echo "# lintian: $(grep -c '^E:' <<<"$out") errors, $(grep -c '^W:' <<<"$out") warnings, $(grep -c '^I:' <<<"$out") info, $(grep -c '^P:' <<<"$out") pedantic, $(grep -c '^O:' <<<"$out") overridden" >&3
	grep '^[IPXO]:' <<<"$out" | sed 's/^/#   /' >&3 || true
	if grep -Eq '^(E|W):' <<<"$out"; then
		echo "$out" >&2
		return 1
	fi
	# every override follows a comment giving the reason
	awk '/^#/ { c = 1; next } /^[^#]/ && NF { if (!c) { print "override without a reason: " $0; bad = 1 } c = 0 } END { exit bad }' \
		"$ROOT/debian/bpfscope.lintian-overrides"
}

@test "package: installed with dpkg, every tool runs once from /usr/sbin; man pages and completion resolve" {
	need_installed
	local t out
	for t in $TOOLS; do
		[ -x "/usr/sbin/$t" ]
		out=$("/usr/sbin/$t" -V)
		[[ $out == *"$PK_VERSION"* ]] || { echo "$t -V: $out" >&2; return 1; }
		case $t in
		mapstat | tailcalls) out=$("/usr/sbin/$t" -c 1 -o json) ;;
		*) out=$("/usr/sbin/$t" -i 0.5 -c 1 -o json) ;;
		esac || { echo "$t exited $?" >&2; return 1; }
		assert_jq ".tool == \"$t\"" "$(head -1 <<<"$out")"
		assert_eq "$(man -w "$t" 2>/dev/null)" "/usr/share/man/man8/$t.8.gz" "man -w $t"
		# bash-completion's loader finds the tool's completion by its name
		out=$(bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader "$0"; complete -p "$0"' "$t")
		assert_eq "$out" "complete -F _bpfscope $t"
	done
	assert_eq "$(man -w 7 bpfscope-output 2>/dev/null)" /usr/share/man/man7/bpfscope-output.7.gz
	! dpkg -L bpfscope | grep -q '^/usr/local' || return 1
}

@test "package: the units pass systemd-analyze verify, are installed disabled, and keep one capability set per tool" {
	need_installed
	local t out pid1
	pid1=$(ps -p 1 -o comm=)
	[ "$pid1" = systemd ] || echo "# systemd is not PID 1 here ($pid1): units verified offline, run by hand and in the guest" >&3
	for t in $TOOLS; do
		out=$(systemd-analyze verify "bpfscope@$t.service" "bpfscope@$t.timer" 2>&1) ||
			{ echo "$t: $out" >&2; return 1; }
		# (man-db says this when systemd-analyze checks Documentation= as root)
		out=$(grep -v 'running with root privileges' <<<"$out" || true)
		[ -z "$out" ] || { echo "$t: $out" >&2; return 1; }
		run systemctl --root=/ is-enabled "bpfscope@$t.timer"
		assert_eq "$output" disabled "bpfscope@$t.timer"
		# one place: the drop-in resets the set, then names it once
		assert_eq "$(grep -c '^CapabilityBoundingSet=$' "$UNITDIR/bpfscope@$t.service.d/capabilities.conf")" 1
		assert_eq "$(grep -c '^CapabilityBoundingSet=..*' "$UNITDIR/bpfscope@$t.service.d/capabilities.conf")" 1
		# systemd's own view of the hardening (drop-ins included)
		out=$(systemd-analyze security --offline=true "bpfscope@$t.service" 2>&1 | tail -1)
		echo "# $t: $(unit_caps "$t"); ${out#→ }" >&3
		[[ $out =~ level\ for\ .*:\ [0-9.]+\ (OK|SAFE) ]] || { echo "$out" >&2; return 1; }
	done
	[ -z "$(ls /etc/systemd/system/timers.target.wants/ 2>/dev/null | grep bpfscope)" ]
}

@test "package: each unit's ExecStart, run by hand with the unit's capabilities, writes a textfile promtool and node_exporter accept" {
	need_installed
	command -v promtool >/dev/null || skip_because "promtool not installed"
	local t port rc
	write_defaults "$PK_DIR/defaults"
	for t in $TOOLS; do
		rc=0
		BPFSCOPE_DEFAULTS="$PK_DIR/defaults" setpriv --bounding-set "-all,$(unit_caps "$t")" --inh-caps=-all -- \
			$(unit_exec "$t") 2>"$PK_DIR/$t.err" || rc=$?
		[ "$rc" -eq 0 ] ||
			{ echo "$t: $(unit_exec "$t") exited $rc with the capabilities $(unit_caps "$t"): $(cat "$PK_DIR/$t.err")" >&2; return 1; }
		lint_clean "$PK_DIR/tf/$t.prom"
		grep -q "^bpfscope_${t}_snapshot_timestamp_seconds" "$PK_DIR/tf/$t.prom"
		assert_eq "$(stat -c %a "$PK_DIR/tf/$t.prom")" 644 "$t.prom mode (node_exporter runs as prometheus)"
		if [ "$t" = tcpchrono ]; then
			[ ! -e "$PK_DIR/state/$t.state" ]
		else
			[ -s "$PK_DIR/state/$t.state" ] || { echo "$t: no state file" >&2; return 1; }
		fi
	done
	# MAPSTAT_JSON=yes: JSON Lines appended beside the textfile
	[ "$(wc -l <"$PK_DIR/log/mapstat.jsonl")" -ge 1 ]
	jq -e -s 'all(.[]; .tool == "mapstat")' "$PK_DIR/log/mapstat.jsonl" >/dev/null
	# an unknown instance is refused
	run /usr/libexec/bpfscope/bpfscope-snapshot bash
	[ "$status" -eq 2 ]
	# node_exporter serves every tool with no scrape error
	command -v prometheus-node-exporter >/dev/null || skip_because "prometheus-node-exporter not installed"
	ip link set lo up 2>/dev/null || true
	port=$((19100 + RANDOM % 800))
	prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$PK_DIR/tf" --web.listen-address="127.0.0.1:$port" \
		>"$PK_DIR/ne.log" 2>&1 &
	echo $! >"$PK_DIR/ne.pid"
	for _ in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$port/metrics" >"$PK_DIR/metrics" && break
		sleep 0.1
	done
	grep -q '^node_textfile_scrape_error 0$' "$PK_DIR/metrics"
	for t in $TOOLS; do
		grep -q "^bpfscope_${t}_snapshot_timestamp_seconds" "$PK_DIR/metrics" ||
			{ echo "node_exporter does not serve $t" >&2; return 1; }
	done
	kill "$(cat "$PK_DIR/ne.pid")"
	rm -f "$PK_DIR/ne.pid"
}

@test "package: the units' system call filter and address families allow everything the tools do (strace)" {
	need_installed
	command -v strace >/dev/null || skip_because "strace not installed"
	local t filter allowed ns used
	ns=$(uniq_name pk)
	ip netns add "$ns"
	echo "$ns" >>"$PK_DIR/netns"
	filter=$(sed -n 's/^SystemCallFilter=//p' "$UNITDIR/bpfscope@.service")
	# shellcheck disable=SC2086
	allowed=$(expand_filter $filter | sort -u)
	[ "$(wc -l <<<"$allowed")" -gt 200 ]
	# namespaces entered too (RestrictNamespaces=net)
	XV_OPTS="--all-netns -i 1 -c 1" FS_OPTS="-N $ns -i 1 -c 1" TV_OPTS="--all-netns -i 1 -c 1" \
		write_defaults "$PK_DIR/defaults"
	for t in $TOOLS; do
		BPFSCOPE_DEFAULTS="$PK_DIR/defaults" strace -f -qq -o "$PK_DIR/$t.strace" $(unit_exec "$t") 2>/dev/null ||
			{ echo "$t failed under strace" >&2; return 1; }
		used=$(sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' "$PK_DIR/$t.strace" | sort -u)
		[ -n "$used" ]
		if [ -n "$(comm -23 <(echo "$used") <(echo "$allowed"))" ]; then
			echo "$t makes system calls the unit forbids: $(comm -23 <(echo "$used") <(echo "$allowed") | tr '\n' ' ')" >&2
			return 1
		fi
		# RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6
		! grep -o 'socket(AF_[A-Z0-9]*' "$PK_DIR/$t.strace" | grep -Ev 'AF_(UNIX|NETLINK|INET|INET6)$' || return 1
		# RestrictNamespaces=net
		! grep 'setns(' "$PK_DIR/$t.strace" | grep -v 'CLONE_NEWNET' || return 1
	done
	grep -q 'setns(.*CLONE_NEWNET' "$PK_DIR/fibstat.strace"
	grep -q 'setns(.*CLONE_NEWNET' "$PK_DIR/tcverdict.strace"
}

@test "package: in the 6.1 guest, systemd 252 as PID 1 runs every tool's unit (sandbox and capabilities as shipped)" {
	need_installed
	[ -x "$ROOT/tests/vm/run.sh" ] || skip_because "no tests/vm"
	local out="$PK_DIR/vm" t rc
	mkdir -p "$out"
	# in the guest (the host's root read-only, with a tmpfs overlay): short
	# intervals, a target that starts every tool's service, then powers off
	cat >"$out/guest.sh" <<-'EOF'
	#!/bin/bash
	out=$BPFSCOPE_VM_OUT
	tools="mapstat xdpverdict tcpchrono wbtstat tailcalls fibstat tcverdict"
	units=$(for t in $tools; do printf 'bpfscope@%s.service ' "$t"; done)
	cat >/etc/default/bpfscope <<-EOD
	MAPSTAT_OPTS="-i 1 -c 2"
	XDPVERDICT_OPTS="-i 1 -c 1"
	TCPCHRONO_OPTS="-i 1 -c 1"
	WBTSTAT_OPTS="-i 1 -c 1"
	FIBSTAT_OPTS="-i 1 -c 1"
	TCVERDICT_OPTS="-i 1 -c 1"
	MAPSTAT_JSON=yes
	EOD
	mkdir -p /etc/systemd/system
	# early-boot work the units do not need, slow on 9p under emulation
	for u in systemd-tmpfiles-setup systemd-tmpfiles-setup-dev systemd-sysusers systemd-journal-flush \
		systemd-update-utmp systemd-binfmt systemd-modules-load kmod-static-nodes; do
		ln -sf /dev/null /etc/systemd/system/$u.service
	done
	printf '[Unit]\nWants=%s bs-done.service\n' "$units" >/etc/systemd/system/bs-test.target
	cat >/etc/systemd/system/bs-done.service <<-EOD
	[Unit]
	After=$units
	[Service]
	Type=oneshot
	ExecStart=/bin/sh -c 'for t in $tools; do systemctl show -p Result -p ExecMainStatus bpfscope@\$\$t.service | tr "\\\\n" " " >$out/\$\$t.result; journalctl -o cat -u bpfscope@\$\$t.service >$out/\$\$t.journal 2>&1; done; cp -a /var/lib/prometheus/node-exporter $out/tf; ls /var/lib/bpfscope >$out/state; cp /var/log/bpfscope/mapstat.jsonl $out/ 2>/dev/null; systemctl poweroff'
	EOD
	uname -r >$out/kernel
	systemctl --version | head -1 >$out/systemd
	export container=bpfscope-test
	timeout 400 unshare --pid --fork --mount-proc /lib/systemd/systemd --system --unit=bs-test.target >$out/systemd.log 2>&1
	# systemd ends on poweroff with a status of its own; the results say how it went
	echo "systemd exited with status $?" >>$out/systemd.log
	EOF
	chmod +x "$out/guest.sh"
	# the guest's tools are these
	grep -qx "tools=\"$TOOLS\"" "$out/guest.sh" || { echo "guest.sh runs other tools than: $TOOLS" >&2; return 1; }
	rc=0
	BPFSCOPE_VM_OUT="$out" "$ROOT/tests/vm/run.sh" --timeout 500 -- "$out/guest.sh" >"$out/console" 2>&1 || rc=$?
	[ $rc -eq 77 ] && skip_because "the guest cannot be prepared: $(grep -m1 'vm:' "$out/console")"
	for t in $TOOLS; do
		[ -f "$out/$t.result" ] || { echo "no result for $t (guest status $rc)"; tail -20 "$out/console"; tail -20 "$out/systemd.log"; } >&2
		assert_eq "$(cat "$out/$t.result")" "Result=success ExecMainStatus=0 " "bpfscope@$t.service under systemd: $(cat "$out/$t.journal")"
		lint_clean "$out/tf/$t.prom"
	done
	echo "# guest $(cat "$out/kernel"), $(cut -d' ' -f1-2 "$out/systemd") as PID 1: all $(wc -w <<<"$TOOLS") units succeeded (xdpverdict $(grep -h '_info{' "$out/tf/xdpverdict.prom" | grep -o 'fexit="[^"]*"'))" >&3
	# a state file per tool but tcpchrono (its counters are the kernel's)
	assert_eq "$(sort "$out/state" | tr '\n' ' ')" "$(for t in $TOOLS; do [ "$t" = tcpchrono ] || echo "$t.state"; done | sort | tr '\n' ' ')"
	[ -s "$out/mapstat.jsonl" ]
}

@test "package: the alert rules pass promtool check rules, and promtool test rules fires each alert only above its threshold" {
	command -v promtool >/dev/null || skip_because "promtool not installed"
	local ex="$PK_ROOT/usr/share/doc/bpfscope/examples" rules tested
	[ "$PK_INSTALLED" = 1 ] && ex=/usr/share/doc/bpfscope/examples
	run promtool check rules "$ex/bpfscope-alerts.yml"
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[[ $output == *"SUCCESS: $(grep -c '^ *- alert: ' "$ex/bpfscope-alerts.yml") rules found"* ]]
	run bash -c "cd '$ex' && promtool test rules bpfscope-alerts.test.yml"
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	# every alert has a test, with an evaluation where it must not fire
	rules=$(sed -n 's/^ *- alert: //p' "$ex/bpfscope-alerts.yml" | sort -u)
	tested=$(sed -n 's/^ *alertname: //p' "$ex/bpfscope-alerts.test.yml" | sort -u)
	assert_eq "$tested" "$rules" "alerts tested"
	for r in $rules; do
		grep -A1 "alertname: $r\$" "$ex/bpfscope-alerts.test.yml" | grep -q 'exp_alerts: \[\]' ||
			{ echo "$r: no case where it must not fire" >&2; return 1; }
	done
	# the metric names exist: each in some tool's --list-fields
	local m
	for m in $(grep -o 'bpfscope_[a-z_]*' "$ex/bpfscope-alerts.yml" | sort -u); do
		for t in $TOOLS; do "$(tool_bin "$t")" --list-fields; done | jq -r '.prom // empty' | grep -qx "$m" ||
			{ echo "$m is no tool's metric" >&2; return 1; }
	done
}

@test "package: bash completion: options from --help, formats, map ids and types, namespaces, interfaces within -N, devices, mechanisms" {
	[ -x "$B/tests/mkmaps" ] || skip_because "build/tests/mkmaps not built (make testbins)"
	local ns va vb hostile out id long
	mkdir -p "$PK_DIR/cwd"
	ns=$(uniq_name pc) va=$(uniq_name va) vb=$(uniq_name vb) hostile='$(>PK)'
	ip netns add "$ns"
	echo "$ns" >>"$PK_DIR/netns"
	ip -n "$ns" link add "$va" type veth peer name "$vb"
	ip -n "$ns" link add "$hostile" type veth peer name "${vb}h"
	"$B/tests/mkmaps" "$PK_DIR/maps.json" "$B/fixtures/mapstat_ringbuf.bpf.o" 2>"$PK_DIR/mkmaps.err" &
	echo $! >"$PK_DIR/mkmaps.pid"
	for _ in $(seq 1 300); do
		[ -s "$PK_DIR/maps.json" ] && break
		sleep 0.1
	done
	[ -s "$PK_DIR/maps.json" ] || { cat "$PK_DIR/mkmaps.err" >&2; return 1; }

	# options: every long option of --help, with "=" when it takes a value
	out=$(complete_words "$(tool_bin mapstat)" --)
	for long in $("$(tool_bin mapstat)" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -qx -- "$long=\?" <<<"$out" || { echo "mapstat -- lacks $long: $out" >&2; return 1; }
	done
	grep -qx -- '--id=' <<<"$out"
	grep -qx -- '--wide' <<<"$out"
	# output formats (tailcalls adds dot)
	assert_eq "$(complete_words "$(tool_bin mapstat)" -o '' | tr '\n' ' ')" "table json prom "
	assert_eq "$(complete_words "$(tool_bin tailcalls)" --output= | tr '\n' ' ')" "table json prom dot "
	# map ids: a map mkmaps made (mapstat -m), lpm tries only for --prefixes
	id=$(jq -r '[.maps[] | .id] | first' "$PK_DIR/maps.json")
	complete_words "$(tool_bin mapstat)" -m '' | grep -qx "$id" || { echo "mapstat -m: no map $id" >&2; return 1; }
	complete_words "$(tool_bin mapstat)" --id "${id:0:1}" | grep -qx "$id"
	out=$(complete_words "$(tool_bin mapstat)" --prefixes '')
	grep -qx "$(jq -r '.maps[] | select(.name == "ms_lpm") | .id' "$PK_DIR/maps.json")" <<<"$out" ||
		{ echo "mapstat --prefixes: mkmaps' LPM trie not listed: $out" >&2; return 1; }
	! grep -qx "$(jq -r '.maps[] | select(.name == "ms_hash") | .id' "$PK_DIR/maps.json")" <<<"$out" || return 1
	complete_words "$(tool_bin mapstat)" -n ms_lp | grep -qx ms_lpm
	# map types for mapstat -t; fibstat's -t (--tables) takes no value
	assert_eq "$(complete_words "$(tool_bin mapstat)" -t lru_ | tr '\n' ' ')" "lru_hash lru_percpu_hash "
	assert_eq "$(complete_words "$(tool_bin fibstat)" -t '')" ""
	# namespaces, and interfaces within -N's namespace (the hostile name
	# literally, never run by the shell)
	complete_words "$(tool_bin xdpverdict)" -N '' | grep -qx "$ns"
	out=$(complete_words "$(tool_bin xdpverdict)" -N "$ns" -I '')
	grep -qx "$va" <<<"$out" && grep -qx "$vb" <<<"$out" && grep -qxF "$hostile" <<<"$out" ||
		{ echo "xdpverdict -N $ns -I: $out" >&2; return 1; }
	[ ! -e "$PK_DIR/cwd/PK" ]
	out=$(complete_words "$(tool_bin xdpverdict)" --netns="$ns" --interface="${va:0:3}")
	grep -qx "$va" <<<"$out"
	# without -N: this namespace's interfaces, not the test namespace's
	out=$(complete_words "$(tool_bin xdpverdict)" -I '')
	grep -qx lo <<<"$out"
	! grep -qx "$va" <<<"$out" || return 1
	# block devices
	assert_eq "$(complete_words "$(tool_bin wbtstat)" -d '' | sort | tr '\n' ' ')" "$(ls /sys/block | sort | tr '\n' ' ')"
	# mechanisms, comma-separated where the tool takes a list
	complete_words "$(tool_bin tcpchrono)" --mechanism=fexit, | grep -qx 'fexit,tp_btf'
	complete_words "$(tool_bin mapstat)" --mechanism '' | grep -qx walk
	# every name offered is one the tool accepts: its --mechanism error lists them
	local t n
	for t in mapstat xdpverdict tcpchrono wbtstat fibstat tcverdict; do
		for n in $(complete_words "$(tool_bin "$t")" --mechanism ''); do
			run "$(tool_bin "$t")" --mechanism "$n" -c 1 -i 0.1 -o json
			[ "$status" -ne 2 ] || { echo "$t --mechanism $n: $output" >&2; return 1; }
		done
	done
	# fibstat --flow keys
	complete_words "$(tool_bin fibstat)" --flow proto=udp,d | grep -qx 'proto=udp,dst='
	# tcverdict: every --mechanism name its error message lists, no other;
	# -P offers the program of a cls_bpf filter in -N's namespace (tc's id),
	# and not without -N; -I the interfaces within -N
	run "$(tool_bin tcverdict)" --mechanism nosuch -c 1
	[ "$status" -eq 2 ]
	assert_eq "$(complete_words "$(tool_bin tcverdict)" --mechanism '' | sort | tr '\n' ' ')" \
		"$(sed -n 's/.*expected \([a-z_, ]*\) or \([a-z_]*\).*/\1, \2/p' <<<"$output" | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ' ')"
	complete_words "$(tool_bin tcverdict)" --mechanism drop_reason,r | grep -qx 'drop_reason,raw_tp'
	tc -n "$ns" qdisc add dev "$va" clsact
	tc -n "$ns" filter add dev "$va" ingress bpf da obj "$B/fixtures/tcdisc_cls.bpf.o" sec tcd_match_all_cls
	id=$(tc -n "$ns" -j filter show dev "$va" ingress | jq '[.[] | .options.prog.id // empty] | first')
	[ -n "$id" ] && [ "$id" != null ]
	assert_eq "$(complete_words "$(tool_bin tcverdict)" -N "$ns" -P '')" "$id" "tcverdict -N $ns -P"
	! complete_words "$(tool_bin tcverdict)" -P '' | grep -qx "$id" || return 1
	complete_words "$(tool_bin tcverdict)" --netns="$ns" -I "${va:0:3}" | grep -qx "$va"
}

@test "package: one textfile directory everywhere: --help, man pages, README, units and settings name /var/lib/prometheus/node-exporter" {
	local t bad
	# Debian's node_exporter reads it (prometheus-node-exporter's default)
	prometheus-node-exporter --help 2>&1 | grep -q 'collector.textfile.directory="/var/lib/prometheus/node-exporter"' ||
		skip_because "prometheus-node-exporter not installed (or another default)"
	bad=$(grep -rln 'node_exporter/\|/var/lib/node-exporter\|/var/lib/prometheus/node_exporter' \
		"$ROOT/man" "$ROOT/README.md" "$ROOT/systemd" "$ROOT/examples" "$ROOT/debian" 2>/dev/null || true)
	[ -z "$bad" ] || { echo "another textfile directory in: $bad" >&2; return 1; }
	for t in $TOOLS; do
		bad=$("$(tool_bin "$t")" --help | grep -n 'node_exporter/\|node-exporter' | grep -v '/var/lib/prometheus/node-exporter/' || true)
		[ -z "$bad" ] || { echo "$t --help: $bad" >&2; return 1; }
	done
	grep -q '^ReadWritePaths=-/var/lib/prometheus/node-exporter$' "$ROOT/systemd/bpfscope@.service"
	grep -q '^TEXTFILE_DIR=/var/lib/prometheus/node-exporter$' "$ROOT/systemd/bpfscope-snapshot"
}

@test "package: make install DESTDIR=... then make uninstall DESTDIR=... leaves nothing (PREFIX /usr/local and /usr)" {
	local d prefix left unitdir
	for prefix in /usr/local /usr; do
		d="$PK_DIR/inst$(tr / _ <<<"$prefix")"
		make -C "$ROOT" --no-print-directory install DESTDIR="$d" PREFIX="$prefix" >"$PK_DIR/install.log" 2>&1 ||
			{ tail -20 "$PK_DIR/install.log" >&2; return 1; }
		[ -x "$d$prefix/sbin/mapstat" ]
		[ -f "$d$prefix/share/bash-completion/completions/bpfscope" ]
		unitdir="$d$prefix/lib/systemd/system"
		[ "$prefix" = /usr ] && unitdir="$d/lib/systemd/system"
		grep -qx "ExecStart=$prefix/libexec/bpfscope/bpfscope-snapshot %i" "$unitdir/bpfscope@.service"
		[ -f "$unitdir/bpfscope@mapstat.service.d/capabilities.conf" ]
		if [ "$prefix" = /usr ]; then
			# the same files as the package, but what debhelper adds
			diff <(cd "$d" && find . ! -type d | sed 's|^\.||' | sort) \
				<(cd "$PK_ROOT" && find . ! -type d | sed 's|^\.||; s|\.gz$||' |
					grep -Ev '^/usr/share/doc/bpfscope/(README.md|changelog|copyright)$|^/usr/share/lintian/' | sort)
		fi
		make -C "$ROOT" --no-print-directory uninstall DESTDIR="$d" PREFIX="$prefix" >"$PK_DIR/uninstall.log" 2>&1
		left=$(find "$d" ! -type d)
		[ -z "$left" ] || { echo "left after uninstall: $left" >&2; return 1; }
		[ -z "$(find "$d" -name '*bpfscope*')" ]
	done
}

@test "package: dpkg -P removes every file of the package, the state and logs" {
	need_installed
	local f
	# something for the purge to remove, as the timers would have written
	mkdir -p /var/lib/bpfscope /var/log/bpfscope
	echo x >/var/lib/bpfscope/pk-test.state
	dpkg -P bpfscope >"$PK_DIR/purge.log" 2>&1 || { cat "$PK_DIR/purge.log" >&2; return 1; }
	! dpkg-query -W -f '${Status}' bpfscope 2>/dev/null | grep -q installed || return 1
	for f in $(dpkg-deb -c "$PK_DEB" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|'); do
		[ ! -e "$f" ] && [ ! -L "$f" ] || { echo "left after purge: $f" >&2; return 1; }
	done
	[ ! -e /var/lib/bpfscope ]
	[ ! -e /var/log/bpfscope ]
	[ ! -e /usr/libexec/bpfscope ]
}
