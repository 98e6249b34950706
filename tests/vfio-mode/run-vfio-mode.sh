#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The vfio-mode suite (issue 13): declarations acted on by Debian's own
# systemd-udevd and by the boot unit, on Debian's kernel in QEMU. The VM
# boots the libvirt suite's way (tests/libvirt/vm-init.sh): this machine's
# root READ-ONLY over virtio-9p under a tmpfs overlay. Its scenario script
# (vm-vfio-mode.sh) copies `meson install --destdir` of this build into the
# overlay (the rule, the unit, the CLI, the library, the hook, where meson
# puts them), mounts a writable 9p share of WORKDIR/etc at the build's
# policy directory, starts systemd-udevd as a daemon and runs its
# scenarios. The VM boots twice with the same /etc. Prints TAP for meson:
#   run-vfio-mode.sh BUILD_ROOT MODULE_SRC WORKDIR
# BUILD_ROOT the build tree to install, MODULE_SRC the test variant's
# sources (tests/vm/vv-test-variant), WORKDIR scratch space (rebuilt each
# run). VV_POLICYDIR is the build's policy directory (prefix/policydir),
# VV_HOOKSDIR libvirt's hooks directory (option hooksdir).
#
# Hot-add: the guest prints "VV-MONITOR device_add ..." and the runner
# passes it to QEMU's monitor (vm-lib.sh's vm_monitor_*).
#
# VV_VFIO_MODE_NO_RULE=1 removes the udev rule from the destdir before the
# boot: the cold-plug and hot-add scenarios must then fail (README.md).
# VV_VFIO_MODE_NO_HOOK=1 removes the qemu hook: guest-stop must then fail
# (Debian's libvirtd 9.0 runs the guest on vfio-pci and its reattach
# leaves the device on e1000e).
#
# Nothing here touches this machine's devices: every bind happens in the
# guest, every write lands in the overlay's tmpfs, in WORKDIR or in the
# QEMU capabilities cache of libvirtd in the VM (VV_QEMU_CAPS_DIR, default
# WORKDIR.qemu-caps, kept between runs). KVM is never used. Prerequisites
# missing: on CI (CI=true) a failure; otherwise a skip with one line saying
# what to install. VV_VM_TIMEOUT (seconds, default 600: boot 1 starts
# libvirtd and a nested guest twice) bounds each boot.
set -uo pipefail

