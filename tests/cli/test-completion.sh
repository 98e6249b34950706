#!/bin/bash
# The bash completion (data/bash-completion/vfio-variant) driven as bash
# drives it: COMP_WORDS and COMP_CWORD set, the function called, COMPREPLY
# compared, on the demo sysroot. One labelled case per line of the table.
# Usage: test-completion.sh VFIO_VARIANT COMPLETION HOSTS_DIR
set -u
cli=$1 completion=$2 hosts=$3
export LC_ALL=C
demo=$hosts/demo
# A sysfs whose directory holds names that are not canonical addresses.
odd=$(mktemp -d)
trap 'rm -rf "$odd"' EXIT
mkdir -p "$odd/sys/bus/pci/devices/0000:00:01.0" "$odd/sys/bus/pci/devices/0000:00:1.0" \
	"$odd/sys/bus/pci/devices/0000:00:02.0 x" "$odd/sys/bus/pci/devices/$(printf '0000:00:03.0\033')"
# shellcheck source=/dev/null
. "$completion"

# label | words (the last is the one being completed; '' for an empty one) | expected COMPREPLY, space-separated
cases=(
	"commands|'' |apply declarations declare detach explain help hook list nodedev-detach nodedev-dumpxml nodedev-list nodedev-reattach reattach recover status undeclare"
	"a command's prefix|nodedev-d|nodedev-detach nodedev-dumpxml"
	"global options before the command|--s|--state-dir --sysroot"
	"a command's options and the global ones|detach --d|--driver --dry-run"
	"devices of the sysroot, after a global option|--sysroot $demo explain 0000:01|0000:01:00.0 0000:01:00.2 0000:01:00.3"
	"devices with the global option after the command|explain --sysroot $demo 0000:0|@DEVICES@"
	"one operand only|--sysroot $demo explain 0000:01:00.2 ''|"
	"--driver: the device's candidates from the module index|--sysroot $demo detach 0000:01:00.2 --driver ''|mlx5_vfio_pci vfio-pci vfio_pci"
	"--driver without a device: every device's|--sysroot $demo detach --driver ''|@DRIVERS@"
	"help's operand is a command|help re|reattach recover"
	"a value of free text offers nothing|-c ''|"
	"a mistyped command offers nothing|lsit ''|"
	"only canonical addresses are offered|--sysroot $odd explain ''|0000:00:01.0"
	"--sysroot offers directories|--sysroot $hosts/de|$hosts/demo"
)

# Every device's candidates, from explain --xml's own answer: what the
# completion must offer for --driver without a device.
all_drivers=$( {
	echo vfio-pci
	for device in $("$cli" __complete --sysroot "$demo" explain ''); do
		"$cli" --sysroot "$demo" explain --xml "$device" 2>/dev/null |
			grep -oE '<candidate [^>]*' | grep -oE '(module|driver)="[^"]*"' | cut -d'"' -f2
	done
} | sort -u | paste -sd' ')

# The sysroot's PCI devices from 0000:00 to 0000:09, as sysfs lists them.
devices=$(find "$demo/sys/bus/pci/devices/" -mindepth 1 -maxdepth 1 -name '0000:0*' -printf '%f\n' | sort | paste -sd' ')
[ -n "$devices" ] || { echo "1..0 # no device in $demo"; exit 1; }

n=0 failed=0
echo "1..${#cases[@]}"
for entry in "${cases[@]}"; do
	IFS='|' read -r label words want <<<"$entry"
	# A build without libvirt neither lists nor completes nodedev-*.
	[ "${VV_WITH_LIBVIRT:-1}" = 1 ] || want=$(tr ' ' '\n' <<<"$want" | grep -v '^nodedev-' | paste -sd' ')
	want=${want//@DRIVERS@/$all_drivers}
	want=${want//@DEVICES@/$devices}
	eval "COMP_WORDS=(\"$cli\" $words)"
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_vfio_variant
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | paste -sd' ')
	n=$((n + 1))
	if [ "$got" = "$want" ]; then
		echo "ok $n - $label"
	else
		echo "not ok $n - $label"
		echo "# want: $want"
		echo "# got:  $got"
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ]
