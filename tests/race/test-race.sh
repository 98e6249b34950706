#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Races on the simulated kernel: two commands started together (each after
# a random 0-5 ms delay, to move the window around; a detach racing a
# reattach 0-20 ms; each probe takes 10 ms), about 200 times per
# scenario, then the promise is checked on the host they leave:
#   - every device is on its native driver with no record, or on a VFIO
#     driver with a complete record (tests/fault/invariant-lib.sh), never
#     without a driver when it had one;
#   - what both commands said fits one order of the two: the states they
#     claim to have found and left (exit 0 "nothing to do" included) chain
#     from the state before to the state after, in one order or the other;
#   - a reattach that leaves another member of its IOMMU group on a VFIO
#     driver names that member.
# Scenarios: detach || reattach of one device (00:01.0; each run starts
# where the last one ended, detached or not); detach of 00:04.0 ||
# reattach of 00:04.1, one IOMMU group (tests/hosts/bind.toml); the hook's
# move at 'start begin' || a CLI reattach (tests/hosts/hook.toml).
# TAP: one line per scenario, with its iterations and outcome counts.
# VV_RACE_ITERATIONS (default 200; 10 under VV_CLI_WRAPPER, i.e. valgrind)
# and VV_RACE_SECONDS (default 18, per scenario) bound each scenario.
# Usage: test-race.sh VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR
set -u
cli=$1 fakekernel=$2 hosts=$3
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
# shellcheck source=tests/fault/invariant-lib.sh
. "$(dirname "$0")/../fault/invariant-lib.sh"
sim_setup race "$cli" "$fakekernel" "$hosts/bind"
[ -d "$hosts/hook/sys" ] || { echo "1..0 # SKIP no fixture host $hosts/hook"; exit 0; }
iterations=${VV_RACE_ITERATIONS:-$([ -n "${VV_CLI_WRAPPER:-}" ] && echo 10 || echo 200)}
budget=${VV_RACE_SECONDS:-18}
# A probe takes time on a real host, the device without a driver meanwhile.
export VV_FAKEKERNEL_PROBE_MS=${VV_FAKEKERNEL_PROBE_MS:-10}
uuid=6d0c3a1e-5b7f-4c2a-9d41-0a1b2c3d4e5f
xml=$work/domain.xml
one_hostdev_domain "$xml" "$uuid"

vv() {
	# shellcheck disable=SC2086 # the wrapper is words
	out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" "$@" 2>&1)
	status=$?
}
# bg NAME ARGS...: the CLI in the background after a random delay (0-5 ms,
# or 0 to $delay_ms - 1); its output in $work/NAME.out, its exit status in
# $work/NAME.status.
bg() {
	local name=$1
	shift
	(
		sleep "$(printf '0.%03d' $((RANDOM % ${delay_ms:-6})))"
		# shellcheck disable=SC2086
		LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" "$@" <"$xml" >"$work/$name.out" 2>&1
		echo $? >"$work/$name.status"
	) &
}
result() { status=$(<"$work/$1.status"); out=$(<"$work/$1.out"); }
lv_detach() {
	local d="$sys/devices/$1"
	LD_PRELOAD="$preload" bash -c "echo vfio-pci > '$d/driver_override'; echo '$1' > '$d/driver/unbind'; echo '$1' > '$sys/drivers_probe'"
}

# A host copy from TEMPLATE (hard links for the simulated kernel, which
# replaces files and never writes one in place; the state directory, where
# locks are written in place, copied), in $root.
from_template() {
	n=$((n + 1))
	root=$work/case$n log=$work/case$n.log sys=$work/case$n/sys/bus/pci
	cp -al "$1" "$root"
	rm -rf "$root/run"
	[ ! -d "$1/run" ] || cp -a "$1/run" "$root/run"
	: >"$log"
	export VV_FAKEKERNEL_ROOT="$root" VV_FAKEKERNEL_LOG="$log"
}
template() {
	sim_host=$hosts/$1
	sim_fresh
	"$2"
	mv "$root" "$work/template-$3"
}

