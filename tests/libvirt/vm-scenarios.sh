#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The libvirt suite's scenarios, run in the VM on the host's root (read-only
# under a tmpfs overlay, see vm-init.sh) with Debian's own libvirtd 9.0,
# virsh and QEMU: vfio-variant's nodedev-* commands against a real
# libvirtd on the real kernel. One RESULT line per scenario, FIGURE lines,
# LOG lines with every command and its output, NODEDEV-XML lines with
# libvirt's node-device documents (run-vm-libvirt.sh keeps them), then the
# VM powers off. /etc/vv-vm.conf (written by run-vm-libvirt.sh) names the
# devices and the programs (build tree paths, the same inside and out).

# shellcheck source=/dev/null
. /etc/vv-vm.conf
# shellcheck source=tests/libvirt/vm-libvirt-lib.sh
. "$LIBVIRT_LIB"
libvirt_guest_start

E1000E_NODEDEV=pci_0000_00_06_0

# NODEDEV-XML lines: run-vm-libvirt.sh writes FILE from them.
emit_xml() { # FILE < document
	sed "s|^|NODEDEV-XML $1 |"
}

# A guest that gets PCI_ADDRESS as an unmanaged hostdev: libvirt 9.0
# accepts it only if it detached the device itself (its in-memory list) or
# if the device is on exactly vfio-pci.
define_guest() { define "$1" "$(hostdev_xml "$2" no)"; } # NAME BDF

# ---- libvirtd 9.0, private: no systemd, udevd or D-Bus ---------------------------

begin libvirtd
libvirtd_configure
libvirtd_start_checked 9.0.0
vsh nodedev-list --cap pci
cp /tmp/out /tmp/nodedevs
check "virsh nodedev-list lacks $E1000E_NODEDEV" out_has "^$E1000E_NODEDEV\$"
end "libvirt $LIBVIRT_VERSION up in $(ms "$LIBVIRTD_US") ms ($(libvirtd_caps_said)), $(wc -l </tmp/nodedevs) PCI node devices"

# ---- nodedev-list, and every device's nodedev-dumpxml ------------------------------

list_pick() { awk -v n="$1" '$1 == n { print $3 }' /tmp/list; }
begin nodedev-list
vv nodedev-list -c "$URI"
cp /tmp/out /tmp/list
check "nodedev-list exits 0 (got $RC)" rc_is 0
check "e1000e: $(list_pick pci_0000_00_06_0), expected $VARIANT_MODULE" is "$(list_pick pci_0000_00_06_0)" "$VARIANT_MODULE"
check "edu: $(list_pick pci_0000_00_03_0), expected $VARIANT_MODULE" is "$(list_pick pci_0000_00_03_0)" "$VARIANT_MODULE"
check "e1000: $(list_pick pci_0000_00_05_0), expected vfio_pci" is "$(list_pick pci_0000_00_05_0)" vfio_pci
check "bridge: not 'none: bridge'" grep -q '^pci_0000_00_08_0 .* none: bridge' /tmp/list
LIBVIRT_DEFAULT_URI=$URI vv nodedev-list
check "LIBVIRT_DEFAULT_URI: nodedev-list exits $RC" rc_is 0
check "LIBVIRT_DEFAULT_URI: another list" cmp -s /tmp/out /tmp/list
end "libvirt's PCI devices with the VFIO driver each gets; -c and LIBVIRT_DEFAULT_URI"

begin nodedev-dumpxml-all
mkdir -p /tmp/ours
# libvirt's documents, all from one virsh process (each starts slowly under
# TCG), each behind a marker line.
# (virsh's echo may end without a newline: the document then follows on
# the marker's line.)
virsh -q -c "$URI" "$(sed 's/.*/echo ==&==; nodedev-dumpxml &;/' /tmp/nodedevs)" | awk '
	/^==[^=]*==/ { end = index(substr($0, 3), "=="); file = substr($0, 3, end - 1) ".xml"
		$0 = substr($0, end + 4); if ($0 == "") next }
	{ print "NODEDEV-XML " file " " $0 }'
n=0
while read -r name; do
	n=$((n + 1))
	vv nodedev-dumpxml -c "$URI" "$name"
	check "nodedev-dumpxml $name exits $RC" rc_is 0
	cp /tmp/out "/tmp/ours/$name.xml"
