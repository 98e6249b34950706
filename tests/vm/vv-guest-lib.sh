# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# What the guests of both real-kernel suites share (POSIX sh: busybox's in
# the VM suite's initramfs, dash in the libvirt suite's root): the device
# as sysfs shows it, running the CLI with its output in LOG lines, the
# scenario bookkeeping that prints one line per scenario
#   RESULT <name>: OK <detail>   or   RESULT <name>: FAIL <why>
# and the coldplug udev would do. Sourced by tests/vm/init.sh and
# tests/libvirt/vm-scenarios.sh; VV, STATE and CMD_TIMEOUT may be set first.

VV=${VV:-/usr/bin/vfio-variant}
PCI=/sys/bus/pci/devices
STATE=${STATE:-/run/vfio-variant}
CMD_TIMEOUT=${CMD_TIMEOUT:-120}

log() { echo "LOG $*"; }

# ---- the device as sysfs shows it --------------------------------------

drv() {
	if [ -e "$PCI/$1/driver" ]; then basename "$(readlink "$PCI/$1/driver")"; else echo none; fi
}
override() { cat "$PCI/$1/driver_override"; }
group_of() { basename "$(readlink "$PCI/$1/iommu_group")"; }
has_vfio_dev() { [ -d "$PCI/$1/vfio-dev" ] && [ -n "$(ls "$PCI/$1/vfio-dev")" ]; }
module_loaded() { [ -d "/sys/module/$1" ]; }
record_of() { echo "$STATE/devices/$1.conf"; }

# Everything a binding command could change: every device's driver,
# override and vfio-dev, the loaded modules, /dev/vfio, the state directory.
snapshot() {
	for dir in "$PCI"/*; do
		bdf=${dir##*/}
		echo "$bdf driver=$(drv "$bdf") override=$(override "$bdf") vfio-dev=$(ls "$dir/vfio-dev" 2>/dev/null)"
	done
	echo "modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
	echo "dev/vfio: $(ls /dev/vfio 2>/dev/null | tr '\n' ' ')"
	find "$STATE" 2>/dev/null | sort | while read -r f; do
		if [ -f "$f" ]; then echo "$f $(md5sum <"$f")"; else echo "$f"; fi
	done
}

# ---- running the CLI ----------------------------------------------------

# vv ARGS...: run the CLI in a new process; its exit status in RC, its
# output in /tmp/out and /tmp/err (and in LOG lines).
vv() {
	timeout -s KILL "$CMD_TIMEOUT" "$VV" "$@" >/tmp/out 2>/tmp/err
	RC=$?
	log "\$ vfio-variant $* -> exit $RC"
	sed 's/^/LOG   | /' /tmp/out /tmp/err
}

# vv_timed ARGS...: the same, its wall time in microseconds in US.
vv_timed() {
	timeout -s KILL "$CMD_TIMEOUT" vv-timeit /tmp/us "$VV" "$@" >/tmp/out 2>/tmp/err
	RC=$?
	US=$(cat /tmp/us 2>/dev/null || echo 0)
	log "\$ vfio-variant $* -> exit $RC ($US us)"
	sed 's/^/LOG   | /' /tmp/out /tmp/err
}

out_has() { grep -q -- "$1" /tmp/out; }
err_has() { grep -q -- "$1" /tmp/err; }
both_have() { cat /tmp/out /tmp/err | grep -q -- "$1"; }

# ---- scenarios ----------------------------------------------------------

# Set when a scenario fails (the caller shows the kernel log then).
# shellcheck disable=SC2034
ANY_FAIL=0

# begin NAME; check WHAT COMMAND...; ...; end [DETAIL]
begin() { SCENARIO=$1; WHY=; log "== $SCENARIO"; }
check() {
	what=$1
	shift
	if ! "$@"; then
		WHY="${WHY:+$WHY; }$what"
		log "   check failed: $what"
	fi
}
end() {
	if [ -z "$WHY" ]; then
		echo "RESULT $SCENARIO: OK${1:+ $1}"
	else
		echo "RESULT $SCENARIO: FAIL $WHY"
		ANY_FAIL=1
	fi
}

is() { [ "$1" = "$2" ]; }
isnt() { [ "$1" != "$2" ]; }
rc_is() { [ "$RC" = "$1" ]; }
no_record() { [ ! -e "$(record_of "$1")" ]; }
has_record() { [ -e "$(record_of "$1")" ]; }
dev_vfio_group() { [ -c "/dev/vfio/$(group_of "$1")" ]; }

# Time in ms with one decimal, from microseconds.
ms() {
	if [ "$1" -lt 0 ]; then echo "-$(ms $((-$1)))"; else echo "$(($1 / 1000)).$(($1 % 1000 / 100))"; fi
}

# ---- coldplug: what udev would do at boot --------------------------------

# Load the native drivers of the devices present (twice: virtio_pci
# creates the virtio device that virtio_net serves).
coldplug() {
	for _ in 1 2; do
		# shellcheck disable=SC2046
		/sbin/modprobe -q -a $(find /sys/devices -name modalias -exec cat {} + 2>/dev/null | sort -u) 2>/dev/null
	done
	read -r uptime _ </proc/uptime
	echo "FIGURE boot: native drivers loaded at ${uptime} s (guest clock)"
	log "devices: $(for d in "$PCI"/*; do b=${d##*/}; printf '%s=%s[g%s] ' "$b" "$(drv "$b")" "$(group_of "$b" 2>/dev/null)"; done)"
}
