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
# shellcheck source=tests/vm/vv-guest-lib.sh
. /usr/bin/vv-guest-lib.sh
guest_init_start

# ---- list / explain -----------------------------------------------------

begin list
vv list
cp /tmp/out /tmp/list
check "list exits 0 (got $RC)" rc_is 0
list_is edu "$EDU" "$VARIANT_MODULE"
list_is e1000e "$E1000E" "$VARIANT_MODULE"
list_is e1000 "$E1000" vfio_pci
list_is virtio-net "$VIRTIO" vfio_pci
list_is pci-testdev "$TESTDEV" vfio_pci
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

dry_run_detach "$VARIANT_MODULE" "$E1000E $EDU" "$VIRTIO"

# ---- detach e1000e --------------------------------------------------------

begin detach-e1000e
detach_to "$E1000E" "$VARIANT_DRIVER"
FIRST_DETACH_US=$US
end "on $VARIANT_DRIVER (module $VARIANT_MODULE), /dev/vfio/$(group_of "$E1000E"), $(ls "$PCI/$E1000E/vfio-dev" | tr '\n' ' ')"

begin vfio-open-e1000e
vfio_open "$E1000E"
end "group viable, device fd obtained (vfio_iommu_type1 $TYPE1)"

# ---- dry run, part 2: reattach plans, changes nothing ------------------------

dry_run_reattach "$E1000E" "$E1000"
end "detach and reattach --dry-run: drivers, overrides, modules, /dev/vfio and records unchanged"

# ---- reattach e1000e ----------------------------------------------------------

begin reattach-e1000e
reattach_to "$E1000E" e1000e
FIRST_REATTACH_US=$US
end "back on e1000e, override cleared, record gone"

# ---- fallback: the variant refuses edu -------------------------------------------

begin fallback-detach
fallback_detach "$EDU"
end "$VARIANT_DRIVER refused, on vfio-pci, and the CLI says so"

begin fallback-reattach
fallback_reattach "$EDU" none
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
recover_killed_detach "$E1000E" e1000e
end "killed after the unbind (driverless, journal at '$CUT'); recover rolled it back to e1000e"

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

guest_finish 60
