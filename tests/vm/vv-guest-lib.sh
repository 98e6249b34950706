# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# What the guests of both real-kernel suites share (POSIX sh: busybox's in
# the VM suite's initramfs, dash in the libvirt suite's root): the device
# as sysfs shows it, running the CLI with its output in LOG lines, the
# scenario bookkeeping that prints one line per scenario
#   RESULT <name>: OK <detail>   or   RESULT <name>: FAIL <why>
# the coldplug udev would do, the start and end of an initramfs /init, and
# the scenarios both initramfs suites run on their kernel (tests/vm/init.sh
# on Debian 12's, tests/trixie/kernel-init.sh on Debian 13's), each with its
# own device, driver and native driver. Sourced by those two, by
# tests/libvirt/vm-libvirt-lib.sh and by tests/vfio-mode/vm-vfio-mode.sh;
# VV, STATE and CMD_TIMEOUT may be set first.

VV=${VV:-/usr/bin/vfio-variant}
PCI=/sys/bus/pci/devices
STATE=${STATE:-/run/vfio-variant}
CMD_TIMEOUT=${CMD_TIMEOUT:-120}

log() { echo "LOG $*"; }

# ---- the device as sysfs shows it --------------------------------------

drv() {
	if [ -e "$PCI/$1/driver" ]; then basename "$(readlink "$PCI/$1/driver")"; else echo none; fi
}
override() { cat "$PCI/$1/driver_override"; }
group_of() { basename "$(readlink "$PCI/$1/iommu_group")"; }
has_vfio_dev() { [ -d "$PCI/$1/vfio-dev" ] && [ -n "$(ls "$PCI/$1/vfio-dev")" ]; }
module_loaded() { [ -d "/sys/module/$1" ]; }
record_of() { echo "$STATE/devices/$1.conf"; }

# Everything a binding command could change: every device's driver,
# override and vfio-dev, the loaded modules, /dev/vfio, the state directory.
snapshot() {
	for dir in "$PCI"/*; do
		bdf=${dir##*/}
		echo "$bdf driver=$(drv "$bdf") override=$(override "$bdf") vfio-dev=$(ls "$dir/vfio-dev" 2>/dev/null)"
	done
	echo "modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
	echo "dev/vfio: $(ls /dev/vfio 2>/dev/null | tr '\n' ' ')"
	find "$STATE" 2>/dev/null | sort | while read -r f; do
		if [ -f "$f" ]; then echo "$f $(md5sum <"$f")"; else echo "$f"; fi
	done
}

# ---- running the CLI ----------------------------------------------------

# vv ARGS...: run the CLI in a new process; its exit status in RC, its
# output in /tmp/out and /tmp/err (and in LOG lines).
vv() {
	timeout -s KILL "$CMD_TIMEOUT" "$VV" "$@" >/tmp/out 2>/tmp/err
	RC=$?
	log "\$ vfio-variant $* -> exit $RC"
	sed 's/^/LOG   | /' /tmp/out /tmp/err
}

# vv_timed ARGS...: the same, its wall time in microseconds in US.
vv_timed() {
	timeout -s KILL "$CMD_TIMEOUT" vv-timeit /tmp/us "$VV" "$@" >/tmp/out 2>/tmp/err
	RC=$?
	US=$(cat /tmp/us 2>/dev/null || echo 0)
	log "\$ vfio-variant $* -> exit $RC ($US us)"
	sed 's/^/LOG   | /' /tmp/out /tmp/err
}

out_has() { grep -q -- "$1" /tmp/out; }
err_has() { grep -q -- "$1" /tmp/err; }
both_have() { cat /tmp/out /tmp/err | grep -q -- "$1"; }

# ---- scenarios ----------------------------------------------------------

# Set when a scenario fails (guest_finish shows the kernel log then).
ANY_FAIL=0

