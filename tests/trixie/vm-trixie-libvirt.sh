#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The trixie suite's libvirt scenarios, in the VM that boots Debian 13's
# kernel 6.12, on the trixie root (read-only under a tmpfs overlay, see
# tests/libvirt/vm-init.sh) with its libvirtd 11.3, virsh and QEMU 10, and
# the build's CLI and hook (built on Debian 12) at their build-tree paths.
# One RESULT line per scenario, FIGURE and LOG lines, then the VM powers
# off. /etc/vv-vm.conf (written by run-trixie-libvirt.sh) names the devices
# and the programs.
#
# Driver changes are counted by the kernel, not by the hook: vv-uevents
# logs every uevent (a driver change is an "unbind" and a "bind" event,
# numbered by the kernel's uevent counter), and two trace hooks around
# vfio-variant's read /sys/kernel/uevent_seqnum just before and just after
# it at every stage: /etc/libvirt/hooks/qemu (libvirt runs it first) and
# /etc/libvirt/hooks/qemu.d/zz-vv-trace (after qemu.d/vfio-variant). The
# events numbered in between are the hook's.

# shellcheck source=/dev/null
. /etc/vv-vm.conf
# shellcheck source=tests/libvirt/vm-libvirt-lib.sh
. "$LIBVIRT_LIB"
libvirt_guest_start

VIRTIO_NODEDEV=pci_0000_00_07_0
HOOKS=/etc/libvirt/hooks
POLICY=$VV_SYSCONFDIR/vfio-variant/vfio-variant.conf
STAGES=/run/vv-stages.log
UEVENTS=/run/vv-uevents.log
# The devices a guest may get, and libvirt-pick's list.
TEST_DEVICES="$EDU $TESTDEV $E1000 $E1000E $VIRTIO $BR_E1000 $BR_EDU $VIRTIO_RNG"

nodedev_of() { echo "pci_$1" | tr ':.' '__'; }
# The module of the driver a device is on ("none" without one).
drv_module() {
	d=$(drv "$1")
	if [ "$d" = none ]; then echo none; else basename "$(readlink "/sys/bus/pci/drivers/$d/module" 2>/dev/null)"; fi
}

# Scenarios with their wall time (a FIGURE line at the end).
sbegin() { begin "$1"; T_SCENARIO=$(now_us); }
send() {
	end "$1"
	SCENARIO_FIGURES="${SCENARIO_FIGURES:+$SCENARIO_FIGURES, }$SCENARIO $(ms $(($(now_us) - T_SCENARIO))) ms"
}

# ---- driver changes, counted by the kernel ----------------------------------------

# Wait (5 s at most) until vv-uevents has logged every event so far.
uevents_caught_up() {
	target=$(cat /sys/kernel/uevent_seqnum)
	for _ in $(seq 50); do
		seen=$(awk '$1 ~ /^[0-9]+$/ { s = $1 } END { print s + 0 }' "$UEVENTS")
		[ "$seen" -ge "$target" ] && return 0
		sleep 0.1
	done
	log "vv-uevents saw up to $seen, the kernel is at $target"
	return 1
}