# Each command's claim: claim_X STATE (status/out of X set) prints the
# state X leaves when it ran on STATE, or "x" when what it said cannot be
# true of STATE. A failed command changes nothing.
N=native V=vfio:acme-vfio-pci L=libvirt:vfio-pci
nothing() { grep -q "nothing to do" <<<"$out"; }
claim_detach() {
	if [ "$status" -ne 0 ]; then echo "$1"
	elif nothing; then [ "$1" = "$V" ] && echo "$V" || echo x
	else [ "$1" = "$N" ] && echo "$V" || echo x; fi
}
claim_reattach() {
	if [ "$status" -ne 0 ]; then echo "$1"
	elif nothing; then [ "$1" = "$N" ] && echo "$N" || echo x
	else [ "$1" = "$V" ] || [ "$1" = "$L" ] && echo "$N" || echo x; fi
}
# The hook's move: from libvirt's vfio-pci to the variant (or, in fallback
# mode after a failed move, left on vfio-pci); a device libvirt did not
# detach is left alone.
claim_hook_start() {
	if [ "$status" -ne 0 ]; then echo "$1"
	elif grep -q "left alone" <<<"$out"; then [ "$1" != "$L" ] && echo "$1" || echo x
	elif grep -q "fallback mode" <<<"$out"; then [ "$1" = "$L" ] && echo "$L" || echo x
	else [ "$1" = "$L" ] && echo "$V" || echo x; fi
}
# A reattach of the guest's device (a record naming domain vm1) is refused.
claim_reattach_guest() {
	if [ "$1" = "$V" ] && [ "$status" -eq 0 ]; then echo x; else claim_reattach "$1"; fi
}
# Group 4: STATE is "04.0-state,04.1-state". Detaching 04.0 needs 04.1 on
# a VFIO driver (a viable group); reattaching 04.1 may leave 04.0 on one.
claim_detach_04_0() {
	local a=${1%,*} b=${1#*,}
	if [ "$status" -ne 0 ]; then echo "$1"
	elif nothing; then [ "$a" = vfio:vfio-pci ] && echo "$1" || echo x
	else [ "$a" = native ] && [ "$b" = vfio:vfio-pci ] && echo "vfio:vfio-pci,$b" || echo x; fi
}
claim_reattach_04_1() {
	local a=${1%,*} b=${1#*,}
	if [ "$status" -ne 0 ]; then echo "$1"
	elif nothing; then [ "$b" = native ] && echo "$1" || echo x
	else [ "$b" = vfio:vfio-pci ] && echo "$a,native" || echo x; fi
}

# race NAME: runs $iterations (within $budget seconds) of the scenario's
# functions: start_NAME (sets $before, the host in $root), go_NAME (starts
# both commands, named a and b), after_NAME (sets $after, may add to $why).
race() {
	local name=$1 it=0 driverless=0 bad=0 t0 shown=0 order
	local -A outcomes=()
	t0=$SECONDS
	while [ "$it" -lt "$iterations" ] && [ $((SECONDS - t0)) -lt "$budget" ]; do
		it=$((it + 1))
		"start_$name"
		"go_$name"
		wait
		why=""
		"after_$name"
		# Exit 1 is a refusal or a failed change; anything else (2: bad
		# usage, 99: a memcheck error, >= 128: a crash) is a defect.
		local c
		for c in a b; do
			result "$c"
			[ "$status" -le 1 ] || why="${why:+$why; }$c exited $status"
		done
		if [ -z "$why" ]; then
			order=""
			result a; s1=$("claim_a_$name" "$before")
			[ "$s1" = x ] || { result b; [ "$("claim_b_$name" "$s1")" = "$after" ] && order="a,b"; }
			result b; s1=$("claim_b_$name" "$before")
			[ "$s1" = x ] || { result a; [ "$("claim_a_$name" "$s1")" = "$after" ] && order="${order:+$order|}b,a"; }
			[ -n "$order" ] || why="what they said fits no order: from $before to $after"
		fi
		if [ -n "$why" ]; then
			case $why in *"without a driver"*) driverless=$((driverless + 1)) ;; *) bad=$((bad + 1)) ;; esac
			outcomes[FAILED]=$((${outcomes[FAILED]:-0} + 1))
			if [ "$shown" -lt 3 ]; then
				shown=$((shown + 1))
				result a; local oa="exit $status: ${out//$'\n'/ | }"
				result b
				problem+="iteration $it: $why; a: $oa; b: exit $status: ${out//$'\n'/ | }"$'\n'
			fi
		else
			outcomes["$before -> $after"]=$((${outcomes["$before -> $after"]:-0} + 1))
		fi
	done
	local summary="" key
	for key in "${!outcomes[@]}"; do summary+="${summary:+, }$key: ${outcomes[$key]}"; done
	if [ "$driverless" -eq 0 ] && [ "$bad" -eq 0 ]; then
		echo "ok $((++tap)) - $name: $it iterations"
		passed=$((passed + 1))
	else
		echo "not ok $((++tap)) - $name: $it iterations"
		printf '%s' "$problem" | tr -c '[:print:]\n' '?' | cut -c1-1500 | sed 's/^/# /'
		failed=$((failed + 1))
	fi
	echo "# $name: $it iterations in $((SECONDS - t0)) s, $driverless driverless, $bad inconsistent; outcomes: $summary"
	problem=""
}
tap=0 passed=0