# Guest time in centiseconds (/proc/uptime).
cs() {
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

# begin NAME; check WHAT COMMAND...; ...; end [DETAIL]
# With SCENARIO_TIMES=1, end also prints "FIGURE scenario NAME: S.CC s",
# the guest's wall time since begin (T0, centiseconds).
begin() { SCENARIO=$1; WHY=; T0=$(cs); log "== $SCENARIO"; }
check() {
	what=$1
	shift
	if ! "$@"; then
		WHY="${WHY:+$WHY; }$what"
		log "   check failed: $what"
	fi
}
end() {
	if [ -z "$WHY" ]; then
		echo "RESULT $SCENARIO: OK${1:+ $1}"
	else
		echo "RESULT $SCENARIO: FAIL $WHY"
		ANY_FAIL=1
	fi
	if [ "${SCENARIO_TIMES:-0}" = 1 ]; then
		t=$(($(cs) - T0))
		echo "FIGURE scenario $SCENARIO: $((t / 100)).$(printf '%02d' $((t % 100))) s"
	fi
}

is() { [ "$1" = "$2" ]; }
isnt() { [ "$1" != "$2" ]; }
rc_is() { [ "$RC" = "$1" ]; }
no_record() { [ ! -e "$(record_of "$1")" ]; }
has_record() { [ -e "$(record_of "$1")" ]; }
dev_vfio_group() { [ -c "/dev/vfio/$(group_of "$1")" ]; }

# Time in ms with one decimal, from microseconds.
ms() {
	if [ "$1" -lt 0 ]; then echo "-$(ms $((-$1)))"; else echo "$(($1 / 1000)).$(($1 % 1000 / 100))"; fi
}

# ---- coldplug: what udev would do at boot --------------------------------

# Load the native drivers of the devices present (twice: virtio_pci
# creates the virtio device that virtio_net serves).
coldplug() {
	for _ in 1 2; do
		# shellcheck disable=SC2046
		/sbin/modprobe -q -a $(find /sys/devices -name modalias -exec cat {} + 2>/dev/null | sort -u) 2>/dev/null
	done
	read -r uptime _ </proc/uptime
	echo "FIGURE boot: native drivers loaded at ${uptime} s (guest clock)"
	log "devices: $(for d in "$PCI"/*; do b=${d##*/}; printf '%s=%s[g%s] ' "$b" "$(drv "$b")" "$(group_of "$b" 2>/dev/null)"; done)"
}

# ---- an initramfs /init: its start and its end ----------------------------

# guest_init_start [KERNEL]: the initramfs's own /proc, /sys, /dev, /run
# and /tmp, only emergencies on the console (kernel messages must not split
# our lines), /etc/vv-vm.conf (the devices' addresses, the test variant's
# module and driver names), "VV-INIT start", the boot's FIGURE line, then
# the coldplug.
# shellcheck disable=SC2120 # KERNEL is optional
guest_init_start() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mount -t tmpfs tmpfs /run
	mount -t tmpfs tmpfs /tmp
	echo 1 >/proc/sys/kernel/printk
	# shellcheck source=/dev/null
	. /etc/vv-vm.conf
	read -r uptime _ </proc/uptime
	echo "VV-INIT start"
	echo "FIGURE boot: kernel ${1:+$1 }start to /init: ${uptime} s (guest clock)"
	coldplug
}

# guest_finish DMESG_LINES: the kernel's own complaints as KERNEL-WARNING
# lines (the host fails the run on one), the kernel log's last lines after
# a failed scenario, "VV-INIT done", power off.
guest_finish() {
	dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|refcount_t|general protection' | sed 's/^/KERNEL-WARNING /'
	if [ "$ANY_FAIL" = 1 ]; then
		dmesg | tail -n "$1" | sed 's/^/LOG dmesg: /'
	fi
	read -r uptime _ </proc/uptime
	echo "VV-INIT done at ${uptime} s (guest clock)"
	/bin/busybox poweroff -f
}

# ---- the scenarios both initramfs suites run ------------------------------
# Each runs its commands and checks; the caller begins (but for dry-run),
# may add its own checks, and ends with its own detail.

# The VFIO DRIVER column of `vfio-variant list` (in /tmp/list) for BDF.
list_pick() { awk -v b="$1" '$1 == b { print $4 }' /tmp/list; }
# list_is LABEL BDF MODULE: list gives BDF the VFIO driver MODULE.
list_is() {
	check "$1: $(list_pick "$2"), expected $3" is "$(list_pick "$2")" "$3"
}

