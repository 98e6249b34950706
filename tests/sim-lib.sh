# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# What the case-by-case tests on the simulated kernel (tests/fakekernel)
# share: the preload, a fresh copy of a fixture host per case, the checks
# on sysfs, the fake kernel's log and the records, and the loop that runs
# the cases and prints TAP. Sourced by tests/bind/test-bind.sh,
# tests/hook/test-hook.sh and tests/libvirt/test-nodedev-cli.sh.

# sim_setup NAME PROGRAM FAKEKERNEL HOST_DIR: skip without the fake kernel
# or the host; $preload for the program, $work removed at exit.
sim_setup() {
	local name=$1 program=$2 fakekernel=$3 asan
	export LC_ALL=C VV_TESTSUITE=1
	unset VV_FAKEKERNEL_KILL_AFTER
	sim_host=$4
	# The preload is what keeps module loads and sysfs writes inside the
	# copy; without it a load would reach this machine's kernel.
	if [ ! -f "$fakekernel" ] || [ ! -d "$sim_host/sys" ]; then
		echo "1..0 # SKIP no fake kernel ($fakekernel) or fixture host ($sim_host)"
		exit 0
	fi
	# Under AddressSanitizer its runtime must come first among the preloads.
	asan=$(ldd "$program" 2>/dev/null | awk '/libasan\.so/ { print $3; exit }')
	preload="${asan:+$asan:}$fakekernel"
	work=$(mktemp -d "${TMPDIR:-/tmp}/vv-test-$name.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	n=0 failed=0 problem=""
}

# A fresh host in $root (its PCI bus in $sys), its fake-kernel log in $log.
sim_fresh() {
	root="$work/case$n"
	log="$root.log"
	rm -rf "$root" "$log"
	cp -a "$sim_host" "$root"
	: >"$log"
	sys="$root/sys/bus/pci"
	export VV_FAKEKERNEL_ROOT="$root" VV_FAKEKERNEL_LOG="$log"
}

# The first failure of a case is the one it reports.
fail() { [ -n "$problem" ] || problem="$*"; }
expect_status() { [ "$status" -eq "$1" ] || fail "exit status $status, expected $1: $out${err:+ $err}"; }
expect_out() { grep -qF -- "$1" <<<"$out" || fail "output lacks '$1': $out"; }
expect_no_out() { ! grep -qF -- "$1" <<<"$out" || fail "output has '$1': $out"; }
driver_of() { basename "$(readlink "$sys/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
expect_driver() {
	local now
	now=$(driver_of "$1")
	[ "$now" = "$2" ] || fail "$1 is on '${now}', expected '$2' (log: $(tr '\n' '|' <"$log"))"
}
override_of() { cat "$sys/devices/$1/driver_override"; }
expect_override() { [ "$(override_of "$1")" = "$2" ] || fail "$1 has driver_override '$(override_of "$1")', expected '$2'"; }
expect_vfio() { [ -d "$sys/devices/$1/vfio-dev" ] || fail "$1 has no vfio-dev/"; }
expect_log() { grep -qF -- "$1" "$log" || fail "fake-kernel log lacks '$1': $(tr '\n' '|' <"$log")"; }
expect_no_log() { ! grep -qF -- "$1" "$log" || fail "fake-kernel log has '$1': $(tr '\n' '|' <"$log")"; }
expect_log_empty() { [ ! -s "$log" ] || fail "something was written: $(tr '\n' '|' <"$log")"; }
record() { echo "$root/run/vfio-variant/devices/$1.conf"; }
expect_record() { grep -qxF -- "$2" "$(record "$1")" 2>/dev/null || fail "record of $1 lacks '$2': $(cat "$(record "$1")" 2>&1)"; }
expect_no_record() { [ ! -e "$(record "$1")" ] || fail "record of $1 remains: $(cat "$(record "$1")")"; }
# Everything in the tree, contents included, but the log.
snapshot() { (cd "$root" && find . -printf '%p %y %l %s\n' | sort && find . -type f -exec md5sum {} + | sort); }

# sim_run_cases "LABEL|FUNCTION"...: each case on a fresh host (then
# sim_before_case, when the test defines one), one TAP line each; $failed
# counts the failures.
sim_run_cases() {
	local entry label fn
	echo "1..$#"
	for entry in "$@"; do
		label=${entry%%|*} fn=${entry#*|}
		n=$((n + 1))
		problem=""
		sim_fresh
		if declare -F sim_before_case >/dev/null; then sim_before_case; fi
		"$fn"
		if [ -z "$problem" ]; then
			echo "ok $n - $label"
		else
			echo "not ok $n - $label"
			printf '%s\n' "$problem" | sed 's/^/# /'
			failed=$((failed + 1))
		fi
	done
}
