#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the test VM (busybox sh). Runs every scenario against the real
# kernel with the CLI as a user would run it, prints one line per scenario
#   RESULT <name>: OK <detail>   or   RESULT <name>: FAIL <why>
# on the serial console, FIGURE lines with timings, LOG lines with what the
# commands printed, then powers off. run-vm.sh parses this.
#
# /etc/vv-vm.conf (written by run-vm.sh) names the devices' addresses and
# the test variant's module and driver names.

export PATH=/usr/bin:/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
# Only emergencies on the console: kernel messages must not split our lines.
echo 1 >/proc/sys/kernel/printk

# shellcheck source=/dev/null
. /etc/vv-vm.conf
read -r uptime _ </proc/uptime
echo "VV-INIT start"
echo "FIGURE boot: kernel start to /init: ${uptime} s (guest clock)"

# shellcheck source=tests/vm/vv-guest-lib.sh
. /usr/bin/vv-guest-lib.sh
coldplug

# ---- list / explain -----------------------------------------------------

# The VFIO DRIVER column of list for BDF (first word).
list_pick() { awk -v b="$1" '$1 == b { print $4 }' /tmp/list; }

begin list
vv list
cp /tmp/out /tmp/list
check "list exits 0 (got $RC)" rc_is 0
check "edu: $(list_pick "$EDU"), expected $VARIANT_MODULE" is "$(list_pick "$EDU")" "$VARIANT_MODULE"
check "e1000e: $(list_pick "$E1000E"), expected $VARIANT_MODULE" is "$(list_pick "$E1000E")" "$VARIANT_MODULE"
check "e1000: $(list_pick "$E1000"), expected vfio_pci" is "$(list_pick "$E1000")" vfio_pci
check "virtio-net: $(list_pick "$VIRTIO"), expected vfio_pci" is "$(list_pick "$VIRTIO")" vfio_pci
check "pci-testdev: $(list_pick "$TESTDEV"), expected vfio_pci" is "$(list_pick "$TESTDEV")" vfio_pci
check "bridge: $(list_pick "$BRIDGE"), expected none: bridge" grep -q "^$BRIDGE .* none: bridge" /tmp/list
end "edu, e1000e: $VARIANT_MODULE; e1000, virtio-net, pci-testdev: vfio_pci; bridge: none"

begin explain
for pair in "$EDU:$VARIANT_MODULE" "$E1000E:$VARIANT_MODULE" "$E1000:vfio_pci" "$VIRTIO:vfio_pci"; do
	bdf=${pair%:*}
	want=${pair##*:}
	vv explain "$bdf"
	check "explain $bdf exits 0 (got $RC)" rc_is 0
	check "explain $bdf selects $want" out_has "^Result: $want is selected"
	vv explain --xml "$bdf"
	check "explain --xml $bdf selects $want" out_has "<selected module=\"$want\""
done
vv explain "$BRIDGE"
check "explain bridge exits 1 (got $RC)" rc_is 1
check "explain bridge says not assignable" out_has "Assignable: *no, it is a PCI bridge"
vv explain --xml "$BRIDGE"
check "explain --xml bridge says not assignable" out_has '<assignable value="no" reason="bridge"/>'
end "variant for edu and e1000e, vfio_pci for e1000 and virtio-net, bridge not assignable"

# ---- dry run, part 1: detach plans, changes nothing ------------------------

begin dry-run
snapshot >/tmp/before
for bdf in "$E1000E" "$EDU" "$VIRTIO"; do
	vv detach --dry-run "$bdf"
	check "detach --dry-run $bdf exits 0 (got $RC)" rc_is 0
	check "detach --dry-run $bdf prints no plan" out_has "drivers_probe"
	[ "$bdf" = "$VIRTIO" ] || check "detach --dry-run $bdf does not plan loading $VARIANT_MODULE" \
		out_has "load module $VARIANT_MODULE"
done
snapshot >/tmp/after
check "sysfs changed by detach --dry-run: $(diff /tmp/before /tmp/after | grep '^[-+][^-+]' | tr '\n' ' ')" \
	cmp -s /tmp/before /tmp/after
check "detach --dry-run loaded $VARIANT_MODULE" eval "! module_loaded $VARIANT_MODULE"
DRY_RUN_WHY=$WHY # the result line comes after part 2, on a detached device

# ---- detach e1000e --------------------------------------------------------

begin detach-e1000e
vv_timed detach "$E1000E"
FIRST_DETACH_US=$US
check "detach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$E1000E"), expected $VARIANT_DRIVER" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
check "CLI says bound to $VARIANT_DRIVER" out_has "is bound to $VARIANT_DRIVER"
check "driver_override is $(override "$E1000E"), expected $VARIANT_DRIVER" is "$(override "$E1000E")" "$VARIANT_DRIVER"
check "no vfio-dev/ under the device" has_vfio_dev "$E1000E"
check "no /dev/vfio/$(group_of "$E1000E")" dev_vfio_group "$E1000E"
check "no record $(record_of "$E1000E")" has_record "$E1000E"
vv status "$E1000E"
check "status does not say detached" out_has "$E1000E: detached"
end "on $VARIANT_DRIVER (module $VARIANT_MODULE), /dev/vfio/$(group_of "$E1000E"), $(ls "$PCI/$E1000E/vfio-dev" | tr '\n' ' ')"