# dry_run_detach MODULE "BDF..." "BDF...": scenario dry-run, part 1 (it
# begins it): detach --dry-run of every device prints its plan, the plans
# of the first list's devices load MODULE, and nothing changes (MODULE
# stays unloaded). dry_run_reattach, its part 2, runs on a detached device.
dry_run_detach() {
	begin dry-run
	snapshot >/tmp/before
	for bdf in $2 $3; do
		vv detach --dry-run "$bdf"
		check "detach --dry-run $bdf exits 0 (got $RC)" rc_is 0
		check "detach --dry-run $bdf prints no plan" out_has "drivers_probe"
		case " $2 " in
		*" $bdf "*) check "detach --dry-run $bdf does not plan loading $1" out_has "load module $1" ;;
		esac
	done
	snapshot >/tmp/after
	check "sysfs changed by detach --dry-run: $(diff /tmp/before /tmp/after | grep '^[-+][^-+]' | tr '\n' ' ')" \
		cmp -s /tmp/before /tmp/after
	check "detach --dry-run loaded $1" eval "! module_loaded $1"
	# (its wall time is that of its two parts, not of what runs between them)
	DRY_RUN_WHY=$WHY DRY_RUN_CS=$(($(cs) - T0))
}

# dry_run_reattach BDF [BDF...]: scenario dry-run, part 2: reattach
# --dry-run of BDF (detached) and detach --dry-run of the others plan and
# change nothing. The caller ends the scenario.
dry_run_reattach() {
	SCENARIO=dry-run
	WHY=$DRY_RUN_WHY
	T0=$(($(cs) - DRY_RUN_CS))
	log "== dry-run (part 2)"
	snapshot >/tmp/before
	vv reattach --dry-run "$1"
	check "reattach --dry-run exits 0 (got $RC)" rc_is 0
	check "reattach --dry-run prints no plan" out_has "drivers_probe"
	shift
	for bdf in "$@"; do
		vv detach --dry-run "$bdf"
		check "detach --dry-run $bdf exits 0 (got $RC)" rc_is 0
	done
	snapshot >/tmp/after
	check "sysfs changed by reattach --dry-run: $(diff /tmp/before /tmp/after | grep '^[-+][^-+]' | tr '\n' ' ')" \
		cmp -s /tmp/before /tmp/after
}

# detach_to BDF DRIVER: vfio-variant detach BDF (its time in US); it ends
# on DRIVER, named by the CLI and in driver_override, with vfio-dev/,
# /dev/vfio/GROUP, a record, and status says detached.
detach_to() {
	vv_timed detach "$1"
	check "detach exits 0 (got $RC)" rc_is 0
	check "driver is $(drv "$1"), expected $2" is "$(drv "$1")" "$2"
	check "the CLI does not say bound to $2" out_has "is bound to $2"
	check "driver_override is $(override "$1"), expected $2" is "$(override "$1")" "$2"
	check "no vfio-dev/ under the device" has_vfio_dev "$1"
	check "no /dev/vfio/$(group_of "$1")" dev_vfio_group "$1"
	check "no record $(record_of "$1")" has_record "$1"
	vv status "$1"
	check "status does not say detached" out_has "$1: detached"
}

# vfio_open BDF: what a VMM does with the detached device (vfio-open-check:
# container, group viable, type1 IOMMU, device fd); TYPE1 says who loaded
# vfio_iommu_type1, the backend a VMM needs besides the device's driver.
vfio_open() {
	# shellcheck disable=SC2034 # for the caller's detail
	if module_loaded vfio_iommu_type1; then
		TYPE1="loaded with vfio"
	else
		/sbin/modprobe vfio_iommu_type1
		TYPE1="loaded by the test"
	fi
	timeout -s KILL 60 vfio-open-check "$1" >/tmp/out 2>&1
	RC=$?
	sed 's/^/LOG   | /' /tmp/out
	check "vfio-open-check exits 0 (got $RC): $(grep FAILED /tmp/out)" rc_is 0
}

