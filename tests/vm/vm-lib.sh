# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# What the real-kernel runners share, sourced by tests/vm/run-vm.sh (the
# CLI in an initramfs), tests/libvirt/run-vm-libvirt.sh and tests/hook/
# run-vm-hook.sh (libvirtd in the VM, on the host's root shared read-only),
# tests/trixie/run-trixie-*.sh (Debian 13's kernel and root) and
# tests/vfio-mode/run-vfio-mode.sh: their arguments, the Debian kernel to
# boot, the prerequisites, the trixie cache, the test variant module, the
# VM's devices, the initramfs, the boot, the parsing of the guest's RESULT
# lines into TAP, and the figures and summary at the end.
#
# Nothing here touches this machine's devices: every sysfs write happens in
# the guest. QEMU runs as the calling user; KVM is never used.
#
# Results for the caller: VM_KVER, VM_MISSING, VM_SKIP_STATUS, VM_KO,
# VM_T_MODULE, VM_QEMU_STATUS, VM_T_BOOT, VM_T_END, VM_BOOT_AT, VM_FAILED.
# Set by the caller: VM_KERNEL, another kernel image for vm_boot (the
# trixie suite's; default /boot/vmlinuz-VM_KVER); VM_APPEND, more words
# for the kernel's command line.
# shellcheck disable=SC2034

# Where the guests' files are: tests/vm and tests/libvirt.
VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_LIBVIRT_DIR=$(cd "$VM_LIB_DIR/../libvirt" && pwd)

vm_now() { echo "${EPOCHREALTIME/./}"; } # microseconds
vm_secs() { printf '%d.%01d' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }

# vm_args "NAME ARG..." "$@": a runner's arguments, named as its usage
# line names them. Called with another count, it prints "usage: NAME
# ARG..." and exits 2. Each ARG binds the variable of its name in lower
# case (MODULE_SRC: module_src) to the argument as an absolute path
# (readlink -f), but for WORKDIR (binds work) and CACHE, taken as given:
# they need not exist yet.
vm_args() {
	local usage=$1 names arg i=0
	shift
	read -r -a names <<<"${usage#* }"
	if [ $# -ne ${#names[@]} ]; then
		echo "usage: $usage" >&2
		exit 2
	fi
	for arg in "$@"; do
		case ${names[i]} in
		WORKDIR) work=$arg ;;
		CACHE) cache=$arg ;;
		*) printf -v "${names[i],,}" '%s' "$(readlink -f "$arg")" ;;
		esac
		i=$((i + 1))
	done
}

# VM_KVER: the newest kernel under /lib/modules that has its image in /boot,
# its headers and the modules the VM needs (a cloud flavour lacks e1000e).
# Never `uname -r`: the host may run another kernel (a container's, a cloud
# image's).
vm_find_kernel() {
	local v
	VM_KVER=
	for v in $(find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V); do
		[ -r "/boot/vmlinuz-$v" ] && [ -e "/lib/modules/$v/build/Makefile" ] &&
			/sbin/modprobe -a -S "$v" --show-depends vfio_pci e1000e e1000 virtio_net \
				9p 9pnet_virtio overlay >/dev/null 2>&1 && VM_KVER=$v
	done
}