begin vfio-open-e1000e
# What a VMM needs besides the device's driver: the type1 IOMMU backend.
if module_loaded vfio_iommu_type1; then
	type1="loaded with vfio"
else
	/sbin/modprobe vfio_iommu_type1
	type1="loaded by the test"
fi
timeout -s KILL 60 vfio-open-check "$E1000E" >/tmp/out 2>&1
RC=$?
sed 's/^/LOG   | /' /tmp/out
check "vfio-open-check exits 0 (got $RC): $(grep FAILED /tmp/out)" rc_is 0
end "group viable, device fd obtained (vfio_iommu_type1 $type1)"

# ---- dry run, part 2: reattach plans, changes nothing ------------------------

SCENARIO=dry-run
WHY=$DRY_RUN_WHY
log "== dry-run (part 2)"
snapshot >/tmp/before
vv reattach --dry-run "$E1000E"
check "reattach --dry-run exits 0 (got $RC)" rc_is 0
check "reattach --dry-run prints its plan" out_has "drivers_probe"
vv detach --dry-run "$E1000"
check "detach --dry-run $E1000 exits 0 (got $RC)" rc_is 0
snapshot >/tmp/after
check "sysfs changed by reattach --dry-run: $(diff /tmp/before /tmp/after | grep '^[-+][^-+]' | tr '\n' ' ')" \
	cmp -s /tmp/before /tmp/after
end "detach and reattach --dry-run: drivers, overrides, modules, /dev/vfio and records unchanged"

# ---- reattach e1000e ----------------------------------------------------------

begin reattach-e1000e
vv_timed reattach "$E1000E"
FIRST_REATTACH_US=$US
check "reattach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
check "driver_override is $(override "$E1000E"), expected (null)" is "$(override "$E1000E")" "(null)"
check "vfio-dev/ still there" eval "! has_vfio_dev $E1000E"
check "the record is still there" no_record "$E1000E"
vv status "$E1000E"
check "status does not say 'not detached'" out_has "not detached by vfio-variant"
end "back on e1000e, override cleared, record gone"

# ---- fallback: the variant refuses edu -------------------------------------------

begin fallback-detach
if module_loaded "$VARIANT_MODULE"; then
	echo "$EDU" >"/sys/module/$VARIANT_MODULE/parameters/refuse"
else
	/sbin/modprobe "$VARIANT_MODULE" "refuse=$EDU"
fi
log "refuse=$(cat "/sys/module/$VARIANT_MODULE/parameters/refuse")"
vv detach "$EDU"
check "detach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$EDU"), expected vfio-pci" is "$(drv "$EDU")" vfio-pci
check "no vfio-dev/" has_vfio_dev "$EDU"
check "the CLI does not say it fell back" both_have "Falling back to the generic vfio-pci"
check "the CLI does not name the refusing driver" both_have "$VARIANT_DRIVER refused"
vv status "$EDU"
check "status does not show the fallback" out_has "a fallback"
end "$VARIANT_DRIVER refused, on vfio-pci, and the CLI says so"

begin fallback-reattach
vv reattach "$EDU"
check "reattach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$EDU"), expected none" is "$(drv "$EDU")" none
check "driver_override is $(override "$EDU"), expected (null)" is "$(override "$EDU")" "(null)"
check "the CLI does not say it has no driver as before" out_has "has no driver, as before"
check "the record is still there" no_record "$EDU"
echo >"/sys/module/$VARIANT_MODULE/parameters/refuse"
end "edu unbound as it was, record gone"

