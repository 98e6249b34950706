#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The qemu hook with a real libvirtd (Debian's 9.0) and nested QEMU guests,
# run in the VM on the host's root (read-only under a tmpfs overlay, see
# tests/libvirt/vm-init.sh). The hook is installed as libvirt expects it,
# /etc/libvirt/hooks/qemu.d/vfio-variant -> the build's vfio-variant-hook,
# before libvirtd starts (it looks for hooks at start). One RESULT line per
# scenario, FIGURE and LOG lines, then the VM powers off.
#
# libvirt keeps a successful hook's output only in its debug log: the
# private libvirtd logs util.command at debug level to $LV/command.log,
# where each hook run shows as "stderr: 'vfio-variant hook: ...'"; the
# hook's own times per stage and hostdev are read from there.

# shellcheck source=/dev/null
. /etc/vv-vm.conf
# shellcheck source=tests/libvirt/vm-libvirt-lib.sh
. "$LIBVIRT_LIB"
libvirt_guest_start

E1000E_NODEDEV=pci_0000_00_06_0
POLICY=$VV_SYSCONFDIR/vfio-variant/vfio-variant.conf
HOOKS=/etc/libvirt/hooks/qemu.d

# ---- the hook's own times --------------------------------------------------

# Its own time per stage, for FIGURE lines.
hook_stage_ms() { # STAGE
	hook_since | grep -F ": $1: " | grep -o '[0-9.]* ms in the hook' | tail -n 1 | cut -d' ' -f1
}
hook_device_ms() { # STAGE
	hook_since | grep -F ": $1: $E1000E: on " | grep -o '([0-9.]* ms)' | tail -n 1 | tr -d '()' | cut -d' ' -f1
}

# ---- libvirtd 9.0 with the hook -----------------------------------------------

begin libvirtd-hook
mkdir -p "$LV" "$HOOKS"
ln -sf "$VV_HOOK" "$HOOKS/vfio-variant"
libvirtd_configure "$LIBVIRTD_HOOK_LOG"
libvirtd_start_checked 9.0.0
check "the hook is not executable through $HOOKS/vfio-variant" test -x "$HOOKS/vfio-variant"
check "no virt-xml" command -v virt-xml
log "hook: $(ls -l "$HOOKS")"
end "libvirt $LIBVIRT_VERSION up in $(ms "$LIBVIRTD_US") ms with $HOOKS/vfio-variant -> $VV_HOOK"

# ---- a managed hostdev, added by virt-manager's own tool ------------------------------

begin managed-virt-xml
define vm1 ""
t0=$(now_us)
timeout -s KILL 300 virt-xml -c "$URI" vm1 --add-device --hostdev "$E1000E_NODEDEV" >/tmp/out 2>/tmp/err
RC=$?
VIRTXML_US=$(($(now_us) - t0))
log "\$ virt-xml vm1 --add-device --hostdev $E1000E_NODEDEV -> exit $RC"
sed 's/^/LOG   | /' /tmp/out /tmp/err
check "virt-xml exits $RC" rc_is 0
vsh dumpxml vm1
check "virt-xml did not add a managed hostdev of e1000e" grep -q "<hostdev mode='subsystem' type='pci' managed='yes'>" /tmp/out
check "the hostdev is not e1000e's" grep -q "<address domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>" /tmp/out
hook_mark
start_guest vm1
WITH_HOOK_US=$START_US
check "virsh start exits $RC: $(cat /tmp/err)" rc_is 0
check "the guest is not running" running vm1
check "driver is $(drv "$E1000E") while the guest runs, expected $VARIANT_DRIVER" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
check "QEMU does not hold /dev/vfio/$(group_of "$E1000E")" qemu_holds_group vm1 "$E1000E"
check "the record does not say requester=hook" record_has "$E1000E" requester=hook
check "the record does not name the domain" record_has "$E1000E" domain=vm1
check "the record does not name e1000e as native" record_has "$E1000E" original-driver=e1000e
check "the hook did not plan the variant at prepare" hook_said "prepare begin: $E1000E (managed): plan $VARIANT_DRIVER (from selection"
PREPARE_MS=$(hook_stage_ms "prepare begin")
START_MS=$(hook_stage_ms "start begin")
START_DEV_MS=$(hook_device_ms "start begin")
vsh destroy vm1
check "virsh destroy exits $RC" rc_is 0
check "driver is $(drv "$E1000E") after destroy, expected e1000e" is "$(drv "$E1000E")" e1000e
check "driver_override is $(override "$E1000E") after destroy" is "$(override "$E1000E")" "(null)"
check "a record is left" no_record "$E1000E"
check "a plan is left" eval "! plans_left"
check "the hook did not move it to vfio-pci at stopped end" hook_said "stopped end: $E1000E: on vfio-pci"
check "the hook did not verify e1000e at release end" hook_said "release end: $E1000E is back on its driver e1000e"
STOPPED_MS=$(hook_stage_ms "stopped end")
STOPPED_DEV_MS=$(hook_device_ms "stopped end")
RELEASE_MS=$(hook_stage_ms "release end")
hook_log
end "virt-xml --add-device --hostdev ($(ms "$VIRTXML_US") ms); running on $VARIANT_DRIVER, QEMU holds /dev/vfio/$(group_of "$E1000E"); destroy: e1000e, override cleared, no record"