# VM_MISSING: what the VM needs and this machine lacks, one entry each.
# vm_missing_qemu: QEMU and the initramfs's tools (the trixie suites bring
# their own kernel); vm_missing_base: also this machine's Debian kernel and
# what builds the test variant against it; vm_missing_libvirt (after one
# of them): this machine's libvirtd and virsh with its QEMU driver.
vm_missing_qemu() {
	VM_MISSING=()
	command -v qemu-system-x86_64 >/dev/null || VM_MISSING+=("qemu-system-x86_64 (qemu-system-x86)")
	{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || VM_MISSING+=("a static /bin/busybox (busybox-static)")
	{ [ -x /sbin/modprobe ] && [ -x /sbin/depmod ]; } || VM_MISSING+=("/sbin/modprobe and /sbin/depmod (kmod)")
	command -v cpio >/dev/null || VM_MISSING+=("cpio")
}
vm_missing_base() {
	vm_missing_qemu
	vm_find_kernel
	[ -n "$VM_KVER" ] || VM_MISSING+=("a kernel under /lib/modules with /boot/vmlinuz and headers (linux-image-amd64 linux-headers-amd64)")
	{ command -v make >/dev/null && command -v cc >/dev/null; } || VM_MISSING+=("make and cc (build-essential)")
}
vm_missing_libvirt() {
	command -v libvirtd >/dev/null || VM_MISSING+=("libvirtd (libvirt-daemon-system)")
	command -v virsh >/dev/null || VM_MISSING+=("virsh (libvirt-clients)")
	[ -r /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] ||
		VM_MISSING+=("libvirt's QEMU driver (libvirt-daemon-driver-qemu)")
}

# vm_skip_if_missing SUITE PACKAGES: with VM_MISSING non-empty, a failure
# on CI (CI=true), else a TAP skip saying what to install; then it returns
# 1 and the caller exits with VM_SKIP_STATUS:
#   vm_skip_if_missing "VM suite" "qemu-system-x86 ..." || exit "$VM_SKIP_STATUS"
vm_skip_if_missing() {
	local suite=$1 packages=$2 needs msg
	[ ${#VM_MISSING[@]} -eq 0 ] && return 0
	needs=$(printf '%s, ' "${VM_MISSING[@]}")
	msg="the $suite needs ${needs%, }. Install: apt-get install $packages (build-aux/deps.sh does)"
	if [ "${CI:-}" = true ]; then
		echo "Bail out! $msg"
		VM_SKIP_STATUS=1
	else
		echo "vfio-variant: skipping the $suite: $msg" >&2
		echo "1..0 # SKIP $msg"
		VM_SKIP_STATUS=0
	fi
	return 1
}

# vm_trixie_fetch CACHE VARIANT_SRC WORK: tests/trixie/trixie-fetch.sh
# (its output in WORK/fetch.out and fetch.err, its status in
# VM_FETCH_STATUS, its time in VM_T_FETCH); after a successful fetch
# CACHE/.lock is held shared on fd 8 until the caller closes it (exec 8<&-)
# once CACHE/kernel is read. A run sharing the cache (VV_TRIXIE_CACHE) with
# other test variant sources rebuilds CACHE/kernel under that lock held
# exclusively; if it did so between the fetch and the shared lock, fetch
# again (tests/trixie/README.md).
vm_trixie_fetch() {
	local cache=$1 variant_src=$2 work=$3 t0
	t0=$(vm_now)
	for _ in 1 2 3; do
		VM_FETCH_STATUS=0
		"$VM_LIB_DIR/../trixie/trixie-fetch.sh" "$cache" "$variant_src" >"$work/fetch.out" 2>"$work/fetch.err" ||
			VM_FETCH_STATUS=$?
		[ "$VM_FETCH_STATUS" = 0 ] || break
		exec 8<"$cache/.lock"
		flock -s 8
		[ "# trixie-fetch: ready $(cat "$cache/kernel/stamp" 2>/dev/null)" = "$(tail -n 1 "$work/fetch.out")" ] && break
		exec 8<&-
	done
	VM_T_FETCH=$(($(vm_now) - t0))
}

# TAP: vm_tap ok|not-ok DESCRIPTION.
VM_N=0
VM_FAILED=0
vm_tap() {
	VM_N=$((VM_N + 1))
	if [ "$1" = ok ]; then echo "ok $VM_N - $2"; else echo "not ok $VM_N - $2"; VM_FAILED=1; fi
}

# vm_build_module SRC WORK: the test variant driver, built against
# VM_KVER's headers into WORK/module; VM_KO is the .ko, VM_T_MODULE the
# build time. One TAP line; a build failure bails out.
vm_build_module() {
	local src=$1 work=$2 t0 aliases
	t0=$(vm_now)
	mkdir -p "$work/module"
	cp "$src"/Kbuild "$src"/*.c "$work/module/"
	VM_KO=$work/module/vv_test_vfio_pci.ko
	if ! make -s -C "/lib/modules/$VM_KVER/build" M="$work/module" modules >"$work/module/build.log" 2>&1 ||
		[ ! -f "$VM_KO" ]; then
		sed 's/^/# /' "$work/module/build.log"
		vm_tap not-ok "test variant module builds against $VM_KVER headers"
		echo "Bail out! the test module does not build"
		exit 1
	fi
	VM_T_MODULE=$(($(vm_now) - t0))
	aliases=$(/sbin/modinfo -F alias "$VM_KO" | sort | tr '\n' ' ')
	if [ "$aliases" = "vfio_pci:v00001234d000011E8sv*sd*bc*sc*i* vfio_pci:v00008086d000010D3sv*sd*bc*sc*i* " ] &&
		[ "$(/sbin/modinfo -F name "$VM_KO")" = vv_test_vfio_pci ] &&
		[ "$(/sbin/modinfo -F vermagic "$VM_KO" | cut -d' ' -f1)" = "$VM_KVER" ]; then
		vm_tap ok "test variant module vv_test_vfio_pci builds against $VM_KVER headers; modpost aliases: $aliases"
	else
		vm_tap not-ok "test variant module: unexpected modinfo (aliases: $aliases)"
	fi
}

# vm_initramfs WORK MKINITRAMFS_ARGS...: tests/vm/mkinitramfs.sh builds
# WORK/initrd.cpio in WORK/root (its output in WORK/mkinitramfs.log, its
# time in VM_T_INITRD); a failure shows the log and bails out.
vm_initramfs() {
	local work=$1 t0
	shift
	t0=$(vm_now)
	if ! "$VM_LIB_DIR/mkinitramfs.sh" --root "$work/root" --out "$work/initrd.cpio" "$@" \
		>"$work/mkinitramfs.log" 2>&1; then
		sed 's/^/# /' "$work/mkinitramfs.log"
		echo "Bail out! the initramfs could not be built"
		exit 1
	fi
	VM_T_INITRD=$(($(vm_now) - t0))
}

# The VM's devices at fixed addresses, so that the guest knows what sits
# where (tests/vm/README.md has the table). Two devices sit behind one
# conventional PCI bridge (secondary bus 1): the kernel puts the bridge and
# everything behind it in one IOMMU group.
vm_write_conf() {
	cat >"$1" <<EOF
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
}
# shellcheck disable=SC2034,SC2054 # used by the callers; commas separate QEMU properties
VM_DEVICES=(
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

# vm_libvirt_share CONF CAPS_DIR [ROOT]: what the libvirt suites add to
# the VM (tests/libvirt/vm-init.sh, vm-libvirtd.sh): the guest's shared
# files (LIBVIRT_LIB, LIBVIRTD_LIB and GUEST_LIB in CONF, paths on the
# share), this machine's root (or ROOT, another system's, e.g.
# tests/trixie's), READ-ONLY over virtio-9p, and CAPS_DIR, writable, where libvirtd's QEMU capabilities
# cache outlives the boot that probed it. The QEMU arguments are in
# VM_LIBVIRT_ARGS.
vm_libvirt_share() {
	local conf=$1 caps_dir=$2 share_root=${3:-/}
	mkdir -p "$caps_dir"
	cat >>"$conf" <<EOF
LIBVIRT_LIB=$VM_LIBVIRT_DIR/vm-libvirt-lib.sh
LIBVIRTD_LIB=$VM_LIBVIRT_DIR/vm-libvirtd.sh
GUEST_LIB=$VM_LIB_DIR/vv-guest-lib.sh
CAPS_SHARE=/mnt/vv-qemu-caps
EOF
	vm_hostroot_args "$share_root"
	# shellcheck disable=SC2054 # commas separate QEMU properties
	VM_LIBVIRT_ARGS=(
		"${VM_HOSTROOT_ARGS[@]}"
		-fsdev "local,id=qemucaps,path=$(readlink -f "$caps_dir"),security_model=none"
		-device virtio-9p-pci,fsdev=qemucaps,mount_tag=qemucaps,addr=0b.0
	)
}

# vm_hostroot_args [ROOT]: VM_HOSTROOT_ARGS, the QEMU arguments that share
# this machine's root (or ROOT) READ-ONLY over virtio-9p with mount tag
# "hostroot" at 00:0a.0, as tests/libvirt/vm-init.sh mounts it.
vm_hostroot_args() {
	# shellcheck disable=SC2054 # commas separate QEMU properties
	VM_HOSTROOT_ARGS=(
		-fsdev "local,id=hostroot,path=${1:-/},security_model=none,readonly=on,multidevs=remap"
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,addr=0a.0
	)
}

# The QEMU monitor (HMP) over a pipe chardev, for a guest that asks the host
# for a device_add through its console (tests/vfio-mode):
#   vm_monitor_args DIR     VM_MONITOR_ARGS for vm_boot (FIFOs DIR/monitor.{in,out})
#   vm_monitor_serve SERIAL before vm_boot: every console line
#                           "VV-MONITOR device_add|device_del ARGS" goes to the
#                           monitor; the monitor's answers go to DIR/monitor.log
#   vm_monitor_stop         after vm_boot returned
# Only those two commands pass: the guest cannot quit QEMU or read the host.
vm_monitor_args() {
	VM_MONITOR_DIR=$1
	rm -f "$1/monitor.in" "$1/monitor.out"
	mkfifo "$1/monitor.in" "$1/monitor.out"
	# shellcheck disable=SC2054 # commas separate QEMU properties
	VM_MONITOR_ARGS=(-chardev "pipe,id=vvmon,path=$1/monitor" -mon chardev=vvmon,mode=readline)
}
vm_monitor_serve() {
	local serial=$1
	: >"$serial"
	cat "$VM_MONITOR_DIR/monitor.out" >"$VM_MONITOR_DIR/monitor.log" &
	VM_MONITOR_PIDS=$!
	# The writer end stays open for the whole boot: QEMU sees no hang-up.
	exec {VM_MONITOR_FD}<>"$VM_MONITOR_DIR/monitor.in"
	(
		tail -n +1 -F "$serial" 2>/dev/null | while IFS= read -r line; do
			case ${line#* } in
			"VV-MONITOR device_add "* | "VV-MONITOR device_del "*)
				line=${line#* }
				echo "${line#VV-MONITOR }" >&"$VM_MONITOR_FD"
				;;
			esac
		done
	) &
	VM_MONITOR_PIDS="$VM_MONITOR_PIDS $!"
}
vm_monitor_stop() {
	local pid
	for pid in $VM_MONITOR_PIDS; do
		pkill -P "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	exec {VM_MONITOR_FD}>&-
}

# vm_boot SERIAL TIMEOUT MEMORY_MIB INITRD [QEMU_ARGS...]: one boot of the
# Debian kernel (VM_KERNEL if set) with VM_DEVICES (TCG, emulated Intel IOMMU); every console
# line goes to SERIAL behind its host time in microseconds. Sets
# VM_QEMU_STATUS, VM_T_BOOT and VM_T_END.
vm_boot() {
	local serial=$1 timeout_s=$2 memory=$3 initrd=$4
	shift 4
	VM_T_BOOT=$(vm_now)
	timeout -k 10 "$timeout_s" qemu-system-x86_64 -machine q35,accel=tcg -m "$memory" -smp 1 -nodefaults \
		-display none -serial stdio -no-reboot \
		-kernel "${VM_KERNEL:-/boot/vmlinuz-$VM_KVER}" -initrd "$initrd" \
		-append "console=ttyS0 intel_iommu=on panic=-1 quiet${VM_APPEND:+ $VM_APPEND}" \
		"${VM_DEVICES[@]}" "$@" </dev/null 2>"$serial.qemu-err" |
		while IFS= read -r line; do
			echo "$(vm_now) ${line%$'\r'}"
		done >"$serial"
	VM_QEMU_STATUS=${PIPESTATUS[0]}
	VM_T_END=$(vm_now)
}

# Console lines without their host timestamps; the host time of the first
# line that holds TEXT.
vm_lines() { cut -d' ' -f2- "$1"; }
vm_first_at() { awk -v p="$2" 'index($0, p) { print $1; exit }' "$1"; }

# vm_report SERIAL TIMEOUT NAME...: a TAP line per scenario NAME (its
# RESULT line), then one for the run as a whole: powered off by the guest
# after "VV-INIT done", no panic, no kernel warning, no unknown RESULT.
vm_report() {
	local serial=$1 timeout_s=$2 name line extra
	shift 2
	local problems=()
	for name in "$@"; do
		line=$(vm_lines "$serial" | grep -m1 "^RESULT $name: ")
		case $line in
		"RESULT $name: OK"*) vm_tap ok "$name${line#"RESULT $name: OK"}" ;;
		"RESULT $name: FAIL"*) vm_tap not-ok "$name:${line#"RESULT $name: FAIL"}" ;;
		*) vm_tap not-ok "$name: no RESULT line (the VM stopped before it)" ;;
		esac
	done
	{ [ "$VM_QEMU_STATUS" = 124 ] || [ "$VM_QEMU_STATUS" = 137 ]; } && problems+=("timed out after ${timeout_s} s")
	[ "$VM_QEMU_STATUS" != 0 ] && [ "$VM_QEMU_STATUS" != 124 ] && [ "$VM_QEMU_STATUS" != 137 ] &&
		problems+=("qemu exited with status $VM_QEMU_STATUS: $(head -c 300 "$serial.qemu-err")")
	vm_lines "$serial" | grep -q 'Kernel panic' && problems+=("kernel panic: $(vm_lines "$serial" | grep -m1 'Kernel panic')")
	vm_lines "$serial" | grep -q '^KERNEL-WARNING ' &&
		problems+=("kernel warnings: $(vm_lines "$serial" | grep -m3 '^KERNEL-WARNING ' | tr '\n' ' ')")
	vm_lines "$serial" | grep -q '^VV-INIT done' || problems+=("/init did not finish")
	extra=$(vm_lines "$serial" | grep '^RESULT ' | grep -cv -E "^RESULT ($(
		IFS='|'
		echo "$*"
	)): ")
	[ "$extra" = 0 ] || problems+=("$extra RESULT lines for unknown scenarios")

	VM_BOOT_AT=$(vm_first_at "$serial" "VV-INIT start")
	if [ ${#problems[@]} -eq 0 ]; then
		vm_tap ok "VM ran every scenario and powered off (boot to /init $(vm_secs $((VM_BOOT_AT - VM_T_BOOT))) s, whole VM $(vm_secs $((VM_T_END - VM_T_BOOT))) s)"
	else
		vm_tap not-ok "VM run: ${problems[*]}"
	fi
}

# vm_finish SERIAL T_START [HOST_FIGURES]: the end every real-kernel runner
# shares: the host's FIGURE lines (HOST_FIGURES first, then QEMU's start to
# the scenarios and to power off), the guest's FIGURE lines, the whole
# suite's time since T_START; on a failure the serial console (without
# its NODEDEV-XML lines) on stderr. Exits 1 when a TAP line failed.
vm_finish() {
	local serial=$1 t_start=$2 host_figures=${3:-}
	[ -n "$host_figures" ] && echo "# FIGURE host: $host_figures"
	[ -n "$VM_BOOT_AT" ] && echo "# FIGURE host: QEMU start to the scenarios $(vm_secs $((VM_BOOT_AT - VM_T_BOOT))) s, QEMU start to power off $(vm_secs $((VM_T_END - VM_T_BOOT))) s"
	vm_lines "$serial" | grep '^FIGURE ' | sed 's/^/# /'
	echo "# FIGURE host: whole suite $(vm_secs $(($(vm_now) - t_start))) s"
	if [ "$VM_FAILED" != 0 ]; then
		echo "---- serial console of the VM ($serial) ----" >&2
		vm_lines "$serial" | grep -v '^NODEDEV-XML ' >&2
		exit 1
	fi
	exit 0
}
