#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The vfio-mode suite's scenarios (issue 13), run in the VM on the host's
# root (read-only under a tmpfs overlay, tests/libvirt/vm-init.sh) with
# Debian's systemd-udevd started as a daemon (systemd is not PID 1 here).
# /etc/vv-vm.conf (written by run-vfio-mode.sh) names the devices, the
# destdir of this build and the boot number (BOOT_FILE): boot 1 declares,
# boot 2 finds the same /etc (a writable 9p share of the host's WORKDIR/etc
# at POLICYDIR, /etc/vfio-variant by default) and runs the boot unit.
# One RESULT line per scenario, FIGURE lines (uevent to bound, from the
# kernel's own uevent timestamps as `udevadm monitor --kernel` prints
# them), LOG lines.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
# shellcheck source=/dev/null
. /etc/vv-vm.conf
mount -t tmpfs -o mode=0755 tmpfs /run
echo "VV-INIT start"
read -r uptime _ </proc/uptime
echo "FIGURE boot: kernel start to the scenarios: ${uptime} s (guest clock)"
BOOT=$(cat "$BOOT_FILE")
VV=$(command -v vfio-variant 2>/dev/null || echo /usr/local/bin/vfio-variant)
CMD_TIMEOUT=60
UEVENTS=/run/vv-uevents.log
# shellcheck source=tests/vm/vv-guest-lib.sh
. "$GUEST_LIB"
# shellcheck source=tests/libvirt/vm-libvirtd.sh
. "$LIBVIRTD_LIB"
# shellcheck source=tests/vfio-mode/vm-guest-stop.sh
. "${STAGE2%/*}/vm-guest-stop.sh"

finish() {
	[ "$ANY_FAIL" = 0 ] || { log "kernel log:"; dmesg | tail -n 60 | sed 's/^/LOG   k /'; }
	echo "VV-INIT done"
	poweroff -f
}

# ---- helpers --------------------------------------------------------------

