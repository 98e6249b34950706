#!/bin/bash
# Records, locks and the CLI around them, on the simulated kernel: each
# case gets a fresh copy of the bind host (tests/hosts/bind.toml) and runs
# vfio-variant under LD_PRELOAD of libvv-fakekernel.so (tests/sim-lib.sh).
# Records must be whole and are never followed through a symlink, nor are
# locks; temporaries a killed writer left are cleaned; status lists every
# record; giving back needs no module index; the exit status is the one
# README promises for each error; --timeout is range-checked.
# Usage: test-records.sh VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR VFIO_VARIANT_HOOK
set -u
cli=$1 fakekernel=$2 hosts=$3 hookbin=$4
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup records "$cli" "$fakekernel" "$hosts/bind"

# vv ARGS...: run the CLI on $root; sets $status, $out (stdout+stderr).
vv() {
	out=$(LD_PRELOAD="$preload" "$cli" --sysroot "$root" "$@" 2>&1)
	status=$?
}
devices_dir() { echo "$root/run/vfio-variant/devices"; }
locks_dir() { echo "$root/run/vfio-variant/locks"; }

# --- records must be whole ----------------------------------------------

case_no_native_driver_written_empty() {
	vv detach 00:08.0
	expect_status 0
	expect_record 0000:00:08.0 "original-driver="
	vv reattach 00:08.0
	expect_status 0
	expect_driver 0000:00:08.0 ""
	expect_no_record 0000:00:08.0
}

case_record_without_native_driver_refused() {
	vv detach 00:01.0
	expect_status 0
	sed -i '/^original-driver=/d' "$(record 0000:00:01.0)"
	: >"$log"
	vv reattach 00:01.0
	expect_status 1
	expect_out "is incomplete"
	expect_out "$(record 0000:00:01.0)"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_log_empty
	vv recover 00:01.0
	expect_status 1
	expect_out "is incomplete"
	expect_driver 0000:00:01.0 acme-vfio-pci
}

case_record_with_unknown_operation_refused() {
	VV_FAKEKERNEL_KILL_AFTER=/unbind vv detach 00:01.0
	expect_status 137
	sed -i 's/^operation=.*/operation=frobnicate/' "$(record 0000:00:01.0)"
	: >"$log"
	vv recover 00:01.0
	expect_status 1
	expect_out "is incomplete"
	expect_log_empty
}

# --- no symlinks ---------------------------------------------------------

case_record_symlink_refused() {
	vv detach 00:01.0
	expect_status 0
	printf 'SECRET-FIRST-LINE\n' >"$root/secret"
	ln -sf "$root/secret" "$(record 0000:00:01.0)"
	: >"$log"
	vv reattach 00:01.0
	expect_status 1
	expect_out "is a symbolic link"
	expect_no_out "SECRET"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_log_empty
	vv status 00:01.0
	expect_status 1
	expect_out "is a symbolic link"
	expect_no_out "SECRET"
}

case_lock_symlink_refused() {
	mkdir -p "$(locks_dir)"
	printf 'PRECIOUS\n' >"$root/precious"
	ln -s "$root/precious" "$(locks_dir)/group-1.lock"
	vv detach 00:01.0
	expect_status 1
	expect_out "$(locks_dir)/group-1.lock is a symbolic link"
	expect_no_out "--state-dir"
	expect_driver 0000:00:01.0 abcd_nic
	[ "$(cat "$root/precious")" = PRECIOUS ] || fail "the lock's target was written: $(cat "$root/precious")"
	expect_no_log "driver_override"
}

case_devices_dir_symlink_refused() {
	mkdir -p "$root/run/vfio-variant" "$root/elsewhere"
	ln -s "$root/elsewhere" "$(devices_dir)"
	vv detach 00:01.0
	expect_status 1
	expect_out "is a symbolic link or not a directory"
	expect_driver 0000:00:01.0 abcd_nic
	[ -z "$(ls -A "$root/elsewhere")" ] || fail "written through the symlink: $(ls -A "$root/elsewhere")"
	vv status
	expect_status 1
	expect_out "is a symbolic link or not a directory"
}

# --- temporaries cleaned -------------------------------------------------

# What a command killed between writing the temporary and renaming it
# leaves: BDF.conf.XXXXXX beside the record.
case_stale_temporaries_cleaned() {
	mkdir -p "$(devices_dir)"
	echo half >"$(devices_dir)/0000:00:01.0.conf.Xy12Zq"
	echo other >"$(devices_dir)/0000:00:02.0.conf.Xy12Zq"
	vv detach 00:01.0
	expect_status 0
	[ ! -e "$(devices_dir)/0000:00:01.0.conf.Xy12Zq" ] || fail "the stale temporary of 00:01.0 remains after detach"
	[ -e "$(devices_dir)/0000:00:02.0.conf.Xy12Zq" ] || fail "another device's file was removed"
	echo half >"$(devices_dir)/0000:00:01.0.conf.Ab34Cd"
	vv reattach 00:01.0
	expect_status 0
	[ ! -e "$(devices_dir)/0000:00:01.0.conf.Ab34Cd" ] || fail "the stale temporary of 00:01.0 remains after reattach"
	expect_driver 0000:00:01.0 abcd_nic
}

