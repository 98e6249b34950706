#!/bin/bash
# Hostile sysroots and inputs: a path that leaves the sysroot through an
# absolute symlink, FIFOs and devices where files are read, numbers no
# kernel gives, and the test-suite guard for module loads. Each case gets
# a fresh copy of the bind host (tests/hosts/bind.toml); every command that
# could hang runs under `timeout 10` (status 124 = it hung).
# Usage: test-sysfs.sh VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR VV_NO_MODULE_SYSCALLS
set -u
cli=$1 fakekernel=$2 hosts=$3 nomod=$4
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup sysfs "$cli" "$fakekernel" "$hosts/bind"
asan=$(ldd "$cli" 2>/dev/null | grep -c libasan)

# vv ARGS...: the CLI on $root under the fake kernel; $status, $out.
vv() {
	out=$(LD_PRELOAD="$preload" timeout 10 "$cli" --sysroot "$root" "$@" 2>&1)
	status=$?
}
# vv_plain ARGS...: the same without the fake kernel (reads only, or
# under vv-no-module-syscalls).
vv_plain() {
	out=$(timeout 10 "$@" 2>&1)
	status=$?
}
expect_no_hang() { [ "$status" -ne 124 ] || fail "it hung (killed by timeout 10): $out"; }
expect_failed() { [ "$status" -ne 0 ] && [ "$status" -lt 124 ] || fail "exit status $status, expected a refusal: $out"; }
devdir() { echo "$root/sys/devices/pci0000:00/$1"; }

# sys/bus/pci/devices/BDF is an absolute link to a copy of the device
# outside the sysroot: the detach must not write that copy's files.
case_escape_through_parent_link() {
	local outside="$work/outside$n"
	mkdir -p "$outside"
	cp -a "$(devdir 0000:00:01.0)" "$outside/"
	echo "untouched" >"$outside/0000:00:01.0/driver_override"
	ln -sfn "$outside/0000:00:01.0" "$sys/devices/0000:00:01.0"
	vv detach 00:01.0
	expect_no_hang
	[ "$(cat "$outside/0000:00:01.0/driver_override")" = "untouched" ] ||
		fail "the write left the sysroot: $outside/0000:00:01.0/driver_override holds '$(cat "$outside/0000:00:01.0/driver_override")' ($out)"
	rm -rf "$outside"
}

# Reads too: the same link must not show the outside copy's device.
case_escape_read() {
	local outside="$work/outside$n"
	mkdir -p "$outside"
	cp -a "$(devdir 0000:00:01.0)" "$outside/"
	echo "pci:v0000DEADd0000BEEFsv00000000sd00000000bc02sc00i00" >"$outside/0000:00:01.0/modalias"
	printf '0xdead\n' >"$outside/0000:00:01.0/vendor"
	ln -sfn "$outside/0000:00:01.0" "$sys/devices/0000:00:01.0"
	vv_plain "$cli" --sysroot "$root" explain 00:01.0
	expect_no_hang
	expect_no_out "dead"
	expect_no_out "DEAD"
	rm -rf "$outside"
}

# An absolute link inside the sysroot names the sysroot's own file, as it
# would on the host the sysroot was taken from. (Reads: the fake kernel
# models real sysfs, whose links are all relative.)
case_absolute_link_stays_inside() {
	ln -sfn "/devices/pci0000:00/0000:00:01.0" "$sys/devices/0000:00:01.0"
	vv_plain "$cli" --sysroot "$root" explain 00:01.0
	expect_no_hang
	expect_out "Driver:         abcd_nic"
	expect_out "Modalias:       pci:v0000ABCDd00000001"
	expect_out "IOMMU group:    1 "
}

# A FIFO as modalias: the ids come from the single-value files instead.
case_fifo_modalias() {
	rm -f "$(devdir 0000:00:01.0)/modalias"
	mkfifo "$(devdir 0000:00:01.0)/modalias"
	vv_plain "$cli" --sysroot "$root" explain 00:01.0
	expect_no_hang
	expect_status 0
	expect_out "acme"
}