done </tmp/nodedevs
VV_SCHEMA_DIR=$SCHEMA_DIR VV_LIBVIRT_NODEDEV_RNG=$NODEDEV_RNG "$VALIDATOR" --validate /tmp/ours/*.xml >/tmp/out 2>&1
RC=$?
sed 's/^/LOG   | /' /tmp/out
check "$(grep -c FAIL /tmp/out) documents do not validate: $(grep FAIL /tmp/out | tr '\n' ' ')" rc_is 0
end "$n documents: each validates against nodedev-vfio.rng and, stripped, libvirt's nodedev.rng"

# ---- nodedev-detach: libvirt 9.0 binds vfio-pci, vfio-variant moves it ----------------

begin nodedev-detach
vv_timed nodedev-detach -c "$URI" "$E1000E_NODEDEV"
DETACH_US=$US
check "nodedev-detach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$E1000E"), expected $VARIANT_DRIVER" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
check "no vfio-dev/" has_vfio_dev "$E1000E"
check "no /dev/vfio/$(group_of "$E1000E")" dev_vfio_group "$E1000E"
check "the record does not say requester=libvirt" record_has "$E1000E" requester=libvirt
check "the record does not name e1000e as native" record_has "$E1000E" original-driver=e1000e
check "the record is not complete" record_has "$E1000E" step=verified
check "the CLI does not say what it did" out_has "Device $E1000E_NODEDEV detached (libvirt 9.0.0): on $VARIANT_DRIVER, native driver e1000e recorded."
vv status "$E1000E"
check "status does not say 'by libvirt'" out_has "by libvirt"
end "on $VARIANT_DRIVER via vfio-pci (libvirt 9.0 binds only vfio-pci), record: native e1000e, requester libvirt"

begin nodedev-dumpxml
vv nodedev-dumpxml -c "$URI" "$E1000E_NODEDEV"
cp /tmp/out /tmp/detached.xml
check "nodedev-dumpxml exits 0 (got $RC)" rc_is 0
check "libvirt's <driver> does not name $VARIANT_DRIVER" out_has "<name>$VARIANT_DRIVER</name>"
check "no <selected module=\"$VARIANT_MODULE\"" out_has "<selected module=\"$VARIANT_MODULE\""
check "no <detached> from the record" out_has "<detached driver=\"$VARIANT_DRIVER\" module=\"$VARIANT_MODULE\" fallback=\"no\" requester=\"libvirt\" since=\"[0-9T:Z-]*\" complete=\"yes\">"
check "no <native driver=\"e1000e\"" out_has '<native driver="e1000e" module="e1000e"/>'
VV_SCHEMA_DIR=$SCHEMA_DIR VV_LIBVIRT_NODEDEV_RNG=$NODEDEV_RNG "$VALIDATOR" --validate /tmp/detached.xml >/tmp/out 2>&1
RC=$?
check "it does not validate: $(cat /tmp/out)" rc_is 0
virsh -c "$URI" nodedev-dumpxml "$E1000E_NODEDEV" | emit_xml "$E1000E_NODEDEV-detached-variant.xml"
end "libvirt's <driver> $VARIANT_DRIVER; ours: selected $VARIANT_MODULE, detached by libvirt, native e1000e; validates"

# ---- libvirt knows the device: an unmanaged hostdev starts ----------------------------

begin libvirt-knows
define_guest vvtest "$E1000E"
t0=$(now_us)
vsh start vvtest --paused
START_US=$(($(now_us) - t0))
check "a managed='no' guest with e1000e did not start (exit $RC): $(cat /tmp/err)" rc_is 0
vsh domstate vvtest
check "the guest is $(cat /tmp/out), expected paused" out_has paused
# While a guest holds it, nodedev-reattach changes nothing and says why.
vv nodedev-reattach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-reattach of a device in use exits $RC, expected 1" rc_is 1
check "the refusal does not name the device and the guest" err_has "error: PCI device $E1000E is in use by the running domain vvtest"
check "the refusal is not worded as virsh does" err_has "error: Failed to re-attach device $E1000E_NODEDEV"
check "in use, it moved to $(drv "$E1000E")" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
vsh destroy vvtest
check "destroy exits $RC" rc_is 0
# The control: edu on the same variant, detached without libvirt.
vv detach "$EDU"
check "detach edu exits $RC" rc_is 0
define_guest vvedu "$EDU"
vsh start vvedu --paused
REFUSAL=$(grep -o 'Unmanaged PCI device .*' /tmp/err)
check "a guest with edu, detached without libvirt, started (exit $RC)" rc_is 1
check "libvirt did not refuse edu as unknown to it: $(cat /tmp/err)" err_has "must be manually detached from the host"
vv reattach "$EDU"
check "reattach edu exits $RC" rc_is 0
end "managed='no' guest with e1000e on $VARIANT_DRIVER started ($(ms "$START_US") ms, libvirt's own list); with edu detached without libvirt: '$REFUSAL'"

# ---- reattach: plain virsh, then vfio-variant's verification ----------------------------

begin virsh-reattach
vsh nodedev-reattach "$E1000E_NODEDEV"
check "virsh nodedev-reattach exits $RC" rc_is 0
after_virsh=$(drv "$E1000E")
vv status "$E1000E"
check "status does not show the record" out_has "$E1000E: detached"
check "status does not show the driver now ($after_virsh)" out_has "Driver now: *$after_virsh"
vv reattach "$E1000E"
check "vfio-variant reattach exits $RC" rc_is 0
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
check "driver_override is $(override "$E1000E")" is "$(override "$E1000E")" "(null)"
check "the record is still there" no_record "$E1000E"
end "virsh nodedev-reattach left it on $after_virsh; vfio-variant status showed the record, reattach verified e1000e and removed it"

begin nodedev-reattach
vv nodedev-detach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-detach exits $RC" rc_is 0
check "detached to $(drv "$E1000E")" is "$(drv "$E1000E")" "$VARIANT_DRIVER"
vv_timed nodedev-reattach -c "$URI" "$E1000E_NODEDEV"
REATTACH_US=$US
check "nodedev-reattach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
check "driver_override is $(override "$E1000E")" is "$(override "$E1000E")" "(null)"
check "the record is still there" no_record "$E1000E"
check "the CLI does not say so" out_has "Device $E1000E_NODEDEV re-attached: on e1000e"
# libvirt forgot it: the unmanaged guest is refused again.
vsh start vvtest --paused
check "libvirt still lists e1000e as detached (exit $RC): $(cat /tmp/err)" err_has "must be manually detached from the host"
end "via vfio-pci (libvirt 9.0 gives back only its stub), libvirt's reattach; on e1000e, record gone, libvirt's list too"

begin nodedev-reattach-repairs
vv nodedev-detach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-detach exits $RC" rc_is 0
/sbin/modprobe -r e1000e
log "modprobe -r e1000e -> exit $?"
check "e1000e still loaded" eval "! module_loaded e1000e"
vv nodedev-reattach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-reattach exits 0 (got $RC)" rc_is 0
check "driver is $(drv "$E1000E"), expected e1000e" is "$(drv "$E1000E")" e1000e
check "the CLI does not say it repaired" out_has "libvirt left $E1000E on no driver; vfio-variant gave it back to e1000e"
check "the CLI does not show the module load" out_has "load module e1000e"
check "the record is still there" no_record "$E1000E"
end "e1000e unloaded while detached: libvirt's reprobe left no driver; the recorded native module loaded and bound"

# ---- a variant that refuses: vfio-pci, and it is said ------------------------------------

begin refused
/sbin/modprobe "$VARIANT_MODULE"
echo "$E1000E" >"/sys/module/$VARIANT_MODULE/parameters/refuse"
vv nodedev-detach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-detach (selected variant refuses) exits $RC, expected 0" rc_is 0
check "driver is $(drv "$E1000E"), expected vfio-pci" is "$(drv "$E1000E")" vfio-pci
check "the CLI does not name the refusal" out_has "The driver $VARIANT_DRIVER refused $E1000E"
check "the CLI does not say it fell back" out_has "Falling back to the generic vfio-pci"
check "the record does not say fallback" record_has "$E1000E" fallback=true
vv nodedev-dumpxml -c "$URI" "$E1000E_NODEDEV"
check "nodedev-dumpxml does not show the fallback" out_has 'fallback="yes"'
virsh -c "$URI" nodedev-dumpxml "$E1000E_NODEDEV" | emit_xml "$E1000E_NODEDEV-detached-vfio-pci.xml"
# A record naming a domain that runs no more (the hook's, its stop cut
# short) does not stop it: libvirt says no running domain uses the device.
# (On vfio-pci already, nothing moves before libvirt's reattach.)
sed -i 's/^requester=libvirt$/&\ndomain=vm-gone\nmanaged=true/' "$(record_of "$E1000E")"
check "the record does not name vm-gone" record_has "$E1000E" domain=vm-gone
vv nodedev-reattach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-reattach exits $RC" rc_is 0
check "after the fallback, reattach ends on $(drv "$E1000E")" is "$(drv "$E1000E")" e1000e
vv nodedev-detach -c "$URI" --driver "$VARIANT_DRIVER" "$E1000E_NODEDEV"
NAMED_RC=$RC
check "nodedev-detach --driver (named variant refuses) exits $RC, expected 1" rc_is 1
check "driver is $(drv "$E1000E"), expected vfio-pci" is "$(drv "$E1000E")" vfio-pci
check "the error does not say it stays on vfio-pci" err_has "error: $E1000E_NODEDEV stays on vfio-pci, detached by libvirt"
check "the error is not worded as virsh does" err_has "error: Failed to bind the chosen VFIO driver to $E1000E_NODEDEV"
check "the error does not name the refusal" err_has "$VARIANT_DRIVER refused $E1000E"
vv nodedev-reattach -c "$URI" "$E1000E_NODEDEV"
check "nodedev-reattach exits $RC" rc_is 0
check "after the refusal, reattach ends on $(drv "$E1000E")" is "$(drv "$E1000E")" e1000e
check "a record is left" no_record "$E1000E"
echo >"/sys/module/$VARIANT_MODULE/parameters/refuse"
end "selected variant refused: on vfio-pci, said and recorded as a fallback; named: exit $NAMED_RC, stays on vfio-pci, said; both reattached to e1000e, the first with its record naming a domain gone"

# ---- errors: the device and libvirt's reason, as virsh shows them ----------------------

begin errors
vv nodedev-detach -c "$URI" pci_0000_00_1e_0
check "unknown device: exit $RC, expected 2" rc_is 2
check "unknown device: not named" err_has "error: failed to get node device 'pci_0000_00_1e_0'"
check "unknown device: not libvirt's reason" err_has "error: Node device not found"
vv nodedev-reattach -c "qemu:///system?socket=/run/no-such-socket" "$E1000E_NODEDEV"
check "no daemon: exit $RC, expected 2" rc_is 2
check "no daemon: not said as virsh does" err_has "error: failed to connect to the hypervisor"
check "no daemon: not libvirt's reason" err_has "/run/no-such-socket"
vv nodedev-detach -c "$URI" pci_0000_00_08_0
check "bridge: exit $RC, expected 1" rc_is 1
check "bridge: no reason" err_has "Cannot detach $BRIDGE: "
check "bridge: something changed ($(drv "$BRIDGE"), record)" no_record "$BRIDGE"
vv nodedev-detach -c "$URI" 'pci_0000_00_06_0/../x'
check "malformed name: exit $RC, expected 2" rc_is 2
# libvirt itself refuses (9.0 wants /dev/vfio/vfio): its words, and the
# record written before its call is rolled back.
vfio_node=$(stat -c '%t %T' /dev/vfio/vfio)
rm /dev/vfio/vfio
vv nodedev-detach -c "$URI" "$E1000E_NODEDEV"
check "libvirt refuses: exit $RC, expected 1" rc_is 1
check "libvirt refuses: not worded as virsh does" err_has "error: Failed to detach device $E1000E_NODEDEV"
check "libvirt refuses: not libvirt's reason" err_has "error: argument unsupported: VFIO device assignment is currently not supported"
check "libvirt refuses: not said where the device is" err_has "error: $E1000E is back on e1000e."
check "libvirt refuses: on $(drv "$E1000E")" is "$(drv "$E1000E")" e1000e
check "libvirt refuses: a record is left" no_record "$E1000E"
# shellcheck disable=SC2086 # major and minor, in hex
set -- $vfio_node
mknod /dev/vfio/vfio c $((0x$1)) $((0x$2))
end "unknown device, no daemon, a bridge, a malformed name, libvirt refusing: each named, with libvirt's reason; nothing left behind"

# ---- figures ----------------------------------------------------------------------------

vsh nodedev-detach "$E1000E_NODEDEV"
t0=$(now_us)
vsh nodedev-reattach "$E1000E_NODEDEV"
PLAIN_REATTACH_US=$(($(now_us) - t0))
t0=$(now_us)
vsh nodedev-detach "$E1000E_NODEDEV"
PLAIN_DETACH_US=$(($(now_us) - t0))
vsh nodedev-reattach "$E1000E_NODEDEV"
echo "FIGURE libvirtd 9.0 start in the VM ($(libvirtd_caps_said)): $(ms "$LIBVIRTD_US") ms"
echo "FIGURE vfio-variant nodedev-detach e1000e -> $VARIANT_DRIVER: $(ms "${DETACH_US:-0}") ms; virsh nodedev-detach (vfio-pci): $(ms "$PLAIN_DETACH_US") ms"
echo "FIGURE vfio-variant nodedev-reattach e1000e: $(ms "${REATTACH_US:-0}") ms; virsh nodedev-reattach: $(ms "$PLAIN_REATTACH_US") ms"
echo "FIGURE start of a paused managed='no' guest with the device: $(ms "${START_US:-0}") ms"

libvirt_guest_finish 'must be manually detached'