# reattach_to BDF NATIVE: vfio-variant reattach BDF (its time in US); it
# ends on NATIVE, override cleared, no vfio-dev/, no record, and status
# says not detached.
reattach_to() {
	vv_timed reattach "$1"
	check "reattach exits 0 (got $RC)" rc_is 0
	check "driver is $(drv "$1"), expected $2" is "$(drv "$1")" "$2"
	check "driver_override is $(override "$1"), expected (null)" is "$(override "$1")" "(null)"
	check "vfio-dev/ still there" eval "! has_vfio_dev $1"
	check "the record is still there" no_record "$1"
	vv status "$1"
	check "status does not say 'not detached'" out_has "not detached by vfio-variant"
}

# fallback_detach BDF: the test variant (VARIANT_MODULE, driver
# VARIANT_DRIVER) refuses BDF (its parameter refuse): detach ends on
# vfio-pci, the CLI and status say so.
fallback_detach() {
	if module_loaded "$VARIANT_MODULE"; then
		echo "$1" >"/sys/module/$VARIANT_MODULE/parameters/refuse"
	else
		/sbin/modprobe "$VARIANT_MODULE" "refuse=$1"
	fi
	log "refuse=$(cat "/sys/module/$VARIANT_MODULE/parameters/refuse")"
	vv detach "$1"
	check "detach exits 0 (got $RC)" rc_is 0
	check "driver is $(drv "$1"), expected vfio-pci" is "$(drv "$1")" vfio-pci
	check "no vfio-dev/" has_vfio_dev "$1"
	check "the CLI does not say it fell back" both_have "Falling back to the generic vfio-pci"
	check "the CLI does not name the refusing driver" both_have "$VARIANT_DRIVER refused"
	vv status "$1"
	check "status does not show the fallback" out_has "a fallback"
}

# fallback_reattach BDF NATIVE: the fallback undone: on NATIVE ("none":
# no driver, as the CLI says), override cleared, no record; the test
# variant refuses nothing any more.
fallback_reattach() {
	vv reattach "$1"
	check "reattach exits 0 (got $RC)" rc_is 0
	check "driver is $(drv "$1"), expected $2" is "$(drv "$1")" "$2"
	check "driver_override is $(override "$1"), expected (null)" is "$(override "$1")" "(null)"
	[ "$2" != none ] || check "the CLI does not say it has no driver as before" out_has "has no driver, as before"
	check "the record is still there" no_record "$1"
	echo >"/sys/module/$VARIANT_MODULE/parameters/refuse"
}

# recover_killed_detach BDF NATIVE: a detach killed (SIGKILL, vv-kill-after.so)
# right after the unbind's close, when the real kernel has unbound the
# device: driverless with its record, status says cut short (the step in
# CUT); recover rolls it back to NATIVE; a second recover has nothing to do.
recover_killed_detach() {
	LD_PRELOAD=/usr/lib/vv-kill-after.so VV_KILL_AFTER=/unbind "$VV" detach "$1" >/tmp/out 2>/tmp/err
	RC=$?
	log "\$ LD_PRELOAD=vv-kill-after.so VV_KILL_AFTER=/unbind vfio-variant detach $1 -> exit $RC"
	sed 's/^/LOG   | /' /tmp/out /tmp/err
	check "the detach was not killed (exit $RC, expected 137)" rc_is 137
	check "after the kill, $1 is on $(drv "$1"), expected no driver" is "$(drv "$1")" none
	check "no record after the kill" has_record "$1"
	vv status "$1"
	check "status does not say cut short" out_has "$1: detach cut short"
	# shellcheck disable=SC2034 # for the caller's detail
	CUT=$(sed -n "s/.*cut short after the step '\([a-z-]*\)'.*/\1/p" /tmp/out)
	vv recover "$1"
	check "recover exits 0 (got $RC)" rc_is 0
	check "recover does not say it rolled back" out_has "was rolled back"
	check "after recover, $1 is on $(drv "$1"), expected $2" is "$(drv "$1")" "$2"
	check "after recover, driver_override is $(override "$1")" is "$(override "$1")" "(null)"
	check "after recover, the record is still there" no_record "$1"
	vv recover "$1"
	check "a second recover does not say nothing to recover" out_has "nothing to recover"
}
