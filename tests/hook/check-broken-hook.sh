#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The hook's proof must be able to fail: run it (run-vm-hook.sh, the same
# VM, libvirtd 9.0 and nested guests) with a deliberately broken hook, one
# that acts at 'prepare begin' instead of 'start begin', and require that
# it catches the break. The broken hook is a wrapper around the real one,
# written here: at 'prepare begin' it runs the real hook's 'prepare begin'
# and then its 'start begin' (when libvirt has not yet detached the
# hostdevs); at 'start begin' it does nothing; the other stages pass
# through. libvirt 9.0 then binds vfio-pci after the hook's move and the
# guest runs on vfio-pci, not on the variant. Prints TAP:
#   check-broken-hook.sh CLI LIBDIR MODULE_SRC HOOK TIMEIT WORKDIR
set -uo pipefail

if [ $# -ne 6 ]; then
	echo "usage: check-broken-hook.sh CLI LIBDIR MODULE_SRC HOOK TIMEIT WORKDIR" >&2
	exit 2
fi
hook=$(readlink -f "$4")
work=$6
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$work"
broken=$(readlink -f "$work")/vfio-variant-hook-at-prepare
# libvirt runs it as qemu.d/vfio-variant DOMAIN OPERATION SUBOP EXTRA; the
# real hook run by its own name takes "qemu DOMAIN OPERATION SUBOP EXTRA".
cat >"$broken" <<EOF
#!/bin/sh
# BROKEN on purpose (tests/hook/check-broken-hook.sh): acts at 'prepare
# begin' what belongs to 'start begin'.
xml=\$(cat)
case "\$2 \$3" in
"prepare begin")
	printf '%s' "\$xml" | "$hook" qemu "\$1" prepare begin "\$4" || exit 1
	printf '%s' "\$xml" | "$hook" qemu "\$1" start begin "\$4" ;;
"start begin")
	exit 0 ;;
*)
	printf '%s' "\$xml" | "$hook" qemu "\$1" "\$2" "\$3" "\$4" ;;
esac
EOF
chmod +x "$broken"

tap=$work/suite.tap
"$here/run-vm-hook.sh" "$1" "$2" "$3" "$broken" "$5" "$work/vm" >"$tap" 2>"$work/suite.err"
status=$?
sed 's/^/# broken hook: /' "$tap"

echo "1..3"
n=0 failed=0
tap_line() { # OK|NOT_OK LABEL
	n=$((n + 1))
	if [ "$1" = OK ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
if [ "$status" -ne 0 ]; then tap_line OK "the suite fails with the broken hook (exit $status)"
else tap_line NOT_OK "the suite passed with a hook that acts at prepare begin"; fi
# The failure is the break, not a VM that did not come up.
if grep -q '^ok [0-9]* - libvirtd-hook' "$tap"; then tap_line OK "libvirtd 9.0 came up with the broken hook"
else tap_line NOT_OK "libvirtd did not come up: the check proves nothing"; fi
if grep -q "^not ok [0-9]* - managed-virt-xml:.*driver is vfio-pci while the guest runs" "$tap"; then
	tap_line OK "managed-virt-xml caught it: the guest ran on vfio-pci"
else
	tap_line NOT_OK "managed-virt-xml did not fail on the driver the guest ran on"
fi
[ "$failed" -eq 0 ]
