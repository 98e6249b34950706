#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Two and more commands racing to load one module (issue 13: two SR-IOV VFs
# created together, udev running 'apply' for both at once; one VF stayed
# without a driver). On the simulated kernel, a loaded module stays
# "coming", without its PCI driver, for VV_FAKEKERNEL_LOAD_MS (default
# 60) before its init registers the driver and it turns "live"; a second
# finit_module meanwhile waits and gets EEXIST, as Linux 6.1's does. The
# devices are each in their own IOMMU group (tests/hosts/race-load.toml), so
# no lock of ours orders the commands; each starts after a random delay of
# 0 to VV_RACE_LOAD_SPREAD_MS (default 120) ms, so that the others meet the
# first one's load at every point of it: before, while coming, after.
# Every iteration starts from a fresh copy of the host, the module not
# loaded, and checks that every command exited 0 and every device is on its
# VFIO driver with a complete record (tests/fault/invariant-lib.sh), never
# without a driver.
# Scenarios: detach of 2 and of 4 devices (the variant acme_vfio_pci);
# 'apply --requester udev' of 2 devices declared with the variant and of 4
# declared with driver=generic (vfio_pci), each left by the udev rule
# without a driver and with the pending override.
# Then two fixed cases: the module left "coming" by a loader whose init
# hangs, and "going": the detach fails, bounded (5 s), and rolls back.
# TAP: one line per scenario, with its iterations, failures and the
# slowest command. VV_RACE_LOAD_ITERATIONS (default 20; 4 under
# VV_CLI_WRAPPER, i.e. valgrind) bounds each scenario.
# Usage: test-race-load.sh VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR
set -u
cli=$1 fakekernel=$2 hosts=$3
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
# shellcheck source=tests/fault/invariant-lib.sh
. "$(dirname "$0")/../fault/invariant-lib.sh"
sim_setup race-load "$cli" "$fakekernel" "$hosts/race-load"
iterations=${VV_RACE_LOAD_ITERATIONS:-$([ -n "${VV_CLI_WRAPPER:-}" ] && echo 4 || echo 20)}
spread=${VV_RACE_LOAD_SPREAD_MS:-120}
export VV_FAKEKERNEL_LOAD_MS=${VV_FAKEKERNEL_LOAD_MS:-60}

# The template: the host with the declarations of 00:11.0 to 00:14.0.
sim_fresh
mkdir -p "$root/etc/vfio-variant"
cat >"$root/etc/vfio-variant/vfio-variant.conf" <<'CONF'
[device 0000:00:11.0]
mode=vfio

[device 0000:00:12.0]
mode=vfio

[device 0000:00:13.0]
mode=vfio
driver=generic

[device 0000:00:14.0]
mode=vfio
driver=generic
CONF
template=$work/template
mv "$root" "$template"

# A fresh copy (hard links: the simulated kernel replaces files, never
# writes one in place), in $root.
fresh() {
	n=$((n + 1))
	root=$work/case$n log=$work/case$n.log sys=$work/case$n/sys/bus/pci
	rm -rf "$work/case$((n - 1))" "$work/case$((n - 1)).log"
	cp -al "$template" "$root"
	: >"$log"
	export VV_FAKEKERNEL_ROOT="$root" VV_FAKEKERNEL_LOG="$log"
}

# bg I ARGS...: the CLI in the background after a random delay; output in
# $work/I.out, exit status and milliseconds taken in $work/I.status.
bg() {
	local i=$1
	shift
	(
		sleep "$(printf '0.%03d' $((RANDOM % (spread + 1))))"
		t0=${EPOCHREALTIME/./}
		# shellcheck disable=SC2086 # the wrapper is words
		LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" "$@" >"$work/$i.out" 2>&1
		s=$?
		echo "$s $(((${EPOCHREALTIME/./} - t0) / 1000))" >"$work/$i.status"
	) &
}