# ---- <driver model='vfio-pci'/>: libvirt 9.0 drops it; our metadata names it ---------------

begin model-vfio-pci
no_guest_left
define vm2 "$(hostdev_xml "$E1000E" yes "<driver name='vfio' model='vfio-pci'/>")"
vsh dumpxml vm2
if grep -q "model='vfio-pci'" /tmp/out; then MODEL_KEPT=yes; else MODEL_KEPT=no; fi
vsh metadata vm2 --uri urn:x-vfio-variant:domain:1 --key vfio-variant --config \
	--set "<hostdevs><hostdev address='$E1000E' driver='vfio-pci'/></hostdevs>"
check "virsh metadata exits $RC" rc_is 0
hook_mark
start_guest vm2
check "virsh start exits $RC: $(cat /tmp/err)" rc_is 0
check "the guest is not running" running vm2
check "driver is $(drv "$E1000E"), expected vfio-pci" is "$(drv "$E1000E")" vfio-pci
check "QEMU does not hold /dev/vfio/$(group_of "$E1000E")" qemu_holds_group vm2 "$E1000E"
if [ "$MODEL_KEPT" = yes ]; then
	check "the hook did not plan vfio-pci from <driver model>" hook_said "plan vfio-pci (from <driver model>"
else
	check "the hook did not plan vfio-pci from <metadata>" hook_said "plan vfio-pci (from <metadata>"
fi
vsh destroy vm2
check "driver is $(drv "$E1000E") after destroy, expected e1000e" is "$(drv "$E1000E")" e1000e
check "a record is left" no_record "$E1000E"
hook_log
vsh undefine vm2
end "libvirt $LIBVIRT_VERSION kept <driver model>: $MODEL_KEPT; with our <metadata> the guest ran on vfio-pci; destroy: e1000e"

# ---- a generic policy ------------------------------------------------------------------

begin policy-generic
no_guest_left
mkdir -p "$(dirname "$POLICY")"
printf '[id 8086:10d3]\ndriver=generic\n' >"$POLICY"
hook_mark
start_guest vm1
check "virsh start exits $RC: $(cat /tmp/err)" rc_is 0
check "driver is $(drv "$E1000E"), expected vfio-pci" is "$(drv "$E1000E")" vfio-pci
check "the hook did not plan vfio-pci from the policy" hook_said "plan vfio-pci (from policy"
vsh destroy vm1
check "driver is $(drv "$E1000E") after destroy, expected e1000e" is "$(drv "$E1000E")" e1000e
rm -f "$POLICY"
hook_log
end "[id 8086:10d3] driver=generic: the guest ran on vfio-pci"

# ---- a variant that refuses: fallback, then strict -----------------------------------------

begin refused-fallback
no_guest_left
/sbin/modprobe "$VARIANT_MODULE"
echo "$E1000E" >"/sys/module/$VARIANT_MODULE/parameters/refuse"
hook_mark
start_guest vm1
check "virsh start exits $RC: $(cat /tmp/err)" rc_is 0
check "the guest is not running" running vm1
check "driver is $(drv "$E1000E"), expected vfio-pci" is "$(drv "$E1000E")" vfio-pci
check "QEMU does not hold /dev/vfio/$(group_of "$E1000E")" qemu_holds_group vm1 "$E1000E"
check "the hook did not say it fell back" hook_said "Falling back to the generic vfio-pci"
vsh destroy vm1
check "driver is $(drv "$E1000E") after destroy, expected e1000e" is "$(drv "$E1000E")" e1000e
check "a record is left" no_record "$E1000E"
hook_log
end "$VARIANT_DRIVER refused e1000e: the guest ran on vfio-pci (fallback mode), said; destroy: e1000e"

