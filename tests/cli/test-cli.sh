#!/bin/bash
# The CLI as a user runs it, on the fixture hosts: exit status, stderr, and
# stdout against golden files. One labelled case per line of the table.
# VV_CLI_WRAPPER (e.g. valgrind) is put before each run of the CLI.
# VV_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
# Usage: test-cli.sh VFIO_VARIANT HOSTS_DIR GOLDEN_DIR
set -u
cli=$1 hosts=$2 golden=$3
export LC_ALL=C

# label | expected exit | golden file ('-' for none) | stderr must contain | args...
cases=(
	"demo list|0|demo-list.txt||--sysroot $hosts/demo list"
	"demo explain ConnectX VF|0|demo-explain-vf.txt||--sysroot $hosts/demo explain 0000:01:00.2"
	"demo explain xe GPU|0|demo-explain-xe.txt||--sysroot $hosts/demo explain 03:00.0"
	"demo explain blacklisted QAT variant|0|demo-explain-qat.txt||--sysroot $hosts/demo explain pci_0000_6b_00_1"
	"demo explain PF with VFs|1|demo-explain-pf.txt||--sysroot $hosts/demo explain 0000:01:00.0"
	"demo explain bridge|1|demo-explain-bridge.txt||--sysroot $hosts/demo explain 0000:00:1c.0"
	"demo explain no IOMMU group|1|demo-explain-nogroup.txt||--sysroot $hosts/demo explain 0000:00:1f.4"
	"demo explain --xml GH200|0|demo-explain-gh200.xml||--sysroot $hosts/demo explain --xml 0000:05:00.0"
	"rules explain tie|0|rules-explain-tie.txt||--sysroot $hosts/rules explain 0000:00:06.0"
	"rules explain group blocker|0|rules-explain-blocker.txt||--sysroot $hosts/rules explain 0000:02:00.0"
	"rules explain glob libvirt compares literally|0|rules-explain-iface.txt||--sysroot $hosts/rules explain 0000:00:01.0"
	"libvirt-pick explain tie libvirt breaks by line|0|libvirt-pick-explain-tie.txt||--sysroot $hosts/libvirt-pick explain 0000:00:11.0"
	"libvirt-pick explain --xml tie|0|libvirt-pick-explain-tie.xml||--sysroot $hosts/libvirt-pick explain --xml 0000:00:11.0"
	"libvirt-pick explain virtio-net, the same|0|libvirt-pick-explain-virtio.txt||--sysroot $hosts/libvirt-pick explain 0000:00:03.0"
	"no match|1|-|| --sysroot $hosts/no-vfio explain 0000:00:03.0"
	"path trick rejected before reading the host|2|-|is not a PCI device name|--sysroot /nonexistent explain ../../etc"
	"overlong name|2|-|an overlong name|--sysroot $hosts/demo explain 0000000000000000000000000000000000000000000000000000000000000000000:00:00.0"
	"unknown device|2|-|There is no PCI device 0000:7f:00.0|--sysroot $hosts/demo explain 7f:00.0"
	"missing sysroot|2|-|has no sys/bus/pci directory|--sysroot /nonexistent list"
	"missing indexes|2|-|has no modules.alias.bin|--sysroot $hosts/demo --modules-dir $hosts/demo/sys list"
	"unknown command|2|-|'frob' is not a command|frob"
	"no command|2|-|A command is required|"
	"explain without device|2|-|takes exactly one device|--sysroot $hosts/demo explain"
	"list with extra argument|2|-|takes no arguments|--sysroot $hosts/demo list extra"
	"unknown option|2|-|Unknown option|--sysroot $hosts/demo explain --frob 01:00.2"
	"global option after the command|0|demo-list.txt||list --sysroot $hosts/demo"
	"-c before the command, as virsh takes it|0|demo-list.txt||-c test:///default --sysroot $hosts/demo list"
	"--connect after the command|0|demo-list.txt||list --connect test:///default --sysroot $hosts/demo"
	"mistyped command suggested|2|-|'lsit' is not a command. Did you mean 'list'?|lsit"
	"far command not suggested|2|-|'frobnicate' is not a command.|frobnicate"
	"mistyped option suggested|2|-|did you mean '--driver'?|--sysroot $hosts/demo detach --drvier vfio-pci 01:00.2"
	"mistyped global option suggested|2|-|did you mean '--sysroot'?|--sysrot $hosts/demo list"
	"usage names the command|2|-|Run 'vfio-variant help explain'|--sysroot $hosts/demo explain"
	"help lists the commands|0|-||help"
	"help of a mistyped command|2|-|Did you mean 'detach'?|help detahc"
	"help takes one command|2|-|takes at most one command|help list explain"
	"--version after the command|2|-|--version goes before the command|list --version"
)

# -c/--connect reaches a libvirt command from either side of it: libvirt's
# test driver names the file of the URI it was given.
if [ "${VV_WITH_LIBVIRT:-1}" = 1 ]; then
	cases+=(
		"-c before nodedev-list reaches it|2|-|/vv-no-such-file.xml|-c test:///vv-no-such-file.xml nodedev-list"
		"--connect after nodedev-list reaches it|2|-|/vv-no-such-file.xml|nodedev-list --connect test:///vv-no-such-file.xml"
		"-c test:///default nodedev-list|0|-||-c test:///default --sysroot $hosts/demo nodedev-list"
	)
fi

n=0 failed=0
echo "1..${#cases[@]}"
for entry in "${cases[@]}"; do
	IFS='|' read -r label want_status golden_file want_stderr args <<<"$entry"
	n=$((n + 1))
	out=$(mktemp) err=$(mktemp)
	# shellcheck disable=SC2086
	${VV_CLI_WRAPPER:-} "$cli" $args >"$out" 2>"$err"
	status=$?
	problem=""
	[ "$status" -eq "$want_status" ] || problem="exit status $status, expected $want_status"
	if [ -z "$problem" ] && [ -n "$want_stderr" ] && ! grep -qF -- "$want_stderr" "$err"; then
		problem="stderr lacks '$want_stderr': $(cat "$err")"
	fi
	if [ -z "$problem" ] && [ "$golden_file" != "-" ]; then
		# Golden files name the fixture directory HOSTS.
		sed -i "s|$hosts|HOSTS|g" "$out"
		if [ "${VV_UPDATE_GOLDEN:-}" = 1 ]; then
			cp "$out" "$golden/$golden_file"
		elif ! diff -u "$golden/$golden_file" "$out" >"$err.diff"; then
			problem="output differs from $golden_file:
$(cat "$err.diff")"
		fi
	fi
	if [ -z "$problem" ]; then
		echo "ok $n - $label"
	else
		echo "not ok $n - $label"
		printf '%s\n' "$problem" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
	rm -f "$out" "$err" "$err.diff"
done
[ "$failed" -eq 0 ]