# changes BDF: the driver changes (bind and unbind events) of BDF since
# hook_mark, per hook stage ("prepare-begin=0 start-begin=2 ...") in
# CHANGES_BY_STAGE, their sum in HOOK_CHANGES, the ones outside the hook
# (libvirt's own) in LIBVIRT_CHANGES; UEVENTS_CAUGHT_UP=no when vv-uevents
# has not seen every event (a zero would then prove nothing). A window
# whose closing trace is missing (a failed stage) ends where the next
# stage starts.
changes() {
	UEVENTS_CAUGHT_UP=yes
	uevents_caught_up || UEVENTS_CAUGHT_UP=no
	tail -n "+$STAGE_MARK" "$STAGES" >/tmp/stages
	first=$(awk 'NR == 1 { print $5 }' /tmp/stages)
	now=$(cat /sys/kernel/uevent_seqnum)
	awk -v bdf="$1" -v first="${first:-0}" -v now="$now" '
		FNR == NR {
			if ($4 == "before") { n++; name[n] = $2 "-" $3; lo[n] = $5; hi[n] = -1 }
			else if ($4 == "after" && n) hi[n] = $5
			next
		}
		$1 == "LOST" { lost = 1; next }
		($2 == "bind" || $2 == "unbind") && $3 ~ ("/" bdf "$") && $1 > first && $1 <= now {
			s = $1 + 0; inside = 0
			for (i = 1; i <= n; i++) {
				end = hi[i] >= 0 ? hi[i] : (i < n ? lo[i + 1] : now)
				if (s > lo[i] && s <= end) { count[i]++; inside = 1 }
			}
			if (!inside) outside++
		}
		END {
			for (i = 1; i <= n; i++) { line = line sep name[i] "=" count[i] + 0; sep = " "; total += count[i] }
			printf "CHANGES_BY_STAGE=\"%s\" HOOK_CHANGES=%d LIBVIRT_CHANGES=%d UEVENTS_LOST=%d\n", line, total, outside, lost
		}' /tmp/stages "$UEVENTS" >/tmp/changes
	# shellcheck source=/dev/null
	. /tmp/changes
	log "driver changes of $1: hook stages [$CHANGES_BY_STAGE] = $HOOK_CHANGES, libvirt's own $LIBVIRT_CHANGES"
}
# The driver a device was on when the trace hook ran before STAGE.
driver_before() { # STAGE BDF
	tail -n "+$STAGE_MARK" "$STAGES" | awk -v st="$1" -v bdf="$2" '
		$2 " " $3 == st && $4 == "before" { for (i = 6; i <= NF; i++) if (index($i, bdf "=") == 1) d = substr($i, length(bdf) + 2) }
		END { print d }'
}

# ---- libvirtd 11.3 with the hook ----------------------------------------------------

sbegin libvirtd
vv-uevents >"$UEVENTS" 2>&1 &
for _ in $(seq 50); do
	grep -q '^READY' "$UEVENTS" && break
	sleep 0.1
done
check "vv-uevents does not listen: $(head -n 2 "$UEVENTS")" grep -q '^READY' "$UEVENTS"
: >"$STAGES"
mkdir -p "$HOOKS/qemu.d" "$LV"
# The trace hooks: the stage, the uevent counter, each test device's driver.
for when in before after; do
	cat >"/run/vv-trace-$when" <<EOF
#!/bin/sh
cat >/dev/null
line="\$1 \$2 \$3 $when \$(cat /sys/kernel/uevent_seqnum)"
for bdf in $TEST_DEVICES; do
	if [ -e "$PCI/\$bdf/driver" ]; then d=\$(basename "\$(readlink "$PCI/\$bdf/driver")"); else d=none; fi
	line="\$line \$bdf=\$d"
done
echo "\$line" >>$STAGES
EOF
	chmod +x "/run/vv-trace-$when"
done
ln -sf /run/vv-trace-before "$HOOKS/qemu"
ln -sf /run/vv-trace-after "$HOOKS/qemu.d/zz-vv-trace"
if [ -n "$HOOK_LIBVIRT_VERSION" ]; then
	printf '#!/bin/sh\nexec "%s" --libvirt-version %s qemu "$@"\n' "$VV_HOOK" "$HOOK_LIBVIRT_VERSION" >"$HOOKS/qemu.d/vfio-variant"
	chmod +x "$HOOKS/qemu.d/vfio-variant"
	HOOK_SAID="vfio-variant-hook --libvirt-version $HOOK_LIBVIRT_VERSION"
else
	ln -sf "$VV_HOOK" "$HOOKS/qemu.d/vfio-variant"
	HOOK_SAID="$VV_HOOK"
fi
libvirtd_configure "$LIBVIRTD_HOOK_LOG"
libvirtd_start_checked 11.3.0
HYPERVISOR=$(sed -n 's/^Running hypervisor: //p' /tmp/out)
QEMU_VERSION=$(qemu-system-x86_64 --version | head -n 1)
vsh nodedev-list --cap pci
check "virsh nodedev-list lacks $VIRTIO_NODEDEV" out_has "^$VIRTIO_NODEDEV\$"
check "virtio_pci is a module here, expected built in" eval "! grep -q '^virtio_pci ' /proc/modules"
log "hooks: $(find "$HOOKS" -mindepth 1 -printf '%p -> %l ' )"
send "libvirt $LIBVIRT_VERSION (hypervisor $HYPERVISOR), $QEMU_VERSION, up in $(ms "$LIBVIRTD_US") ms ($(libvirtd_caps_said)); hook $HOOK_SAID"

# ---- guests' lives: one start and destroy, judged per device -------------------------

