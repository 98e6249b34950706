#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The qemu hook's proof: Debian's libvirtd 9.0 inside the real-kernel VM,
# with vfio-variant-hook installed as /etc/libvirt/hooks/qemu.d/vfio-variant,
# starting nested QEMU guests (TCG) whose hostdev virt-xml added. Built on
# the libvirt suite's VM (tests/libvirt/README.md): the same kernel,
# devices and test variant, this machine's root shared READ-ONLY over
# virtio-9p under a tmpfs overlay (tests/libvirt/vm-init.sh), and here
# tests/hook/vm-hook-scenarios.sh as the scenario script. Prints TAP:
#   run-vm-hook.sh CLI LIBDIR MODULE_SRC HOOK TIMEIT WORKDIR
# HOOK is the vfio-variant-hook to install in the VM (give a deliberately
# broken one to see the suite fail). VV_SYSCONFDIR is the build's
# sysconfdir (where the hook reads its policy). Paths in the VM are the
# host's: the build tree is read where it is.
#
# Nothing here touches this machine's devices or its /etc/libvirt: every
# bind happens in the guest, every write lands in the overlay's tmpfs.
# KVM is never used.
# shellcheck disable=SC2154 # the arguments' variables: vm_args binds them
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/vm-lib.sh
. "$here/../vm/vm-lib.sh"

vm_args "run-vm-hook.sh CLI LIBDIR MODULE_SRC HOOK TIMEIT WORKDIR" "$@"
timeout_s=${VV_VM_TIMEOUT:-600}

# The scenarios vm-hook-scenarios.sh reports, in order.
scenarios=(libvirtd-hook managed-virt-xml model-vfio-pci policy-generic refused-fallback refused-strict
	unmanaged-nodedev-detach-restart unmanaged-virsh-detach no-hostdev)

t_start=$(vm_now)

vm_missing_base
vm_missing_libvirt
command -v virt-xml >/dev/null || VM_MISSING+=("virt-xml (virtinst)")
vm_skip_if_missing "libvirt hook VM suite" "libvirt-daemon-system libvirt-clients virtinst qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static kmod cpio build-essential" ||
	exit "$VM_SKIP_STATUS"

echo "1..$((${#scenarios[@]} + 2))"
rm -rf "$work"
mkdir -p "$work"
echo "# kernel $VM_KVER, QEMU $(qemu-system-x86_64 --version | head -n 1), $(libvirtd --version), virt-xml $(virt-xml --version), hook $hook"

vm_build_module "$module_src" "$work"

vm_write_conf "$work/vv-vm.conf"
cat >>"$work/vv-vm.conf" <<EOF
STAGE2=$here/vm-hook-scenarios.sh
VV_CLI=$cli
VV_HOOK=$hook
VV_SYSCONFDIR=${VV_SYSCONFDIR:-/usr/local/etc}
HELPER_DIR=$(dirname "$timeit")
EOF
vm_libvirt_share "$work/vv-vm.conf" "${VV_QEMU_CAPS_DIR:-$work.qemu-caps}"
vm_initramfs "$work" --kver "$VM_KVER" --cli "$cli" --libdir "$libdir" --module "$VM_KO" \
	--init "$VM_LIBVIRT_DIR/vm-init.sh" --conf "$work/vv-vm.conf"

serial=$work/serial.log
vm_boot "$serial" "$timeout_s" 1536 "$work/initrd.cpio" "${VM_LIBVIRT_ARGS[@]}"
vm_report "$serial" "$timeout_s" "${scenarios[@]}"

vm_finish "$serial" "$t_start" "test module build $(vm_secs "$VM_T_MODULE") s, initramfs $(vm_secs "$VM_T_INITRD") s"
