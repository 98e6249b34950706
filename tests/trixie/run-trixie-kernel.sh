#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The trixie suite's kernel part: Debian 13's kernel 6.12 with upstream
# virtio_vfio_pci (built from Debian's linux-source-6.12) and the test
# variant, booted under QEMU (TCG, emulated Intel IOMMU), the CLI run as a
# user runs it. No libvirt. Prints TAP for meson (protocol 'tap'):
#   run-trixie-kernel.sh CLI LIBDIR VARIANT_SRC OPEN_CHECK TIMEIT KILL_AFTER WORKDIR CACHE
# CACHE is where tests/trixie/trixie-fetch.sh keeps Debian 13's packages and
# builds (VV_TRIXIE_CACHE overrides it, to share one cache between build
# trees); WORKDIR is scratch space (rebuilt each run).
#
# Nothing here touches this machine's devices: every sysfs write happens in
# the guest. QEMU runs TCG; KVM is never used.
#
# Prerequisites missing (mmdebstrap, the network on a first run, QEMU...):
# on CI (CI=true) a failure; otherwise a skip with one line saying what to
# install.
#
# Environment: VV_VM_TIMEOUT (seconds, default 300) bounds the boot;
# VV_TRIXIE_LEAVE_OUT=MODULE[,MODULE] leaves modules out of the initramfs,
# to prove the suite is not blind (virtio_vfio_pci: the suite must fail);
# VV_TRIXIE_KMSG=LINE has the guest write LINE to its kernel log before
# the check for kernel warnings (a "WARNING: ..." line must fail the run).
set -uo pipefail

