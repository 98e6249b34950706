#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the trixie kernel VM (busybox sh): Debian 13's kernel 6.12 with
# upstream virtio_vfio_pci and the test variant, the CLI as a user runs it.
# Prints one line per scenario
#   RESULT <name>: OK <detail>   or   RESULT <name>: FAIL <why>
# FIGURE lines (each scenario's wall time), LOG lines, then powers off;
# tests/trixie/run-trixie-kernel.sh parses this.
#
# /etc/vv-vm.conf names the devices' addresses (tests/vm/vm-lib.sh), the
# test variant's module and driver names, and KVER, the kernel booted.

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
echo "FIGURE boot: kernel $(uname -r) start to /init: ${uptime} s (guest clock)"

# shellcheck source=tests/vm/vv-guest-lib.sh
. /usr/bin/vv-guest-lib.sh
coldplug

UPSTREAM=virtio_vfio_pci # module and driver name alike (KBUILD_MODNAME)
MODDIR=/lib/modules/$(uname -r)

# Each scenario's wall time, from the guest's clock (centiseconds).
cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}"; }
tbegin() { T0=$(cs); begin "$1"; }
tend() {
	end "$@"
	t=$(($(cs) - T0))
	echo "FIGURE scenario $SCENARIO: $((t / 100)).$(printf '%02d' $((t % 100))) s"
}

# The VFIO DRIVER column of list for BDF (first word).
list_pick() { awk -v b="$1" '$1 == b { print $4 }' /tmp/list; }
builtin_module() { grep -q "/$1.ko\$" "$MODDIR/modules.builtin"; }

# ---- list / explain on 6.12's depmod-built tree ---------------------------

tbegin list
check "running kernel $(uname -r), expected Debian 13's $KVER" is "$(uname -r)" "$KVER"
log "vfio_pci: aliases in $MODDIR/modules.alias: $(grep -c '^alias vfio_pci:' "$MODDIR/modules.alias")"
grep '^alias vfio_pci:' "$MODDIR/modules.alias" | sed 's/^/LOG   | /'
vv list
cp /tmp/out /tmp/list
check "list exits 0 (got $RC)" rc_is 0
check "virtio-net 1af4:1041: $(list_pick "$VIRTIO"), expected $UPSTREAM" is "$(list_pick "$VIRTIO")" "$UPSTREAM"
check "e1000: $(list_pick "$E1000"), expected vfio_pci" is "$(list_pick "$E1000")" vfio_pci
check "pci-testdev: $(list_pick "$TESTDEV"), expected vfio_pci" is "$(list_pick "$TESTDEV")" vfio_pci
check "edu: $(list_pick "$EDU"), expected $VARIANT_MODULE" is "$(list_pick "$EDU")" "$VARIANT_MODULE"
check "bridge: expected none: bridge" grep -q "^$BRIDGE .* none: bridge" /tmp/list
tend "virtio-net 1af4:1041: $UPSTREAM; e1000, pci-testdev: vfio_pci; edu: $VARIANT_MODULE; bridge: none"

# The test variant's id table names e1000e (8086:10d3), so on this tree the
# table expects it, not vfio_pci, for e1000e; Debian's own modules alone
# would give vfio_pci (their only vfio_pci: alias is vfio_pci's).
tbegin list-e1000e-test-variant
check "e1000e: $(list_pick "$E1000E"), expected $VARIANT_MODULE (its alias 8086:10d3)" \
	is "$(list_pick "$E1000E")" "$VARIANT_MODULE"
check "modules.alias lacks the test variant's e1000e line" \
	grep -q '^alias vfio_pci:v00008086d000010D3sv\*sd\*bc\*sc\*i\* vv_test_vfio_pci$' "$MODDIR/modules.alias"
vv explain "$E1000E"
check "explain e1000e exits 0 (got $RC)" rc_is 0
check "explain e1000e does not select $VARIANT_MODULE" out_has "^Result: $VARIANT_MODULE is selected"
check "explain e1000e does not name the test variant's alias line" \
	out_has "alias vfio_pci:v00008086d000010D3sv\*sd\*bc\*sc\*i\* (modules.alias)"
