#!/bin/bash
# VFIO mode's udev rule, boot unit and index units (a path unit on the
# policy and the service it starts) land where udev and systemd look:
# `meson install --destdir` of this source configured with the prefix /usr
# (a distribution's) and with the default prefix (/usr/local), each
# installing only the tag vfio-mode (nothing to compile). The directories
# udev reads are udev(7)'s list (systemd 252: /etc, /run, /usr/local/lib,
# /usr/lib and, split-usr, /lib); systemd's are what `systemd-analyze
# unit-paths` prints when it is there, else systemd.unit(5)'s list. The
# units pass `systemd-analyze verify` where it is installed (offline: their
# ExecStart's vfio-variant replaced by a stub, the tag installs none).
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

echo "1..12"
for prefix in /usr default; do
	build="$work/build-${prefix//\//}"
	dest="$work/dest-${prefix//\//}"
	args=()
	[ "$prefix" = default ] || args=(--prefix "$prefix")
	if ! meson setup "$build" "$source_dir" "${args[@]}" >"$work/log" 2>&1 ||
		! meson install -C "$build" --no-rebuild --tags vfio-mode --destdir "$dest" >>"$work/log" 2>&1; then
		check "prefix $prefix: meson setup and install --tags vfio-mode" "$(tail -n 20 "$work/log")"
		for _ in 1 2 3 4; do check "prefix $prefix: skipped, setup failed" "no install"; done
		continue
	fi
	bindir=$(meson introspect --buildoptions "$build" | python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["prefix"] + "/" + o["bindir"])')
	installed=$(cd "$dest" && find . -type f -printf '/%P\n' | sort)
	rule=$(grep '/rules.d/60-vfio-variant.rules$' <<<"$installed")
	unit=$(grep '/vfio-variant.service$' <<<"$installed")
	path_unit=$(grep '/vfio-variant-index.path$' <<<"$installed")
	index_unit=$(grep '/vfio-variant-index.service$' <<<"$installed")
	policydir=$(meson introspect --buildoptions "$build" | python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["prefix"] + "/" + o["policydir"] if not o["policydir"].startswith("/") else o["policydir"])')
	problem=""
	[ "$(wc -l <<<"$installed")" -eq 4 ] || problem="installed: $installed"
	check "prefix $prefix: the tag vfio-mode installs the rule and the three units, nothing else" "$problem"
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
	problem=""
	[ "$(dirname "$path_unit")" = "$(dirname "$unit")" ] && [ "$(dirname "$index_unit")" = "$(dirname "$unit")" ] ||
		problem="path unit at '$path_unit', its service at '$index_unit', the boot unit at '$unit'"
	grep -qxF "PathChanged=$policydir/vfio-variant.conf" "$dest$path_unit" ||
		problem="$problem; the path unit does not watch $policydir/vfio-variant.conf"
	grep -qxF "PathChanged=$policydir/vfio-variant.conf.d" "$dest$path_unit" ||
		problem="$problem; the path unit does not watch $policydir/vfio-variant.conf.d"
	grep -qxF "Unit=vfio-variant-index.service" "$dest$path_unit" || problem="$problem; the path unit starts no vfio-variant-index.service"
	grep -qxF "ExecStart=$bindir/vfio-variant apply --index" "$dest$index_unit" ||
		problem="$problem; the index service does not run $bindir/vfio-variant apply --index: $(grep ExecStart "$dest$index_unit")"
	check "prefix $prefix: the path unit next to the boot unit watches the policy and its drop-ins, its service runs apply --index" "$problem"
	problem=""
	if command -v systemd-analyze >/dev/null; then
		stub=$work/stub-${prefix//\//}
		mkdir -p "$stub/units" "$stub/bin"
		printf '#!/bin/sh\nexit 0\n' >"$stub/bin/vfio-variant"
		chmod +x "$stub/bin/vfio-variant"
		for u in "$unit" "$path_unit" "$index_unit"; do
			sed "s|$bindir/vfio-variant|$stub/bin/vfio-variant|" "$dest$u" >"$stub/units/$(basename "$u")"
		done
		out=$(cd "$stub/units" && systemd-analyze verify --man=no ./vfio-variant.service ./vfio-variant-index.path ./vfio-variant-index.service 2>&1) ||
			problem="systemd-analyze verify: $out"
		[ -z "$out" ] || problem="${problem:-systemd-analyze verify says: $out}"
		check "prefix $prefix: systemd-analyze verify passes the three units" "$problem"
	else
		check "prefix $prefix: systemd-analyze verify passes the three units" "systemd-analyze is not installed (systemd)"
	fi
done
[ "$failed" -eq 0 ]
