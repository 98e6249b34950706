# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# What the three libvirt scenario scripts share (dash, in the root that
# tests/libvirt/vm-init.sh switched to): tests/libvirt/vm-scenarios.sh
# (nodedev-* against Debian 12's libvirtd 9.0), tests/hook/
# vm-hook-scenarios.sh (the qemu hook with 9.0) and tests/trixie/
# vm-trixie-libvirt.sh (both with Debian 13's 11.3). Their start and end,
# virsh against the private daemon, nested guests with hostdevs, and the
# hook's lines in libvirt's debug log. Sourced after /etc/vv-vm.conf, which
# names this file (LIBVIRT_LIB), tests/libvirt/vm-libvirtd.sh (LIBVIRTD_LIB)
# and tests/vm/vv-guest-lib.sh (GUEST_LIB); tests/vm/vm-lib.sh's
# vm_libvirt_share writes those lines.

# shellcheck source=tests/libvirt/vm-libvirtd.sh
. "$LIBVIRTD_LIB"

# libvirt_guest_start: the root's PATH, the C locale (the scenarios read
# virsh's words), fresh state (libvirtd_fresh_root), "VV-INIT start",
# the boot's FIGURE line, the build's CLI (VV_CLI) and helpers (HELPER_DIR:
# vv-timeit...), tests/vm/vv-guest-lib.sh, then the coldplug.
libvirt_guest_start() {
	export PATH=/usr/sbin:/usr/bin:/sbin:/bin
	export LC_ALL=C
	libvirtd_fresh_root
	read -r uptime _ </proc/uptime
	echo "VV-INIT start"
	echo "FIGURE boot: kernel start to the scenarios: ${uptime} s (guest clock)"
	VV=$VV_CLI
	PATH=$PATH:$HELPER_DIR
	# shellcheck source=tests/vm/vv-guest-lib.sh
	. "$GUEST_LIB"
	coldplug
}

# libvirt_guest_finish [ERROR_PATTERN]: libvirtd stopped, the last errors
# of its log as LOG lines (but for those every run has: D-Bus, /dev/kvm,
# the socket before it is up; and ERROR_PATTERN, an extended regular
# expression, the ones a scenario provokes), then guest_finish.
# shellcheck disable=SC2120 # ERROR_PATTERN is optional
libvirt_guest_finish() {
	stop_libvirtd
	grep -E ' error : ' "$LV/libvirtd.log" | grep -v -E "virGDBus|/dev/kvm|virNetSocketNewConnectUNIX${1:+|$1}" |
		tail -n 20 | sed 's/^/LOG libvirtd: /'
	guest_finish 40
}

# libvirtd's log lines for the hook's suites: libvirt keeps a successful
# hook's output only in its debug log of util.command ($LV/command.log).
# shellcheck disable=SC2034 # for the callers' libvirtd_configure
LIBVIRTD_HOOK_LOG="log_filters = \"1:util.command\"
log_outputs = \"3:file:$LV/libvirtd.log 1:file:$LV/command.log\""

# libvirtd_start_checked VERSION: start_libvirtd (configured before), and
# check that it answers and is libvirt VERSION (LIBVIRT_VERSION; virsh
# version's output stays in /tmp/out).
libvirtd_start_checked() {
	start_libvirtd
	check "libvirtd did not answer within 60 s: $(tail -n 3 "$LV/libvirtd.log" "$LV/stdout" | tr '\n' ' ')" is "$up" yes
	vsh version
	LIBVIRT_VERSION=$(sed -n 's/^Using library: libvirt //p' /tmp/out)
	check "libvirt is $LIBVIRT_VERSION, expected $1" is "$LIBVIRT_VERSION" "$1"
}

# vsh ARGS...: like vv, for virsh against the private daemon.
vsh() {
	timeout -s KILL "$CMD_TIMEOUT" virsh -q -c "$URI" "$@" >/tmp/out 2>/tmp/err
	RC=$?
	log "\$ virsh $* -> exit $RC"
	sed 's/^/LOG   | /' /tmp/out /tmp/err
}

# record_has BDF LINE: BDF's record holds LINE; plans_left: a hook plan is.
record_has() { grep -qxF -- "$2" "$(record_of "$1")" 2>/dev/null; }
plans_left() { [ -n "$(find "$STATE/hook" -type f 2>/dev/null)" ]; }

# ---- nested guests ----------------------------------------------------------

# A guest of type qemu (TCG), no disk: SeaBIOS runs and finds nothing to
# boot, which is all a guest needs to hold its devices.
guest_xml() { # NAME [HOSTDEV_XML]
	cat >"/tmp/$1.xml" <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
$2
  </devices>
</domain>
EOF
}
hostdev_xml() { # BDF MANAGED [EXTRA_INSIDE]
	bus=$(echo "$1" | cut -d: -f2)
	slot=$(echo "$1" | cut -d: -f3 | cut -d. -f1)
	function=${1##*.}
	printf "    <hostdev mode='subsystem' type='pci' managed='%s'>\n%s      <source><address domain='0x0000' bus='0x%s' slot='0x%s' function='0x%s'/></source>\n    </hostdev>" \
		"$2" "${3:+      $3
}" "$bus" "$slot" "$function"
}
define() { guest_xml "$1" "$2"; vsh define "/tmp/$1.xml"; }

# Start NAME (running, not paused); its wall time in START_US, and in
# GUEST_FIGURES ("NAME N ms, ...").
start_guest() {
	t0=$(now_us)
	vsh start "$1"
	START_US=$(($(now_us) - t0))
	GUEST_FIGURES="${GUEST_FIGURES:+$GUEST_FIGURES, }$1 $(ms "$START_US") ms"
}
qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }
# QEMU has /dev/vfio/GROUP of BDF open.
qemu_holds_group() { # NAME BDF
	pid=$(qemu_pid "$1")
	[ -n "$pid" ] && [ -n "$(find "/proc/$pid/fd" -lname "/dev/vfio/$(group_of "$2")" 2>/dev/null)" ]
}
running() { vsh domstate "$1"; grep -qx running /tmp/out; }
# A guest a failed scenario left running would hold its devices for the next.
no_guest_left() {
	for guest in $(virsh -q -c "$URI" list --name 2>/dev/null); do
		log "destroying $guest, left running"
		virsh -q -c "$URI" destroy "$guest" >/dev/null 2>&1
	done
}

# ---- the hook's lines (libvirt's debug log of util.command) -------------------

# Every hook run shows as "stderr: 'vfio-variant hook: ...'". hook_mark
# marks where the next runs begin (with STAGES set, a file of trace lines,
# STAGE_MARK too); hook_since, hook_said and hook_log read what came after.
hook_lines() { grep -a -o 'vfio-variant hook: .*' "$LV/command.log" | sed "s/'\$//"; }
hook_mark() {
	MARK=$(($(hook_lines | wc -l) + 1))
	# shellcheck disable=SC2034 # for the caller's trace lines
	[ -z "${STAGES:-}" ] || STAGE_MARK=$(($(wc -l <"$STAGES") + 1))
}
hook_since() { hook_lines | tail -n "+$MARK"; }
hook_said() { hook_since | grep -qF -- "$1"; }
hook_log() { hook_since | sed 's/^/LOG hook| /'; }