begin refused-strict
no_guest_left
mkdir -p "$(dirname "$POLICY")"
printf '[global]\nhook-mode=strict\n' >"$POLICY"
hook_mark
start_guest vm1
STRICT_ERR=$(tr '\n' ' ' </tmp/err)
check "virsh start exits $RC, expected 1" rc_is 1
check "libvirt's error does not carry our message: $STRICT_ERR" err_has "the guest does not start (strict mode)"
check "libvirt's error does not name the refusal" err_has "refused $E1000E"
check "the guest is running" eval "! running vm1"
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
check "driver_override is $(override "$E1000E")" is "$(override "$E1000E")" "(null)"
check "a record is left" no_record "$E1000E"
check "a plan is left" eval "! plans_left"
rm -f "$POLICY"
echo >"/sys/module/$VARIANT_MODULE/parameters/refuse"
hook_log
end "strict mode: virsh start failed with the hook's message, e1000e back on e1000e, nothing left"

# ---- managed='no' after vfio-variant nodedev-detach, across a libvirtd restart ----------------

begin unmanaged-nodedev-detach-restart
no_guest_left
vv nodedev-detach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-detach exits $RC" rc_is 0
check "driver is $(drv "$E1000E"), expected $VARIANT_DRIVER" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
stop_libvirtd
start_libvirtd
check "libvirtd did not come back" is "$up" yes
define vm3 "$(hostdev_xml "$E1000E" no)"
hook_mark
start_guest vm3
check "virsh start exits $RC: $(cat /tmp/err)" rc_is 0
check "the guest is not running" running vm3
check "driver is $(drv "$E1000E"), expected $VARIANT_DRIVER" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
check "QEMU does not hold /dev/vfio/$(group_of "$E1000E")" qemu_holds_group vm3 "$E1000E"
check "the hook did not move it to vfio-pci for libvirt at prepare" hook_said "prepare begin: $E1000E: on vfio-pci"
vsh destroy vm3
check "driver is $(drv "$E1000E") after destroy, expected $VARIANT_DRIVER (as the admin left it)" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
check "the record is not the admin's again" record_has "$E1000E" requester=libvirt
vv nodedev-reattach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-reattach exits $RC" rc_is 0
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
hook_log
vsh undefine vm3
end "after a libvirtd restart, libvirt 9.0 took it on vfio-pci and the guest ran on $VARIANT_DRIVER; destroy: back on $VARIANT_DRIVER, the admin's record"

# ---- managed='no' after plain virsh nodedev-detach ---------------------------------------

begin unmanaged-virsh-detach
no_guest_left
vsh nodedev-detach "$E1000E_NODEDEV"
check "virsh nodedev-detach exits $RC" rc_is 0
check "driver is $(drv "$E1000E"), expected vfio-pci" is "$(drv "$E1000E")" vfio-pci
define vm4 "$(hostdev_xml "$E1000E" no)"
hook_mark
start_guest vm4
check "virsh start exits $RC: $(cat /tmp/err)" rc_is 0
check "driver is $(drv "$E1000E"), expected $VARIANT_DRIVER" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
check "QEMU does not hold /dev/vfio/$(group_of "$E1000E")" qemu_holds_group vm4 "$E1000E"
vsh destroy vm4
check "driver is $(drv "$E1000E") after destroy, expected vfio-pci (as virsh left it)" is "$(drv "$E1000E")" vfio-pci
check "a record is left" no_record "$E1000E"
vsh nodedev-reattach "$E1000E_NODEDEV"
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
hook_log
vsh undefine vm4
end "virsh nodedev-detach, then a managed='no' guest: it ran on $VARIANT_DRIVER; destroy: vfio-pci as virsh left it"

# ---- no hostdev; virsh start with and without the hook --------------------------------------

