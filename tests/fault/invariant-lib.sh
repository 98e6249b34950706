# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # $root and $sys come from sim-lib.sh; $state* go to the caller
#
# The promise both the fault-injection suite (tests/fault) and the race
# suite (tests/race) check after every run, on a host copy made by
# tests/sim-lib.sh ($root, $sys): a device is on its native driver with no
# record, or on a VFIO driver with a complete record of that driver, and
# never without a driver when it had one. Sourced after sim-lib.sh.

# state_of BDF NATIVE: the device's state as one word, in $state, with the
# details in $state_detail:
#   native         on NATIVE, no record (NATIVE "" : no driver, no record)
#   vfio:DRV       on VFIO driver DRV (vfio-dev/ present), record step=verified driver=DRV
#   libvirt:DRV    on VFIO driver DRV without any record (libvirt's own managed detach)
#   native+record  on NATIVE with a complete record (the hook between libvirt's
#                  reattach and 'release end')
#   pending:DRV    a record of an operation cut short (step other than
#                  verified), the device on DRV ("" none): what recover settles
#   driverless     no driver and no record, though NATIVE is a driver
#   bad:...        anything else (a record naming another driver, a record
#                  without step, a complete record whose original-driver is
#                  not NATIVE: the next reattach would get it wrong ...)
state_of() {
	local bdf=$1 native=$2 drv rec step="" rdrv="" orig="" key value
	# Builtins but one readlink: the race suite calls this hundreds of times.
	drv=$(readlink "$sys/devices/$bdf/driver")
	drv=${drv##*/}
	rec=$root/run/vfio-variant/devices/$bdf.conf
	if [ -e "$rec" ] || [ -L "$rec" ]; then
		while IFS='=' read -r key value; do
			case $key in
			step) step=${step:-$value} ;;
			driver) rdrv=${rdrv:-$value} ;;
			original-driver) orig=${orig:-$value} ;;
			esac
		done <"$rec" 2>/dev/null
		[ -n "$step" ] || step="(none)"
	fi
	if [ -n "$step" ]; then
		state_detail="driver '$drv', record step=$step driver=$rdrv original-driver=$orig"
	else
		state_detail="driver '$drv', no record"
	fi
	if [ -n "$step" ] && [ "$step" != verified ] && [ "$step" != "(none)" ]; then
		state="pending:$drv"
	elif [ -z "$drv" ] && [ -z "$step" ]; then
		if [ -n "$native" ]; then state=driverless; else state=native; fi
	elif [ "$drv" = "$native" ] && [ -z "$step" ]; then
		state=native
	elif [ "$drv" = "$native" ] && [ "$step" = verified ]; then
		state="native+record"
	elif [ -n "$drv" ] && [ -d "$sys/devices/$bdf/vfio-dev" ] && [ -z "$step" ]; then
		state="libvirt:$drv"
	elif [ -n "$drv" ] && [ -d "$sys/devices/$bdf/vfio-dev" ] && [ "$step" = verified ] && [ "$rdrv" = "$drv" ] &&
		[ "$orig" = "$native" ]; then
		state="vfio:$drv"
	else
		state="bad:$drv"
	fi
}

# An operating system error as the C library words it, to find in a message.
# (glibc's strerror; only the errnos the suites inject.)
errno_text() {
	case $1 in
	EIO) echo "Input/output error" ;;
	ENOSPC) echo "No space left on device" ;;
	ENODEV) echo "No such device" ;;
	EBUSY) echo "Device or resource busy" ;;
	*) echo "$1" ;;
	esac
}

# one_hostdev_domain FILE UUID: the domain vm1 with one managed hostdev,
# 0000:00:01.0, as libvirt hands it to the qemu hook.
one_hostdev_domain() {
	cat >"$1" <<-EOF
	<domain type='qemu'>
	  <name>vm1</name>
	  <uuid>$2</uuid>
	  <memory unit='KiB'>131072</memory>
	  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
	  <devices>
	    <hostdev mode='subsystem' type='pci' managed='yes'>
	      <source><address domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></source>
	    </hostdev>
	  </devices>
	</domain>
	EOF
}
