# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# The vfio-mode suite's guest stop (issue 13, items 5 and 6), sourced by
# vm-vfio-mode.sh in the VM (dash, on the host's root under the overlay,
# with this build installed and systemd-udevd running): Debian's own
# libvirtd 9.0, started here with the project's qemu hook installed by
# `meson install` in libvirt's hooks directory, runs a nested TCG guest
# with the declared e1000e as a managed hostdev, and stops it twice:
# `virsh destroy`, then `virsh shutdown` (the guest answers the ACPI power
# button, see gs_boot_sector). Each time libvirt's own reattach gives the
# device to e1000e, and the hook's `release end`, called by libvirtd,
# returns it to its variant.
#
# libvirtd is started with tests/libvirt/vm-libvirtd.sh (LIBVIRTD_LIB), /run
# kept: a fresh tmpfs there would hide systemd-udevd's /run/udev and the
# uevent log the scenarios read. QEMU's capabilities (15-40 s of TCG to
# probe) are seeded from and kept in the host's writable CAPS_SHARE (9p
# tag qemucaps, at 00:0e.0: 00:0b.0 is the persistent /etc here).
#
# Uses vv-guest-lib.sh (log, check, drv...), vm-libvirtd.sh and
# vm-vfio-mode.sh's helpers (wait_for, on_driver, E1000E, VARIANT_DRIVER,
# UEVENTS, HOOK).

GS_GUEST=vvguest
GS_IMG=/tmp/vv-boot.img
GS_SERIAL=/tmp/vv-guest-serial.log

gs_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Debian's libvirtd as the libvirt suites start it (tests/libvirt/
# vm-libvirtd.sh: fresh state, a private daemon on a socket of its own,
# QEMU's capabilities seeded from CAPS_SHARE and kept), with /run kept for
# udevd and util.command at debug level to $LV/command.log: libvirt keeps
# the output of a hook that succeeds only there ("stderr: 'vfio-variant
# hook: ...'").
gs_libvirtd_start() {
	libvirtd_fresh_root keep-run
	libvirtd_configure "log_filters = \"1:util.command\"
log_outputs = \"3:file:$LV/libvirtd.log 1:file:$LV/command.log\""
	start_libvirtd 120
}
gs_libvirtd_answers() { [ "$up" = yes ]; }

gs_libvirtd_stop() {
	stop_libvirtd
	grep -E ' error : ' "$LV/libvirtd.log" 2>/dev/null | grep -v -E 'virGDBus|/dev/kvm|virNetSocketNewConnectUNIX' |
		tail -n 20 | sed 's/^/LOG libvirtd: /'
}

# vsh ARGS...: virsh on the private socket; exit status in RC, output in
# /tmp/out and /tmp/err (and LOG lines).
gs_vsh() {
	timeout -s KILL 180 virsh -q -c "$URI" "$@" >/tmp/out 2>/tmp/err
	RC=$?
	log "\$ virsh $* -> exit $RC"
	sed 's/^/LOG   | /' /tmp/out /tmp/err
}
gs_state_is() { [ "$(virsh -q -c "$URI" domstate "$GS_GUEST" 2>/dev/null | head -n 1)" = "$1" ]; }

# The hook's lines in libvirt's debug log, from mark GS_MARK on.
gs_hook_lines() { grep -a -o 'vfio-variant hook: .*' "$LV/command.log" 2>/dev/null | sed "s/'\$//"; }
gs_hook_mark() { GS_MARK=$(($(gs_hook_lines | wc -l) + 1)); }
gs_hook_said() { gs_hook_lines | tail -n "+$GS_MARK" | grep -qF -- "$1"; }
gs_hook_log() { gs_hook_lines | tail -n "+$GS_MARK" | sed 's/^/LOG hook| /'; }

