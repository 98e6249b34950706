#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The trixie suite's libvirt part: Debian 13's libvirtd 11.3 and QEMU 10
# in a VM that boots Debian 13's kernel 6.12, with vfio-variant's
# nodedev-* commands and its qemu hook, nested TCG guests, one TAP line
# per scenario (vm-trixie-libvirt.sh says what each proves).
#
#   run-trixie-libvirt.sh CLI HOOK HELPER_DIR SRCROOT BUILDROOT CACHE WORKDIR
#
# CLI and HOOK are the build's vfio-variant and vfio-variant-hook (built on
# Debian 12, run unchanged on trixie's libraries, with the build's
# libvfio-variant.so through their run path); HELPER_DIR holds vv-timeit and vv-uevents;
# SRCROOT and BUILDROOT are shared READ-ONLY into the VM at their own
# paths. CACHE (VV_TRIXIE_CACHE overrides it) is where
# tests/trixie/trixie-fetch.sh (the kernel, its modules, virtio_vfio_pci
# and the test variant) and tests/trixie/trixie-root.sh (the trixie root)
# keep what they fetch and build; both are called here and are cached.
# WORKDIR is scratch space, rebuilt each run.
#
# The VM: the initramfs of tests/vm/mkinitramfs.sh (the 6.12 modules of
# CACHE/kernel, its whole depmod index), whose /init (tests/libvirt/
# vm-init.sh) puts the trixie root, READ-ONLY over virtio-9p, under a tmpfs
# overlay, mounts the source and build trees, and switch_roots into it.
#
# VV_SYSCONFDIR is the build's sysconfdir (where the hook reads its policy).
# VV_TRIXIE_HOOK_LIBVIRT_VERSION=X.Y.Z runs the hook as
# `vfio-variant-hook --libvirt-version X.Y.Z`: with 9.0.0 the scenarios that
# require zero driver changes must fail (the proof is not blind).
# QEMU's capabilities, as libvirtd 11.3 probed them, are kept in
# VV_QEMU_CAPS_DIR (default WORKDIR.qemu-caps) between boots.
#
# Nothing here touches this machine's devices: every bind happens in the
# guest, and the shares are read-only but for the capabilities cache.
# shellcheck disable=SC2154 # the arguments' variables: vm_args binds them
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/vm-lib.sh
. "$here/../vm/vm-lib.sh"

vm_args "run-trixie-libvirt.sh CLI HOOK HELPER_DIR SRCROOT BUILDROOT CACHE WORKDIR" "$@"
cache=${VV_TRIXIE_CACHE:-$cache}
timeout_s=${VV_VM_TIMEOUT:-600}

# The scenarios vm-trixie-libvirt.sh reports, in order.
scenarios=(libvirtd nodedev-detach unmanaged-variant managed-same nodedev-reattach virsh-reattach
	managed-glob managed-modprobe-alias blacklisted model-vfio-pci policy-generic libvirt-pick)

t_start=$(vm_now)

# ---- prerequisites, then the cached fetch and root ---------------------------

vm_missing_qemu
command -v mmdebstrap >/dev/null || VM_MISSING+=("mmdebstrap")
vm_skip_if_missing "trixie libvirt suite" "mmdebstrap qemu-system-x86 busybox-static kmod cpio" ||
	exit "$VM_SKIP_STATUS"

rm -rf "$work"
mkdir -p "$work" "$cache"
# CACHE/kernel is read under CACHE/.lock held shared until the initramfs is
# built (vm_trixie_fetch), CACHE/libvirt-root under CACHE/.root-lock held
# shared until the VM is off: a run sharing the cache (VV_TRIXIE_CACHE) with
# another recipe rebuilds the root under the lock held exclusively. A build
# that another rebuild overtook is repeated (tests/trixie/README.md).
vm_trixie_fetch "$cache" "$VM_LIB_DIR/vv-test-variant" "$work"
fetch_status=$VM_FETCH_STATUS
root_status=0
if [ "$fetch_status" = 0 ]; then
	for _ in 1 2 3; do
		root_status=0
		"$here/trixie-root.sh" "$cache" >"$work/root.out" 2>"$work/root.err" || root_status=$?
		[ "$root_status" = 0 ] || break
		exec 7<"$cache/.root-lock"
		flock -s 7
		[ "# trixie-root: ready $(cat "$cache/libvirt-root/stamp" 2>/dev/null)" = "$(tail -n 1 "$work/root.out")" ] && break
		exec 7<&-
	done
