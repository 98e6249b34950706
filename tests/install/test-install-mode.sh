#!/bin/bash
# VFIO mode's udev rule and boot unit land where udev and systemd look:
# `meson install --destdir` of this source configured with the prefix /usr
# (a distribution's) and with the default prefix (/usr/local), each
# installing only the tag vfio-mode (nothing to compile). The directories
# udev reads are udev(7)'s list (systemd 252: /etc, /run, /usr/local/lib,
# /usr/lib and, split-usr, /lib); systemd's are what `systemd-analyze
# unit-paths` prints when it is there, else systemd.unit(5)'s list.
# Usage: test-install-mode.sh SOURCE_DIR
set -u
source_dir=$1
export LC_ALL=C
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

udev_dirs="/etc/udev/rules.d /run/udev/rules.d /usr/local/lib/udev/rules.d /usr/lib/udev/rules.d /lib/udev/rules.d"
if command -v systemd-analyze >/dev/null && systemd_dirs=$(systemd-analyze --system unit-paths 2>/dev/null) &&
	[ -n "$systemd_dirs" ]; then
	:
else
	systemd_dirs="/etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system"
fi

n=0 failed=0
check() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}

# in_list PATH DIRS: PATH's directory is one of DIRS.
in_list() {
	local dir
	dir=$(dirname "$1")
	for d in $2; do [ "$d" = "$dir" ] && return 0; done
	return 1
}

echo "1..8"
for prefix in /usr default; do
	build="$work/build-${prefix//\//}"
	dest="$work/dest-${prefix//\//}"
	args=()
	[ "$prefix" = default ] || args=(--prefix "$prefix")
	if ! meson setup "$build" "$source_dir" "${args[@]}" >"$work/log" 2>&1 ||
		! meson install -C "$build" --no-rebuild --tags vfio-mode --destdir "$dest" >>"$work/log" 2>&1; then
		check "prefix $prefix: meson setup and install --tags vfio-mode" "$(tail -n 20 "$work/log")"
		check "prefix $prefix: skipped, setup failed" "no install"
		check "prefix $prefix: skipped, setup failed" "no install"
		check "prefix $prefix: skipped, setup failed" "no install"
		continue
	fi
	bindir=$(meson introspect --buildoptions "$build" | python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["prefix"] + "/" + o["bindir"])')
	installed=$(cd "$dest" && find . -type f -printf '/%P\n' | sort)
	rule=$(grep '/rules.d/60-vfio-variant.rules$' <<<"$installed")
	unit=$(grep '/vfio-variant.service$' <<<"$installed")
	problem=""
	[ "$(wc -l <<<"$installed")" -eq 2 ] || problem="installed: $installed"
	check "prefix $prefix: the tag vfio-mode installs the rule and the unit, nothing else" "$problem"
	problem=""
	if [ -z "$rule" ] || ! in_list "$rule" "$udev_dirs"; then problem="rule at '$rule', udev reads $udev_dirs"; fi
	check "prefix $prefix: the rule in a directory udev reads ($rule)" "$problem"
	problem=""
	if [ -z "$unit" ] || ! in_list "$unit" "$systemd_dirs"; then problem="unit at '$unit', systemd reads $(tr "\n" " " <<<"$systemd_dirs")"; fi
	check "prefix $prefix: the unit in a directory systemd reads ($unit)" "$problem"
	problem=""
	grep -qF "RUN+=\"$bindir/vfio-variant apply --requester udev \$kernel\"" "$dest$rule" ||
		problem="the rule does not run $bindir/vfio-variant: $(grep RUN "$dest$rule")"
	# shellcheck disable=SC2016 # udev's $kernel, literally
	grep -qF 'TEST=="/etc/vfio-variant/declared/$kernel"' "$dest$rule" ||
		problem="$problem; the rule's index is not /etc/vfio-variant/declared"
	grep -qxF "ExecStart=$bindir/vfio-variant apply --all --requester boot" "$dest$unit" ||
		problem="$problem; the unit does not run $bindir/vfio-variant: $(grep ExecStart "$dest$unit")"
	check "prefix $prefix: the rule and the unit run the installed vfio-variant; the index is the policy's" "$problem"
done
[ "$failed" -eq 0 ]