# QEMU of the guest has /dev/vfio/GROUP of the device open.
gs_qemu_holds_group() {
	pid=$(cat "/run/libvirt/qemu/$GS_GUEST.pid" 2>/dev/null)
	[ -n "$pid" ] && [ -n "$(find "/proc/$pid/fd" -lname "/dev/vfio/$(group_of "$1")" 2>/dev/null)" ]
}
# e1000e's probes of BDF so far: each adds a network interface.
gs_netdev_adds() { grep -c "add .*/$1/net/" "$UEVENTS"; }
# Why a guest is not shut off yet (LOG lines): its QEMU as the kernel
# sees it (state, wait channel, kernel stack), what QEMU logged.
gs_explain_stop() {
	log "$GS_GUEST not shut off 20 s after the stop:"
	for pid in $(pgrep -f qemu-system 2>/dev/null); do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "guest=$GS_GUEST" || continue
		log "  QEMU $pid: $(grep -E '^(State|PPid):' "/proc/$pid/status" | tr '\n\t' '  ') wchan $(cat "/proc/$pid/wchan" 2>/dev/null)"
		sed 's/^/LOG   stack /' "/proc/$pid/stack" 2>/dev/null
	done
	tail -n 6 "/var/log/libvirt/qemu/$GS_GUEST.log" 2>/dev/null | sed 's/^/LOG qemu| /'
}
gs_guest_listens() { grep -q 'VV!' "$GS_SERIAL" 2>/dev/null; }
gs_record_says() { grep -qxF -- "$2" "$(record_of "$1")" 2>/dev/null; }
gs_record_no_domain() { [ -r "$(record_of "$1")" ] && ! grep -q '^domain=' "$(record_of "$1")"; }

# The nested guest's disk: one boot sector that says "VV!" on its serial
# port once it listens, then sleeps (hlt, woken by the BIOS timer) until
# the ACPI power button is pressed, and powers off, as an OS would on
# `virsh shutdown` (libvirt sends QEMU system_powerdown; QEMU sets
# PWRBTN_STS only when PWRBTN_EN is set: a press before that is lost,
# hence the word). 16-bit code:
#   mov eax,0x80000B40 / mov dx,0xcf8 / out dx,eax   PIIX4 PM (00:01.3) PMBASE
#   mov dx,0xcfc / in ax,dx / and ax,0xffc0 / mov bx,ax
#   lea dx,[bx+2] / mov ax,0x100 / out dx,ax          PM1_EN: PWRBTN_EN
#   mov dx,0x3f8 / mov al,'V' / out dx,al / out dx,al / mov al,'!' / out dx,al
#   sti
#   1: hlt / mov dx,bx / in ax,dx / test ax,0x100 / jz 1b   PM1_STS: PWRBTN_STS
#   lea dx,[bx+4] / mov ax,0x2000 / out dx,ax         PM1_CNT: SLP_EN, S5
#   2: hlt / jmp 2b
# (assembled with GNU as --32 .code16; run in QEMU 7.2's pc machine: it
# runs until system_powerdown, then QEMU reports "shutdown".)
gs_boot_sector() {
	printf '\146\270\100\013\000\200\272\370\014\146\357\272\374\014\355\203\340\300\211\303\215\127\002\270\000\001\357\272\370\003\260\126\356\356\260\041\356\373\364\211\332\355\251\000\001\164\367\215\127\004\270\000\040\357\364\353\375' >"$GS_IMG"
	truncate -s 510 "$GS_IMG"
	printf '\125\252' >>"$GS_IMG"
}

gs_define() {
	bus=$(echo "$E1000E" | cut -d: -f2)
	slot=$(echo "$E1000E" | cut -d: -f3 | cut -d. -f1)
	cat >/tmp/guest.xml <<EOF
<domain type='qemu'>
  <name>$GS_GUEST</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$GS_IMG'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x$bus' slot='0x$slot' function='0x${E1000E##*.}'/></source>
    </hostdev>
    <serial type='file'><source path='$GS_SERIAL'/><target port='0'/></serial>
  </devices>
</domain>
EOF
	gs_vsh define /tmp/guest.xml
}