# cycle NAME: start NAME; while it runs, each test device's driver and
# whether QEMU holds its IOMMU group; destroy it. CYCLE_RC and CYCLE_ERR
# are virsh start's; CYCLE_RUNNING yes or no.
cycle() {
	no_guest_left
	hook_mark
	start_guest "$1"
	CYCLE_RC=$RC
	cp /tmp/err /tmp/cycle.err
	CYCLE_RUNNING=no
	running "$1" && CYCLE_RUNNING=yes
	: >/tmp/cycle
	for bdf in $TEST_DEVICES; do
		holds=no
		qemu_holds_group "$1" "$bdf" && holds=yes
		echo "$bdf $(drv "$bdf") $holds" >>/tmp/cycle
	done
	[ "$CYCLE_RUNNING" = yes ] && vsh destroy "$1"
	hook_log
}
during() { awk -v b="$1" '$1 == b { print $2 }' /tmp/cycle; }
held() { awk -v b="$1" '$1 == b { print $3 }' /tmp/cycle | grep -qx yes; }

# ran_on BDF DRIVER AFTER: the checks every hostdev of a guest that ran
# shares: it ran on DRIVER with QEMU holding its group, and is on AFTER
# once the guest is gone, override as before; its driver changes in CHANGES_*.
ran_on() {
	check "virsh start exits $CYCLE_RC: $(tr '\n' ' ' </tmp/cycle.err)" is "$CYCLE_RC" 0
	check "the guest did not run" is "$CYCLE_RUNNING" yes
	check "$1 was on $(during "$1") while the guest ran, expected $2" is "$(during "$1")" "$2"
	check "QEMU did not hold /dev/vfio/$(group_of "$1")" held "$1"
	check "$1 is on $(drv "$1") after destroy, expected $3" is "$(drv "$1")" "$3"
	AT_START=$(driver_before "start begin" "$1")
	changes "$1"
	check "uevents were lost" is "$UEVENTS_LOST" 0
	check "vv-uevents did not see every uevent" is "$UEVENTS_CAUGHT_UP" yes
}
# Managed: back on its native driver, override cleared, no record, no plan.
given_back() {
	check "driver_override of $1 is $(override "$1") after destroy" is "$(override "$1")" "(null)"
	check "a record of $1 is left" no_record "$1"
	check "a plan is left" eval "! plans_left"
}

# ---- the >= 9.7 path: vfio-variant nodedev-detach, an unmanaged guest ----------------

sbegin nodedev-detach
vv_timed nodedev-detach -c "$URI" "$VIRTIO_NODEDEV"
DETACH_US=$US
check "nodedev-detach exits $RC" rc_is 0
check "driver is $(drv "$VIRTIO"), expected virtio_vfio_pci" is "$(drv "$VIRTIO")" virtio_vfio_pci
check "no vfio-dev/" has_vfio_dev "$VIRTIO"
check "no /dev/vfio/$(group_of "$VIRTIO")" dev_vfio_group "$VIRTIO"
check "the record is not complete" record_has "$VIRTIO" step=verified
check "the record does not say requester=libvirt" record_has "$VIRTIO" requester=libvirt
check "the record does not name virtio-pci as native" record_has "$VIRTIO" original-driver=virtio-pci
vsh nodedev-dumpxml "$VIRTIO_NODEDEV"
check "libvirt's node device does not show virtio_vfio_pci as its driver" grep -q '<name>virtio_vfio_pci</name>' /tmp/out
send "libvirt bound virtio_vfio_pci by name ($(ms "$DETACH_US") ms), vfio-dev/, a complete record; libvirt shows it"

# One guest: the virtio-net just detached as managed='no', and e1000e as
# a managed hostdev, which libvirt binds to its own pick, the test variant.
define vmu "$(hostdev_xml "$VIRTIO" no)
$(hostdev_xml "$E1000E" yes)"
cycle vmu

sbegin unmanaged-variant
ran_on "$VIRTIO" virtio_vfio_pci virtio_vfio_pci
check "the hook changed the driver of $VIRTIO $HOOK_CHANGES times ($CHANGES_BY_STAGE), expected 0 (no 9.0 round trip)" is "$HOOK_CHANGES" 0
check "libvirt changed the driver of $VIRTIO $LIBVIRT_CHANGES times, expected 0" is "$LIBVIRT_CHANGES" 0
check "the record is not the admin's again" record_has "$VIRTIO" requester=libvirt
send "managed='no' on virtio_vfio_pci, accepted by libvirt $LIBVIRT_VERSION: the guest ran on it; driver changes: hook $HOOK_CHANGES [$CHANGES_BY_STAGE], libvirt $LIBVIRT_CHANGES"