# --- detach || reattach of one device --------------------------------------
# Odd iterations start detached, even ones where the previous one ended
# (a bad end starts over from a copy): both starting points are raced, and
# the detached one, where a detach that reads before it locks goes wrong,
# at least half of the time.
setup_native() { :; }
setup_detached() { vv detach 00:01.0; }
template bind setup_native one-native
template bind setup_detached one-detached
cur=""
start_one() {
	if [ -z "$cur" ] || [ $((it % 2)) -eq 1 ]; then
		from_template "$work/template-one-$([ $((it % 2)) -eq 1 ] && echo detached || echo native)"
		cur=$root
	fi
	root=$cur sys=$cur/sys/bus/pci log=$cur.log
	export VV_FAKEKERNEL_ROOT="$root" VV_FAKEKERNEL_LOG="$log"
	state_of 0000:00:01.0 abcd_nic
	before=$state
}
# A detach reads the device at once, a reattach unbinds it only after its
# record is written: the detach starts 0-20 ms later to meet that window.
go_one() { delay_ms=21 bg a detach 00:01.0; bg b reattach 00:01.0; }
claim_a_one() { claim_detach "$1"; }
claim_b_one() { claim_reattach "$1"; }
after_one() {
	state_of 0000:00:01.0 abcd_nic
	after=$state
	case $after in
	"$N" | "$V") ;;
	driverless | pending:) why="00:01.0 left without a driver ($state_detail)"; cur="" ;;
	*) why="00:01.0 left inconsistent ($state_detail)"; cur="" ;;
	esac
}
race one

# --- detach 04.0 || reattach 04.1, one IOMMU group ----------------------------
setup_group() { vv detach 00:04.1; }
template bind setup_group group
start_group() {
	from_template "$work/template-group"
	state_of 0000:00:04.0 ""; before=$state
	state_of 0000:00:04.1 abcd_nic; before+=",$state"
}
go_group() { bg a detach 00:04.0; bg b reattach 00:04.1; }
claim_a_group() { claim_detach_04_0 "$1"; }
claim_b_group() { claim_reattach_04_1 "$1"; }
after_group() {
	local a
	state_of 0000:00:04.0 ""; a=$state
	case $state in native | vfio:vfio-pci) ;; *) why="00:04.0 left inconsistent ($state_detail)" ;; esac
	state_of 0000:00:04.1 abcd_nic
	case $state in
	native | vfio:vfio-pci) ;;
	driverless | pending:) why="00:04.1 left without a driver ($state_detail)" ;;
	*) why="00:04.1 left inconsistent ($state_detail)" ;;
	esac
	after="$a,$state"
	# 04.1 given back while 04.0 stays on vfio-pci: the group is no longer
	# viable, and the reattach must say so, naming 04.0.
	result b
	if [ -z "$why" ] && [ "$after" = "vfio:vfio-pci,native" ] && [ "$status" -eq 0 ] &&
		! grep -q "0000:00:04.0" <<<"$out"; then
		why="reattach of 04.1 left 04.0 on vfio-pci without naming it (the group is no longer viable)"
	fi
}
race group

# --- the hook's move || a CLI reattach ------------------------------------------
setup_hook() {
	LD_PRELOAD="$preload" "$cli" --sysroot "$root" hook qemu vm1 prepare begin - <"$xml" >/dev/null 2>&1
	lv_detach 0000:00:01.0
}
template hook setup_hook hook
start_hook() {
	from_template "$work/template-hook"
	state_of 0000:00:01.0 abcd_nic; before=$state
}
go_hook() { bg a hook qemu vm1 start begin -; bg b reattach 00:01.0; }
claim_a_hook() { claim_hook_start "$1"; }
claim_b_hook() { claim_reattach_guest "$1"; }
after_hook() {
	state_of 0000:00:01.0 abcd_nic
	after=$state
	case $after in
	"$N" | "$V" | "$L") ;;
	driverless | pending:) why="00:01.0 left without a driver ($state_detail)" ;;
	*) why="00:01.0 left inconsistent ($state_detail)" ;;
	esac
}
race hook

echo "1..$tap"
echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