# A FIFO as the sysroot's proc/sys/kernel/osrelease.
case_fifo_osrelease() {
	rm -f "$root/proc/sys/kernel/osrelease"
	mkfifo "$root/proc/sys/kernel/osrelease"
	vv_plain "$cli" --sysroot "$root" explain 00:01.0
	expect_no_hang
	expect_status 0
}

# A FIFO and a character device as --config.
case_fifo_config() {
	mkfifo "$work/fifo$n.conf"
	vv_plain "$cli" --sysroot "$root" --config "$work/fifo$n.conf" list
	expect_no_hang
	expect_failed
	expect_out "not a regular file"
	rm -f "$work/fifo$n.conf"
}

# /dev/zero: refused before a byte is read. Without AddressSanitizer
# (which reserves terabytes of address space) the address space is capped
# at 256 MiB, so that reading it whole fails instead of eating the machine.
case_dev_zero_config() {
	local start end
	start=$(date +%s%N)
	if [ "$asan" -eq 0 ]; then
		out=$( (ulimit -v 262144; timeout 10 "$cli" --sysroot "$root" --config /dev/zero list) 2>&1)
	else
		out=$(timeout 10 "$cli" --sysroot "$root" --config /dev/zero list 2>&1)
	fi
	status=$?
	end=$(date +%s%N)
	echo "# --config /dev/zero: exit $status after $(((end - start) / 1000000)) ms"
	expect_no_hang
	expect_failed
	expect_out "not a regular file"
}

# Numbers no kernel gives: sriov_* are u16, numvfs <= totalvfs.
case_sriov_out_of_range() {
	local pf total num
	pf=$(devdir 0000:00:10.0)
	for pair in 65535:4294967295 4294967295:4294967295 65536:1 4:5 4:-1 4:0x1; do
		total=${pair%%:*} num=${pair#*:}
		echo "$total" >"$pf/sriov_totalvfs"
		echo "$num" >"$pf/sriov_numvfs"
		vv_plain "$cli" --sysroot "$root" explain 00:10.0
		expect_no_hang
		expect_failed
		expect_out "which is not a number from 0 to"
	done
	echo 4 >"$pf/sriov_totalvfs"
	echo 1 >"$pf/sriov_numvfs"
	vv_plain "$cli" --sysroot "$root" explain 00:10.0
	expect_no_hang
	expect_out "1 of 4 VFs enabled"
}

# A --sysroot detach without the fake kernel: the module load must be
# refused before it reaches the running kernel (vv-no-module-syscalls
# kills the process at the first module syscall: status 159, SIGSYS).
case_module_load_refused_without_simulation() {
	vv_plain "$nomod" "$cli" --sysroot "$root" detach 00:01.0
	[ "$status" -ne 159 ] || fail "a module syscall reached the kernel (SIGSYS): $out"
	expect_failed
	expect_out "VV_TESTSUITE"
	expect_out "acme_vfio_pci"
}

# With the fake kernel the same detach loads the module (into the
# simulation) and never makes the syscall.
case_module_load_simulated() {
	out=$(LD_PRELOAD="$preload" timeout 10 "$nomod" "$cli" --sysroot "$root" detach 00:01.0 2>&1)
	status=$?
	expect_status 0
	expect_log "load acme_vfio_pci -> ok"
	expect_driver 0000:00:01.0 acme-vfio-pci
}

cases=(
	"write through an absolute parent link stays in the sysroot|case_escape_through_parent_link"
	"read through an absolute parent link stays in the sysroot|case_escape_read"
	"absolute link resolves inside the sysroot|case_absolute_link_stays_inside"
	"FIFO as modalias does not hang|case_fifo_modalias"
	"FIFO as osrelease does not hang|case_fifo_osrelease"
	"FIFO as --config is refused|case_fifo_config"
	"/dev/zero as --config is refused unread|case_dev_zero_config"
	"sriov counts out of the kernel's range refused|case_sriov_out_of_range"
	"module load refused without a simulated kernel|case_module_load_refused_without_simulation"
	"module load reaches the simulation, not the kernel|case_module_load_simulated"
)

sim_run_cases "${cases[@]}"
[ "$failed" -eq 0 ]