if [ $# -ne 8 ]; then
	echo "usage: run-trixie-kernel.sh CLI LIBDIR VARIANT_SRC OPEN_CHECK TIMEIT KILL_AFTER WORKDIR CACHE" >&2
	exit 2
fi
cli=$(readlink -f "$1")
libdir=$(readlink -f "$2")
variant_src=$(readlink -f "$3")
open_check=$(readlink -f "$4")
timeit=$(readlink -f "$5")
kill_after=$(readlink -f "$6")
work=$7
cache=${VV_TRIXIE_CACHE:-$8}
here=$(cd "$(dirname "$0")" && pwd)
vm=$here/../vm
timeout_s=${VV_VM_TIMEOUT:-300}
leave_out=${VV_TRIXIE_LEAVE_OUT:-}

# shellcheck source=tests/vm/vm-lib.sh
. "$vm/vm-lib.sh"

# The scenarios kernel-init.sh reports, in order: each must print one RESULT line.
scenarios=(list list-e1000e-test-variant explain dry-run detach-virtio vfio-open-virtio
	reattach-virtio fallback-detach fallback-reattach recover-killed-detach)

t_start=$(vm_now)

# ---- prerequisites ------------------------------------------------------------

VM_MISSING=()
command -v qemu-system-x86_64 >/dev/null || VM_MISSING+=("qemu-system-x86_64 (qemu-system-x86)")
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || VM_MISSING+=("a static /bin/busybox (busybox-static)")
{ [ -x /sbin/modprobe ] && [ -x /sbin/depmod ]; } || VM_MISSING+=("/sbin/modprobe and /sbin/depmod (kmod)")
command -v cpio >/dev/null || VM_MISSING+=("cpio")
vm_skip_if_missing "trixie suite" "qemu-system-x86 busybox-static kmod cpio" || exit "$VM_SKIP_STATUS"

rm -rf "$work"
mkdir -p "$work" "$cache"

# ---- Debian 13's kernel, virtio_vfio_pci and the test variant (cached) ----------------

# Before the plan: exit 77 (mmdebstrap or the network missing) is a skip.
# Then CACHE/.lock, shared, until the initramfs is built: a suite with
# other test variant sources sharing the cache (VV_TRIXIE_CACHE) rebuilds
# CACHE/kernel under that lock held exclusively; if it did so between the
# fetch and the shared lock, fetch again.
t0=$(vm_now)
for _ in 1 2 3; do
	"$here/trixie-fetch.sh" "$cache" "$variant_src" >"$work/fetch.out" 2>"$work/fetch.err"
	status=$?
	[ "$status" = 0 ] || break
	exec 8<"$cache/.lock"
	flock -s 8
	[ "# trixie-fetch: ready $(cat "$cache/kernel/stamp" 2>/dev/null)" = "$(tail -n 1 "$work/fetch.out")" ] && break
	exec 8<&-
done
t_fetch=$(($(vm_now) - t0))
if [ "$status" = 77 ]; then
	# As vm_skip_if_missing, with the fetch's own line (what to install, or
	# the network).
	msg="the trixie suite $(tail -n 1 "$work/fetch.err" | sed 's/^trixie-fetch: //')"
	if [ "${CI:-}" = true ]; then
		echo "Bail out! $msg"
		exit 1
	fi
	echo "vfio-variant: skipping the trixie suite: $msg" >&2
	echo "1..0 # SKIP $msg"
	exit 0
fi
echo "1..$((${#scenarios[@]} + 2))"
echo "# QEMU $(qemu-system-x86_64 --version | head -n 1), cache $cache, work directory $work"
sed 's/^/# /' "$work/fetch.err"
if [ "$status" != 0 ]; then
	vm_tap not-ok "trixie-fetch.sh $cache failed (exit $status)"
	echo "Bail out! Debian 13's kernel could not be fetched or built"
	exit 1
fi
grep '^# FIGURE ' "$work/fetch.out"
kernel=$cache/kernel
kver=$(cat "$kernel/kver")
kroot=$kernel/root
updates=$kroot/lib/modules/$kver/updates
# The modules as built: upstream's file name differs from its driver name.
problems=()
[ "$(/sbin/modinfo -F name "$updates/virtio-vfio-pci.ko")" = virtio_vfio_pci ] || problems+=("virtio-vfio-pci.ko is not module virtio_vfio_pci")
[ "$(/sbin/modinfo -F alias "$updates/virtio-vfio-pci.ko")" = "vfio_pci:v00001AF4d00001041sv*sd*bc*sc*i*" ] ||
	problems+=("virtio-vfio-pci.ko's aliases: $(/sbin/modinfo -F alias "$updates/virtio-vfio-pci.ko" | tr '\n' ' ')")
# (from 6.12 on the test variant also has the libvirt suite's glob alias, see its Kbuild)
[ "$(/sbin/modinfo -F alias "$updates/vv_test_vfio_pci.ko" | LC_ALL=C sort | tr '\n' ' ')" = "vfio_pci:v00001234d000011E8sv*sd*bc*sc*i* vfio_pci:v00001AF4d00001044sv*sd*bc00scFFi00* vfio_pci:v00008086d000010D3sv*sd*bc*sc*i* " ] ||
	problems+=("vv_test_vfio_pci.ko's aliases: $(/sbin/modinfo -F alias "$updates/vv_test_vfio_pci.ko" | tr '\n' ' ')")
for ko in "$updates"/virtio-vfio-pci.ko "$updates"/vv_test_vfio_pci.ko; do
	[ "$(/sbin/modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$kver" ] || problems+=("${ko##*/} is not built for $kver")
done
if [ ${#problems[@]} -eq 0 ]; then
	vm_tap ok "Debian 13 kernel $kver; virtio-vfio-pci.ko (driver virtio_vfio_pci, alias 1af4:1041) and vv_test_vfio_pci.ko built, depmod run ($(vm_secs "$t_fetch") s)"
else
	vm_tap not-ok "trixie modules: ${problems[*]}"
fi

# ---- the VM's devices and initramfs ---------------------------------------------

modules="vfio_pci vfio_iommu_type1 e1000 e1000e virtio_pci virtio_net virtio_vfio_pci vv_test_vfio_pci"
for m in ${leave_out//,/ }; do
	modules=$(echo " $modules " | sed "s/ $m / /; s/^ //; s/ \$//")
	echo "# VV_TRIXIE_LEAVE_OUT: $m is left out of the initramfs (this run must fail)"
done
vm_write_conf "$work/vv-vm.conf"
echo "KVER=$kver" >>"$work/vv-vm.conf"
if [ -n "${VV_TRIXIE_KMSG:-}" ]; then
	printf 'KMSG=%q\n' "$VV_TRIXIE_KMSG" >>"$work/vv-vm.conf"
	echo "# VV_TRIXIE_KMSG: the guest writes '$VV_TRIXIE_KMSG' to its kernel log"
fi
t0=$(vm_now)
if ! "$vm/mkinitramfs.sh" --kver "$kver" --moddir "$kroot" --full-index --modules "$modules" \
	--root "$work/root" --out "$work/initrd.cpio" --cli "$cli" --libdir "$libdir" \
	--init "$here/kernel-init.sh" --conf "$work/vv-vm.conf" \
	--helper "$open_check" --helper "$timeit" --helper "$vm/vv-guest-lib.sh" --preload "$kill_after" \
	>"$work/mkinitramfs.log" 2>&1; then
	sed 's/^/# /' "$work/mkinitramfs.log"
	echo "Bail out! the initramfs could not be built"
	exit 1
fi
cp "$kernel/vmlinuz" "$work/vmlinuz"
exec 8<&- # CACHE/kernel is not read any more
t_initrd=$(($(vm_now) - t0))

# ---- boot: one boot runs every scenario ----------------------------------------------

serial=$work/serial.log
# shellcheck disable=SC2034 # read by vm_boot
VM_KERNEL=$work/vmlinuz
vm_boot "$serial" "$timeout_s" 512 "$work/initrd.cpio"
vm_report "$serial" "$timeout_s" "${scenarios[@]}"

# ---- figures -------------------------------------------------------------------------------

echo "# FIGURE host: trixie fetch $(vm_secs "$t_fetch") s, initramfs $(vm_secs "$t_initrd") s ($(($(stat -c %s "$work/initrd.cpio") / 1048576)) MiB)"
[ -n "$VM_BOOT_AT" ] && echo "# FIGURE host: QEMU start to /init $(vm_secs $((VM_BOOT_AT - VM_T_BOOT))) s, QEMU start to power off $(vm_secs $((VM_T_END - VM_T_BOOT))) s"
vm_lines "$serial" | grep '^FIGURE ' | sed 's/^/# /'
echo "# FIGURE host: whole trixie kernel suite $(vm_secs $(($(vm_now) - t_start))) s"

if [ "$VM_FAILED" != 0 ]; then
	echo "---- serial console of the VM ($serial) ----" >&2
	vm_lines "$serial" >&2
	exit 1
fi
exit 0