begin no-hostdev
no_guest_left
define vm5 ""
snapshot | grep -v '^modules:' >/tmp/before
hook_mark
start_guest vm5
NOHOSTDEV_US=$START_US
check "virsh start exits $RC" rc_is 0
vsh destroy vm5
snapshot | grep -v '^modules:' >/tmp/after
check "something changed: $(diff /tmp/before /tmp/after | tr '\n' ' ')" cmp -s /tmp/before /tmp/after
check "the hook said something for a guest without hostdevs" eval "! hook_since | grep -q ."
# The managed guest again, its module loaded: with the hook, then without
# (libvirt 9.0 then leaves it on vfio-pci).
hook_mark
start_guest vm1
WARM_WITH_US=$START_US
check "virsh start exits $RC" rc_is 0
check "driver is $(drv "$E1000E"), expected $VARIANT_DRIVER" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
WARM_PREPARE_MS=$(hook_stage_ms "prepare begin")
WARM_START_MS=$(hook_stage_ms "start begin")
WARM_START_DEV_MS=$(hook_device_ms "start begin")
vsh destroy vm1
rm "$HOOKS/vfio-variant"
start_guest vm1
WITHOUT_HOOK_US=$START_US
check "virsh start without the hook exits $RC" rc_is 0
check "without the hook, driver is $(drv "$E1000E"), expected vfio-pci" is "$(drv "$E1000E")" vfio-pci
vsh destroy vm1
ln -sf "$VV_HOOK" "$HOOKS/vfio-variant"
end "a guest without hostdevs: nothing changed, the hook silent"

# ---- figures -------------------------------------------------------------------------------

# The kernel's part: the same move by three plain writes (dash's builtin
# echo, no process), e1000e taken to vfio-pci first as libvirt does.
dev=$PCI/$E1000E
echo vfio-pci >"$dev/driver_override"; echo "$E1000E" >"$dev/driver/unbind"; echo "$E1000E" >/sys/bus/pci/drivers_probe
t0=$(now_us)
echo "$VARIANT_DRIVER" >"$dev/driver_override"; echo "$E1000E" >"$dev/driver/unbind"; echo "$E1000E" >/sys/bus/pci/drivers_probe
PLAIN_TO_VARIANT_US=$(($(now_us) - t0))
log "plain writes: $E1000E on $(drv "$E1000E")"
t0=$(now_us)
echo vfio-pci >"$dev/driver_override"; echo "$E1000E" >"$dev/driver/unbind"; echo "$E1000E" >/sys/bus/pci/drivers_probe
PLAIN_TO_VFIO_US=$(($(now_us) - t0))
echo >"$dev/driver_override"; echo "$E1000E" >"$dev/driver/unbind"; echo "$E1000E" >/sys/bus/pci/drivers_probe
log "plain writes: $E1000E back on $(drv "$E1000E")"
# The hook's process: an operation it ignores, and a domain without hostdevs.
vv-timeit /tmp/us "$HOOKS/vfio-variant" vm5 started begin - </dev/null
HOOK_IGNORED_US=$(cat /tmp/us)
vv-timeit /tmp/us "$HOOKS/vfio-variant" vm5 prepare begin - </tmp/vm5.xml
HOOK_NOHOSTDEV_US=$(cat /tmp/us)

echo "FIGURE hook process in the VM (TCG): an ignored operation $(ms "$HOOK_IGNORED_US") ms, prepare begin of a domain without hostdevs $(ms "$HOOK_NOHOSTDEV_US") ms (start, XML parse, exit)"
echo "FIGURE kernel's part, three plain writes: vfio-pci -> $VARIANT_DRIVER $(ms "$PLAIN_TO_VARIANT_US") ms, $VARIANT_DRIVER -> vfio-pci $(ms "$PLAIN_TO_VFIO_US") ms"
echo "FIGURE hook's own time, managed e1000e, module loaded: prepare begin ${WARM_PREPARE_MS:-?} ms, start begin ${WARM_START_MS:-?} ms (the move ${WARM_START_DEV_MS:-?} ms against $(ms "$PLAIN_TO_VARIANT_US") ms for the plain writes)"
echo "FIGURE virsh start, managed e1000e, module loaded: $(ms "${WARM_WITH_US:-0}") ms with the hook, $(ms "${WITHOUT_HOOK_US:-0}") ms without"

echo "FIGURE hook's own time, managed e1000e, first start (module loaded at prepare): prepare begin ${PREPARE_MS:-?} ms, start begin ${START_MS:-?} ms (the move vfio-pci -> $VARIANT_DRIVER ${START_DEV_MS:-?} ms), stopped end ${STOPPED_MS:-?} ms (the move back ${STOPPED_DEV_MS:-?} ms), release end ${RELEASE_MS:-?} ms"
echo "FIGURE virsh start, first start of the managed guest (module loaded by the hook): $(ms "${WITH_HOOK_US:-0}") ms; a guest without hostdevs, hook installed: $(ms "${NOHOSTDEV_US:-0}") ms"
echo "FIGURE libvirtd 9.0 start in the VM ($(libvirtd_caps_said)): $(ms "$LIBVIRTD_US") ms"

libvirt_guest_finish