sbegin managed-same
ran_on "$E1000E" "$VARIANT_DRIVER" e1000e
given_back "$E1000E"
check "at start begin $E1000E was on $AT_START, expected $VARIANT_DRIVER (libvirt's own pick)" is "$AT_START" "$VARIANT_DRIVER"
check "the hook did not plan $VARIANT_DRIVER from the selection" hook_said "$E1000E (managed): plan $VARIANT_DRIVER (from selection"
check "the hook did not find libvirt 11.3.0 in libvirtd's memory map" hook_said "prepare begin: libvirt 11.3.0 runs this hook ("
check "the hook changed the driver of $E1000E $HOOK_CHANGES times ($CHANGES_BY_STAGE), expected 0" is "$HOOK_CHANGES" 0
# The count sees what libvirt did: its bind at start and its reattach.
check "libvirt's own driver changes of $E1000E were not seen ($LIBVIRT_CHANGES, expected 4)" is "$LIBVIRT_CHANGES" 4
send "libvirt picked $VARIANT_DRIVER, as vfio-variant: the guest ran on it; the hook changed the driver $HOOK_CHANGES times [$CHANGES_BY_STAGE], libvirt $LIBVIRT_CHANGES"
vsh undefine vmu

sbegin nodedev-reattach
vv_timed nodedev-reattach -c "$URI" "$VIRTIO_NODEDEV"
check "nodedev-reattach exits $RC" rc_is 0
check "driver is $(drv "$VIRTIO"), expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
check "driver_override is $(override "$VIRTIO")" is "$(override "$VIRTIO")" "(null)"
check "the record is left" no_record "$VIRTIO"
send "back on virtio-pci (built in) in $(ms "$US") ms, override cleared, record gone"

sbegin virsh-reattach
vv nodedev-detach -c "$URI" "$VIRTIO_NODEDEV"
check "nodedev-detach exits $RC" rc_is 0
vsh nodedev-reattach "$VIRTIO_NODEDEV"
check "virsh nodedev-reattach exits $RC" rc_is 0
check "driver is $(drv "$VIRTIO") after virsh, expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
vv status "$VIRTIO"
check "vfio-variant status does not show the record left by virsh" both_have "$VIRTIO"
vv reattach "$VIRTIO"
check "vfio-variant reattach exits $RC" rc_is 0
check "the record is left after vfio-variant reattach" no_record "$VIRTIO"
check "driver is $(drv "$VIRTIO"), expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
# libvirt's own pick, without vfio-variant at all
vsh nodedev-detach "$VIRTIO_NODEDEV"
check "plain virsh nodedev-detach exits $RC" rc_is 0
check "plain virsh nodedev-detach: driver is $(drv "$VIRTIO"), expected virtio_vfio_pci (libvirt's own pick)" is "$(drv "$VIRTIO")" virtio_vfio_pci
vsh nodedev-reattach "$VIRTIO_NODEDEV"
check "plain virsh nodedev-reattach: driver is $(drv "$VIRTIO"), expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
vv reattach "$VIRTIO"
check "vfio-variant reattach without a record exits $RC" rc_is 0
check "driver is $(drv "$VIRTIO"), expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
send "virsh nodedev-reattach then vfio-variant reattach dropped the record; plain virsh nodedev-detach picked virtio_vfio_pci itself"

# ---- libvirt's text matcher misses vfio-variant's choice ------------------------------

# One guest: virtio-rng, whose variant alias has a glob field, and e1000,
# whose variant alias is a modprobe.d line; both managed.
printf 'alias vfio_pci:v00008086d0000100Esv*sd*bc*sc*i* %s\n' "$VARIANT_MODULE" >/etc/modprobe.d/vv-trixie-alias.conf
define vmg "$(hostdev_xml "$VIRTIO_RNG" yes)
$(hostdev_xml "$E1000" yes)"
cycle vmg

