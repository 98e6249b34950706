#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The libvirt suite: Debian's own libvirtd 9.0 inside the real-kernel VM,
# and vfio-variant's nodedev-* commands against it. The VM boots Debian's
# kernel with the initramfs of tests/vm/mkinitramfs.sh, whose /init
# (vm-init.sh) mounts this machine's root, shared READ-ONLY over virtio-9p,
# under a tmpfs overlay and switch_roots into it to run vm-scenarios.sh
# with the host's libvirtd, virsh and QEMU (the nested guest is TCG too).
# Prints TAP for meson:
#   run-vm-libvirt.sh CLI LIBDIR MODULE_SRC VALIDATOR TIMEIT WORKDIR
# CLI the vfio-variant binary, LIBDIR the directory of libvfio-variant.so,
# MODULE_SRC the test variant's sources (tests/vm/vv-test-variant),
# VALIDATOR test-nodedev-xml (--validate), TIMEIT vv-timeit, WORKDIR
# scratch space (rebuilt each run). VV_SCHEMA_DIR and
# VV_LIBVIRT_NODEDEV_RNG name the grammars. Paths inside the VM are the
# host's: the build tree is read where it is.
#
# libvirt's node-device XML of every PCI device in the VM (and of e1000e
# detached) lands in WORKDIR/nodedev/, from which tests/nodedev/
# debian12-vm-libvirt9-*.xml were taken.
#
# Nothing here touches this machine's devices: every detach happens in the
# guest, and the share is read-only. KVM is never used.
#
# Prerequisites missing: on CI (CI=true) a failure; otherwise a skip with
# one line saying what to install. VV_VM_TIMEOUT (seconds, default 300)
# bounds the boot.
set -uo pipefail

if [ $# -ne 6 ]; then
	echo "usage: run-vm-libvirt.sh CLI LIBDIR MODULE_SRC VALIDATOR TIMEIT WORKDIR" >&2
	exit 2
fi
cli=$(readlink -f "$1")
libdir=$(readlink -f "$2")
module_src=$(readlink -f "$3")
validator=$(readlink -f "$4")
timeit=$(readlink -f "$5")
work=$6
here=$(cd "$(dirname "$0")" && pwd)
vm_dir=$(cd "$here/../vm" && pwd)
timeout_s=${VV_VM_TIMEOUT:-300}

# shellcheck source=tests/vm/vm-lib.sh
. "$vm_dir/vm-lib.sh"

# The scenarios vm-scenarios.sh reports, in order.
scenarios=(libvirtd nodedev-list nodedev-dumpxml-all nodedev-detach nodedev-dumpxml libvirt-knows
	virsh-reattach nodedev-reattach nodedev-reattach-repairs refused errors)

t_start=$(vm_now)

# ---- prerequisites ------------------------------------------------------------

vm_missing_base
command -v libvirtd >/dev/null || VM_MISSING+=("libvirtd (libvirt-daemon-system)")
command -v virsh >/dev/null || VM_MISSING+=("virsh (libvirt-clients)")
[ -r "${VV_LIBVIRT_NODEDEV_RNG:-}" ] || VM_MISSING+=("libvirt's nodedev.rng (libvirt0)")
[ -r /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] ||
	VM_MISSING+=("libvirt's QEMU driver (libvirt-daemon-driver-qemu)")
vm_skip_if_missing "libvirt VM suite" "libvirt-daemon-system libvirt-clients qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static kmod cpio build-essential" ||
	exit "$VM_SKIP_STATUS"

echo "1..$((${#scenarios[@]} + 2))"
rm -rf "$work"
mkdir -p "$work/nodedev"
echo "# kernel $VM_KVER, QEMU $(qemu-system-x86_64 --version | head -n 1), $(libvirtd --version), work directory $work"

vm_build_module "$module_src" "$work"

# ---- the VM: its devices, where to find everything on the shared root -------------

vm_write_conf "$work/vv-vm.conf"
cat >>"$work/vv-vm.conf" <<EOF
STAGE2=$here/vm-scenarios.sh
GUEST_LIB=$vm_dir/vv-guest-lib.sh
VV_CLI=$cli
VALIDATOR=$validator
HELPER_DIR=$(dirname "$timeit")
SCHEMA_DIR=$(readlink -f "$VV_SCHEMA_DIR")
NODEDEV_RNG=$(readlink -f "$VV_LIBVIRT_NODEDEV_RNG")
EOF
vm_libvirt_share "$work/vv-vm.conf" "$here" "${VV_QEMU_CAPS_DIR:-$work.qemu-caps}"
t0=$(vm_now)
if ! "$vm_dir/mkinitramfs.sh" --kver "$VM_KVER" --root "$work/root" --out "$work/initrd.cpio" \
	--cli "$cli" --libdir "$libdir" --module "$VM_KO" --init "$here/vm-init.sh" --conf "$work/vv-vm.conf" \
	>"$work/mkinitramfs.log" 2>&1; then
	sed 's/^/# /' "$work/mkinitramfs.log"
	echo "Bail out! the initramfs could not be built"
	exit 1
fi
t_initrd=$(($(vm_now) - t0))

# ---- boot: the host's root read-only over virtio-9p; memory for libvirtd and a guest ----

serial=$work/serial.log
vm_boot "$serial" "$timeout_s" 1536 "$work/initrd.cpio" "${VM_LIBVIRT_ARGS[@]}"
vm_report "$serial" "$timeout_s" "${scenarios[@]}"

# libvirt's documents, one file each.
vm_lines "$serial" | awk -v dir="$work/nodedev" '
	$1 == "NODEDEV-XML" { file = dir "/" $2; line = $0; sub(/^NODEDEV-XML [^ ]+ /, "", line)
		if (line == $0) line = ""; print line > file }'
echo "# libvirt's node-device XML of $(find "$work/nodedev" -name '*.xml' | wc -l) documents in $work/nodedev"

# ---- figures -------------------------------------------------------------------------------

vm_finish "$serial" "$t_start" "test module build $(vm_secs "$VM_T_MODULE") s, initramfs $(vm_secs "$t_initrd") s"
