#!/bin/bash
# Binds made by someone else (libvirt's node-device API), on the simulated
# kernel: vv_detach_prepare(), libvirt's three sysfs writes, then
# vv_detach_adopt() and, as with libvirt 9.0, vv_rebind(). Each case of
# vv-adopt-case runs on a fresh copy of the bind host under LD_PRELOAD of
# libvv-fakekernel.so. Usage: test-adopt.sh VV_ADOPT_CASE LIBVV_FAKEKERNEL HOSTS_DIR
set -u
prog=$1 fakekernel=$2 hosts=$3
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup adopt "$prog" "$fakekernel" "$hosts/bind"
mapfile -t cases < <("$prog" --list)
echo "1..${#cases[@]}"
for name in "${cases[@]}"; do
	n=$((n + 1))
	sim_fresh
	if out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$prog" "$name" 2>&1); then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		sed 's/^/# /' <<<"$out"
		sed 's/^/# fake kernel: /' "$log"
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ]
