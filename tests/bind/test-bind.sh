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

# A detach waiting for the group's lock while a reattach (here: its writes,
# made by the lock's holder) gives the device back decides on what it reads
# once it has the lock: the device on abcd_nic, no record. Reading before
# the lock, it saw acme-vfio-pci and its record, and said "already bound
# ... nothing to do" with the device on its host driver.
case_detach_reads_under_the_lock() {
	local lock="$root/run/vfio-variant/locks/group-1.lock" dev="$sys/devices/0000:00:01.0"
	vv detach 00:01.0
	expect_status 0
	hold_lock "$lock"
	( vv detach --timeout 60 00:01.0; echo "$status" >"$root.status"; printf '%s\n' "$out" >"$root.out" ) &
	sleep 1
	LD_PRELOAD="$preload" bash -c "echo >'$dev/driver_override' && echo 0000:00:01.0 >'$sys/drivers/acme-vfio-pci/unbind' && echo 0000:00:01.0 >'$sys/drivers_probe'"
	rm "$(record 0000:00:01.0)"
	expect_driver 0000:00:01.0 abcd_nic
	release_lock
	wait
	out=$(cat "$root.out") status=$(cat "$root.status")
	expect_status 0
	expect_no_out "nothing to do"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	expect_record 0000:00:01.0 "step=verified"
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

# Group 4: 00:04.1 (abcd_nic) and 00:04.0 (no driver). Detaching 04.1
# first keeps the group viable; then both are on vfio-pci.
detach_group_4() {
	vv detach 00:04.1
	expect_status 0
	vv detach 00:04.0
	expect_status 0
	expect_driver 0000:00:04.0 vfio-pci
	expect_driver 0000:00:04.1 vfio-pci
}

case_reattach_names_member_left_on_vfio() {
	detach_group_4
	vv reattach 00:04.1
	expect_status 0
	expect_driver 0000:00:04.1 abcd_nic
	expect_driver 0000:00:04.0 vfio-pci
	expect_out "0000:00:04.0 of the same IOMMU group 4 stays on the VFIO driver vfio-pci"
	expect_out "no longer usable by a guest until 0000:00:04.0 is reattached too"
	# The last member back says nothing of the kind.
	vv reattach 00:04.0
	expect_status 0
	expect_no_out "stays on the VFIO driver"
}

# Held by a guest: a record naming a domain, or /dev/vfio/4 open in some
# process (the fixture's proc/PID/fd links). Refused before any write,
# unless forced.
case_reattach_refused_when_guest_holds_member() {
	local rec
	detach_group_4
	rec=$(record 0000:00:04.0)
	sed -i 's/^requester=.*/&\ndomain=guest-a\nmanaged=true/' "$rec"
	: >"$log"
	vv reattach 00:04.1
	expect_status 1
	expect_out "Refusing to reattach 0000:00:04.1: 0000:00:04.0 of its IOMMU group 4 is on the VFIO driver vfio-pci and held by the libvirt domain guest-a"
	expect_log_empty
	expect_driver 0000:00:04.1 vfio-pci
	expect_record 0000:00:04.1 "step=verified"
	sed -i '/^domain=/d; /^managed=/d' "$rec"
	mkdir -p "$root/proc/4242/fd"
	echo qemu-system-x86 >"$root/proc/4242/comm"
	ln -s /dev/null "$root/proc/4242/fd/0"
	ln -s /dev/vfio/4 "$root/proc/4242/fd/17"
	vv reattach 00:04.1
	expect_status 1
	expect_out "held by the process 4242 (qemu-system-x86), which has /dev/vfio/4 open"
	expect_log_empty
	# Another group's device node is no hold on group 4.
	ln -sf /dev/vfio/5 "$root/proc/4242/fd/17"
	vv reattach --dry-run 00:04.1
	expect_status 0
	ln -sf /dev/vfio/4 "$root/proc/4242/fd/17"
	vv reattach --force 00:04.1
	expect_status 0
	expect_driver 0000:00:04.1 abcd_nic
	expect_out "held by the process 4242"
	expect_out "no longer usable by a guest"
	expect_no_record 0000:00:04.1
}

# Kernel >= 5.19 refuses a host driver's probe in a group a VFIO user holds
# (the fake kernel's [group 4] held=true), where vfio-variant sees no
# holder: the device goes back on vfio-pci, its record complete.
case_refused_host_probe_back_on_vfio() {
	detach_group_4
	printf '\n[group 4]\nheld=true\n' >>"$root/fakekernel.conf"
	vv reattach 00:04.1
	expect_status 1
	expect_out "did not go back to its driver abcd_nic"
	expect_out "put back on vfio-pci"
	expect_driver 0000:00:04.1 vfio-pci
	expect_vfio 0000:00:04.1
	expect_override 0000:00:04.1 vfio-pci
	expect_record 0000:00:04.1 "operation=detach"
	expect_record 0000:00:04.1 "step=verified"
	expect_record 0000:00:04.1 "original-driver=abcd_nic"
	vv status 00:04.1
	expect_out "0000:00:04.1: detached"
	# Once the guest lets go, the reattach goes through.
	sed -i '/^\[group 4\]/,$d' "$root/fakekernel.conf"
	vv reattach 00:04.1
	expect_status 0
	expect_driver 0000:00:04.1 abcd_nic
}

case_reattach_force_vanished_device() {
	vv detach 00:01.0
	expect_status 0
	rm -rf "$root/sys/devices/pci0000:00/0000:00:01.0" "$sys/devices/0000:00:01.0"
	vv reattach 00:01.0
	expect_status 1
	expect_out "Refusing to reattach 0000:00:01.0: the device is gone from this host"
	expect_record 0000:00:01.0 "step=verified"
	vv reattach --force 00:01.0
	expect_status 0
	expect_out "0000:00:01.0 is gone from this host"
	expect_out "its record was removed"
	expect_no_record 0000:00:01.0
	# No record and no device: nothing to remove.
	vv reattach --force 00:01.0
	expect_status 2
	expect_out "There is no PCI device 0000:00:01.0"
}

# The promise after any command: DEV is on NATIVE with no record or one of
# an operation cut short, or on a VFIO driver with a complete record.
expect_settled() {
	local dev=$1 native=$2 now
	now=$(basename "$(readlink "$sys/devices/$dev/driver")" 2>/dev/null)
	if [ "$now" = "$native" ]; then
		if [ -e "$(record "$dev")" ] && grep -qx "step=verified" "$(record "$dev")" &&
			grep -qx "operation=detach" "$(record "$dev")"; then
			fail "$dev is on $native, but its record says detached ($3): $(cat "$(record "$dev")")"
		fi
	elif [ -n "$now" ] && [ -d "$sys/devices/$dev/vfio-dev" ]; then
		expect_record "$dev" "step=verified"
		expect_record "$dev" "operation=detach"
	else
		fail "$dev is on '${now:-no driver}' ($3): $out"
	fi
}

# FAIL_AT COMMAND...: run the command once per mutating operation it makes,
# the N-th failing with ENOSPC (the fake kernel's VV_FAKEKERNEL_FAIL), each
# on a fresh host prepared by $prepare; calls check after each. Stops when
# nothing was injected any more (the command went past its last operation).
fail_each() {
	local i
	for ((i = 1; i < 100; i++)); do
		sim_fresh
		$prepare
		: >"$log"
		VV_FAKEKERNEL_FAIL=$i:ENOSPC vv "$@"
		grep -q "^inject " "$log" || break
		injected=$(grep "^inject " "$log")
		check
		[ -z "${VV_TEST_VERBOSE:-}" ] || printf '# %s: %s: exit %s\n' "$i" "$injected" "$status"
		[ -z "$problem" ] || { problem="$problem (inject $i: $injected)"; return; }
		runs=$((runs + 1))
	done
	[ "$i" -gt 5 ] || fail "only $i runs: nothing was injected"
}

# A named variant that refuses the device: the rollback's own record writes
# fail one by one; the restore of sysfs goes on.
case_record_write_fails_during_rollback() {
	local runs=0 journal=0
	prepare=:
	check() {
		# 1, or 2 for a record that cannot be written at all (IO error)
		[ "$status" -eq 1 ] || [ "$status" -eq 2 ] || fail "exit status $status: $out"
		expect_settled 0000:00:03.0 abcd_nic "$injected"
		if [ -e "$sys/devices/0000:00:03.0/driver" ] && [ ! -d "$sys/devices/0000:00:03.0/vfio-dev" ]; then
			expect_override 0000:00:03.0 "(null)"
		fi
		if grep -q "^inject [0-9]* write .*run/vfio-variant" <<<"$injected" &&
			grep -qF "The record could not be written either" <<<"$out"; then
			journal=$((journal + 1))
		fi
	}
	fail_each detach --driver picky_vfio_pci 00:03.0
	[ "$journal" -gt 0 ] || fail "no run failed a record write in the rollback"
	echo "# detach rollback: $runs runs, $journal with a failed record write in the rollback, 0 driverless"
}

case_record_write_fails_during_reattach() {
	local runs=0
	prepare=prepare_detached
	check() {
		[ "$status" -le 2 ] || fail "exit status $status: $out"
		expect_settled 0000:00:01.0 abcd_nic "$injected"
	}
	prepare_detached() { vv detach 00:01.0; }
	fail_each reattach 00:01.0
	echo "# reattach: $runs runs, 0 driverless"
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
	"a detach waiting for the lock reads the device under it|case_detach_reads_under_the_lock"
	"reattach loads an unloaded native module|case_reattach_loads_unloaded_native_module"
	"native module cannot load: stays on VFIO, record kept|case_native_module_cannot_load"
	"--state-dir holds records and locks|case_state_dir"
	"originally unbound device stays unbound|case_originally_unbound_stays_unbound"
	"reattach without a record warns and reprobes|case_reattach_without_record"
	"--dry-run makes no write|case_dry_run_makes_no_write"
	"already on the chosen driver: no-op|case_already_bound_is_noop"
	"--generic and --driver|case_generic_and_named"
	"reattach names a member of the group left on VFIO|case_reattach_names_member_left_on_vfio"
	"reattach refused while a guest holds a member, then forced|case_reattach_refused_when_guest_holds_member"
	"refused host probe: back on the VFIO driver, never driverless|case_refused_host_probe_back_on_vfio"
	"reattach --force clears the record of a vanished device|case_reattach_force_vanished_device"
	"a failed record write does not stop a rollback|case_record_write_fails_during_rollback"
	"every failed write of a reattach: never driverless|case_record_write_fails_during_reattach"
)

sim_run_cases "${cases[@]}"
[ "$failed" -eq 0 ]
