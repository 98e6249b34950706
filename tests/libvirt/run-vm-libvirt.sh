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
# shellcheck disable=SC2154 # the arguments' variables: vm_args binds them
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/vm-lib.sh
. "$here/../vm/vm-lib.sh"

vm_args "run-vm-libvirt.sh CLI LIBDIR MODULE_SRC VALIDATOR TIMEIT WORKDIR" "$@"
timeout_s=${VV_VM_TIMEOUT:-300}

# The scenarios vm-scenarios.sh reports, in order.
scenarios=(libvirtd nodedev-list nodedev-dumpxml-all nodedev-detach nodedev-dumpxml libvirt-knows
	virsh-reattach nodedev-reattach nodedev-reattach-repairs refused errors)

t_start=$(vm_now)

# ---- prerequisites ------------------------------------------------------------

vm_missing_base
vm_missing_libvirt
[ -r "${VV_LIBVIRT_NODEDEV_RNG:-}" ] || VM_MISSING+=("libvirt's nodedev.rng (libvirt0)")
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
VV_CLI=$cli
VALIDATOR=$validator
HELPER_DIR=$(dirname "$timeit")
SCHEMA_DIR=$(readlink -f "$VV_SCHEMA_DIR")
NODEDEV_RNG=$(readlink -f "$VV_LIBVIRT_NODEDEV_RNG")
EOF
vm_libvirt_share "$work/vv-vm.conf" "${VV_QEMU_CAPS_DIR:-$work.qemu-caps}"
vm_initramfs "$work" --kver "$VM_KVER" --cli "$cli" --libdir "$libdir" --module "$VM_KO" \
	--init "$here/vm-init.sh" --conf "$work/vv-vm.conf"

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

vm_finish "$serial" "$t_start" "test module build $(vm_secs "$VM_T_MODULE") s, initramfs $(vm_secs "$VM_T_INITRD") s"