sbegin managed-glob
ran_on "$VIRTIO_RNG" "$VARIANT_DRIVER" virtio-pci
given_back "$VIRTIO_RNG"
check "at start begin $VIRTIO_RNG was on $AT_START, expected vfio-pci (libvirt misses the glob)" is "$AT_START" vfio-pci
check "the hook did not move it at start begin" hook_said "start begin: $VIRTIO_RNG: on $VARIANT_DRIVER"
check "the hook changed the driver of $VIRTIO_RNG $HOOK_CHANGES times ($CHANGES_BY_STAGE), expected 2 (one move)" is "$HOOK_CHANGES" 2
send "alias ...bc00scFFi00*: libvirt bound vfio-pci, the hook moved it to $VARIANT_DRIVER at start begin [$CHANGES_BY_STAGE], the guest ran on it; destroy: virtio-pci"

sbegin managed-modprobe-alias
ran_on "$E1000" "$VARIANT_DRIVER" e1000
given_back "$E1000"
check "at start begin $E1000 was on $AT_START, expected vfio-pci (libvirt ignores modprobe.d)" is "$AT_START" vfio-pci
check "the hook changed the driver of $E1000 $HOOK_CHANGES times ($CHANGES_BY_STAGE), expected 2 (one move)" is "$HOOK_CHANGES" 2
send "a modprobe.d alias: libvirt bound vfio-pci, the hook moved e1000 to $VARIANT_DRIVER at start begin [$CHANGES_BY_STAGE]; destroy: e1000"
vsh undefine vmg

# ---- libvirt's own pick blacklisted ---------------------------------------------------

sbegin blacklisted
no_guest_left
# libvirt loads nothing when the driver is already there: unloaded first.
rmmod virtio_vfio_pci 2>/dev/null
check "virtio_vfio_pci is still loaded" eval "! module_loaded virtio_vfio_pci"
echo 'blacklist virtio_vfio_pci' >/etc/modprobe.d/vv-trixie-blacklist.conf
define vmb "$(hostdev_xml "$VIRTIO" yes)"
hook_mark
start_guest vmb
cp /tmp/err /tmp/blacklisted.err
BL_RC=$RC
BL_ERR=$(tr '\n' ' ' </tmp/blacklisted.err)
bl_has() { grep -qF -- "$1" /tmp/blacklisted.err; }
check "virsh start exits $BL_RC, expected 1" is "$BL_RC" 1
check "the guest is running" eval "! running vmb"
check "the error does not come from the hook at prepare begin: $BL_ERR" bl_has "vfio-variant hook: vmb: prepare begin: the guest cannot start:"
check "the error does not name the device" bl_has "$VIRTIO"
check "the error does not name the module libvirt would load" bl_has "picks its driver itself, virtio_vfio_pci"
check "the error does not say why it fails" bl_has "/etc/modprobe.d/vv-trixie-blacklist.conf blacklists that module"
check "the error does not give the line <driver model='vfio-pci'/>" bl_has "Add <driver model='vfio-pci'/> inside this <hostdev>"
# (libvirt's own error would start so; the hook's message only quotes its end)
check "libvirt's bare modprobe error shows" eval "! bl_has 'internal error: modprobe reported success'"
check "driver is $(drv "$VIRTIO"), expected virtio-pci" is "$(drv "$VIRTIO")" virtio-pci
check "a record is left" no_record "$VIRTIO"
check "a plan is left" eval "! plans_left"
hook_log
vsh undefine vmb
send "the start failed at prepare begin naming $VIRTIO, virtio_vfio_pci, the blacklist and <driver model='vfio-pci'/>; libvirt's modprobe error never showed"

# ---- <driver model> and the policy honoured ------------------------------------------

# One guest, the blacklist still in place: the virtio-net with the line the
# hook gave, and e1000e, which the policy gives the generic driver.
mkdir -p "$(dirname "$POLICY")"
printf '[id 8086:10d3]\ndriver=generic\n' >"$POLICY"
define vmv "$(hostdev_xml "$VIRTIO" yes "<driver name='vfio' model='vfio-pci'/>")
$(hostdev_xml "$E1000E" yes)"
vsh dumpxml vmv
if grep -q "model='vfio-pci'" /tmp/out; then MODEL_KEPT=yes; else MODEL_KEPT=no; fi
cycle vmv