# gs_round destroy|shutdown: start the guest, check it runs with the device
# on its variant, stop it that way, check the device is back on the
# variant through e1000e (libvirt's reattach) and the hook's release end.
# The time from the stop command to the device on its variant: GS_MS.
gs_round() {
	how=$1
	gs_hook_mark
	probes=$(gs_netdev_adds "$E1000E")
	rm -f "$GS_SERIAL"
	gs_vsh start "$GS_GUEST"
	check "$how round: virsh start exits 0 (exit $RC: $(tr '\n' ' ' </tmp/err))" rc_is 0
	check "$how round: the guest runs" gs_state_is running
	# Its boot sector runs (SeaBIOS under nested TCG takes seconds).
	wait_for 120 gs_guest_listens
	check "$how round: the guest's boot sector runs (its serial port: $(head -c 40 "$GS_SERIAL" 2>/dev/null))" gs_guest_listens
	check "$how round: $E1000E on $VARIANT_DRIVER while the guest runs (is $(drv "$E1000E"))" on_driver "$E1000E" "$VARIANT_DRIVER"
	check "$how round: QEMU holds /dev/vfio/$(group_of "$E1000E")" gs_qemu_holds_group "$E1000E"
	check "$how round: the record names the guest while it runs" gs_record_says "$E1000E" "domain=$GS_GUEST"
	t0=$(gs_now_ms)
	gs_vsh "$how" "$GS_GUEST"
	check "$how round: virsh $how exits 0 (exit $RC)" rc_is 0
	# virsh shutdown returns once the power button is pressed; destroy
	# once libvirt's whole stop path (hooks and reattach) has run.
	wait_for 20 gs_state_is "shut off"
	gs_state_is "shut off" || gs_explain_stop
	wait_for 120 gs_state_is "shut off"
	check "$how round: the guest is shut off" gs_state_is "shut off"
	wait_for 30 on_driver "$E1000E" "$VARIANT_DRIVER"
	GS_MS=$(($(gs_now_ms) - t0))
	check "$how round: $E1000E back on $VARIANT_DRIVER (is $(drv "$E1000E"))" on_driver "$E1000E" "$VARIANT_DRIVER"
	check "$how round: $E1000E has a VFIO device" has_vfio_dev "$E1000E"
	check "$how round: libvirt's reattach gave $E1000E to e1000e before (a new e1000e interface)" \
		test "$(gs_netdev_adds "$E1000E")" -gt "$probes"
	check "$how round: libvirtd ran the hook's release end and it returned $E1000E" \
		gs_hook_said "release end: $E1000E is declared in VFIO mode: back to its VFIO driver."
	check "$how round: the record says requester=hook" gs_record_says "$E1000E" requester=hook
	check "$how round: the record names no domain" gs_record_no_domain "$E1000E"
	gs_hook_log
	tail -n 4 "/var/log/libvirt/qemu/$GS_GUEST.log" 2>/dev/null | sed 's/^/LOG qemu| /'
	log "record: $(tr '\n' ' ' <"$(record_of "$E1000E")" 2>/dev/null)"
	echo "FIGURE guest-stop: virsh $how to $E1000E on $(drv "$E1000E"): $GS_MS ms (libvirt's stop, its reattach to e1000e, the hook's release end)"
}

guest_stop() {
	begin guest-stop
	# e1000e loaded, as on a host that uses it: libvirt's reattach
	# reprobes the device and e1000e takes it.
	/sbin/modprobe e1000e
	check "$E1000E on $VARIANT_DRIVER before the guest (is $(drv "$E1000E"))" on_driver "$E1000E" "$VARIANT_DRIVER"
	if [ "$NO_HOOK" = 1 ]; then
		check "VV_VFIO_MODE_NO_HOOK=1: no hook installed" test ! -e "$HOOK"
	else
		check "the hook is installed at $HOOK before libvirtd starts" test -x "$HOOK"
	fi
	gs_libvirtd_start
	check "libvirtd answers within 120 s ($(tail -n 3 "$LV/libvirtd.log" "$LV/stdout" 2>/dev/null | tr '\n' ' '))" gs_libvirtd_answers
	gs_vsh version
	version=$(sed -n 's/^Using library: libvirt //p' /tmp/out)
	if [ "$CAPS_SEEDED" -gt 0 ]; then caps="QEMU capabilities from an earlier run's cache"; else caps="QEMU capabilities probed"; fi
	echo "FIGURE guest-stop: libvirtd $version up in $((LIBVIRTD_US / 1000)) ms ($caps)"
	gs_boot_sector
	gs_define
	check "virsh define exits 0 (exit $RC)" rc_is 0
	gs_round destroy
	destroy_ms=$GS_MS
	gs_round shutdown
	shutdown_ms=$GS_MS
	gs_state_is running && gs_vsh destroy "$GS_GUEST"
	gs_vsh undefine "$GS_GUEST"
	gs_libvirtd_stop
	end "libvirt $version ran $GS_GUEST with $E1000E on $(drv "$E1000E"); virsh destroy and virsh shutdown: libvirt's reattach to e1000e, the hook's release end back to the variant in $destroy_ms and $shutdown_ms ms; record requester=hook, no domain"
}