if [ $# -ne 3 ]; then
	echo "usage: run-vfio-mode.sh BUILD_ROOT MODULE_SRC WORKDIR" >&2
	exit 2
fi
build_root=$(readlink -f "$1")
module_src=$(readlink -f "$2")
work=$(readlink -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
vm_dir=$(cd "$here/../vm" && pwd)
libvirt_dir=$(cd "$here/../libvirt" && pwd)
timeout_s=${VV_VM_TIMEOUT:-600}
policydir=${VV_POLICYDIR:-/etc/vfio-variant}
hooksdir=${VV_HOOKSDIR:-/etc/libvirt/hooks}
no_rule=${VV_VFIO_MODE_NO_RULE:-0}
no_hook=${VV_VFIO_MODE_NO_HOOK:-0}

# shellcheck source=tests/vm/vm-lib.sh
. "$vm_dir/vm-lib.sh"

# The scenarios vm-vfio-mode.sh reports, per boot, in order.
boot1=(install udevd cold-plug hot-add sr-iov guest-stop)
boot2=(boot2-etc boot-unit sr-iov-boot2 undeclare sr-iov-pf-key sr-iov-hand-edit)

t_start=$(vm_now)

# ---- prerequisites ------------------------------------------------------------

vm_missing_base
[ -x /lib/systemd/systemd-udevd ] || VM_MISSING+=("/lib/systemd/systemd-udevd (udev)")
[ -z "$VM_KVER" ] || /sbin/modprobe -S "$VM_KVER" --show-depends nvme >/dev/null 2>&1 ||
	VM_MISSING+=("the nvme module of $VM_KVER (linux-image-amd64)")
command -v meson >/dev/null || VM_MISSING+=("meson")
# guest-stop: Debian's libvirtd in the VM runs a nested guest.
command -v libvirtd >/dev/null || VM_MISSING+=("libvirtd (libvirt-daemon-system)")
command -v virsh >/dev/null || VM_MISSING+=("virsh (libvirt-clients)")
[ -r /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] ||
	VM_MISSING+=("libvirt's QEMU driver (libvirt-daemon-driver-qemu)")
vm_skip_if_missing "vfio-mode VM suite" "udev libvirt-daemon-system libvirt-clients qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static kmod cpio build-essential" ||
	exit "$VM_SKIP_STATUS"

echo "1..$((${#boot1[@]} + ${#boot2[@]} + 4))"
rm -rf "$work"
mkdir -p "$work/etc"
echo "# kernel $VM_KVER, QEMU $(qemu-system-x86_64 --version | head -n 1), $(/lib/systemd/systemd-udevd --version | head -n 1 | sed 's/^/systemd-udevd /'), work directory $work"

vm_build_module "$module_src" "$work"

# ---- this build, installed as a package would be --------------------------------

t0=$(vm_now)
destdir=$work/destdir
if meson install -C "$build_root" --no-rebuild --quiet --destdir "$destdir" >"$work/install.log" 2>&1; then
	vm_tap ok "meson install --destdir of $build_root"
else
	sed 's/^/# /' "$work/install.log"
	vm_tap not-ok "meson install --destdir of $build_root"
	echo "Bail out! this build does not install"
	exit 1
fi
rules=$(find "$destdir" -path '*/udev/rules.d/*' -name '*.rules' | sed "s|^$destdir||")
if [ "$no_rule" = 1 ]; then
	find "$destdir" -path '*/udev/rules.d/*' -name '*.rules' -delete
	echo "# VV_VFIO_MODE_NO_RULE=1: the udev rule ($rules) is removed from the destdir: cold-plug and hot-add must fail"
fi
if [ "$no_hook" = 1 ]; then
	rm -f "$destdir$hooksdir/qemu.d/vfio-variant"
	echo "# VV_VFIO_MODE_NO_HOOK=1: the qemu hook ($hooksdir/qemu.d/vfio-variant) is removed from the destdir: guest-stop must fail"
fi
# The persistent policy directory starts as the package installs it.
[ -d "$destdir$policydir" ] && cp -a "$destdir$policydir/." "$work/etc/"
t_install=$(($(vm_now) - t0))

# ---- the VM: its devices, the shares, the monitor -------------------------------------

vm_write_conf "$work/vv-vm.conf"
cat >>"$work/vv-vm.conf" <<EOF
STAGE2=$here/vm-vfio-mode.sh
GUEST_LIB=$vm_dir/vv-guest-lib.sh
LIBVIRTD_LIB=$libvirt_dir/vm-libvirtd.sh
DESTDIR=$destdir
POLICYDIR=$policydir
HOOKSDIR=$hooksdir
BOOT_FILE=$work/boot
NO_RULE=$no_rule
NO_HOOK=$no_hook
CAPS_SHARE=/mnt/vv-qemu-caps
HOT_PORT=0000:00:0c.0
NVME_PORT=0000:00:0d.0
EOF
vm_hostroot_args
caps_dir=$(readlink -m "${VV_QEMU_CAPS_DIR:-$work.qemu-caps}")
mkdir -p "$caps_dir"
vm_monitor_args "$work"
# A loaded 2-core host slows TCG's early boot enough for the kernel's
# IO-APIC timer check to panic ("timer doesn't work through
# Interrupt-remapped IO-APIC"); the check proves nothing here.
VM_APPEND=no_timer_check
# shellcheck disable=SC2054 # commas separate QEMU properties
extra=(
	"${VM_HOSTROOT_ARGS[@]}"
	-fsdev "local,id=vvetc,path=$work/etc,security_model=none"
	-device virtio-9p-pci,fsdev=vvetc,mount_tag=vvetc,addr=0b.0
	# guest-stop: libvirtd's QEMU capabilities cache (vm-guest-stop.sh)
	-fsdev "local,id=qemucaps,path=$caps_dir,security_model=none"
	-device virtio-9p-pci,fsdev=qemucaps,mount_tag=qemucaps,addr=0e.0
	"${VM_MONITOR_ARGS[@]}"
	# hot-add: an empty PCIe root port, and the netdev of the e1000e to come
	-device pcie-root-port,id=rp_hot,chassis=2,slot=1,addr=0c.0
	-netdev user,id=n4
	# SR-IOV: QEMU 7.2's NVMe PF, two VFs of one queue pair and one vector each
	-device pcie-root-port,id=rp_nvme,chassis=3,slot=1,addr=0d.0
	-device nvme-subsys,id=vvsubsys
	-device nvme,serial=vvpf,subsys=vvsubsys,bus=rp_nvme,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2
)
t0=$(vm_now)
if ! "$vm_dir/mkinitramfs.sh" --kver "$VM_KVER" --root "$work/root" --out "$work/initrd.cpio" --no-cli \
	--module "$VM_KO" --init "$libvirt_dir/vm-init.sh" --conf "$work/vv-vm.conf" \
	--modules "vfio_pci vfio_iommu_type1 vfio_virqfd e1000 e1000e virtio_pci virtio_net 9p 9pnet_virtio overlay nvme" \
	>"$work/mkinitramfs.log" 2>&1; then
	sed 's/^/# /' "$work/mkinitramfs.log"
	echo "Bail out! the initramfs could not be built"
	exit 1
fi
t_initrd=$(($(vm_now) - t0))

# ---- two boots with the same /etc ---------------------------------------------------

boot() { # N SCENARIO...
	local n=$1 serial=$work/serial-$1.log
	shift
	echo "$n" >"$work/boot"
	vm_monitor_serve "$serial"
	# 1.5 GiB: libvirtd and its nested guest (guest-stop), as in the hook suite.
	vm_boot "$serial" "$timeout_s" 1536 "$work/initrd.cpio" "${extra[@]}"
	vm_monitor_stop
	echo "# boot $n:"
	vm_report "$serial" "$timeout_s" "$@"
	vm_lines "$serial" | grep '^FIGURE ' | sed "s/^/# boot $n: /"
	[ -n "$VM_BOOT_AT" ] &&
		echo "# FIGURE host: boot $n: QEMU start to the scenarios $(vm_secs $((VM_BOOT_AT - VM_T_BOOT))) s, QEMU start to power off $(vm_secs $((VM_T_END - VM_T_BOOT))) s"
}
boot 1 "${boot1[@]}"
boot 2 "${boot2[@]}"
echo "# FIGURE host: test module build $(vm_secs "$VM_T_MODULE") s, meson install $(vm_secs "$t_install") s, initramfs $(vm_secs "$t_initrd") s"
echo "# FIGURE host: whole suite $(vm_secs $(($(vm_now) - t_start))) s"
if [ "$VM_FAILED" != 0 ]; then
	for n in 1 2; do
		echo "---- serial console of boot $n ($work/serial-$n.log) ----" >&2
		vm_lines "$work/serial-$n.log" >&2
	done
	exit 1
fi
exit 0