sbegin model-vfio-pci
check "libvirt $LIBVIRT_VERSION dropped <driver model='vfio-pci'/>" is "$MODEL_KEPT" yes
ran_on "$VIRTIO" vfio-pci virtio-pci
given_back "$VIRTIO"
check "at start begin $VIRTIO was on $AT_START, expected vfio-pci (libvirt honours the model)" is "$AT_START" vfio-pci
check "the hook did not plan vfio-pci from <driver model>" hook_said "$VIRTIO (managed): plan vfio-pci (from <driver model>"
check "the hook changed the driver of $VIRTIO $HOOK_CHANGES times ($CHANGES_BY_STAGE), expected 0" is "$HOOK_CHANGES" 0
send "<driver model='vfio-pci'/> (the line the blacklisted start gave): libvirt bound vfio-pci itself, the hook changed nothing [$CHANGES_BY_STAGE]"

sbegin policy-generic
ran_on "$E1000E" vfio-pci e1000e
given_back "$E1000E"
check "at start begin $E1000E was on $AT_START, expected $VARIANT_DRIVER (libvirt's own pick)" is "$AT_START" "$VARIANT_DRIVER"
check "the hook did not plan vfio-pci from the policy" hook_said "$E1000E (managed): plan vfio-pci (from policy"
check "the hook changed the driver of $E1000E $HOOK_CHANGES times ($CHANGES_BY_STAGE), expected 2 (one move)" is "$HOOK_CHANGES" 2
send "[id 8086:10d3] driver=generic: libvirt bound its pick $AT_START, the hook moved it to vfio-pci [$CHANGES_BY_STAGE]; destroy: e1000e"
vsh undefine vmv
rm -f "$POLICY" /etc/modprobe.d/vv-trixie-blacklist.conf

# ---- libvirt's real pick against explain --xml's <libvirt-pick> ------------------------

sbegin libvirt-pick
no_guest_left
n_same=0 n_differ=0 n_refused=0 picks=
for bdf in $TEST_DEVICES; do
	vv explain --xml "$bdf"
	tr '\n' ' ' </tmp/out | grep -o '<libvirt-pick [^>]*>' >/tmp/pick
	predicted=$(sed -n 's/.* module="\([^"]*\)".*/\1/p' /tmp/pick)
	same=$(sed -n 's/.* same="\([^"]*\)".*/\1/p' /tmp/pick)
	reason=$(sed -n 's/.* reason="\([^"]*\)".*/\1/p' /tmp/pick)
	native=$(drv "$bdf")
	vsh nodedev-detach "$(nodedev_of "$bdf")"
	if [ "$RC" != 0 ]; then
		n_refused=$((n_refused + 1))
		picks="$picks $bdf:refused-by-libvirt"
		log "libvirt does not detach $bdf: $(tr '\n' ' ' </tmp/err)"
		continue
	fi
	actual=$(drv_module "$bdf")
	check "$bdf: libvirt bound $(drv "$bdf") (module $actual), <libvirt-pick> says ${predicted:-nothing}" is "$actual" "$predicted"
	if [ "$same" = yes ]; then n_same=$((n_same + 1)); else n_differ=$((n_differ + 1)); fi
	picks="$picks $bdf:$actual${reason:+($reason)}"
	vsh nodedev-reattach "$(nodedev_of "$bdf")"
	check "$bdf: driver is $(drv "$bdf") after virsh nodedev-reattach, expected $native" is "$(drv "$bdf")" "$native"
done
picks_have() { case $picks in *"($1)"*) return 0 ;; esac; return 1; }
check "no device where libvirt's pick parts from vfio-variant's for a glob field" picks_have glob-field
check "no device where libvirt's pick parts from vfio-variant's for a modprobe.d alias" picks_have modprobe-alias
check "libvirt detached only $((n_same + n_differ)) devices" test $((n_same + n_differ)) -ge 6
rm -f /etc/modprobe.d/vv-trixie-alias.conf
send "libvirt's own pick equals <libvirt-pick> for $((n_same + n_differ)) devices ($n_differ where it is not vfio-variant's; $n_refused libvirt refused):$picks"

# ---- figures -------------------------------------------------------------------------

echo "FIGURE libvirtd $LIBVIRT_VERSION start in the VM ($(libvirtd_caps_said)): $(ms "$LIBVIRTD_US") ms"
echo "FIGURE scenarios (a guest's start and destroy is timed apart): $SCENARIO_FIGURES"
echo "FIGURE virsh start of the nested guests (TCG): ${GUEST_FIGURES:-none}"

libvirt_guest_finish
