#!/bin/bash
# The binding engine through the CLI, on the simulated kernel: every case
# gets a fresh copy of the bind host (tests/hosts/bind.toml) and runs
# vfio-variant under LD_PRELOAD of libvv-fakekernel.so, which gives writes
# in that copy the driver core's effects and logs each one.
# Each case fails if the rule it names were removed.
# Usage: test-bind.sh VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR
set -u
cli=$1 fakekernel=$2 hosts=$3
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup bind "$cli" "$fakekernel" "$hosts/bind"

# vv ARGS...: run the CLI on $root; sets $status, $out (stdout+stderr).
vv() {
	out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" "$@" 2>&1)
	status=$?
}

case_variant_bind() {
	vv detach 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_vfio 0000:00:01.0
	expect_log "load acme_vfio_pci -> ok"
	expect_record 0000:00:01.0 "step=verified"
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	vv status 0000:00:01.0
	expect_out "0000:00:01.0: detached"
	expect_out "Driver now:       acme-vfio-pci"
}

case_driver_name_not_module_name() {
	vv detach 00:01.0
	expect_status 0
	expect_log "devices/0000:00:01.0/driver_override acme-vfio-pci -> ok"
	expect_no_log "driver_override acme_vfio_pci"
	expect_record 0000:00:01.0 "driver=acme-vfio-pci"
	expect_record 0000:00:01.0 "module=acme_vfio_pci"
}

case_refusal_falls_back() {
	vv detach 00:02.0
	expect_status 0
	expect_out "refused 0000:00:02.0"
	expect_out "Falling back to the generic vfio-pci"
	expect_driver 0000:00:02.0 vfio-pci
	expect_vfio 0000:00:02.0
	expect_record 0000:00:02.0 "fallback=true"
	vv status
	expect_out "a fallback"
}

case_named_driver_refused_rolls_back() {
	vv detach --driver picky_vfio_pci 00:03.0
	expect_status 1
	expect_out "back on abcd_nic"
	expect_driver 0000:00:03.0 abcd_nic
	[ "$(override_of 0000:00:03.0)" = "(null)" ] || fail "override not restored: $(override_of 0000:00:03.0)"
	expect_no_log "driver_override vfio-pci"
	expect_no_record 0000:00:03.0
	# A driver that binds but is not a VFIO driver: rolled back too.
	vv detach --driver abcd_native 00:03.0
	expect_status 1
	expect_out "abcd_native is not a VFIO driver"
	expect_out "back on abcd_nic"
	expect_driver 0000:00:03.0 abcd_nic
	expect_no_record 0000:00:03.0
	# A module that does not exist: nothing changes.
	vv detach --driver no_such_vfio_pci 00:03.0
	expect_status 1
	expect_out "has no such module"
	expect_driver 0000:00:03.0 abcd_nic
	expect_no_record 0000:00:03.0
}

case_group_blockers_named() {
	vv detach 00:04.0
	expect_status 1
	expect_out "IOMMU group 4 is not viable"
	expect_out "0000:00:04.1 (bound to abcd_nic)"
	expect_log_empty
	expect_no_record 0000:00:04.0
}

case_pf_with_vfs() {
	vv detach 00:10.0
	expect_status 1
	expect_out "SR-IOV physical function with VFs enabled"
	expect_driver 0000:00:10.0 abcd_pf
	# Refused before any write, even when vfio-pci is asked for by name.
	vv detach --generic 00:10.0
	expect_status 1
	expect_out "SR-IOV physical function with VFs enabled"
	expect_log_empty
}

case_bridge() {
	vv detach 00:1c.0
	expect_status 1
	expect_out "it is a PCI bridge"
	expect_driver 0000:00:1c.0 pcieport
	vv detach --driver vfio-pci 00:1c.0
	expect_status 1
	expect_out "it is a PCI bridge"
	expect_log_empty
}

case_in_use_net_refused_then_forced() {
	vv detach 00:06.0
	expect_status 1
	expect_out "its network interface eth0 is up"
	expect_out "--force"
	expect_log_empty
	expect_driver 0000:00:06.0 abcd_nic
	vv detach --force 00:06.0
	expect_status 0
	expect_out "although the host uses it"
	expect_driver 0000:00:06.0 vfio-pci
}

