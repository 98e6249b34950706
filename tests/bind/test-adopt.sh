#!/bin/bash
# Binds made by someone else (libvirt's node-device API), on the simulated
# kernel: vv_detach_prepare(), libvirt's three sysfs writes, then
# vv_detach_adopt() and, as with libvirt 9.0, vv_rebind(). Each case of
# vv-adopt-case runs on a fresh copy of the bind host under LD_PRELOAD of
# libvv-fakekernel.so. Usage: test-adopt.sh VV_ADOPT_CASE LIBVV_FAKEKERNEL HOSTS_DIR
set -u
prog=$1 fakekernel=$2 hosts=$3
export LC_ALL=C VV_TESTSUITE=1
unset VV_FAKEKERNEL_KILL_AFTER

if [ ! -f "$fakekernel" ] || [ ! -d "$hosts/bind/sys" ]; then
	echo "1..0 # SKIP no fake kernel ($fakekernel) or bind host ($hosts/bind)"
	exit 0
fi
# Under AddressSanitizer its runtime must come first among the preloads.
asan=$(ldd "$prog" 2>/dev/null | awk '/libasan\.so/ { print $3; exit }')
preload="${asan:+$asan:}$fakekernel"

work=$(mktemp -d "${TMPDIR:-/tmp}/vv-test-adopt.XXXXXX")
trap 'rm -rf "$work"' EXIT
mapfile -t cases < <("$prog" --list)
echo "1..${#cases[@]}"
n=0 failed=0
for name in "${cases[@]}"; do
	n=$((n + 1))
	root=$work/$name
	cp -a "$hosts/bind" "$root"
	if out=$(VV_FAKEKERNEL_ROOT="$root" VV_FAKEKERNEL_LOG="$root.log" LD_PRELOAD="$preload" \
		${VV_CLI_WRAPPER:-} "$prog" "$name" 2>&1); then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		sed 's/^/# /' <<<"$out"
		sed 's/^/# fake kernel: /' "$root.log"
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ]