# race NAME MODULE DRIVER NATIVE VERB DEVICE...: $iterations runs of VERB
# on every DEVICE at once; each must end on DRIVER.
race() {
	local name=$1 module=$2 driver=$3 native=$4 verb=$5 it=0 bad=0 slowest=0 shown=0 why i dev s ms
	shift 5
	local -a devices=("$@") args
	case $verb in
	detach) args=(detach) ;;
	apply) args=(apply --requester udev) ;;
	esac
	while [ "$it" -lt "$iterations" ]; do
		it=$((it + 1))
		fresh
		i=0
		for dev in "${devices[@]}"; do
			bg "$i" "${args[@]}" "$dev"
			i=$((i + 1))
		done
		wait
		why=""
		[ -d "$root/sys/module/$module" ] || why="$module was not loaded"
		i=0
		for dev in "${devices[@]}"; do
			read -r s ms <"$work/$i.status"
			[ "$ms" -le "$slowest" ] || slowest=$ms
			[ "$s" -eq 0 ] || why="${why:+$why; }$verb $dev exited $s: $(tr '\n' ' ' <"$work/$i.out")"
			state_of "$dev" "$native"
			[ "$state" = "vfio:$driver" ] || why="${why:+$why; }$dev ended $state ($state_detail)"
			i=$((i + 1))
		done
		if [ -n "$why" ]; then
			bad=$((bad + 1))
			[ "$shown" -ge 2 ] || { shown=$((shown + 1)); problem+="iteration $it: $why"$'\n'; }
		fi
	done
	if [ "$bad" -eq 0 ]; then
		echo "ok $((++tap)) - $name: $it iterations"
	else
		echo "not ok $((++tap)) - $name: $bad of $it iterations failed"
		printf '%s' "$problem" | cut -c1-1500 | sed 's/^/# /'
		failed=$((failed + 1))
	fi
	echo "# $name: $it iterations, $bad failed, slowest command ${slowest} ms (load ${VV_FAKEKERNEL_LOAD_MS} ms, start spread ${spread} ms)"
	problem=""
}
# stuck STATE: a module another loader left "coming" (its init hangs) or
# that is "going": a detach that needs it fails, bounded, naming the module
# and the device, and leaves the device on its host driver without a
# record. It never calls finit_module, which would wait for the hung init
# without a bound (the fake kernel's waits as Linux's does), nor for a
# module on its way out.
stuck() {
	local left=$1 expect=$2 t0 ms
	problem=""
	fresh
	mkdir -p "$root/sys/module/acme_vfio_pci"
	echo "$left" >"$root/sys/module/acme_vfio_pci/initstate"
	t0=${EPOCHREALTIME/./}
	# A bound of our own: a library that calls finit_module here waits
	# for the hung init for ever (main's did), and must fail, not hang.
	# shellcheck disable=SC2086 # the wrapper is words
	out=$(timeout 60 env LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" detach 00:01.0 2>&1)
	status=$?
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	expect_status 1
	expect_out "$expect"
	expect_out "acme_vfio_pci"
	expect_out "0000:00:01.0"
	expect_no_log "load acme_vfio_pci"
	state_of 0000:00:01.0 abcd_nic
	[ "$state" = native ] || fail "00:01.0 ended $state ($state_detail)"
	if [ -z "$problem" ]; then
		echo "ok $((++tap)) - module left $left: the detach fails in ${ms} ms and rolls back"
	else
		echo "not ok $((++tap)) - module left $left"
		printf '%s\n' "$problem" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}

tap=0
echo "1..6"
race detach-2 acme_vfio_pci acme-vfio-pci abcd_nic detach 0000:00:01.0 0000:00:02.0
race detach-4 acme_vfio_pci acme-vfio-pci abcd_nic detach 0000:00:01.0 0000:00:02.0 0000:00:03.0 0000:00:04.0
race apply-udev-2 acme_vfio_pci acme-vfio-pci "" apply 0000:00:11.0 0000:00:12.0
race apply-udev-generic-2 vfio_pci vfio-pci "" apply 0000:00:13.0 0000:00:14.0
stuck coming "still being loaded after"
stuck going "it is being unloaded"
echo "# $((tap - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