# The hook's plan (STATE/hook/UUID.conf) has the same writer: a hook killed
# while writing it leaves UUID.conf.XXXXXX, gone after the next stage.
case_stale_plan_temporaries_cleaned() {
	local uuid=6d0c3a1e-5b7f-4c2a-9d41-0a1b2c3d4e5f plans
	rm -rf "$root" && cp -a "$hosts/hook" "$root"
	plans="$root/run/vfio-variant/hook"
	mkdir -p "$plans"
	echo half >"$plans/$uuid.conf.Qw12Er"
	cat >"$root.xml" <<-XML
	<domain type='qemu'><name>vm1</name><uuid>$uuid</uuid><devices>
	<hostdev mode='subsystem' type='pci' managed='yes'><source>
	<address domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></source></hostdev>
	</devices></domain>
	XML
	out=$(LD_PRELOAD="$preload" "$hookbin" --sysroot "$root" qemu vm1 prepare begin - <"$root.xml" 2>&1)
	status=$?
	expect_status 0
	[ -f "$plans/$uuid.conf" ] || fail "no plan written: $out"
	[ ! -e "$plans/$uuid.conf.Qw12Er" ] || fail "the stale temporary of the plan remains"
	[ "$(find "$plans" -name "$uuid.conf.*" | wc -l)" = 0 ] || fail "a temporary remains: $(ls "$plans")"
}

# --- status lists every record -------------------------------------------

case_status_lists_every_record() {
	vv detach 00:01.0
	vv detach 00:09.0
	expect_status 0
	echo 'not a key file' >"$(devices_dir)/0000:00:02.0.conf"
	vv status
	expect_status 1
	expect_out "0000:00:01.0: detached"
	expect_out "0000:00:09.0: detached"
	expect_out "0000:00:02.0: Cannot read the record"
	vv status 00:09.0
	expect_status 0
}

case_status_device_gone() {
	vv detach 00:09.0
	vv detach 00:01.0
	expect_status 0
	rm -rf "$(readlink -f "$sys/devices/0000:00:01.0")" "$sys/devices/0000:00:01.0"
	vv status
	expect_status 0
	expect_out "0000:00:01.0: detached"
	expect_out "the device is gone"
	expect_out "0000:00:09.0: detached"
	vv status 00:01.0
	expect_status 0
	expect_out "the device is gone"
}

# --- giving back needs no alias index ------------------------------------