case_in_use_mounted_block() {
	vv detach 00:07.0
	expect_status 1
	expect_out "its block device nvme0n1 is mounted on /srv"
	expect_log_empty
	# mountinfo wins over mounts and matches by major:minor, whatever
	# name the source has; swap and holders (dm, md) are uses too.
	local disk="$root/sys/class/block/nvme0n1"
	echo 259:0 >"$disk/dev"
	mkdir -p "$root/proc/self" "$disk/holders/dm-0"
	echo "36 25 259:0 / /data rw,relatime shared:1 - ext4 /dev/disk/by-id/nvme-x rw" >"$root/proc/self/mountinfo"
	printf 'Filename Type Size Used Priority\n/dev/nvme0n1 partition 1 0 -2\n' >"$root/proc/swaps"
	vv detach 00:07.0
	expect_status 1
	expect_out "nvme0n1 is mounted on /data"
	expect_out "nvme0n1 is used as swap"
	expect_out "nvme0n1 is held by dm-0"
	expect_no_out "/srv"
	expect_log_empty
	# An interface that is down is not a use.
	vv detach 00:01.0
	expect_status 0
}

case_kill_after_unbind_then_recover() {
	VV_FAKEKERNEL_KILL_AFTER=/unbind vv detach 00:01.0
	expect_status 137
	expect_driver 0000:00:01.0 ""
	vv status 0000:00:01.0
	expect_out "detach cut short after the step 'override-set'"
	vv recover 00:01.0
	expect_status 0
	expect_out "rolled back"
	expect_driver 0000:00:01.0 abcd_nic
	[ "$(override_of 0000:00:01.0)" = "(null)" ] || fail "override left: $(override_of 0000:00:01.0)"
	expect_no_record 0000:00:01.0
}

case_kill_after_probe_then_detach_recovers() {
	VV_FAKEKERNEL_KILL_AFTER=/drivers_probe vv detach 00:01.0
	expect_status 137
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "step=unbound"
	# The next detach settles the cut-short one first, then detaches.
	vv detach 00:01.0
	expect_status 0
	expect_out "had been cut short after the step 'unbound'; it was rolled back"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "step=verified"
}

case_kill_during_reattach_then_recover() {
	vv detach 00:01.0
	VV_FAKEKERNEL_KILL_AFTER=/driver_override vv reattach 00:01.0
	expect_status 137
	expect_record 0000:00:01.0 "operation=reattach"
	vv recover 00:01.0
	expect_status 0
	expect_out "it was finished"
	expect_driver 0000:00:01.0 abcd_nic
	expect_no_record 0000:00:01.0
}

# Hold LOCK (as another command would) until release_lock; the holder logs
# "released" while it still holds it.
hold_lock() {
	local lock=$1
	fifo="$root.fifo"
	rm -f "$fifo" "$root.held"
	mkfifo "$fifo"
	( exec 9>>"$lock"; flock 9; : >"$root.held"; read -r _ <"$fifo"; echo released >>"$log" ) &
	holder=$!
	while [ ! -e "$root.held" ]; do sleep 0.05; done
}
release_lock() { echo >"$fifo"; wait "$holder"; }

case_group_lock_waits_for_holder() {
	local lock="$root/run/vfio-variant/locks/group-5.lock"
	mkdir -p "$(dirname "$lock")"
	echo "pid 1: test holder" >"$lock"
	hold_lock "$lock"
	vv detach --timeout 1 00:05.0
	expect_status 1
	expect_out "IOMMU group 5 is busy"
	expect_out "test holder"
	expect_log_empty
	release_lock
	# A waiter within its time writes only after the holder let go.
	: >"$log"
	hold_lock "$lock"
	( vv detach --timeout 60 00:05.1; echo "$status" >"$root.status" ) &
	sleep 1
	expect_log_empty
	release_lock
	wait
	[ "$(cat "$root.status")" = 0 ] || fail "the waiting detach failed"
	[ "$(head -n 1 "$log")" = released ] || fail "wrote before the lock was free: $(cat "$log")"
	expect_driver 0000:00:05.1 vfio-pci
}

case_concurrent_detaches_in_one_group() {
	local out_a status_a
	( vv detach 00:05.0; echo "$status" >"$root.a" ) &
	vv detach 00:05.1
	wait
	status_a=$(cat "$root.a")
	[ "$status_a" = 0 ] || fail "the other detach failed ($status_a)"
	expect_status 0
	expect_driver 0000:00:05.0 vfio-pci
	expect_driver 0000:00:05.1 vfio-pci
	# One command's writes, then the other's: never interleaved.
	out_a=$(grep -o '0000:00:05\.[01]' "$log" | uniq | wc -l)
	[ "$out_a" = 2 ] || fail "writes interleaved: $(cat "$log")"
}

case_reattach_loads_unloaded_native_module() {
	vv detach 00:09.0
	expect_status 0
	# What unloading abcd_native leaves (the fake kernel's delete_module).
	rm -rf "$root/sys/module/abcd_native" "$root/sys/bus/pci/drivers/abcd_native"
	sed -i '/^abcd_native /d' "$root/proc/modules"
	vv reattach 00:09.0
	expect_status 0
	expect_log "load abcd_native -> ok"
	expect_driver 0000:00:09.0 abcd_native
	expect_no_record 0000:00:09.0
	vv status 00:09.0
	expect_out "not detached by vfio-variant"
	expect_out "Driver now:       abcd_native"
}

