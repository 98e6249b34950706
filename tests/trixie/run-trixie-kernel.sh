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
# shellcheck disable=SC2154 # the arguments' variables: vm_args binds them
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/vm-lib.sh
. "$here/../vm/vm-lib.sh"

vm_args "run-trixie-kernel.sh CLI LIBDIR VARIANT_SRC OPEN_CHECK TIMEIT KILL_AFTER WORKDIR CACHE" "$@"
cache=${VV_TRIXIE_CACHE:-$cache}
timeout_s=${VV_VM_TIMEOUT:-300}
leave_out=${VV_TRIXIE_LEAVE_OUT:-}

# The scenarios kernel-init.sh reports, in order: each must print one RESULT line.
scenarios=(list list-e1000e-test-variant explain dry-run detach-virtio vfio-open-virtio
	reattach-virtio fallback-detach fallback-reattach recover-killed-detach)

t_start=$(vm_now)

# ---- prerequisites ------------------------------------------------------------

vm_missing_qemu
vm_skip_if_missing "trixie suite" "qemu-system-x86 busybox-static kmod cpio" || exit "$VM_SKIP_STATUS"

rm -rf "$work"
mkdir -p "$work" "$cache"

# ---- Debian 13's kernel, virtio_vfio_pci and the test variant (cached) ----------------

# Before the plan: exit 77 (mmdebstrap or the network missing) is a skip.
# CACHE/.lock stays held shared until the initramfs is built.
vm_trixie_fetch "$cache" "$variant_src" "$work"
status=$VM_FETCH_STATUS
t_fetch=$VM_T_FETCH
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
vm_initramfs "$work" --kver "$kver" --moddir "$kroot" --full-index --modules "$modules" \
	--cli "$cli" --libdir "$libdir" --init "$here/kernel-init.sh" --conf "$work/vv-vm.conf" \
	--helper "$open_check" --helper "$timeit" --helper "$VM_LIB_DIR/vv-guest-lib.sh" --preload "$kill_after"
cp "$kernel/vmlinuz" "$work/vmlinuz"
exec 8<&- # CACHE/kernel is not read any more

# ---- boot: one boot runs every scenario ----------------------------------------------

serial=$work/serial.log
# shellcheck disable=SC2034 # read by vm_boot
VM_KERNEL=$work/vmlinuz
vm_boot "$serial" "$timeout_s" 512 "$work/initrd.cpio"
vm_report "$serial" "$timeout_s" "${scenarios[@]}"

# ---- figures -------------------------------------------------------------------------------

vm_finish "$serial" "$t_start" \
	"trixie fetch $(vm_secs "$t_fetch") s, initramfs $(vm_secs "$VM_T_INITRD") s ($(($(stat -c %s "$work/initrd.cpio") / 1048576)) MiB)"