check "explain e1000e does not list vfio_pci second" out_has "^  2\. vfio_pci, driver "
tend "e1000e 8086:10d3: $VARIANT_MODULE (driver $VARIANT_DRIVER) by its alias, vfio_pci second"

tbegin explain
vv explain "$VIRTIO"
check "explain virtio exits 0 (got $RC)" rc_is 0
check "explain virtio does not select $UPSTREAM" out_has "^Result: $UPSTREAM is selected"
check "explain virtio does not name $UPSTREAM's alias line" \
	out_has "alias vfio_pci:v00001AF4d00001041sv\*sd\*bc\*sc\*i\* (modules.alias)"
check "explain virtio does not name vfio_pci's alias line" out_has "alias vfio_pci:v\*d\*sv\*sd\*bc\*sc\*i\* (modules.alias)"
check "explain virtio does not say libvirt >= 10 picks $UPSTREAM too" out_has "^libvirt >= 10 would pick: $UPSTREAM "
vv explain --xml "$VIRTIO"
check "explain --xml virtio does not select $UPSTREAM" out_has "<selected module=\"$UPSTREAM\""
vv explain "$E1000"
check "explain e1000 exits 0 (got $RC)" rc_is 0
check "explain e1000 does not select vfio_pci" out_has "^Result: vfio_pci is selected"
check "explain e1000 does not name vfio_pci's alias line" out_has "alias vfio_pci:v\*d\*sv\*sd\*bc\*sc\*i\* (modules.alias)"
vv explain --xml "$E1000"
check "explain --xml e1000 does not select vfio_pci" out_has '<selected module="vfio_pci"'
tend "virtio-net: $UPSTREAM by vfio_pci:v00001AF4d00001041sv*sd*bc*sc*i*; e1000: vfio_pci by vfio_pci:v*d*sv*sd*bc*sc*i*"

# ---- dry run, part 1: detach plans, changes nothing ------------------------

tbegin dry-run
snapshot >/tmp/before
for bdf in "$VIRTIO" "$E1000E" "$E1000"; do
	vv detach --dry-run "$bdf"
	check "detach --dry-run $bdf exits 0 (got $RC)" rc_is 0
	check "detach --dry-run $bdf prints no plan" out_has "drivers_probe"
done
vv detach --dry-run "$VIRTIO"
check "detach --dry-run virtio does not plan loading $UPSTREAM" out_has "load module $UPSTREAM"
snapshot >/tmp/after
check "sysfs changed by detach --dry-run: $(diff /tmp/before /tmp/after | grep '^[-+][^-+]' | tr '\n' ' ')" \
	cmp -s /tmp/before /tmp/after
check "detach --dry-run loaded $UPSTREAM" eval "! module_loaded $UPSTREAM"
# (its wall time is that of its two parts, not of what runs between them)
DRY_RUN_WHY=$WHY DRY_RUN_CS=$(($(cs) - T0))

# ---- detach virtio-net onto upstream virtio_vfio_pci ------------------------

tbegin detach-virtio
check "virtio-net is on $(drv "$VIRTIO") before, expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
vv_timed detach "$VIRTIO"
DETACH_US=$US
check "detach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$VIRTIO"), expected $UPSTREAM" is "$(drv "$VIRTIO")" "$UPSTREAM"
check "CLI does not say bound to $UPSTREAM" out_has "is bound to $UPSTREAM"
check "driver_override is $(override "$VIRTIO"), expected $UPSTREAM" is "$(override "$VIRTIO")" "$UPSTREAM"
check "$UPSTREAM's module file is not virtio-vfio-pci.ko" eval "/sbin/modinfo -n $UPSTREAM | grep -q '/virtio-vfio-pci.ko\$'"
check "no vfio-dev/ under the device" has_vfio_dev "$VIRTIO"
check "no /dev/vfio/$(group_of "$VIRTIO")" dev_vfio_group "$VIRTIO"
check "no record $(record_of "$VIRTIO")" has_record "$VIRTIO"
vv status "$VIRTIO"
check "status does not say detached" out_has "$VIRTIO: detached"
tend "on $UPSTREAM (module file virtio-vfio-pci.ko), /dev/vfio/$(group_of "$VIRTIO"), $(ls "$PCI/$VIRTIO/vfio-dev" | tr '\n' ' ')"