# ---- group: two devices behind one conventional PCI bridge ------------------------

begin group-refused
g=$(group_of "$BR_EDU")
members=$(ls "/sys/kernel/iommu_groups/$g/devices" | tr '\n' ' ')
log "group $g: $members"
check "$BR_E1000 ($(group_of "$BR_E1000")) and $BR_EDU ($g) are not in one group" is "$(group_of "$BR_E1000")" "$g"
check "$BR_E1000 is on $(drv "$BR_E1000"), expected e1000" is "$(drv "$BR_E1000")" e1000
vv detach "$BR_EDU"
check "detach exits 1 (got $RC)" rc_is 1
check "the error does not name the blocker $BR_E1000" err_has "$BR_E1000 (bound to e1000)"
check "$BR_EDU is on $(drv "$BR_EDU"), expected none" is "$(drv "$BR_EDU")" none
check "$BR_EDU has an override $(override "$BR_EDU")" is "$(override "$BR_EDU")" "(null)"
check "a record was left" no_record "$BR_EDU"
end "group $g ($members): refused, naming $BR_E1000 (e1000)"

begin group-both
vv detach "$BR_E1000"
check "detach $BR_E1000 exits 0 (got $RC)" rc_is 0
vv detach "$BR_EDU"
check "detach $BR_EDU exits 0 (got $RC)" rc_is 0
check "$BR_E1000 is on $(drv "$BR_E1000"), expected vfio-pci" is "$(drv "$BR_E1000")" vfio-pci
check "$BR_EDU is on $(drv "$BR_EDU"), expected $VARIANT_DRIVER" is "$(drv "$BR_EDU")" "$VARIANT_DRIVER"
check "$BR_E1000 has no vfio-dev/" has_vfio_dev "$BR_E1000"
check "$BR_EDU has no vfio-dev/" has_vfio_dev "$BR_EDU"
check "no /dev/vfio/$g" dev_vfio_group "$BR_EDU"
timeout -s KILL 60 vfio-open-check "$BR_EDU" >/tmp/out 2>&1
RC=$?
sed 's/^/LOG   | /' /tmp/out
check "vfio-open-check $BR_EDU exits 0 (got $RC)" rc_is 0
both="$BR_E1000=$(drv "$BR_E1000") $BR_EDU=$(drv "$BR_EDU")"
vv reattach "$BR_EDU"
check "reattach $BR_EDU exits 0 (got $RC)" rc_is 0
vv reattach "$BR_E1000"
check "reattach $BR_E1000 exits 0 (got $RC)" rc_is 0
check "$BR_E1000 is back on $(drv "$BR_E1000"), expected e1000" is "$(drv "$BR_E1000")" e1000
check "$BR_EDU is on $(drv "$BR_EDU") after reattach, expected none" is "$(drv "$BR_EDU")" none
end "$both, group $g viable; both reattached"

# ---- a detach killed half way, then recover ------------------------------------------

begin recover-killed-detach
# SIGKILL right after the unbind's close: the real kernel has unbound the
# device, and the detach goes no further (vv-kill-after.so).
LD_PRELOAD=/usr/lib/vv-kill-after.so VV_KILL_AFTER=/unbind "$VV" detach "$E1000E" >/tmp/out 2>/tmp/err
RC=$?
log "\$ LD_PRELOAD=vv-kill-after.so VV_KILL_AFTER=/unbind vfio-variant detach $E1000E -> exit $RC"
sed 's/^/LOG   | /' /tmp/out /tmp/err
check "the detach was not killed (exit $RC, expected 137)" rc_is 137
check "after the kill, $E1000E is on $(drv "$E1000E"), expected no driver" is "$(drv "$E1000E")" none
check "no record after the kill" has_record "$E1000E"
vv status "$E1000E"
check "status does not say cut short" out_has "$E1000E: detach cut short"
cut=$(sed -n "s/.*cut short after the step '\([a-z-]*\)'.*/\1/p" /tmp/out)
vv recover "$E1000E"
check "recover exits 0 (got $RC)" rc_is 0
check "recover does not say it rolled back" out_has "was rolled back"
check "after recover, $E1000E is on $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
check "after recover, driver_override is $(override "$E1000E")" is "$(override "$E1000E")" "(null)"
check "after recover, the record is still there" no_record "$E1000E"
vv recover "$E1000E"
check "a second recover does not say nothing to recover" out_has "nothing to recover"
end "killed after the unbind (driverless, journal at '$cut'); recover rolled it back to e1000e"