# no_index_give_back REMOVE: REMOVE takes the module indexes away.
no_index_give_back() {
	vv detach 00:01.0
	expect_status 0
	VV_FAKEKERNEL_KILL_AFTER=/unbind vv detach 00:09.0
	expect_status 137
	"$1"
	vv status
	expect_status 0
	expect_out "0000:00:01.0: detached"
	expect_out "0000:00:09.0: detach cut short"
	vv reattach 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 abcd_nic
	vv recover 00:09.0
	expect_status 0
	expect_driver 0000:00:09.0 abcd_native
	# Selection needs the index, and says so.
	vv detach 00:01.0
	expect_status 2
	expect_out "modules.alias.bin"
	expect_driver 0000:00:01.0 abcd_nic
}
remove_indexes() { rm "$root"/lib/modules/*/*.bin; }
remove_module_dir() { rm -rf "$root"/lib/modules; }
case_no_index_give_back() { no_index_give_back remove_indexes; }
case_no_module_dir_give_back() { no_index_give_back remove_module_dir; }

# The native module is not loaded and cannot be loaded without the module
# directory: said plainly, and the device stays on its VFIO driver.
case_no_module_dir_native_unloaded() {
	vv detach 00:09.0
	expect_status 0
	rm -rf "$root/sys/module/abcd_native" "$root/sys/bus/pci/drivers/abcd_native" "$root"/lib/modules
	sed -i '/^abcd_native /d' "$root/proc/modules"
	: >"$log"
	vv reattach 00:09.0
	expect_status 1
	expect_out "Cannot load the module abcd_native"
	expect_driver 0000:00:09.0 vfio-pci
	expect_no_log "write"
}

# --- exit status per error code ------------------------------------------

case_exit_invalid_argument() {
	vv detach zz:zz
	expect_status 2
}
case_exit_not_found() {
	vv detach 00:1f.7
	expect_status 2
}
case_exit_modules() {
	vv --modules-dir "$root/nowhere" explain 00:01.0
	expect_status 2
	expect_out "modules.alias.bin"
	expect_out "hint: Give the kernel's module directory with --modules-dir."
}
case_exit_io() {
	: >"$root/a-file"
	vv --state-dir "$root/a-file/state" detach 00:01.0
	expect_status 1
	expect_out "Cannot create the state directory"
	expect_driver 0000:00:01.0 abcd_nic
}
# README: an I/O error during a detach is a failure (1), not bad usage
# (2). The fake kernel fails one operation after another until the one
# that fails is a write under /sys; that detach must exit 1 and leave the
# device on its driver.
case_exit_io_sysfs_write() {
	local i
	for i in $(seq 1 40); do
		sim_fresh
		export VV_FAKEKERNEL_FAIL=$i:EIO
		vv detach 00:01.0
		unset VV_FAKEKERNEL_FAIL
		grep -q "^inject $i write /sys/" "$log" || continue
		expect_status 1
		expect_out "Input/output error"
		expect_driver 0000:00:01.0 abcd_nic
		return
	done
	fail "none of the detach's first 40 operations was a sysfs write"
}
case_exit_not_assignable() {
	vv detach 00:1c.0
	expect_status 1
	expect_out "PCI bridge"
}
case_exit_in_use() {
	vv detach 00:06.0
	expect_status 1
	expect_out "uses it"
	expect_out "hint: Stop using 0000:00:06.0 first, or detach it anyway with --force."
}
case_exit_busy() {
	mkdir -p "$(locks_dir)"
	( exec 9>>"$(locks_dir)/group-1.lock"; flock 9; : >"$root.held"; sleep 5 ) &
	while [ ! -e "$root.held" ]; do sleep 0.05; done
	vv detach --timeout 0 00:01.0
	expect_status 1
	expect_out "is busy"
	expect_out "hint: Try again when the other command is done, or wait longer with --timeout."
	kill %1 2>/dev/null
	wait
}
case_exit_bind() {
	vv detach --driver picky_vfio_pci 00:03.0
	expect_status 1
	expect_out "back on abcd_nic"
}
case_exit_module_load() {
	vv detach --driver no_such_vfio_pci 00:03.0
	expect_status 1
	expect_out "has no such module"
}

# --- --timeout -----------------------------------------------------------

case_timeout_range() {
	local t
	for t in 4294968 99999999 -1; do
		vv detach --timeout "$t" 00:01.0
		expect_status 2
		expect_out "from 0 to 4294967"
		vv reattach --timeout "$t" 00:01.0
		expect_status 2
	done
	expect_log_empty
	vv detach --timeout 4294967 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
}

sim_run_cases \
	"a device without a native driver is recorded with original-driver empty|case_no_native_driver_written_empty" \
	"a record without original-driver is refused as incomplete|case_record_without_native_driver_refused" \
	"a record whose journal names an unknown operation is refused|case_record_with_unknown_operation_refused" \
	"a record that is a symlink is refused, its target unread|case_record_symlink_refused" \
	"a lock that is a symlink is refused, its target untouched|case_lock_symlink_refused" \
	"a devices/ that is a symlink is refused|case_devices_dir_symlink_refused" \
	"a killed writer's temporaries are gone after the next command|case_stale_temporaries_cleaned" \
	"a killed hook's plan temporaries are gone after the next stage|case_stale_plan_temporaries_cleaned" \
	"status lists every readable record and names the unreadable one|case_status_lists_every_record" \
	"status lists a record whose device is gone|case_status_device_gone" \
	"status, reattach, recover work without module indexes|case_no_index_give_back" \
	"status, reattach, recover work without a module directory|case_no_module_dir_give_back" \
	"a native module that cannot be loaded without its directory is named|case_no_module_dir_native_unloaded" \
	"exit 2: a malformed device|case_exit_invalid_argument" \
	"exit 2: no such device|case_exit_not_found" \
	"exit 2: an unreadable module directory|case_exit_modules" \
	"exit 1: an IO failure|case_exit_io" \
	"exit 1: a sysfs write failing with EIO during a detach|case_exit_io_sysfs_write" \
	"exit 1: not assignable|case_exit_not_assignable" \
	"exit 1: in use by the host|case_exit_in_use" \
	"exit 1: the group is busy|case_exit_busy" \
	"exit 1: the driver refused|case_exit_bind" \
	"exit 1: the module cannot be loaded|case_exit_module_load" \
	"--timeout out of range is refused, the range named|case_timeout_range"
[ "$failed" -eq 0 ]