tbegin vfio-open-virtio
if module_loaded vfio_iommu_type1; then
	type1="loaded with vfio"
else
	/sbin/modprobe vfio_iommu_type1
	type1="loaded by the test"
fi
timeout -s KILL 60 vfio-open-check "$VIRTIO" >/tmp/out 2>&1
RC=$?
sed 's/^/LOG   | /' /tmp/out
check "vfio-open-check exits 0 (got $RC): $(grep FAILED /tmp/out)" rc_is 0
tend "container, group viable, type1 IOMMU, device fd on $UPSTREAM (vfio_iommu_type1 $type1)"

# ---- dry run, part 2: reattach plans, changes nothing ------------------------

SCENARIO=dry-run
WHY=$DRY_RUN_WHY
T0=$(($(cs) - DRY_RUN_CS))
log "== dry-run (part 2)"
snapshot >/tmp/before
vv reattach --dry-run "$VIRTIO"
check "reattach --dry-run exits 0 (got $RC)" rc_is 0
check "reattach --dry-run prints no plan" out_has "drivers_probe"
snapshot >/tmp/after
check "sysfs changed by reattach --dry-run: $(diff /tmp/before /tmp/after | grep '^[-+][^-+]' | tr '\n' ' ')" \
	cmp -s /tmp/before /tmp/after
tend "detach --dry-run (virtio, e1000e, e1000) and reattach --dry-run (virtio): drivers, overrides, modules, /dev/vfio and records unchanged"

# ---- reattach to virtio-pci, built in on 6.12 -------------------------------------

tbegin reattach-virtio
check "virtio_pci is not built in on $(uname -r)" builtin_module virtio_pci
check "virtio_pci is in /proc/modules, expected built in" eval "! grep -q '^virtio_pci ' /proc/modules"
vv_timed reattach "$VIRTIO"
REATTACH_US=$US
check "reattach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$VIRTIO"), expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
check "driver_override is $(override "$VIRTIO"), expected (null)" is "$(override "$VIRTIO")" "(null)"
check "vfio-dev/ still there" eval "! has_vfio_dev $VIRTIO"
check "the record is still there" no_record "$VIRTIO"
check "no virtio network interface under the device again" eval "ls -d $PCI/$VIRTIO/virtio*/net/* >/dev/null 2>&1"
vv status "$VIRTIO"
check "status does not say 'not detached'" out_has "not detached by vfio-variant"
tend "back on virtio-pci (built in), override cleared, record gone, $(ls "$PCI/$VIRTIO"/virtio*/net 2>/dev/null | tr '\n' ' ')up again"

# ---- fallback: the test variant refuses e1000e --------------------------------------

tbegin fallback-detach
if module_loaded "$VARIANT_MODULE"; then
	echo "$E1000E" >"/sys/module/$VARIANT_MODULE/parameters/refuse"
else
	/sbin/modprobe "$VARIANT_MODULE" "refuse=$E1000E"
fi
log "refuse=$(cat "/sys/module/$VARIANT_MODULE/parameters/refuse")"
vv detach "$E1000E"
check "detach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$E1000E"), expected vfio-pci" is "$(drv "$E1000E")" vfio-pci
check "no vfio-dev/" has_vfio_dev "$E1000E"
check "the CLI does not say it fell back" both_have "Falling back to the generic vfio-pci"
check "the CLI does not name the refusing driver" both_have "$VARIANT_DRIVER refused"
vv status "$E1000E"
check "status does not show the fallback" out_has "a fallback"
tend "$VARIANT_DRIVER refused e1000e, on vfio-pci, and the CLI says so"

