#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fault injection on the simulated kernel: for each scenario, the command
# runs once for N = 1, 2, ... with VV_FAKEKERNEL_FAIL=N (the N-th sysfs
# write, module load or record write/fsync/rename of the process fails with
# EIO, or the errno the scenario names; "full-disk" scenarios: N+, every
# record write from the N-th on fails too), each on a fresh host copy, until
# a run injects nothing. After each run, without faults:
#   - the device is on its native driver with no record, or on a VFIO
#     driver with a complete record of that driver (tests/fault/
#     invariant-lib.sh), never without a driver when it had one;
#   - exit 0 only when the command's goal was reached; otherwise exit 1, a
#     message that names the failure (the errno's text), and the device as
#     before, done, native, or on a VFIO driver with a complete record (on a
#     full disk: or with the journal of the failed step, on a driver);
#   - recover/reattach (the CLI), or libvirt's stop path (the hook), then
#     bring the device back to its native driver with no record left.
# TAP: one line per scenario and N, and "# SCENARIO: K faults injected,
# D driverless, J inconsistent" per scenario. VV_FAULT_STRIDE=S: only every
# S-th N (7 by default under VV_CLI_WRAPPER, i.e. valgrind).
# Usage: test-fault.sh VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR
set -u
cli=$1 fakekernel=$2 hosts=$3
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
# shellcheck source=tests/fault/invariant-lib.sh
. "$(dirname "$0")/invariant-lib.sh"
sim_setup fault "$cli" "$fakekernel" "$hosts/bind"
[ -d "$hosts/hook/sys" ] || { echo "1..0 # SKIP no fixture host $hosts/hook"; exit 0; }
uuid=6d0c3a1e-5b7f-4c2a-9d41-0a1b2c3d4e5f
# A guard against a counter that never runs out: no command here makes
# anywhere near this many changes.
max_n=80

vv() {
	# shellcheck disable=SC2086 # the wrapper is words
	out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" "$@" 2>&1)
	status=$?
}
# hk OPERATION SUBOP: the qemu hook through the CLI, as libvirt calls it,
# the domain ($xml: one managed hostdev, $dev) on stdin.
hk() {
	# shellcheck disable=SC2086
	out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" \
		hook qemu vm1 "$1" "$2" - <"$xml" 2>&1)
	status=$?
}
domain_xml() {
	xml="$work/domain.xml"
	one_hostdev_domain "$xml" "$uuid"
}
# What libvirt 9.0 does to a managed hostdev (see tests/hook/test-hook.sh).
lv_sh() { LD_PRELOAD="$preload" bash -c "$1"; }
lv_detach() {
	local d="$sys/devices/$dev"
	lv_sh "echo vfio-pci > '$d/driver_override'; [ -e '$d/driver' ] && echo '$dev' > '$d/driver/unbind'; echo '$dev' > '$sys/drivers_probe'"
}
lv_reattach() {
	local d="$sys/devices/$dev"
	if [ "$(driver_of "$dev")" = vfio-pci ]; then lv_sh "echo '$dev' > '$d/driver/unbind'"
	elif [ -e "$d/driver" ]; then lv_sh "echo 1 > '$d/reset'"; fi
	lv_sh "echo > '$d/driver_override'; echo '$dev' > '$sys/drivers_probe'"
}
plan() { echo "$root/run/vfio-variant/hook/$uuid.conf"; }

# ---------------------------------------------------------------- scenarios
# Each: setup_X (no faults, on the fresh host), run_X (the command under
# the fault), recover_X (no faults; brings the device home).

setup_none() { :; }
setup_detached() { vv detach "$dev"; }
setup_cut_after_unbind() { VV_FAKEKERNEL_KILL_AFTER=/unbind vv detach "$dev"; }
setup_cut_after_probe() { VV_FAKEKERNEL_KILL_AFTER=/drivers_probe vv detach "$dev"; }
setup_hook_prepared() { hk prepare begin; lv_detach; }
setup_hook_started() { setup_hook_prepared; hk start begin; }
setup_hook_stopped() { setup_hook_started; hk stopped end; lv_reattach; }