# ---- native module unloaded while detached ---------------------------------------------

begin native-module-unloaded
vv detach "$E1000E"
check "detach exits 0 (got $RC)" rc_is 0
/sbin/modprobe -r e1000e
log "modprobe -r e1000e -> exit $?"
check "e1000e still loaded after modprobe -r" eval "! module_loaded e1000e"
vv reattach "$E1000E"
check "reattach exits 0 (got $RC)" rc_is 0
check "reattach does not say it loads e1000e" out_has "load module e1000e"
check "e1000e is not loaded" module_loaded e1000e
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
check "the record is still there" no_record "$E1000E"
end "e1000e unloaded while detached; reattach loaded it and bound it"

# ---- figures: our cost over the kernel's own ---------------------------------------------

# The same operations by the three plain writes, as a person would type them.
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

RUNS=3
vv_d='' vv_r='' pl_d='' pl_r='' exec_us='' figure_ok=1
for _ in $(seq $RUNS); do
	vv_timed detach "$E1000E"
	[ "$RC" = 0 ] && [ "$(drv "$E1000E")" = "$VARIANT_DRIVER" ] || figure_ok=0
	vv_d="$vv_d $US"
	vv_timed reattach "$E1000E"
	[ "$RC" = 0 ] && [ "$(drv "$E1000E")" = e1000e ] || figure_ok=0
	vv_r="$vv_r $US"
	vv-timeit /tmp/us sh -c "echo $VARIANT_DRIVER >$PCI/$E1000E/driver_override && echo $E1000E >/sys/bus/pci/drivers/e1000e/unbind && echo $E1000E >/sys/bus/pci/drivers_probe"
	[ "$(drv "$E1000E")" = "$VARIANT_DRIVER" ] || figure_ok=0
	pl_d="$pl_d $(cat /tmp/us)"
	vv-timeit /tmp/us sh -c "echo >$PCI/$E1000E/driver_override && echo $E1000E >/sys/bus/pci/drivers/$VARIANT_DRIVER/unbind && echo $E1000E >/sys/bus/pci/drivers_probe"
	[ "$(drv "$E1000E")" = e1000e ] || figure_ok=0
	pl_r="$pl_r $(cat /tmp/us)"
	vv-timeit /tmp/us "$VV" --version >/dev/null
	exec_us="$exec_us $(cat /tmp/us)"
done
vd=$(echo "$vv_d" | median)
vr=$(echo "$vv_r" | median)
pd=$(echo "$pl_d" | median)
pr=$(echo "$pl_r" | median)
ex=$(echo "$exec_us" | median)
echo "FIGURE detach e1000e -> $VARIANT_DRIVER, vfio-variant, first (loads $VARIANT_MODULE): $(ms "${FIRST_DETACH_US:-0}") ms"
echo "FIGURE reattach e1000e, vfio-variant, first: $(ms "${FIRST_REATTACH_US:-0}") ms"
echo "FIGURE detach e1000e -> $VARIANT_DRIVER, vfio-variant: $(ms "$vd") ms (median of $RUNS:$vv_d us)"
echo "FIGURE detach e1000e -> $VARIANT_DRIVER, three sysfs writes: $(ms "$pd") ms (median of $RUNS:$pl_d us)"
echo "FIGURE reattach e1000e, vfio-variant: $(ms "$vr") ms (median of $RUNS:$vv_r us)"
echo "FIGURE reattach e1000e, three sysfs writes: $(ms "$pr") ms (median of $RUNS:$pl_r us)"
echo "FIGURE vfio-variant --version (process start alone): $(ms "$ex") ms (median of $RUNS:$exec_us us)"
echo "FIGURE overhead of vfio-variant over the plain writes: detach +$(ms $((vd - pd))) ms, reattach +$(ms $((vr - pr))) ms (TCG guest, not asserted)"
[ "$figure_ok" = 1 ] || log "figures: a timed run did not end on the expected driver"

# ---- the kernel's own complaints ------------------------------------------------------------

dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|refcount_t|general protection' | sed 's/^/KERNEL-WARNING /'
if [ "$ANY_FAIL" = 1 ]; then
	dmesg | tail -n 60 | sed 's/^/LOG dmesg: /'
fi
read -r uptime _ </proc/uptime
echo "VV-INIT done at ${uptime} s (guest clock)"
poweroff -f
