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
set -uo pipefail

if [ $# -ne 7 ]; then
	echo "usage: run-vm.sh CLI LIBDIR MODULE_SRC OPEN_CHECK TIMEIT KILL_AFTER WORKDIR" >&2
	exit 2
fi
cli=$(readlink -f "$1")
libdir=$(readlink -f "$2")
module_src=$(readlink -f "$3")
open_check=$(readlink -f "$4")
timeit=$(readlink -f "$5")
kill_after=$(readlink -f "$6")
work=$7
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${VV_VM_TIMEOUT:-300}

# The scenarios init.sh reports, in order: each must print one RESULT line.
scenarios=(list explain detach-e1000e vfio-open-e1000e dry-run reattach-e1000e
	fallback-detach fallback-reattach group-refused group-both
	recover-killed-detach native-module-unloaded)

now() { echo "${EPOCHREALTIME/./}"; } # microseconds
secs() { printf '%d.%01d' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }
t_start=$(now)

# ---- prerequisites ------------------------------------------------------------

# The Debian kernel: the newest version under /lib/modules that has its
# image in /boot, its headers and the modules the VM needs (a cloud flavour
# lacks e1000e). Never `uname -r`: the host may run another kernel (a
# container's, a cloud image's).
kver=
for v in $(find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V); do
	[ -r "/boot/vmlinuz-$v" ] && [ -e "/lib/modules/$v/build/Makefile" ] &&
		/sbin/modprobe -a -S "$v" --show-depends vfio_pci e1000e e1000 virtio_net >/dev/null 2>&1 && kver=$v
done

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=("qemu-system-x86_64 (qemu-system-x86)")
[ -n "$kver" ] || missing+=("a kernel under /lib/modules with /boot/vmlinuz and headers (linux-image-amd64 linux-headers-amd64)")
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing+=("a static /bin/busybox (busybox-static)")
{ [ -x /sbin/modprobe ] && [ -x /sbin/depmod ]; } || missing+=("/sbin/modprobe and /sbin/depmod (kmod)")
command -v cpio >/dev/null || missing+=("cpio")
{ command -v make >/dev/null && command -v cc >/dev/null; } || missing+=("make and cc (build-essential)")
if [ ${#missing[@]} -gt 0 ]; then
	needs=$(printf '%s, ' "${missing[@]}")
	msg="the VM suite needs ${needs%, }. Install: apt-get install qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static kmod cpio build-essential (build-aux/deps.sh does)"
	if [ "${CI:-}" = true ]; then
		echo "Bail out! $msg"
		exit 1
	fi
	echo "vfio-variant: skipping the VM suite: $msg" >&2
	echo "1..0 # SKIP $msg"
	exit 0
fi

echo "1..$((${#scenarios[@]} + 2))"
n=0
failed=0
tap() { # ok|not-ok DESCRIPTION
	n=$((n + 1))
	if [ "$1" = ok ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

rm -rf "$work"
mkdir -p "$work"
echo "# kernel $kver, QEMU $(qemu-system-x86_64 --version | head -n 1), work directory $work"

# ---- the test variant driver, built against the Debian kernel's headers ------------

t0=$(now)
mkdir -p "$work/module"
cp "$module_src"/Kbuild "$module_src"/*.c "$work/module/"
ko=$work/module/vv_test_vfio_pci.ko
if ! make -s -C "/lib/modules/$kver/build" M="$work/module" modules >"$work/module/build.log" 2>&1 || [ ! -f "$ko" ]; then
	sed 's/^/# /' "$work/module/build.log"
	tap not-ok "test variant module builds against $kver headers"
	echo "Bail out! the test module does not build"
	exit 1
fi
t_module=$(($(now) - t0))
aliases=$(/sbin/modinfo -F alias "$ko" | sort | tr '\n' ' ')
if [ "$aliases" = "vfio_pci:v00001234d000011E8sv*sd*bc*sc*i* vfio_pci:v00008086d000010D3sv*sd*bc*sc*i* " ] &&
	[ "$(/sbin/modinfo -F name "$ko")" = vv_test_vfio_pci ] && [ "$(/sbin/modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$kver" ]; then
	tap ok "test variant module vv_test_vfio_pci builds against $kver headers; modpost aliases: $aliases"
else
	tap not-ok "test variant module: unexpected modinfo (aliases: $aliases)"
fi

# ---- the VM's devices and initramfs ---------------------------------------------

# Fixed addresses, so that the guest knows what sits where. Two devices
# sit behind one conventional PCI bridge (secondary bus 1): the kernel puts
# the bridge and everything behind it in one IOMMU group.
cat >"$work/vv-vm.conf" <<EOF
EDU=0000:00:03.0
TESTDEV=0000:00:04.0
E1000=0000:00:05.0
E1000E=0000:00:06.0
VIRTIO=0000:00:07.0
BRIDGE=0000:00:08.0
BR_E1000=0000:01:01.0
BR_EDU=0000:01:02.0
VARIANT_MODULE=vv_test_vfio_pci
VARIANT_DRIVER=vv-test-vfio-pci
EOF
# shellcheck disable=SC2054 # commas separate QEMU properties
devices=(
	-device intel-iommu
	-netdev user,id=n0 -netdev user,id=n1 -netdev user,id=n2 -netdev user,id=n3
	-device edu,addr=03.0
	-device pci-testdev,addr=04.0
	-device e1000,netdev=n0,addr=05.0
	-device e1000e,netdev=n1,addr=06.0
	-device virtio-net-pci,disable-legacy=on,netdev=n2,addr=07.0
	-device pci-bridge,id=br0,chassis_nr=1,addr=08.0
	-device e1000,netdev=n3,bus=br0,addr=01.0
	-device edu,bus=br0,addr=02.0
)

t0=$(now)
if ! "$here/mkinitramfs.sh" --kver "$kver" --root "$work/root" --out "$work/initrd.cpio" \
	--cli "$cli" --libdir "$libdir" --module "$ko" --init "$here/init.sh" --conf "$work/vv-vm.conf" \
	--helper "$open_check" --helper "$timeit" --preload "$kill_after" >"$work/mkinitramfs.log" 2>&1; then
	sed 's/^/# /' "$work/mkinitramfs.log"
	echo "Bail out! the initramfs could not be built"
	exit 1
fi
t_initrd=$(($(now) - t0))

# ---- boot: one boot runs every scenario ----------------------------------------------

serial=$work/serial.log
t_boot=$(now)
timeout -k 10 "$timeout_s" qemu-system-x86_64 -machine q35,accel=tcg -m 512 -smp 1 -nodefaults \
	-display none -serial stdio -no-reboot \
	-kernel "/boot/vmlinuz-$kver" -initrd "$work/initrd.cpio" \
	-append "console=ttyS0 intel_iommu=on panic=-1 quiet" \
	"${devices[@]}" </dev/null 2>"$work/qemu.err" |
	while IFS= read -r line; do
		echo "$(now) ${line%$'\r'}"
	done >"$serial"
qemu_status=${PIPESTATUS[0]}
t_end=$(now)

# Lines without their host timestamps.
lines() { cut -d' ' -f2- "$serial"; }
first_at() { awk -v p="$1" 'index($0, p) { print $1; exit }' "$serial"; }

for name in "${scenarios[@]}"; do
	line=$(lines | grep -m1 "^RESULT $name: ")
	case $line in
	"RESULT $name: OK"*) tap ok "$name${line#"RESULT $name: OK"}" ;;
	"RESULT $name: FAIL"*) tap not-ok "$name:${line#"RESULT $name: FAIL"}" ;;
	*) tap not-ok "$name: no RESULT line (the VM stopped before it)" ;;
	esac
done

# The run as a whole: powered off by /init, no panic, no kernel warning.
problems=()
[ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ] && problems+=("timed out after ${timeout_s} s")
[ "$qemu_status" != 0 ] && [ "$qemu_status" != 124 ] && [ "$qemu_status" != 137 ] &&
	problems+=("qemu exited with status $qemu_status: $(head -c 300 "$work/qemu.err")")
lines | grep -q 'Kernel panic' && problems+=("kernel panic: $(lines | grep -m1 'Kernel panic')")
lines | grep -q '^KERNEL-WARNING ' && problems+=("kernel warnings: $(lines | grep -m3 '^KERNEL-WARNING ' | tr '\n' ' ')")
lines | grep -q '^VV-INIT done' || problems+=("/init did not finish")
extra=$(lines | grep '^RESULT ' | grep -cv -E "^RESULT ($(
	IFS='|'
	echo "${scenarios[*]}"
)): ")
[ "$extra" = 0 ] || problems+=("$extra RESULT lines for unknown scenarios")

boot_at=$(first_at "VV-INIT start")
if [ ${#problems[@]} -eq 0 ]; then
	tap ok "VM ran every scenario and powered off (boot to /init $(secs $((boot_at - t_boot))) s, whole VM $(secs $((t_end - t_boot))) s)"
else
	tap not-ok "VM run: ${problems[*]}"
fi

# ---- figures -------------------------------------------------------------------------------

echo "# FIGURE host: test module build $(secs "$t_module") s, initramfs $(secs "$t_initrd") s ($(($(stat -c %s "$work/initrd.cpio") / 1048576)) MiB)"
[ -n "$boot_at" ] && echo "# FIGURE host: QEMU start to /init $(secs $((boot_at - t_boot))) s, QEMU start to power off $(secs $((t_end - t_boot))) s"
lines | grep '^FIGURE ' | sed 's/^/# /'
echo "# FIGURE host: whole suite $(secs $(($(now) - t_start))) s"

if [ "$failed" != 0 ]; then
	echo "---- serial console of the VM ($serial) ----" >&2
	lines >&2
	exit 1
fi
exit 0