case_native_module_cannot_load() {
	vv detach 00:09.0
	rm -rf "$root/sys/module/abcd_native" "$root/sys/bus/pci/drivers/abcd_native"
	sed -i '/^abcd_native /d' "$root/proc/modules"
	rm "$root"/lib/modules/*/kernel/drivers/misc/abcd_native.ko
	: >"$log"
	vv reattach 00:09.0
	expect_status 1
	expect_out "Cannot reattach 0000:00:09.0"
	expect_out "It stays on vfio-pci"
	expect_driver 0000:00:09.0 vfio-pci
	expect_no_log "write"
	vv status 00:09.0
	expect_out "0000:00:09.0: detached"
}

case_state_dir() {
	vv --state-dir "$root.state" detach 00:01.0
	expect_status 0
	[ -f "$root.state/devices/0000:00:01.0.conf" ] || fail "no record in --state-dir"
	[ ! -e "$root/run/vfio-variant" ] || fail "the default state directory was used"
	vv --state-dir "$root.state" reattach 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 abcd_nic
	vv --state-dir "$root.state" status
	expect_out "No device is detached"
}

case_originally_unbound_stays_unbound() {
	vv detach 00:08.0
	expect_status 0
	expect_driver 0000:00:08.0 vfio-pci
	: >"$log"
	vv reattach 00:08.0
	expect_status 0
	expect_out "has no driver, as before"
	expect_driver 0000:00:08.0 ""
	expect_no_log "drivers_probe"
	expect_no_record 0000:00:08.0
}

case_reattach_without_record() {
	vv detach 00:01.0
	rm "$(record 0000:00:01.0)"
	vv reattach 00:01.0
	expect_status 0
	expect_out "has no record"
	expect_out "is now bound to abcd_nic"
	expect_driver 0000:00:01.0 abcd_nic
}

case_dry_run_makes_no_write() {
	local before after
	before=$(snapshot)
	vv detach --dry-run 00:01.0
	expect_status 0
	expect_out "load module acme_vfio_pci"
	expect_out "0000:00:01.0/driver_override"
	expect_out "drivers/abcd_nic/unbind"
	expect_out "drivers_probe"
	expect_log_empty
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "the tree changed: $(diff <(echo "$before") <(echo "$after"))"
	vv detach 00:01.0
	before=$(snapshot)
	: >"$log"
	vv reattach --dry-run 00:01.0
	expect_status 0
	expect_out "drivers/acme-vfio-pci/unbind"
	expect_log_empty
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "the tree changed on reattach --dry-run"
}

case_already_bound_is_noop() {
	vv detach 00:01.0
	: >"$log"
	vv detach 00:01.0
	expect_status 0
	expect_out "already bound to acme-vfio-pci; nothing to do"
	expect_log_empty
}

case_generic_and_named() {
	vv detach --generic 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 vfio-pci
	expect_no_log "acme"
	vv reattach 00:01.0
	vv detach --driver acme-vfio-pci 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
}

cases=(
	"variant bind (module loaded first)|case_variant_bind"
	"driver name != module name|case_driver_name_not_module_name"
	"variant refuses: fallback to vfio-pci, recorded|case_refusal_falls_back"
	"named driver refuses: no fallback, rolled back|case_named_driver_refused_rolls_back"
	"group blockers named, nothing written|case_group_blockers_named"
	"PF with VFs refused|case_pf_with_vfs"
	"bridge refused|case_bridge"
	"in use (interface up): refused, then --force|case_in_use_net_refused_then_forced"
	"in use (mounted NVMe) refused|case_in_use_mounted_block"
	"killed after unbind, recover rolls back|case_kill_after_unbind_then_recover"
	"killed after drivers_probe, next detach settles it|case_kill_after_probe_then_detach_recovers"
	"killed during reattach, recover finishes it|case_kill_during_reattach_then_recover"
	"group lock: waiter gives up, or waits for release|case_group_lock_waits_for_holder"
	"two concurrent detaches in one group serialize|case_concurrent_detaches_in_one_group"
	"reattach loads an unloaded native module|case_reattach_loads_unloaded_native_module"
	"native module cannot load: stays on VFIO, record kept|case_native_module_cannot_load"
	"--state-dir holds records and locks|case_state_dir"
	"originally unbound device stays unbound|case_originally_unbound_stays_unbound"
	"reattach without a record warns and reprobes|case_reattach_without_record"
	"--dry-run makes no write|case_dry_run_makes_no_write"
	"already on the chosen driver: no-op|case_already_bound_is_noop"
	"--generic and --driver|case_generic_and_named"
)

sim_run_cases "${cases[@]}"
[ "$failed" -eq 0 ]