tbegin fallback-reattach
vv reattach "$E1000E"
check "reattach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
check "driver_override is $(override "$E1000E"), expected (null)" is "$(override "$E1000E")" "(null)"
check "the record is still there" no_record "$E1000E"
echo >"/sys/module/$VARIANT_MODULE/parameters/refuse"
tend "e1000e back on e1000e, record gone"

# ---- a detach killed half way, then recover (built-in native driver) -------------------

tbegin recover-killed-detach
# SIGKILL right after the unbind's close: the kernel has unbound the device
# from the built-in virtio-pci, and the detach goes no further.
LD_PRELOAD=/usr/lib/vv-kill-after.so VV_KILL_AFTER=/unbind "$VV" detach "$VIRTIO" >/tmp/out 2>/tmp/err
RC=$?
log "\$ LD_PRELOAD=vv-kill-after.so VV_KILL_AFTER=/unbind vfio-variant detach $VIRTIO -> exit $RC"
sed 's/^/LOG   | /' /tmp/out /tmp/err
check "the detach was not killed (exit $RC, expected 137)" rc_is 137
check "after the kill, $VIRTIO is on $(drv "$VIRTIO"), expected no driver" is "$(drv "$VIRTIO")" none
check "no record after the kill" has_record "$VIRTIO"
vv status "$VIRTIO"
check "status does not say cut short" out_has "$VIRTIO: detach cut short"
cut=$(sed -n "s/.*cut short after the step '\([a-z-]*\)'.*/\1/p" /tmp/out)
vv recover "$VIRTIO"
check "recover exits 0 (got $RC)" rc_is 0
check "recover does not say it rolled back" out_has "was rolled back"
check "after recover, $VIRTIO is on $(drv "$VIRTIO"), expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
check "after recover, driver_override is $(override "$VIRTIO")" is "$(override "$VIRTIO")" "(null)"
check "after recover, the record is still there" no_record "$VIRTIO"
vv recover "$VIRTIO"
check "a second recover does not say nothing to recover" out_has "nothing to recover"
tend "killed after the unbind (driverless, journal at '$cut'); recover rolled it back to virtio-pci (built in)"

echo "FIGURE detach virtio-net -> $UPSTREAM, vfio-variant (loads it): $(ms "${DETACH_US:-0}") ms"
echo "FIGURE reattach virtio-net -> virtio-pci (built in), vfio-variant: $(ms "${REATTACH_US:-0}") ms"

# ---- the kernel's own complaints ------------------------------------------------------------

# A warning, an oops or a BUG fails the suite; loading our unsigned
# out-of-tree modules only taints the kernel with O (4096) and E (8192),
# and that line is logged, not counted. KMSG (VV_TRIXIE_KMSG on the host)
# is a line written to the kernel log first: the proof that this is not
# blind.
[ -z "${KMSG:-}" ] || echo "$KMSG" >/dev/kmsg
dmesg | grep -E 'taints kernel|tainting kernel' | sed 's/^/LOG taint (expected): /'
dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|refcount_t|general protection' | sed 's/^/KERNEL-WARNING /'
for m in /sys/module/*/taint; do
	t=$(cat "$m")
	[ -z "$t" ] || log "${m%/taint}: taint $t"
done
# (cat, not read: busybox's read takes one byte at a time, and the sysctl
# answers a read at a non-zero offset with EOF.)
tainted=$(cat /proc/sys/kernel/tainted)
other=$((tainted & ~(4096 | 8192)))
log "kernel taint $tainted (O and E expected: out-of-tree, unsigned)"
[ "$other" = 0 ] || echo "KERNEL-WARNING taint flags beyond O and E: $tainted (mask $other)"
if [ "$ANY_FAIL" = 1 ]; then
	dmesg | tail -n 60 | sed 's/^/LOG dmesg: /'
fi
read -r uptime _ </proc/uptime
echo "VV-INIT done at ${uptime} s (guest clock)"
poweroff -f