run_detach() { vv detach "$dev"; }
run_reattach() { vv reattach "$dev"; }
run_recover() { vv recover "$dev"; }
run_prepare() { hk prepare begin; }
run_start() { hk start begin; }
run_stopped() { hk stopped end; }
run_release() { hk release end; }

# The CLI's way back: settle a cut-short operation, then give the device back.
recover_cli() {
	state_of "$dev" "$native"
	case $state in pending:*) vv recover "$dev" ;; esac
	state_of "$dev" "$native"
	[ "$state" = native ] || vv reattach --force "$dev"
}
# libvirt's stop path after a start that failed or a guest that ended.
recover_hook_stop() { hk stopped end; lv_reattach; hk release end; }
recover_hook_release() { hk release end; }

passed=0 count=0
# Under valgrind every run costs seconds: take every STRIDE-th N only.
stride=${VV_FAULT_STRIDE:-$([ -n "${VV_CLI_WRAPPER:-}" ] && echo 7 || echo 1)}
# scenario NAME HOST DEV NATIVE SETUP RUN GOALS RECOVER [ERRNO [MODE]]
# GOALS: "A|B...": the states (see state_of) the command may leave when it
# exits 0; A, the first, is the one it must reach without a fault (the
# others: the hook's fallback mode, which lets the guest start with the
# device on libvirt's vfio-pci when the move failed). MODE "once": only the
# N-th change fails; "disk": from the N-th on every record write fails too.
scenario() {
	local name=$1 host=$2 run=run_$6 goals="|$7|" goal=${7%%|*} recover=recover_$8 errno=${9:-EIO} mode=${10:-once}
	local k=0 driverless=0 bad=0 i start fault why text
	dev=$3 native=$4
	text=$(errno_text "$errno")
	# The scenario's starting point, made once and copied for each N.
	sim_host=$hosts/$host
	sim_fresh
	domain_xml
	"setup_$5"
	state_of "$dev" "$native"
	start=$state
	mv "$root" "$work/start-$name"
	for ((i = 1; i <= max_n; i += stride)); do
		n=$((n + 1)) problem=""
		# Hard links for the simulated kernel's files (a fraction of the
		# copy's time): it replaces files (set_contents, links) and never
		# writes one in place. The state directory (records, locks that
		# are written in place) is copied.
		root=$work/case$n log=$work/case$n.log sys=$work/case$n/sys/bus/pci
		cp -al "$work/start-$name" "$root"
		rm -rf "$root/run"
		cp -a "$work/start-$name/run" "$root/run" 2>/dev/null
		: >"$log"
		export VV_FAKEKERNEL_ROOT="$root" VV_FAKEKERNEL_LOG="$log"
		: >"$log"
		VV_FAKEKERNEL_FAIL=$i$([ "$mode" = disk ] && echo +):$errno "$run"
		fault=$(sed -n 's/^inject [0-9]* \(.*\) -> .*/\1/p' "$log" | head -n 1)
		state_of "$dev" "$native"
		why=""
		if [ -z "$fault" ]; then
			# Past the last change: the command must simply work.
			[ "$status" -eq 0 ] && [ "$state" = "$goal" ] ||
				why="without a fault: exit $status, $state_detail, expected $goal: $out"
		else
			k=$((k + 1))
			if { [ "$state" = driverless ] || [ "$state" = pending: ]; } && [ "$state" != "$start" ]; then
				driverless=$((driverless + 1))
				why="left without a driver ($state_detail), exit $status, after the failed '$fault'. "
			fi
			if [ "$status" -eq 0 ]; then
				[[ $goals == *"|$state|"* ]] || why+="exit 0 but not done: $state_detail, expected ${7//|/ or }. "
			else
				[ "$status" -eq 1 ] || why+="exit $status for a failed change (1 expected). "
				grep -qF -- "$text" <<<"$out" || why+="the message does not name the failed '$fault' ($text). "
				# A failed command may leave the device as it was, done, back
				# on its native driver (a journal record left at worst), or on
				# any VFIO driver with a complete record. On a full disk the
				# record may be left as a journal of the step that failed
				# (what recover settles), the device on a driver.
				[[ "|$7|$start|native|pending:$native|" == *"|$state|"* ]] || [[ $state == vfio:* ]] ||
					{ [ "$mode" = disk ] && [[ $state == pending:?* ]]; } ||
					why+="exit 1 leaving $state_detail: neither as before ($start) nor ${7//|/ or } nor native nor on a VFIO driver with a complete record. "
			fi
			if [ -n "$why" ]; then
				[[ $why == "left without a driver"* ]] || bad=$((bad + 1))
				why+="Output: $out"
			fi
		fi
		# Whatever happened, the way back must work without faults.
		"$recover"
		state_of "$dev" "$native"
		if [ -z "$why" ] && { [ "$state" != native ] || [ -e "$(plan)" ]; }; then
			# shellcheck disable=SC2016 # '$fault' is inside double quotes
			why="the way back ($8) left $state_detail${fault:+ after the failed '$fault'}$([ -e "$(plan)" ] && echo ', and the plan'): $out"
			[ -z "$fault" ] || bad=$((bad + 1))
		fi
		if [ -z "$why" ]; then
			echo "ok $n - $name N=$i: ${fault:-no fault left}"
			passed=$((passed + 1))
		else
			echo "not ok $n - $name N=$i: ${fault:-no fault left}"
			printf '%s\n' "$why" | sed 's/^/# /'
			failed=$((failed + 1))
		fi
		[ -n "$fault" ] || break
	done
	echo "# $name: $k faults injected, $driverless driverless, $bad inconsistent"
	count=$((count + k))
}

