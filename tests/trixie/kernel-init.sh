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
# shellcheck source=tests/vm/vv-guest-lib.sh
. /usr/bin/vv-guest-lib.sh
# Each scenario's wall time, from the guest's clock: a FIGURE line at its end.
SCENARIO_TIMES=1
guest_init_start "$(uname -r)"

UPSTREAM=virtio_vfio_pci # module and driver name alike (KBUILD_MODNAME)
MODDIR=/lib/modules/$(uname -r)

builtin_module() { grep -q "/$1.ko\$" "$MODDIR/modules.builtin"; }

# ---- list / explain on 6.12's depmod-built tree ---------------------------

begin list
check "running kernel $(uname -r), expected Debian 13's $KVER" is "$(uname -r)" "$KVER"
log "vfio_pci: aliases in $MODDIR/modules.alias: $(grep -c '^alias vfio_pci:' "$MODDIR/modules.alias")"
grep '^alias vfio_pci:' "$MODDIR/modules.alias" | sed 's/^/LOG   | /'
vv list
cp /tmp/out /tmp/list
check "list exits 0 (got $RC)" rc_is 0
list_is "virtio-net 1af4:1041" "$VIRTIO" "$UPSTREAM"
list_is e1000 "$E1000" vfio_pci
list_is pci-testdev "$TESTDEV" vfio_pci
list_is edu "$EDU" "$VARIANT_MODULE"
check "bridge: expected none: bridge" grep -q "^$BRIDGE .* none: bridge" /tmp/list
end "virtio-net 1af4:1041: $UPSTREAM; e1000, pci-testdev: vfio_pci; edu: $VARIANT_MODULE; bridge: none"

# The test variant's id table names e1000e (8086:10d3), so on this tree the
# table expects it, not vfio_pci, for e1000e; Debian's own modules alone
# would give vfio_pci (their only vfio_pci: alias is vfio_pci's).
begin list-e1000e-test-variant
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
end "e1000e 8086:10d3: $VARIANT_MODULE (driver $VARIANT_DRIVER) by its alias, vfio_pci second"

begin explain
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
end "virtio-net: $UPSTREAM by vfio_pci:v00001AF4d00001041sv*sd*bc*sc*i*; e1000: vfio_pci by vfio_pci:v*d*sv*sd*bc*sc*i*"

# ---- dry run, part 1: detach plans, changes nothing ------------------------

dry_run_detach "$UPSTREAM" "$VIRTIO" "$E1000E $E1000"

# ---- detach virtio-net onto upstream virtio_vfio_pci ------------------------

begin detach-virtio
check "virtio-net is on $(drv "$VIRTIO") before, expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
detach_to "$VIRTIO" "$UPSTREAM"
DETACH_US=$US
check "$UPSTREAM's module file is not virtio-vfio-pci.ko" eval "/sbin/modinfo -n $UPSTREAM | grep -q '/virtio-vfio-pci.ko\$'"
end "on $UPSTREAM (module file virtio-vfio-pci.ko), /dev/vfio/$(group_of "$VIRTIO"), $(ls "$PCI/$VIRTIO/vfio-dev" | tr '\n' ' ')"

begin vfio-open-virtio
vfio_open "$VIRTIO"
end "container, group viable, type1 IOMMU, device fd on $UPSTREAM (vfio_iommu_type1 $TYPE1)"

# ---- dry run, part 2: reattach plans, changes nothing ------------------------

dry_run_reattach "$VIRTIO"
end "detach --dry-run (virtio, e1000e, e1000) and reattach --dry-run (virtio): drivers, overrides, modules, /dev/vfio and records unchanged"

# ---- reattach to virtio-pci, built in on 6.12 -------------------------------------

begin reattach-virtio
check "virtio_pci is not built in on $(uname -r)" builtin_module virtio_pci
check "virtio_pci is in /proc/modules, expected built in" eval "! grep -q '^virtio_pci ' /proc/modules"
reattach_to "$VIRTIO" virtio-pci
REATTACH_US=$US
check "no virtio network interface under the device again" eval "ls -d $PCI/$VIRTIO/virtio*/net/* >/dev/null 2>&1"
end "back on virtio-pci (built in), override cleared, record gone, $(ls "$PCI/$VIRTIO"/virtio*/net 2>/dev/null | tr '\n' ' ')up again"

# ---- fallback: the test variant refuses e1000e --------------------------------------

begin fallback-detach
fallback_detach "$E1000E"
end "$VARIANT_DRIVER refused e1000e, on vfio-pci, and the CLI says so"

begin fallback-reattach
fallback_reattach "$E1000E" e1000e
end "e1000e back on e1000e, record gone"

# ---- a detach killed half way, then recover (built-in native driver) -------------------

begin recover-killed-detach
# SIGKILL right after the unbind's close: the kernel has unbound the device
# from the built-in virtio-pci, and the detach goes no further.
recover_killed_detach "$VIRTIO" virtio-pci
end "killed after the unbind (driverless, journal at '$CUT'); recover rolled it back to virtio-pci (built in)"

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
guest_finish 60