# wait_for SECONDS COMMAND...: until COMMAND succeeds or SECONDS of the
# guest's clock passed (not a count of polls: a loaded host makes each
# poll of a TCG guest slow).
uptime_s() { read -r up _ </proc/uptime; echo "${up%.*}"; }
wait_for() {
	deadline=$(($(uptime_s) + $1))
	shift
	while [ "$(uptime_s)" -lt "$deadline" ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}
on_driver() { [ "$(drv "$1")" = "$2" ]; }
exists() { [ -e "$PCI/$1" ]; }
not_listed() { ! out_has "$1"; }
no_module() { ! module_loaded "$1"; }

# The kernel's uevent timestamps (seconds.microseconds, CLOCK_MONOTONIC) of
# a device: first ACTION after the last mark, or the last one.
uevent_at() { # BDF ACTION first|last
	awk -v dev="/$1 (pci)" -v act="$2" -v which="$3" '
		index($0, dev) && $2 == act { t = $1; sub(/^KERNEL\[/, "", t); sub(/\]$/, "", t)
			if (which == "first") { print t; exit } last = t }
		END { if (which == "last" && last != "") print last }' "$UEVENTS"
}
# FIGURE NAME: BDF from its (first, or with last: last) ACTION uevent to
# its last bind, in ms. A VF created again has adds of the VFs before.
figure_uevent_to_bound() { # NAME BDF FROM_ACTION [first|last]
	from=$(uevent_at "$2" "$3" "${4:-first}")
	to=$(uevent_at "$2" bind last)
	if [ -n "$from" ] && [ -n "$to" ]; then
		echo "FIGURE $1: $2 $3 uevent to bound on $(drv "$2"): $(awk -v a="$from" -v b="$to" 'BEGIN { printf "%.1f", (b - a) * 1000 }') ms"
	else
		echo "FIGURE $1: $2 no $3 or bind uevent seen"
	fi
}
# The host driver's probe leaves traces: a network interface of BDF added
# (e1000e), a kernel log line "DRIVER BDF: ..." (e1000e, nvme).
never_netdev() { ! grep -q "add .*/$1/net/" "$UEVENTS"; }
no_kernel_line() { ! dmesg | grep -q "^\[[ 0-9.]*\] $2 $1"; }
bus_behind() { ls "$PCI/$1/pci_bus"; } # the secondary bus of a port: 0000:02
# The VF N (1-based) of PF as the kernel numbers it (ARI: offset, stride).
vf_of() { # PF N
	pf_bus=$(echo "$1" | cut -d: -f2)
	pf_devfn=$(($(echo "$1" | cut -d: -f3 | cut -d. -f1 | sed 's/^/0x/') * 8 + ${1##*.}))
	rid=$((0x$pf_bus * 256 + pf_devfn + $(cat "$PCI/$1/sriov_offset") + ($2 - 1) * $(cat "$PCI/$1/sriov_stride")))
	printf '%s:%02x:%02x.%x\n' "${1%%:*}" $((rid / 256)) $((rid % 256 / 8)) $((rid % 8))
}
# What a device that did not end where it should shows (LOG lines only):
# its uevents, its override, what udev recorded, what apply would do.
explain() { # BDF
	log "why $1 is on $(drv "$1"): override $(override "$1")"
	grep -F "/$1" "$UEVENTS" | sed 's/^/LOG   uevent /'
	udevadm info -q property "$PCI/$1" 2>&1 | grep -E 'DRIVER|VFIO|PCI_ID|MODALIAS' | sed 's/^/LOG   udev /'
	vv status "$1"
	vv apply "$1" --requester udev --dry-run
}

# The unit's ExecStart= commands, as systemd would run them (prefixes off).
unit_exec() { # UNIT_FILE
	[ -r "$1" ] && sed -n 's/^ExecStart=[-@:+!]*//p' "$1"
}

# ---- the installation: this build's destdir into the overlay ------------------

# Into the current scenario: a failure here fails it.
install_build() {
	cp -a "$DESTDIR/." / 2>/tmp/err || WHY="cannot copy $DESTDIR: $(cat /tmp/err)"
	ldconfig
	RULE=$(find "$DESTDIR" -path '*/udev/rules.d/*' -name '*.rules' | sed "s|^$DESTDIR||" | head -n 1)
	UNIT=$(find "$DESTDIR" -path '*/systemd/system/*' -name 'vfio-variant.service' | sed "s|^$DESTDIR||" | head -n 1)
	INDEX_UNIT=$(find "$DESTDIR" -path '*/systemd/system/*' -name 'vfio-variant-index.service' | sed "s|^$DESTDIR||" | head -n 1)
	PATH_UNIT=$(find "$DESTDIR" -path '*/systemd/system/*' -name 'vfio-variant-index.path' | sed "s|^$DESTDIR||" | head -n 1)
	HOOK=$HOOKSDIR/qemu.d/vfio-variant
	mkdir -p "$POLICYDIR"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 vvetc "$POLICYDIR" ||
		WHY="${WHY:+$WHY; }cannot mount the persistent $POLICYDIR (9p tag vvetc)"
	check "the CLI runs from the destdir ($VV)" "$VV" --version
	if [ "$NO_HOOK" = 1 ]; then
		check "VV_VFIO_MODE_NO_HOOK=1: no hook installed" test ! -e "$HOOK"
	else
		check "the hook is at $HOOK" test -x "$HOOK"
	fi
	check "the unit is in systemd's unit directory ($UNIT)" test -n "$UNIT" -a -r "$UNIT"
	if [ "$NO_RULE" = 1 ]; then
		check "VV_VFIO_MODE_NO_RULE=1: no rule installed" test -z "$RULE"
	else
		check "the rule is in udev's rules directory ($RULE)" test -n "$RULE" -a -r "$RULE"
	fi
	log "installed: rule=${RULE:-none} unit=${UNIT:-none} $(grep -sv '^#' "$RULE" | tr '\n' ' ')"
}

start_udevd() {
	udevadm monitor --kernel --subsystem-match=pci --subsystem-match=net >"$UEVENTS" 2>/dev/null &
	/lib/systemd/systemd-udevd --daemon 2>/tmp/err
	RC=$?
	wait_for 10 udevadm control --ping
}

# ---- boot 1 -------------------------------------------------------------------

boot1() {
	begin install
	install_build
	end "rule ${RULE:-none (VV_VFIO_MODE_NO_RULE=1)}, unit $UNIT, $POLICYDIR persistent"

	begin udevd
	start_udevd
	check "systemd-udevd --daemon starts (exit $RC: $(cat /tmp/err))" rc_is 0
	check "udevd answers udevadm control --ping" udevadm control --ping
	check "no e1000e module before cold plug" no_module e1000e
	check "no driver on $E1000E before cold plug" on_driver "$E1000E" none
	end "$(/lib/systemd/systemd-udevd --version | head -n 1 | sed 's/^/systemd-udevd /'), PID 1 is $(cat /proc/1/comm)"

	# Cold plug: declared, then udev replays every add as at boot.
	begin cold-plug
	vv declare "$E1000E" --no-apply
	check "declare $E1000E --no-apply exits 0" rc_is 0
	check "declare --no-apply left $E1000E alone (is $(drv "$E1000E"))" on_driver "$E1000E" none
	# PCI only: Debian's whole rule set over every device of the VM keeps a
	# TCG guest busy for minutes, and only PCI devices matter here.
	t0=$(date +%s%N)
	udevadm trigger --action=add --subsystem-match=pci
	udevadm settle -t 60
	log "cold plug settled in $((($(date +%s%N) - t0) / 1000000)) ms; modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
	wait_for 15 on_driver "$E1000E" "$VARIANT_DRIVER"
	check "$E1000E on $VARIANT_DRIVER (is $(drv "$E1000E"))" on_driver "$E1000E" "$VARIANT_DRIVER"
	check "$E1000E has a VFIO device" has_vfio_dev "$E1000E"
	check "no e1000e interface ever appeared for $E1000E" never_netdev "$E1000E"
	check "the kernel log has no e1000e line of $E1000E" no_kernel_line "$E1000E" e1000e
	figure_uevent_to_bound cold-plug "$E1000E" add
	module_loaded e1000e && loaded="e1000e loaded by udev's kmod builtin but never probed it" || loaded="e1000e never loaded"
	end "$E1000E on $(drv "$E1000E"), $loaded"

	# Hot-add through QEMU's monitor onto the empty PCIe root port.
	begin hot-add
	HOT=$(bus_behind "$HOT_PORT"):00.0
	vv declare "$HOT" --no-apply
	check "declare $HOT --no-apply (not present yet) exits 0" rc_is 0
	echo "VV-MONITOR device_add e1000e,netdev=n4,bus=rp_hot,id=vvhot"
	wait_for 60 exists "$HOT"
	check "QEMU's device_add brought $HOT" exists "$HOT"
	wait_for 15 on_driver "$HOT" "$VARIANT_DRIVER"
	udevadm settle -t 30
	check "$HOT on $VARIANT_DRIVER (is $(drv "$HOT"))" on_driver "$HOT" "$VARIANT_DRIVER"
	check "no e1000e interface ever appeared for $HOT" never_netdev "$HOT"
	check "the kernel log has no e1000e line of $HOT" no_kernel_line "$HOT" e1000e
	figure_uevent_to_bound hot-add "$HOT" add
	end "$HOT on $(drv "$HOT")"

	# SR-IOV: the PF stays on nvme; its declared VFs never meet nvme.
	begin sr-iov
	PF=$(bus_behind "$NVME_PORT"):00.0
	sriov_check "$PF" declare
	end "PF $PF on $(drv "$PF"), VFs $VF1 on $(drv "$VF1"), $VF2 on $(drv "$VF2")"

	# A guest stop with Debian's libvirtd 9.0 and the hook it calls
	# (vm-guest-stop.sh).
	guest_stop
}

# sriov_check PF declare|declared: VFs declared by their id (or already
# in the persistent /etc); two created; each on vfio-pci.
sriov_check() {
	check "PF $1 on nvme (is $(drv "$1"))" wait_for 30 on_driver "$1" nvme
	VF1=$(vf_of "$1" 1)
	VF2=$(vf_of "$1" 2)
	# The VFs' id, as the PF's SR-IOV capability names it (QEMU's nvme
	# gives its VFs the PF's own id, 1b36:0010: the PF must stay anyway).
	VF_ID=$(printf '%04x:%04x' "$(cat "$PCI/$1/vendor")" "0x$(cat "$PCI/$1/sriov_vf_device")")
	if [ "$2" = declare ]; then
		vv declare "$VF_ID"
		check "declare $VF_ID exits 0" rc_is 0
	fi
	log "PF $1 sriov_drivers_autoprobe=$(cat "$PCI/$1/sriov_drivers_autoprobe")"
	echo 2 >"$PCI/$1/sriov_numvfs" || WHY="${WHY:+$WHY; }cannot create 2 VFs on $1"
	for vf in "$VF1" "$VF2"; do
		wait_for 15 on_driver "$vf" vfio-pci
	done
	udevadm settle -t 15
	for vf in "$VF1" "$VF2"; do
		check "VF $vf on vfio-pci (is $(drv "$vf"))" on_driver "$vf" vfio-pci
		on_driver "$vf" vfio-pci || explain "$vf"
		check "the kernel log has no nvme line of VF $vf" no_kernel_line "$vf" nvme
		figure_uevent_to_bound "$SCENARIO" "$vf" add last
	done
	check "the PF $1 stays on nvme (is $(drv "$1"))" on_driver "$1" nvme
	check "the PF's sriov_drivers_autoprobe is 0" test "$(cat "$PCI/$1/sriov_drivers_autoprobe")" = 0
	check "nvme made no controller of a VF" test "$(find /sys/class/nvme -mindepth 1 -maxdepth 1 | wc -l)" = 1
}

# ---- boot 2: the same /etc ---------------------------------------------------

boot2() {
	begin boot2-etc
	install_build
	vv declarations
	check "declarations exits 0" rc_is 0
	check "declarations lists $E1000E from boot 1's /etc" out_has "$E1000E"
	end "$(grep -c . /tmp/out) lines of declarations"

	# As the initramfs's drivers would: e1000e binds the declared device
	# first; then the unit's ExecStart, as systemd would run it.
	begin boot-unit
	/sbin/modprobe e1000e
	wait_for 10 on_driver "$E1000E" e1000e
	check "$E1000E on e1000e before the unit (is $(drv "$E1000E"))" on_driver "$E1000E" e1000e
	check "the unit has an ExecStart" test -n "$(unit_exec "$UNIT")"
	t0=$(date +%s%N)
	unit_exec "$UNIT" | while read -r cmd; do
		log "\$ $cmd"
		# shellcheck disable=SC2086 # the unit's command line, split as systemd would for plain words
		timeout -s KILL "$CMD_TIMEOUT" $cmd 2>&1 | sed 's/^/LOG   | /'
	done
	t_unit=$((($(date +%s%N) - t0) / 1000000))
	check "$E1000E on $VARIANT_DRIVER after the unit (is $(drv "$E1000E"))" on_driver "$E1000E" "$VARIANT_DRIVER"
	echo "FIGURE boot-unit: the unit's ExecStart took $t_unit ms"
	end "$E1000E moved from e1000e to $(drv "$E1000E") by $UNIT in $t_unit ms"

	start_udevd
	begin sr-iov-boot2
	PF=$(bus_behind "$NVME_PORT"):00.0
	udevadm trigger --action=add --subsystem-match=pci
	udevadm settle -t 30
	sriov_check "$PF" declared
	end "PF $PF on $(drv "$PF"), VFs $VF1 on $(drv "$VF1"), $VF2 on $(drv "$VF2")"

	begin undeclare
	vv undeclare "$E1000E"
	check "undeclare $E1000E exits 0" rc_is 0
	udevadm settle -t 30
	wait_for 15 on_driver "$E1000E" e1000e
	check "$E1000E back on e1000e (is $(drv "$E1000E"))" on_driver "$E1000E" e1000e
	check "an interface of $E1000E exists" test -d "$PCI/$E1000E/net"
	vv declarations
	check "declarations no longer lists $E1000E" not_listed "$E1000E"
	end "$E1000E on $(drv "$E1000E"), interface $(ls "$PCI/$E1000E/net" 2>/dev/null)"
}

# ---- SR-IOV by the key on the PF (vfs=vfio), and a hand edit -------------------

# The VFs of this PF declared by vfs=vfio on it, their id declared nowhere:
# the rule catches each new VF through its physfn link (the PF's model in
# the index, the PF's autoprobe 0). Then the same by a drop-in written by
# hand: the path unit would start vfio-variant-index.service; systemd is
# not PID 1 here, so the service's ExecStart runs as systemd would run it.
autoprobe_is() { test "$(cat "$PCI/$1/sriov_drivers_autoprobe")" = "$2"; }
in_index() { test -e "$POLICYDIR/declared/$1"; }
vfs_gate() { echo "vfs-of-$(cat "$PCI/$1/vendor"):$(cat "$PCI/$1/device")"; }
no_vfs() { # PF: remove its VFs (their records stay behind, stale)
	echo 0 >"$PCI/$1/sriov_numvfs" || WHY="${WHY:+$WHY; }cannot remove the VFs of $1"
	udevadm settle -t 30
}
sriov_pf_key() {
	begin sr-iov-pf-key
	PF=$(bus_behind "$NVME_PORT"):00.0
	VF_ID=$(printf '%04x:%04x' "$(cat "$PCI/$PF/vendor")" "0x$(cat "$PCI/$PF/sriov_vf_device")")
	no_vfs "$PF"
	vv undeclare "$VF_ID"
	check "undeclare $VF_ID (the id way of boot 1) exits 0" rc_is 0
	check "the PF's autoprobe is 1 again" autoprobe_is "$PF" 1
	vv declare --vfs "$PF"
	check "declare --vfs $PF exits 0" rc_is 0
	vv declarations
	check "declarations lists vfs $PF" out_has "vfs $PF"
	check "the index has pf-$PF and $(vfs_gate "$PF")" in_index "$(vfs_gate "$PF")"
	check "the index has no id $VF_ID" test ! -e "$POLICYDIR/declared/$(echo "$VF_ID" | tr 'a-f' 'A-F')"
	log "index: $(find "$POLICYDIR/declared" -mindepth 1 -printf '%f ')"
	sriov_check "$PF" declared
	no_vfs "$PF"
	vv undeclare --vfs "$PF"
	check "undeclare --vfs $PF exits 0" rc_is 0
	check "the PF's autoprobe is 1 again" autoprobe_is "$PF" 1
	check "the index no longer has $(vfs_gate "$PF")" test ! -e "$POLICYDIR/declared/$(vfs_gate "$PF")"
	end "PF $PF on $(drv "$PF"), its VFs $VF1 and $VF2 were on vfio-pci by vfs=vfio"

	begin sr-iov-hand-edit
	mkdir -p "$POLICYDIR/vfio-variant.conf.d"
	printf '# by hand\n[device %s]\nvfs=vfio\n' "$PF" >"$POLICYDIR/vfio-variant.conf.d/50-by-hand.conf"
	check "the path unit ($PATH_UNIT) watches $POLICYDIR/vfio-variant.conf.d" \
		grep -qxF "PathChanged=$POLICYDIR/vfio-variant.conf.d" "$PATH_UNIT"
	check "the path unit starts vfio-variant-index.service" grep -qxF "Unit=vfio-variant-index.service" "$PATH_UNIT"
	check "the index service has an ExecStart" test -n "$(unit_exec "$INDEX_UNIT")"
	t0=$(date +%s%N)
	unit_exec "$INDEX_UNIT" | while read -r cmd; do
		log "\$ $cmd"
		# shellcheck disable=SC2086 # the unit's command line, split as systemd would for plain words
		timeout -s KILL "$CMD_TIMEOUT" $cmd 2>&1 | sed 's/^/LOG   | /'
	done
	echo "FIGURE sr-iov-hand-edit: the index service's ExecStart took $((($(date +%s%N) - t0) / 1000000)) ms"
	check "after the index service the PF's autoprobe is 0" autoprobe_is "$PF" 0
	check "after the index service the index has $(vfs_gate "$PF")" in_index "$(vfs_gate "$PF")"
	sriov_check "$PF" declared
	no_vfs "$PF"
	end "a drop-in written by hand, then $(unit_exec "$INDEX_UNIT"): VFs $VF1 and $VF2 on vfio-pci"
}

case $BOOT in
1) boot1 ;;
2) boot2; sriov_pf_key ;;
*) echo "RESULT boot: FAIL no boot number in $BOOT_FILE" ;;
esac
finish