scenario detach-variant bind 0000:00:01.0 abcd_nic none detach vfio:acme-vfio-pci cli
scenario detach-variant-full-disk bind 0000:00:01.0 abcd_nic none detach vfio:acme-vfio-pci cli ENOSPC disk
scenario detach-fallback bind 0000:00:02.0 abcd_nic none detach vfio:vfio-pci cli
scenario reattach bind 0000:00:01.0 abcd_nic detached reattach native cli
scenario reattach-full-disk bind 0000:00:01.0 abcd_nic detached reattach native cli ENOSPC disk
scenario recover-after-unbind bind 0000:00:01.0 abcd_nic cut_after_unbind recover native cli
scenario recover-after-probe bind 0000:00:01.0 abcd_nic cut_after_probe recover native cli
scenario hook-prepare-begin hook 0000:00:01.0 abcd_nic none prepare native hook_stop
scenario hook-start-begin hook 0000:00:01.0 abcd_nic hook_prepared start "vfio:acme-vfio-pci|libvirt:vfio-pci" hook_stop
scenario hook-stopped-end hook 0000:00:01.0 abcd_nic hook_started stopped vfio:vfio-pci hook_stop
scenario hook-release-end hook 0000:00:01.0 abcd_nic hook_stopped release native hook_release

# A guest holds 04.0 (its group is held: kernel >= 5.19 refuses a host
# driver's probe of 04.1): giving 04.1 back, even forced, must not leave it
# without a driver, and must not claim success.
n=$((n + 1)) problem=""
sim_host=$hosts/bind
sim_fresh
dev=0000:00:04.1 native=abcd_nic
vv detach 00:04.1
vv detach 00:04.0
printf '\n[group 4]\nheld=true\n' >>"$root/fakekernel.conf"
for force in "" --force; do
	vv reattach $force 00:04.1
	state_of "$dev" "$native"
	case $state in
	vfio:vfio-pci) [ "$status" -eq 1 ] || fail "reattach $force: exit $status, and 04.1 is still on vfio-pci: $out" ;;
	*) fail "reattach $force in a held group: exit $status, $state_detail: $out" ;;
	esac
done
if [ -z "$problem" ]; then
	echo "ok $n - reattach of 04.1 while a guest holds 04.0: refused, 04.1 keeps vfio-pci"
	passed=$((passed + 1))
else
	echo "not ok $n - reattach of 04.1 while a guest holds 04.0: refused, 04.1 keeps vfio-pci"
	printf '%s\n' "$problem" | sed 's/^/# /'
	failed=$((failed + 1))
fi

echo "1..$n"
echo "# $count faults injected in all; $passed passed, $failed failed"
[ "$failed" -eq 0 ]
