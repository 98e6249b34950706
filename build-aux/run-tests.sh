#!/bin/bash
# The whole test suite: the unit suite in a normal build, again under
# ASan+UBSan, and under valgrind; Debian's libvirtd on this machine,
# read-only (tests/libvirt); then the VM suite (tests/vm: the CLI on
# Debian's kernel under QEMU) and the libvirt VM suite (libvirtd 9.0 in
# that VM, tests/libvirt/run-vm-libvirt.sh) in the normal build; the
# trixie suite (tests/trixie: Debian 13's kernel 6.12 and libvirt 11.3,
# fetched into the build tree or VV_TRIXIE_CACHE); the vfio-mode suite
# (tests/vfio-mode: systemd-udevd and the boot unit in the VM); then the
# libFuzzer harnesses (tests/fuzz) in a clang build, VV_FUZZ_SECONDS (30)
# seconds each, with the executions of each printed. Prints
# one closing line "N passed, M failed" and exits non-zero when anything
# failed.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0

# meson test writes a JSON line per test; count them per run.
count_results() {
	local log=$1
	local ok bad
	ok=$(grep -c '"result": "OK"' "$log" || true)
	bad=$(grep -vc '"result": "\(OK\|SKIP\|EXPECTEDFAIL\)"' "$log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
}

run_suite() {
	local builddir=$1; shift
	local setup_args=$1; shift
	echo "== $builddir: meson test $*"
	if [ ! -d "$builddir" ]; then
		# SETUP_CC: the compiler of this build dir only (clang for tests/fuzz).
		local cc_env=()
		[ -n "${SETUP_CC:-}" ] && cc_env=(env "CC=$SETUP_CC")
		# shellcheck disable=SC2086
		"${cc_env[@]}" meson setup "$builddir" -Dwerror=true $setup_args >/dev/null ||
			{ failed=$((failed + 1)); return; }
	fi
	meson compile -C "$builddir" >/dev/null || { echo "build failed in $builddir"; failed=$((failed + 1)); return; }
	meson test -C "$builddir" --print-errorlogs "$@"
	count_results "$builddir/meson-logs/testlog$( [ -n "${SETUP:-}" ] && echo "-$SETUP").json"
}

# CI keeps libvirt: a missing libvirt-dev fails the setup instead of
# dropping the nodedev-* commands and their tests.
run_suite build "-Dlibvirt=enabled" --suite unit
run_suite build-sanitizers "-Dlibvirt=enabled -Db_sanitize=address,undefined -Db_lundef=false" --suite unit
# A build without libvirt still builds, and says so where libvirt is needed.
run_suite build-nolibvirt "-Dlibvirt=disabled" cli abi po cli-no-libvirt-calls hook
SETUP=valgrind run_suite build "" --suite unit --setup valgrind
run_suite build "" --suite libvirt-host
run_suite build "" --suite vm
run_suite build "" --suite libvirt
run_suite build "" --suite trixie
run_suite build "" --suite vfio-mode
SETUP_CC=clang run_suite build-fuzz "-Dfuzzing=true" --suite fuzz --verbose

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
