#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The VM suite: binds real VFIO drivers, the test variant among them, on
# Debian's kernel under QEMU (TCG, emulated Intel IOMMU), with the CLI as a
# user runs it. Prints TAP for meson (protocol 'tap'):
#   run-vm.sh CLI LIBDIR MODULE_SRC OPEN_CHECK TIMEIT KILL_AFTER WORKDIR
# CLI the vfio-variant binary, LIBDIR the directory of libvfio-variant.so,
# MODULE_SRC the test module's sources (vv-test-variant/), OPEN_CHECK and
# TIMEIT the helper programs, KILL_AFTER the vv-kill-after.so preload,
# WORKDIR scratch space (rebuilt each run).
#
# Nothing here touches this machine's devices: every sysfs write happens in
# the guest. QEMU runs as the calling user; KVM is never used.
#
# Prerequisites missing: on CI (CI=true) a failure; otherwise a skip with
# one line saying what to install.
#
# Environment: VV_VM_TIMEOUT (seconds, default 300) bounds the boot.
# shellcheck disable=SC2154 # the arguments' variables: vm_args binds them
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/vm-lib.sh
. "$here/vm-lib.sh"

vm_args "run-vm.sh CLI LIBDIR MODULE_SRC OPEN_CHECK TIMEIT KILL_AFTER WORKDIR" "$@"
timeout_s=${VV_VM_TIMEOUT:-300}

# The scenarios init.sh reports, in order: each must print one RESULT line.
scenarios=(list explain detach-e1000e vfio-open-e1000e dry-run reattach-e1000e
	fallback-detach fallback-reattach group-refused group-both
	recover-killed-detach native-module-unloaded)

t_start=$(vm_now)

# ---- prerequisites ------------------------------------------------------------

vm_missing_base
vm_skip_if_missing "VM suite" "qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static kmod cpio build-essential" ||
	exit "$VM_SKIP_STATUS"
kver=$VM_KVER

echo "1..$((${#scenarios[@]} + 2))"
rm -rf "$work"
mkdir -p "$work"
echo "# kernel $kver, QEMU $(qemu-system-x86_64 --version | head -n 1), work directory $work"

# ---- the test variant driver, built against the Debian kernel's headers ------------

vm_build_module "$module_src" "$work"

# ---- the VM's devices and initramfs ---------------------------------------------

vm_write_conf "$work/vv-vm.conf"
vm_initramfs "$work" --kver "$kver" --cli "$cli" --libdir "$libdir" --module "$VM_KO" \
	--init "$here/init.sh" --conf "$work/vv-vm.conf" \
	--helper "$open_check" --helper "$timeit" --helper "$here/vv-guest-lib.sh" --preload "$kill_after"

# ---- boot: one boot runs every scenario ----------------------------------------------

serial=$work/serial.log
vm_boot "$serial" "$timeout_s" 512 "$work/initrd.cpio"
vm_report "$serial" "$timeout_s" "${scenarios[@]}"

# ---- figures -------------------------------------------------------------------------------

vm_finish "$serial" "$t_start" \
	"test module build $(vm_secs "$VM_T_MODULE") s, initramfs $(vm_secs "$VM_T_INITRD") s ($(($(stat -c %s "$work/initrd.cpio") / 1048576)) MiB)"