fi
if [ "$fetch_status" = 77 ] || [ "$root_status" = 3 ]; then
	VM_MISSING=("$(cat "$work/fetch.err" "$work/root.err" 2>/dev/null | tail -n 1)")
	vm_skip_if_missing "trixie libvirt suite" "mmdebstrap debian-archive-keyring" || exit "$VM_SKIP_STATUS"
fi
if [ "$fetch_status" != 0 ] || [ "$root_status" != 0 ]; then
	sed 's/^/# /' "$work/fetch.err" "$work/root.err" 2>/dev/null
	echo "Bail out! the trixie kernel or root could not be fetched or built (trixie-fetch.sh $fetch_status, trixie-root.sh $root_status)"
	exit 1
fi
fetch_figures=$(cat "$work/fetch.out" "$work/root.out")
root=$cache/libvirt-root/root
VM_KVER=$(cat "$cache/kernel/kver")
cp "$cache/kernel/vmlinuz" "$work/vmlinuz"
VM_KERNEL=$work/vmlinuz

echo "1..$((${#scenarios[@]} + 1))"
echo "# kernel $VM_KVER (trixie), $(tr '\n' ' ' <"$cache/libvirt-root/versions"), work directory $work, cache $cache"
[ -n "${VV_TRIXIE_HOOK_LIBVIRT_VERSION:-}" ] &&
	echo "# the hook runs as vfio-variant-hook --libvirt-version $VV_TRIXIE_HOOK_LIBVIRT_VERSION"

# ---- the VM: devices, shares, the initramfs --------------------------------------

vm_write_conf "$work/vv-vm.conf"
shares="vvsrc:$srcroot"
# shellcheck disable=SC2054 # commas separate QEMU properties
share_args=(-fsdev "local,id=vvsrc,path=$srcroot,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=vvsrc,mount_tag=vvsrc,addr=0d.0)
case $buildroot/ in
"$srcroot"/*) ;;
*)
	shares="$shares vvbuild:$buildroot"
	# shellcheck disable=SC2054 # commas separate QEMU properties
	share_args+=(-fsdev "local,id=vvbuild,path=$buildroot,security_model=none,readonly=on,multidevs=remap"
		-device virtio-9p-pci,fsdev=vvbuild,mount_tag=vvbuild,addr=0e.0)
	;;
esac
cat >>"$work/vv-vm.conf" <<EOF
VIRTIO_RNG=0000:00:0c.0
STAGE2=$here/vm-trixie-libvirt.sh
VV_CLI=$cli
VV_HOOK=$hook
VV_SYSCONFDIR=${VV_SYSCONFDIR:-/usr/local/etc}
HELPER_DIR=$helper_dir
HOOK_LIBVIRT_VERSION=${VV_TRIXIE_HOOK_LIBVIRT_VERSION:-}
SHARES="$shares"
EOF
vm_libvirt_share "$work/vv-vm.conf" "${VV_QEMU_CAPS_DIR:-$work.qemu-caps}" "$root"

vm_initramfs "$work" --kver "$VM_KVER" --moddir "$cache/kernel/root" --full-index \
	--modules "vfio_pci vfio_iommu_type1 e1000 e1000e virtio_net 9p 9pnet_virtio overlay virtio_vfio_pci vv_test_vfio_pci" \
	--no-cli --init "$VM_LIBVIRT_DIR/vm-init.sh" --conf "$work/vv-vm.conf"
exec 8<&- # CACHE/kernel is not read any more

# ---- boot: the trixie root read-only over virtio-9p; memory for libvirtd and guests ----

serial=$work/serial.log
vm_boot "$serial" "$timeout_s" 2048 "$work/initrd.cpio" "${VM_LIBVIRT_ARGS[@]}" "${share_args[@]}" \
	-device virtio-rng-pci,disable-legacy=on,addr=0c.0
exec 7<&- # nor the root
vm_report "$serial" "$timeout_s" "${scenarios[@]}"

echo "$fetch_figures" | grep '^# FIGURE'
vm_finish "$serial" "$t_start" "initramfs $(vm_secs "$VM_T_INITRD") s"
