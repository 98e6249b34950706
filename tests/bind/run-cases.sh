#!/bin/bash
# The binding engine's C case programs (vv-adopt-case, test-engine) on the
# simulated kernel: each case the program lists (PROGRAM --list) runs on a
# fresh copy of the bind host under LD_PRELOAD of libvv-fakekernel.so, one
# TAP line a case; a failing case prints what did not hold and the fake
# kernel's log. Usage: run-cases.sh NAME PROGRAM LIBVV_FAKEKERNEL HOSTS_DIR
set -u
name=$1 prog=$2 fakekernel=$3 hosts=$4
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup "$name" "$prog" "$fakekernel" "$hosts/bind"
mapfile -t cases < <("$prog" --list)
echo "1..${#cases[@]}"
for case_name in "${cases[@]}"; do
	n=$((n + 1))
	sim_fresh
	if out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$prog" "$case_name" 2>&1); then
		echo "ok $n - $case_name"
	else
		echo "not ok $n - $case_name"
		sed 's/^/# /' <<<"$out"
		sed 's/^/# fake kernel: /' "$log"
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ]
