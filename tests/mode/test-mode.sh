#!/bin/bash
# VFIO mode on the simulated kernel (tests/fakekernel): the declaration
# (mode=vfio|host in the policy and its drop-ins, hostile drop-ins), the
# verbs declare, undeclare, declarations and apply (requesters udev and
# boot, the udev rule's pending override, the index the rule tests), the
# SR-IOV autoprobe handling and the refused reattach. Every case gets a
# fresh copy of the bind host (tests/hosts/bind.toml) and runs vfio-variant
# under LD_PRELOAD of libvv-fakekernel.so.
# Each case fails if the rule it names were removed.
# Usage: test-mode.sh VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR UDEV_RULE
set -u
cli=$1 fakekernel=$2 hosts=$3 rule=$4
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup mode "$cli" "$fakekernel" "$hosts/bind"

vv() {
	out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" "$@" 2>&1)
	status=$?
}
# A write through the fake kernel, as the udev rule or a user makes it.
sysfs_write() { LD_PRELOAD="$preload" bash -c "echo '$2' > '$sys/devices/$1'"; }
# The kernel offers DEVICE to its drivers (as a driver registering does).
probe() { LD_PRELOAD="$preload" bash -c "echo '$1' > '$sys/drivers_probe'"; }

conf() { echo "$root/etc/vfio-variant/vfio-variant.conf"; }
dropins() { echo "$root/etc/vfio-variant/vfio-variant.conf.d"; }
ours() { echo "$(dropins)/90-declared.conf"; }
index() { echo "$root/etc/vfio-variant/declared"; }
admin_policy() { mkdir -p "$root/etc/vfio-variant"; printf '%b' "$1" >"$(conf)"; }
dropin() { mkdir -p "$(dropins)"; printf '%b' "$2" >"$(dropins)/$1"; }
index_names() { find "$(index)" -mindepth 1 -printf '%f\n' 2>/dev/null | LC_ALL=C sort | tr '\n' ' '; }
expect_index() { [ "$(index_names)" = "$1" ] || fail "index is '$(index_names)', expected '$1'"; }
autoprobe() { cat "$sys/devices/$1/sriov_drivers_autoprobe"; }
# PF: its VFs' autoprobe is off, and the note says it was on.
expect_autoprobe_off() {
	[ "$(autoprobe "$1")" = 0 ] || fail "autoprobe of the PF is $(autoprobe "$1")"
	[ -f "$root/run/vfio-variant/sriov/$1" ] || fail "no note that autoprobe was 1"
}
# PF VF: a VF created on PF probes no host driver; the rule's apply binds it.
expect_vf_bound_by_rule() {
	: >"$log"
	sysfs_write "$1/sriov_numvfs" 1
	expect_driver "$2" ""
	expect_no_log "$2 abcd_nic"
	vv apply "$2" --requester udev
	expect_status 0
	expect_driver "$2" vfio-pci
	expect_record "$2" "requester=udev"
}

# ---------------------------------------------------------------- declare

case_declare_address() {
	admin_policy "# the administrator's\n[global]\nhook-mode=fallback\n"
	before=$(md5sum <"$(conf)")
	vv declare 00:01.0
	expect_status 0
	expect_out "0000:00:01.0 is declared in VFIO mode."
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_vfio 0000:00:01.0
	grep -qxF "[device 0000:00:01.0]" "$(ours)" || fail "drop-in lacks the group: $(cat "$(ours)")"
	grep -qxF "mode=vfio" "$(ours)" || fail "drop-in lacks mode=vfio"
	[ "$(md5sum <"$(conf)")" = "$before" ] || fail "the administrator's file changed"
	[ "$(stat -c %a "$(ours)")" = 644 ] || fail "drop-in mode $(stat -c %a "$(ours)"), not 644"
	expect_index "0000:00:01.0 "
}

case_declare_id_generic() {
	vv declare ABCD:0003 --driver generic
	expect_status 0
	expect_driver 0000:00:03.0 vfio-pci
	grep -qxF "[id abcd:0003]" "$(ours)" || fail "drop-in lacks [id abcd:0003]: $(cat "$(ours)")"
	grep -qxF "driver=generic" "$(ours)" || fail "drop-in lacks driver=generic"
	# The kernel's PCI_ID is uppercase: the rule tests that name.
	expect_index "ABCD:0003 "
	# Other devices were not touched.
	expect_driver 0000:00:01.0 abcd_nic
}

case_declare_no_apply() {
	vv declare 00:01.0 --no-apply
	expect_status 0
	expect_driver 0000:00:01.0 abcd_nic
	expect_log_empty
	expect_index "0000:00:01.0 "
}

case_declare_bad_input() {
	vv declare 1234
	expect_status 2
	expect_out "neither a PCI device address"
	vv declare 00:01.0 --driver 'a/b'
	expect_status 2
	expect_out "neither auto, generic nor the name"
	vv declare 00:01.0 --driver deny
	expect_status 2
	expect_out "'deny' is neither auto, generic nor the name"
	[ ! -e "$(ours)" ] || fail "a drop-in was written: $(cat "$(ours)")"
	[ ! -e "$(index)" ] || fail "an index was written"
	expect_log_empty
}

case_declarations_list() {
	vv declare abcd:0003 --no-apply --driver picky_vfio_pci
	expect_index "ABCD:0003 "
	# A hand edit reaches the index at the next verb or apply --all.
	admin_policy "# by hand\n[device 0000:00:02.0]\nmode=vfio\ndriver=generic\n"
	vv declarations
	expect_status 0
	expect_out "0000:00:02.0   vfio  generic          $(conf):3"
	expect_out "id abcd:0003   vfio  picky_vfio_pci   $(ours):"
	expect_index "ABCD:0003 "
	vv apply --all --dry-run
	expect_index "ABCD:0003 "
	vv apply --all --requester boot
	expect_index "0000:00:02.0 ABCD:0003 "
}

case_declarations_none() {
	vv declarations
	expect_status 0
	expect_out "No device is declared in VFIO mode"
}

# Drop-ins in byte order after the file; at one level the later wins.
case_dropin_order() {
	admin_policy "[device 0000:00:01.0]\nmode=vfio\n"
	dropin 10-a.conf "[device 00:01.0]\nmode=host\n"
	vv declarations
	expect_out "0000:00:01.0   host  auto             $(dropins)/10-a.conf:2"
	dropin 20-b.conf "[device 0000:00:01.0]\nmode=vfio\ndriver=generic\n"
	vv declarations
	expect_out "0000:00:01.0   vfio  generic          $(dropins)/20-b.conf:2"
	# The device group wins over an id group, whatever the file.
	dropin 30-c.conf "[id abcd:0001]\nmode=host\n"
	vv explain 00:01.0
	expect_out "generic, from [device 0000:00:01.0] in $(dropins)/20-b.conf line 3"
	# Not drop-ins: other names, hidden files, temporaries.
	dropin README "[broken"
	dropin .hidden.conf "[broken"
	dropin 20-b.conf.Xy12Z9 "[broken"
	vv declarations
	expect_status 0
}

# hostile_case NAME FILE-CONTENTS EXPECTED: the drop-in is refused with a
# message naming it, by every verb, and nothing is written.
hostile() {
	vv declarations
	expect_status 2
	expect_out "$1"
	vv declare 00:01.0
	expect_status 2
	expect_out "$1"
	vv apply --all --requester boot
	expect_status 2
	[ ! -e "$(ours)" ] || fail "the drop-in was written: $(cat "$(ours)")"
	[ ! -e "$(index)" ] || fail "an index was written"
	expect_log_empty
}
case_hostile_bad_key() { dropin 50-x.conf "[device 0000:00:01.0]\nmod=vfio\n"; hostile "50-x.conf line 2: 'mod' is not a key"; }
case_hostile_bad_id() { dropin 50-x.conf "[id abcd:00g3]\nmode=vfio\n"; hostile "50-x.conf line 1: '[id abcd:00g3]' does not name a vendor:device pair"; }
case_hostile_bad_mode() { dropin 50-x.conf "[id abcd:0003]\nmode=passthrough\n"; hostile "'passthrough' is not a value of mode"; }
case_hostile_global_mode() { dropin 50-x.conf "[global]\nmode=vfio\n"; hostile "mode is not a key of [global]"; }
case_hostile_duplicate_group() { dropin 50-x.conf "[device 00:01.0]\nmode=vfio\n[device 0000:00:01.0]\nmode=host\n"; hostile "names the same thing as the group on line 1"; }
case_hostile_symlink() {
	dropin real.txt "[device 0000:00:01.0]\nmode=vfio\n"
	ln -s real.txt "$(dropins)/50-x.conf"
	hostile "$(dropins)/50-x.conf is not a policy drop-in: it is a symbolic link"
}
case_hostile_fifo() { mkdir -p "$(dropins)"; mkfifo "$(dropins)/50-x.conf"; hostile "$(dropins)/50-x.conf is not a policy drop-in"; }
case_hostile_huge() {
	mkdir -p "$(dropins)"
	{ echo "[device 0000:00:01.0]"; head -c 1100000 /dev/zero | tr '\0' '#'; echo; } >"$(dropins)/50-x.conf"
	hostile "more than the 1048576 it may hold"
}
case_hostile_nul() { dropin 50-x.conf "[device 0000:00:01.0]\nmode=vfio\0\n"; hostile "holds NUL bytes"; }
case_hostile_dir_symlink() {
	mkdir -p "$root/etc/vfio-variant" "$root/elsewhere"
	ln -s ../../elsewhere "$(dropins)"
	hostile "is not a directory of policy drop-ins"
}

# ---------------------------------------------------------------- undeclare

case_undeclare_gives_back() {
	vv declare 00:01.0
	expect_driver 0000:00:01.0 acme-vfio-pci
	vv undeclare 0000:00:01.0
	expect_status 0
	expect_out "0000:00:01.0 is no longer declared in VFIO mode."
	expect_out "back on its driver abcd_nic"
	expect_driver 0000:00:01.0 abcd_nic
	expect_no_record 0000:00:01.0
	! grep -qF "0000:00:01.0" "$(ours)" || fail "drop-in keeps the device: $(cat "$(ours)")"
	expect_index ""
}

case_undeclare_admin_declaration() {
	admin_policy "[device 0000:00:01.0]\nmode=vfio\n"
	before=$(md5sum <"$(conf)")
	vv apply --all --requester boot
	expect_driver 0000:00:01.0 acme-vfio-pci
	vv undeclare 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 abcd_nic
	[ "$(md5sum <"$(conf)")" = "$before" ] || fail "the administrator's file changed"
	grep -qxF "mode=host" "$(ours)" || fail "drop-in lacks mode=host: $(cat "$(ours)")"
	vv declarations
	expect_out "0000:00:01.0   host"
	expect_index ""
}

case_undeclare_shadowed() {
	vv declare 00:01.0 --no-apply
	dropin 95-late.conf "[device 0000:00:01.0]\nmode=vfio\n"
	vv undeclare 00:01.0
	expect_status 2
	expect_out "stays in VFIO mode: a drop-in read after"
}

# ---------------------------------------------------------------- reattach

case_reattach_refused() {
	vv declare 00:01.0
	: >"$log"
	vv reattach 00:01.0
	expect_status 1
	expect_out "the policy declares it in VFIO mode (mode=vfio)"
	expect_out "hint: Remove the declaration with 'vfio-variant undeclare 0000:00:01.0'"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_log_empty
	# Declared by id, the same.
	vv undeclare 00:01.0
	vv declare abcd:0001
	vv reattach 00:01.0
	expect_status 1
	expect_out "mode=vfio"
}

# ---------------------------------------------------------------- apply

# What the udev rule does at an add: the pending override (an attribute
# write) on a device no driver took, then 'apply --requester udev'.
case_apply_udev_pending() {
	vv declare abcd:0008 --no-apply
	sysfs_write 0000:00:08.0/driver_override vfio-variant-pending
	: >"$log"
	vv apply 0000:00:08.0 --requester udev
	expect_status 0
	expect_driver 0000:00:08.0 vfio-pci
	# The pending override goes straight to the VFIO driver's name,
	# under the lock: never cleared in between.
	expect_no_log "devices/0000:00:08.0/driver_override \"\" -> ok"
	expect_override 0000:00:08.0 vfio-pci
	expect_record 0000:00:08.0 "requester=udev"
	expect_record 0000:00:08.0 "original-override=vfio-variant-pending"
	vv status 0000:00:08.0
	expect_out "by udev"
	expect_out "Native override:  vfio-variant-pending"
}

# The device the rule held, as the udev rule leaves it: no driver, the
# pending override, declared (ARGS: declare's options).
pending_device() {
	sysfs_write "$1/driver/unbind" "$1"
	sysfs_write "$1/driver_override" vfio-variant-pending
	vv declare "$@" --no-apply
	: >"$log"
}

# Held by the rule, detached, then undeclared: the host driver gets it and
# the pending override is gone (the declaration no longer holds it).
case_pending_undeclare_releases() {
	pending_device 0000:00:01.0
	vv apply 00:01.0 --requester udev
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "original-override=vfio-variant-pending"
	vv undeclare 00:01.0
	expect_status 0
	expect_out "declared no more, it went to abcd_nic"
	expect_driver 0000:00:01.0 abcd_nic
	expect_override 0000:00:01.0 "(null)"
	expect_no_record 0000:00:01.0
}

# Held by the rule and detached, then undeclared while another member of
# its IOMMU group is on VFIO and held by a guest: released to its host
# driver it would make the guest's group unusable, so the release is
# refused as any reattach in that group is, and the device stays on VFIO.
case_pending_undeclare_group_held() {
	pending_device 0000:00:05.0
	vv apply 00:05.0 --requester udev
	expect_status 0
	expect_driver 0000:00:05.0 vfio-pci
	vv detach 00:05.1
	expect_status 0
	expect_driver 0000:00:05.1 vfio-pci
	# As the hook records a managed hostdev of a running guest.
	sed -i 's/^requester=.*/&\ndomain=guest1\nmanaged=true/' "$(record 0000:00:05.1)"
	vv undeclare 00:05.0
	[ "$status" -ne 0 ] || fail "undeclare released 00:05.0 next to a held member: $out"
	expect_out "0000:00:05.1 of its IOMMU group 5 is on the VFIO driver vfio-pci and held by the libvirt domain guest1"
	expect_driver 0000:00:05.0 vfio-pci
	expect_record 0000:00:05.0 "original-override=vfio-variant-pending"
	expect_driver 0000:00:05.1 vfio-pci
}

# A failed apply (the probe's write fails, so no fallback either) leaves
# the device held: no driver, the pending override, no record.
case_pending_failed_apply() {
	local keep=$n i
	for i in $(seq 1 40); do
		n="$keep-probe$i" && sim_fresh && n=$keep
		pending_device 0000:00:01.0
		VV_FAKEKERNEL_FAIL=$i vv apply 00:01.0 --requester udev
		grep -q "^inject $i write .*drivers_probe" "$log" && break
		grep -q "^inject" "$log" || { fail "no write to drivers_probe failed: $out"; return; }
	done
	expect_status 1
	expect_out "held for VFIO by its declaration"
	expect_driver 0000:00:01.0 ""
	expect_override 0000:00:01.0 vfio-variant-pending
	expect_no_record 0000:00:01.0
	# The host driver's probe cannot take it.
	probe 0000:00:01.0
	expect_driver 0000:00:01.0 ""
	# Declared no more: the host driver gets it.
	vv undeclare 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 abcd_nic
	expect_override 0000:00:01.0 "(null)"
}

# Every write of the apply failing in turn (VV_FAKEKERNEL_FAIL=N): the
# device never ends on its host driver, nor without the override that
# keeps the host driver away.
case_pending_fault_walk() {
	local keep=$n i ov drv
	for i in $(seq 1 40); do
		n="$keep-fault$i" && sim_fresh && n=$keep
		pending_device 0000:00:01.0
		VV_FAKEKERNEL_FAIL=$i vv apply 00:01.0 --requester udev
		drv=$(driver_of 0000:00:01.0) ov=$(override_of 0000:00:01.0)
		[ "$drv" != abcd_nic ] || fail "fault $i: on the host driver abcd_nic: $out"
		[ "$ov" != "(null)" ] || fail "fault $i: no driver_override (driver '$drv'): $out"
		grep -q "^inject" "$log" || break
	done
	if [ "$i" -le 3 ] || [ "$i" -ge 40 ]; then fail "the walk ended after $i faults"; fi
}

# While an apply waits for the group's lock, the pending override still
# holds the device: a host driver's probe in that window (its module
# loaded for a sibling) does not take it.
case_pending_lock_window() {
	local lock="$root/run/vfio-variant/locks/group-1.lock" fd pid
	pending_device 0000:00:01.0
	mkdir -p "${lock%/*}"
	exec {fd}>"$lock"
	flock "$fd"
	# The apply must not inherit the lock's descriptor.
	( exec {fd}>&-; vv apply 00:01.0 --requester udev; echo "$status $out" >"$root/apply.out" ) &
	pid=$!
	sleep 0.5
	expect_override 0000:00:01.0 vfio-variant-pending
	probe 0000:00:01.0
	expect_driver 0000:00:01.0 ""
	exec {fd}>&-
	wait "$pid"
	grep -q "^0 " "$root/apply.out" || fail "apply failed: $(cat "$root/apply.out")"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_override 0000:00:01.0 acme-vfio-pci
}

# The udev rule's apply read the pending override while the boot unit's
# held the group's lock (its module load made slow), then waited: it
# decides on what it reads under the lock, and writes no override.
case_pending_stale_read() {
	local boot udev
	pending_device 0000:00:01.0
	(VV_FAKEKERNEL_LOAD_MS=1500 vv apply 00:01.0 --requester boot; echo "$status $out" >"$root/boot.out") &
	boot=$!
	# udev's apply starts once boot's holds the lock: its module load
	# (under the lock) has begun. A fixed sleep would not do under valgrind.
	for _ in $(seq 600); do
		[ "$(cat "$root/sys/module/acme_vfio_pci/initstate" 2>/dev/null)" = coming ] && break
		sleep 0.1
	done
	[ "$(cat "$root/sys/module/acme_vfio_pci/initstate" 2>/dev/null)" = coming ] ||
		fail "boot's apply did not begin the module load within 60 s"
	expect_override 0000:00:01.0 vfio-variant-pending
	(vv apply 00:01.0 --requester udev; echo "$status $out" >"$root/udev.out") &
	udev=$!
	wait "$boot" "$udev"
	grep -q "^0 " "$root/boot.out" || fail "boot's apply failed: $(cat "$root/boot.out")"
	# Exit status first, then the output (valgrind may put lines before it).
	grep -q "^0 " "$root/udev.out" && grep -q "already" "$root/udev.out" ||
		fail "udev's apply: $(cat "$root/udev.out")"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_override 0000:00:01.0 acme-vfio-pci
	[ "$(grep -c "0000:00:01.0/driver_override" "$log")" = 1 ] ||
		fail "driver_override written more than once: $(tr '\n' '|' <"$log")"
	expect_record 0000:00:01.0 "requester=boot"
}

# The boot unit's apply bound the device first: the udev rule's apply
# leaves the VFIO driver's override alone.
case_pending_boot_first() {
	pending_device 0000:00:01.0
	vv apply 00:01.0 --requester boot
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	: >"$log"
	vv apply 00:01.0 --requester udev
	expect_status 0
	expect_override 0000:00:01.0 acme-vfio-pci
	expect_no_log "driver_override"
	expect_record 0000:00:01.0 "requester=boot"
}

# The rule's pending write and both applies (udev and boot) at once, 20
# times: the device always ends on its VFIO driver, with one record.
case_pending_race_loop() {
	local keep=$n i a b
	for i in $(seq 1 20); do
		n="$keep-race$i" && sim_fresh && n=$keep
		pending_device 0000:00:01.0
		(vv apply 00:01.0 --requester udev; echo "$status $out" >"$root/udev.out") &
		a=$!
		(vv apply 00:01.0 --requester boot; echo "$status $out" >"$root/boot.out") &
		b=$!
		wait "$a" "$b"
		grep -q "^0 " "$root/udev.out" || fail "race $i: udev's apply: $(cat "$root/udev.out")"
		grep -q "^0 " "$root/boot.out" || fail "race $i: boot's apply: $(cat "$root/boot.out")"
		expect_driver 0000:00:01.0 acme-vfio-pci
		expect_override 0000:00:01.0 acme-vfio-pci
		[ "$(find "$root/run/vfio-variant/devices" -name '0000:00:01.0*' | wc -l)" = 1 ] ||
			fail "race $i: records: $(ls "$root/run/vfio-variant/devices")"
		expect_record 0000:00:01.0 "original-override=vfio-variant-pending"
		[ -z "$problem" ] || break
	done
}

# Declared while the host driver (built in, or from the initramfs) has the
# device already: the normal detach.
case_apply_udev_bound() {
	vv declare 00:01.0 --no-apply
	vv apply 00:01.0 --requester udev
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	expect_record 0000:00:01.0 "requester=udev"
	# Again: nothing to do.
	: >"$log"
	vv apply 00:01.0 --requester udev
	expect_status 0
	expect_out "on the VFIO driver acme-vfio-pci already"
	expect_log_empty
}

case_apply_undeclared_noop() {
	vv apply 00:01.0 --requester udev
	expect_status 0
	expect_out "not declared for VFIO; nothing to do"
	expect_log_empty
}

# Undeclared between the rule and the apply: the host driver gets it.
case_apply_pending_undeclared() {
	sysfs_write 0000:00:01.0/driver/unbind 0000:00:01.0
	sysfs_write 0000:00:01.0/driver_override vfio-variant-pending
	vv apply 00:01.0 --requester udev
	expect_status 0
	expect_override 0000:00:01.0 "(null)"
	expect_driver 0000:00:01.0 abcd_nic
}

# Every existing rule applies: not assignable, in use, group not viable.
case_apply_rules_hold() {
	vv declare 00:06.0 --no-apply
	vv declare 00:04.0 --no-apply
	vv apply 00:06.0 --requester udev
	expect_status 1
	expect_out "the host uses it"
	expect_driver 0000:00:06.0 abcd_nic
	vv apply 00:04.0 --requester udev
	expect_status 1
	expect_out "is not viable"
	vv undeclare 00:06.0
	vv declare 00:10.0 --no-apply
	vv apply 00:10.0 --requester udev
	expect_status 1
	expect_out "Cannot detach 0000:00:10.0"
	expect_driver 0000:00:10.0 abcd_pf
}

case_apply_all_boot() {
	admin_policy "[id abcd:0001]\nmode=vfio\n[device 0000:00:03.0]\nmode=vfio\ndriver=generic\n[device 0000:00:06.0]\nmode=vfio\n"
	vv apply --all --requester boot
	# 00:06.0 is in use: reported, the others still done.
	expect_status 1
	expect_out "0000:00:06.0"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_driver 0000:00:03.0 vfio-pci
	expect_driver 0000:00:06.0 abcd_nic
	expect_record 0000:00:01.0 "requester=boot"
	expect_record 0000:00:03.0 "requester=boot"
	# 00:04.0 and 00:05.0 are abcd:0001 too: not viable, not ours to force.
	expect_driver 0000:00:02.0 abcd_nic
	expect_no_log "0000:00:02.0"
	expect_index "0000:00:03.0 0000:00:06.0 ABCD:0001 "
	vv status 00:01.0
	expect_out "by boot"
}

# An index that cannot be written keeps no device from its driver.
case_apply_all_index_unwritable() {
	admin_policy "[device 0000:00:01.0]\nmode=vfio\n"
	mkdir -p "$root/elsewhere"
	ln -s ../../elsewhere "$(index)"
	vv apply --all --requester boot
	expect_status 1
	expect_out "is a symbolic link or not a directory"
	expect_driver 0000:00:01.0 acme-vfio-pci
	[ -z "$(ls -A "$root/elsewhere")" ] || fail "written through the link: $(ls -A "$root/elsewhere")"
}

case_apply_usage() {
	vv apply
	expect_status 2
	vv apply --all 00:01.0
	expect_status 2
	vv apply 00:01.0 --requester libvirt
	expect_status 2
	expect_out "--requester takes udev, boot or cli"
}

# ---------------------------------------------------------------- SR-IOV

# The VF id abcd:0011 of the PF 00:10.0 (abcd_pf): abcd_nic, the host's VF
# driver, would take each VF as it is created.
sriov_host() {
	sed -i 's/^ids=abcd:0001;/ids=abcd:0011;abcd:0001;/' "$root/fakekernel.conf"
	sysfs_write 0000:00:10.0/sriov_numvfs 0
}
case_sriov_control() {
	sriov_host
	sysfs_write 0000:00:10.0/sriov_numvfs 1
	expect_driver 0000:00:10.1 abcd_nic
}

case_sriov_declared_vfs() {
	sriov_host
	vv declare abcd:0011
	expect_status 0
	expect_autoprobe_off 0000:00:10.0
	expect_index "ABCD:0011 pf-0000:00:10.0 "
	expect_driver 0000:00:10.0 abcd_pf
	expect_vf_bound_by_rule 0000:00:10.0 0000:00:10.1
	# The PF with VFs enabled is not assignable and stays on its driver.
	vv apply 0000:00:10.0 --requester udev
	expect_status 0
	expect_driver 0000:00:10.0 abcd_pf
	# Removed: the VF goes back, autoprobe is 1 again.
	vv undeclare abcd:0011
	expect_status 0
	[ "$(autoprobe 0000:00:10.0)" = 1 ] || fail "autoprobe not restored: $(autoprobe 0000:00:10.0)"
	[ ! -e "$root/run/vfio-variant/sriov/0000:00:10.0" ] || fail "the note remains"
	expect_no_record 0000:00:10.1
	expect_index ""
}

# A PF that gives its VFs its own id (QEMU's nvme does: 1b36:0010 both):
# declaring that id is for the VFs; the PF stays on its host driver, by
# declare, by the rule's apply and at boot, unless its address is declared.
case_sriov_vf_id_is_pf_id() {
	sriov_host
	echo 10 >"$sys/devices/0000:00:10.0/sriov_vf_device"
	vv declare abcd:0010
	expect_status 0
	expect_driver 0000:00:10.0 abcd_pf
	expect_index "ABCD:0010 pf-0000:00:10.0 "
	[ "$(autoprobe 0000:00:10.0)" = 0 ] || fail "autoprobe of the PF is $(autoprobe 0000:00:10.0)"
	vv apply 0000:00:10.0 --requester udev
	expect_status 0
	expect_out "0000:00:10.0 is a PF whose VFs carry its id"
	expect_driver 0000:00:10.0 abcd_pf
	vv apply --all --requester boot
	expect_driver 0000:00:10.0 abcd_pf
	expect_no_record 0000:00:10.0
	# Its address declared too: that is for the PF itself.
	vv declare 0000:00:10.0
	expect_status 0
	expect_vfio 0000:00:10.0
}

# An autoprobe the administrator turned off stays off: it is not ours.
case_sriov_admin_autoprobe() {
	sriov_host
	sysfs_write 0000:00:10.0/sriov_drivers_autoprobe 0
	vv declare abcd:0011 --no-apply
	vv apply --all --requester boot
	vv undeclare abcd:0011
	[ "$(autoprobe 0000:00:10.0)" = 0 ] || fail "autoprobe turned on: $(autoprobe 0000:00:10.0)"
}

# ---------------------------------------------------------------- SR-IOV: vfs= on the PF

# The VFs of 00:10.0 declared by the key on their PF, whatever their id
# (abcd:0011 is declared nowhere): autoprobe 0, a VF created stays off
# its host driver, the rule's apply binds it; the PF stays; undeclared,
# all undone.
case_vfs_declare() {
	sriov_host
	vv declare --vfs 00:10.0
	expect_status 0
	expect_out "The VFs of 0000:00:10.0 are declared in VFIO mode."
	grep -qxF "[device 0000:00:10.0]" "$(ours)" || fail "drop-in lacks the PF's group: $(cat "$(ours)")"
	grep -qxF "vfs=vfio" "$(ours)" || fail "drop-in lacks vfs=vfio: $(cat "$(ours)")"
	! grep -q "^mode=" "$(ours)" || fail "the PF itself was declared: $(cat "$(ours)")"
	expect_autoprobe_off 0000:00:10.0
	expect_index "pf-0000:00:10.0 vfs-of-0xabcd:0x0010 "
	expect_driver 0000:00:10.0 abcd_pf
	vv declarations
	expect_out "vfs 0000:00:10.0 vfio  -                $(ours):"
	expect_vf_bound_by_rule 0000:00:10.0 0000:00:10.1
	vv apply 0000:00:10.0 --requester udev
	expect_status 0
	expect_out "0000:00:10.0 is not declared for VFIO; nothing to do"
	expect_driver 0000:00:10.0 abcd_pf
	vv undeclare --vfs 0000:00:10.0
	expect_status 0
	expect_out "The VFs of 0000:00:10.0 are no longer declared in VFIO mode."
	[ "$(autoprobe 0000:00:10.0)" = 1 ] || fail "autoprobe not restored: $(autoprobe 0000:00:10.0)"
	[ ! -e "$root/run/vfio-variant/sriov/0000:00:10.0" ] || fail "the note remains"
	expect_no_record 0000:00:10.1
	! grep -qF "0000:00:10.0" "$(ours)" || fail "drop-in keeps the PF: $(cat "$(ours)")"
	expect_index ""
}

# VFs removed (sriov_numvfs 0) and created again: the record of the VF
# before is forgotten (the new one is on no driver), the new VF bound.
case_vfs_recreated() {
	sriov_host
	vv declare --vfs 00:10.0
	for round in 1 2 3; do
		sysfs_write 0000:00:10.0/sriov_numvfs 1
		vv apply 0000:00:10.1 --requester udev
		expect_status 0
		expect_driver 0000:00:10.1 vfio-pci
		[ "$round" = 1 ] || expect_out "The record of 0000:00:10.1 named vfio-pci, but 0000:00:10.1 is on no driver"
		expect_record 0000:00:10.1 "requester=udev"
		sysfs_write 0000:00:10.0/sriov_numvfs 0
	done
	# A record whose device is on a driver is no stale one: refused.
	sysfs_write 0000:00:10.0/sriov_numvfs 1
	vv apply 0000:00:10.1 --requester udev
	vv undeclare --vfs 00:10.0 --no-apply
	vv apply 0000:00:10.1 --requester udev
	expect_out "not declared for VFIO; nothing to do"
	expect_driver 0000:00:10.1 vfio-pci
	expect_record 0000:00:10.1 "driver=vfio-pci"
}

# A PF with vfs=vfio added after the index was written gets its model's
# name from its own apply; an index that cannot be written is said, and
# the autoprobe is turned off all the same.
case_vfs_pf_added() {
	sriov_host
	admin_policy "[device 0000:00:10.0]\nvfs=vfio\n"
	vv apply 0000:00:10.0 --requester udev
	expect_status 0
	expect_index "vfs-of-0xabcd:0x0010 "
	[ "$(autoprobe 0000:00:10.0)" = 0 ] || fail "autoprobe is $(autoprobe 0000:00:10.0)"
	sysfs_write 0000:00:10.0/sriov_drivers_autoprobe 1
	rm -f "$root/run/vfio-variant/sriov/0000:00:10.0"
	rm -r "$(index)"
	mkdir -p "$root/elsewhere"
	ln -s ../../elsewhere "$(index)"
	vv apply 0000:00:10.0 --requester udev
	expect_status 0
	expect_out "is a symbolic link or not a directory"
	[ "$(autoprobe 0000:00:10.0)" = 0 ] || fail "autoprobe is $(autoprobe 0000:00:10.0)"
	[ -z "$(ls -A "$root/elsewhere")" ] || fail "written through the link: $(ls -A "$root/elsewhere")"
}

# VFs that exist when they are declared are moved by 'declare --vfs'.
case_vfs_present() {
	sriov_host
	sysfs_write 0000:00:10.0/sriov_numvfs 1
	expect_driver 0000:00:10.1 abcd_nic
	vv declare --vfs 0000:00:10.0
	expect_status 0
	expect_driver 0000:00:10.1 vfio-pci
	expect_driver 0000:00:10.0 abcd_pf
	expect_record 0000:00:10.1 "original-driver=abcd_nic"
	vv undeclare --vfs 0000:00:10.0
	expect_status 0
	expect_driver 0000:00:10.1 abcd_nic
}

# For a VF: its address's mode= first, then its PF's vfs=, then its id.
case_vfs_precedence() {
	sriov_host
	admin_policy "[id abcd:0011]\nmode=vfio\n[device 0000:00:10.0]\nvfs=host\n"
	vv apply --all --requester boot
	expect_status 0
	[ "$(autoprobe 0000:00:10.0)" = 1 ] || fail "vfs=host: autoprobe is $(autoprobe 0000:00:10.0)"
	expect_index "ABCD:0011 "
	sysfs_write 0000:00:10.0/sriov_numvfs 1
	vv apply 0000:00:10.1 --requester udev
	expect_out "0000:00:10.1 is not declared for VFIO; nothing to do"
	expect_driver 0000:00:10.1 abcd_nic
	admin_policy "[device 0000:00:10.1]\nmode=host\n[device 0000:00:10.0]\nvfs=vfio\n"
	vv apply 0000:00:10.1 --requester udev
	expect_out "0000:00:10.1 is not declared for VFIO; nothing to do"
	expect_driver 0000:00:10.1 abcd_nic
	admin_policy "[device 0000:00:10.0]\nvfs=vfio\ndriver=deny\n"
	vv apply 0000:00:10.1 --requester udev
	expect_status 0
	expect_driver 0000:00:10.1 vfio-pci
	# The PF's driver=deny is the PF's: it neither moved nor kept its VF.
	expect_driver 0000:00:10.0 abcd_pf
}

# undeclare --vfs of the administrator's vfs=vfio: vfs=host in our drop-in.
case_vfs_undeclare_admin() {
	sriov_host
	admin_policy "[device 0000:00:10.0]\nvfs=vfio\n"
	before=$(md5sum <"$(conf)")
	vv declare 0000:00:10.0 --no-apply
	vv undeclare --vfs 0000:00:10.0
	expect_status 0
	[ "$(md5sum <"$(conf)")" = "$before" ] || fail "the administrator's file changed"
	grep -qxF "vfs=host" "$(ours)" || fail "drop-in lacks vfs=host: $(cat "$(ours)")"
	# The PF's own declaration in the same group is kept.
	grep -qxF "mode=vfio" "$(ours)" || fail "drop-in lost the PF's mode=vfio: $(cat "$(ours)")"
	vv declarations
	expect_out "vfs 0000:00:10.0 host"
	expect_out "0000:00:10.0     vfio"
}

# Refused with the reason, nothing written: a VF, a device that is no PF,
# an absent one, an id, --driver.
case_vfs_bad_input() {
	vv declare --vfs 0000:00:10.1
	expect_status 2
	expect_out "0000:00:10.1 is a VF of the PF 0000:00:10.0, not a PF"
	vv declare --vfs 00:01.0
	expect_status 2
	expect_out "0000:00:01.0 is not an SR-IOV PF"
	vv declare --vfs 00:1f.0
	expect_status 2
	expect_out "There is no PCI device 0000:00:1f.0"
	vv declare --vfs abcd:0011
	expect_status 2
	expect_out "--vfs takes the address of an SR-IOV PF"
	vv declare --vfs 00:10.0 --driver generic
	expect_status 2
	expect_out "--vfs takes no --driver"
	[ ! -e "$(ours)" ] || fail "a drop-in was written: $(cat "$(ours)")"
	[ ! -e "$(index)" ] || fail "an index was written"
	expect_log_empty
}

# mode=vfio and vfs=vfio on a PF whose VFs exist: refused by either verb
# and by apply (a hand edit), nothing done.
case_vfs_and_mode() {
	vv declare 00:10.0 --no-apply
	expect_status 0
	before=$(md5sum <"$(ours)")
	vv declare --vfs 00:10.0
	expect_status 2
	expect_out "0000:00:10.0 has 1 VFs enabled: it cannot be declared both for VFIO itself (mode=vfio) and for its VFs (vfs=vfio)"
	[ "$(md5sum <"$(ours)")" = "$before" ] || fail "the drop-in changed: $(cat "$(ours)")"
	vv undeclare 00:10.0 --no-apply
	vv declare --vfs 00:10.0 --no-apply
	expect_status 0
	vv declare 00:10.0
	expect_status 2
	expect_out "cannot be declared both"
	rm -f "$(ours)"
	admin_policy "[device 0000:00:10.0]\nmode=vfio\nvfs=vfio\n"
	: >"$log"
	vv apply 00:10.0 --requester udev
	expect_status 2
	expect_out "cannot be declared both"
	expect_log_empty
	[ "$(autoprobe 0000:00:10.0)" = 1 ] || fail "autoprobe changed: $(autoprobe 0000:00:10.0)"
	expect_driver 0000:00:10.0 abcd_pf
	# Without VFs both may hold: the PF goes to VFIO, its future VFs too.
	sysfs_write 0000:00:10.0/sriov_numvfs 0
	vv apply 00:10.0 --requester udev
	expect_status 0
	expect_vfio 0000:00:10.0
	[ "$(autoprobe 0000:00:10.0)" = 0 ] || fail "autoprobe is $(autoprobe 0000:00:10.0)"
}

case_hostile_vfs_value() { dropin 50-x.conf "[device 0000:00:10.0]\nvfs=yes\n"; hostile "50-x.conf line 2: 'yes' is not a value of vfs"; }
case_hostile_vfs_id() { dropin 50-x.conf "[id abcd:0010]\nvfs=vfio\n"; hostile "50-x.conf line 2: vfs is a key of [device ADDRESS] groups only"; }
case_hostile_vfs_global() { dropin 50-x.conf "[global]\nvfs=vfio\n"; hostile "vfs is a key of [device ADDRESS] groups only"; }
case_hostile_vfs_twice() { dropin 50-x.conf "[device 0000:00:10.0]\nvfs=vfio\nvfs=host\n"; hostile "vfs is set again in [device 0000:00:10.0] (first on line 2)"; }

# ---------------------------------------------------------------- apply --index

# A hand edit reaches the index and the PFs' autoprobe; no device moves.
case_apply_index() {
	sriov_host
	sysfs_write 0000:00:10.0/sriov_numvfs 1
	admin_policy "[device 0000:00:01.0]\nmode=vfio\n"
	dropin 50-hand.conf "[device 0000:00:10.0]\nvfs=vfio\n"
	: >"$log"
	vv apply --index
	expect_status 0
	expect_index "0000:00:01.0 pf-0000:00:10.0 vfs-of-0xabcd:0x0010 "
	[ "$(autoprobe 0000:00:10.0)" = 0 ] || fail "autoprobe is $(autoprobe 0000:00:10.0)"
	expect_driver 0000:00:01.0 abcd_nic
	expect_driver 0000:00:10.1 abcd_nic
	# The one write: the PF's autoprobe.
	[ "$(grep -c '^write' "$log")" = 1 ] || fail "apply --index wrote more than autoprobe: $(tr '\n' '|' <"$log")"
	expect_log "devices/0000:00:10.0/sriov_drivers_autoprobe 0 -> ok"
	rm "$(dropins)/50-hand.conf"
	vv apply --index
	expect_status 0
	expect_index "0000:00:01.0 "
	[ "$(autoprobe 0000:00:10.0)" = 1 ] || fail "autoprobe not restored: $(autoprobe 0000:00:10.0)"
	# A hand edit that does not read changes nothing.
	dropin 50-hand.conf "[device 0000:00:10.0]\nvfs=maybe\n"
	vv apply --index
	expect_status 2
	expect_out "'maybe' is not a value of vfs"
	expect_index "0000:00:01.0 "
	vv apply --index 00:01.0
	expect_status 2
	vv apply --index --all
	expect_status 2
}

# ---------------------------------------------------------------- the rule

# The rule's names are the index's, its pending override the library's.
# shellcheck disable=SC2016 # udev's $kernel and $env{}, literally
case_rule_matches_index() {
	grep -qF 'TEST=="/' "$rule" || fail "the rule tests no absolute path"
	grep -qF '/declared/$kernel"' "$rule" || fail "the rule does not test the address"
	grep -qF '/declared/$env{PCI_ID}"' "$rule" || fail "the rule does not test PCI_ID"
	grep -qF '/declared/pf-$kernel"' "$rule" || fail "the rule does not test pf-"
	# A VF of a PF declared by vfs=: its PF's model through physfn, and
	# only while that PF's autoprobe is off.
	grep -qF 'TEST=="physfn", ATTR{physfn/sriov_drivers_autoprobe}=="0", TEST=="' "$rule" ||
		fail "the rule's VF line does not test physfn and the PF's autoprobe"
	grep -qF '/declared/vfs-of-$attr{physfn/vendor}:$attr{physfn/device}", GOTO="vfio_variant_declared"' "$rule" ||
		fail "the rule's VF line does not test vfs-of- of the PF's model"
	grep -qF 'ATTR{driver_override}="vfio-variant-pending"' "$rule" || fail "the rule's pending override differs"
	grep -qF 'vfio-variant apply --requester udev $kernel' "$rule" || fail "the rule does not run apply"
	# 80-drivers.rules loads a module only for a MODALIAS: none for a declared device.
	grep -qxF 'ENV{MODALIAS}=""' "$rule" || fail "the rule leaves MODALIAS to 80-drivers.rules"
	# Before 80-drivers.rules, which loads the host driver's module.
	[ "$(basename "$rule" | cut -c1-2)" -lt 80 ] || fail "the rule runs after 80-drivers.rules"
	# Every RUN is behind a TEST of the index: no process otherwise.
	awk '/RUN\+=/ && !/TEST==/ { bad = 1 } /^LABEL="vfio_variant_declared"/ { exit } END { exit bad }' "$rule" ||
		fail "a RUN before the declared label is not behind a TEST"
}

# The name the VF line builds from its PF's sysfs files ($attr{} strips
# the newline) is the one the index holds.
case_rule_vfs_name() {
	sriov_host
	vv declare --vfs 00:10.0 --no-apply
	expect_status 0
	built="vfs-of-$(cat "$sys/devices/0000:00:10.0/vendor"):$(cat "$sys/devices/0000:00:10.0/device")"
	[ -e "$(index)/$built" ] || fail "the rule would test $built, the index has $(index_names)"
}

cases=(
	"declare by address: bound now, drop-in 644, admin file untouched, index|case_declare_address"
	"declare by id --driver generic: index by PCI_ID|case_declare_id_generic"
	"declare --no-apply changes no device|case_declare_no_apply"
	"declare refuses a bad target or driver, writes nothing|case_declare_bad_input"
	"declarations lists file and line; apply --all rewrites the index|case_declarations_list"
	"declarations: none|case_declarations_none"
	"drop-ins in byte order, device over id, non-drop-ins ignored|case_dropin_order"
	"hostile drop-in: unknown key|case_hostile_bad_key"
	"hostile drop-in: bad id|case_hostile_bad_id"
	"hostile drop-in: bad mode|case_hostile_bad_mode"
	"hostile drop-in: mode in [global]|case_hostile_global_mode"
	"hostile drop-in: one device twice|case_hostile_duplicate_group"
	"hostile drop-in: symbolic link|case_hostile_symlink"
	"hostile drop-in: FIFO|case_hostile_fifo"
	"hostile drop-in: over 1 MiB|case_hostile_huge"
	"hostile drop-in: NUL byte|case_hostile_nul"
	"hostile drop-in directory: symbolic link|case_hostile_dir_symlink"
	"undeclare gives the device back, index emptied|case_undeclare_gives_back"
	"undeclare of the admin's declaration: mode=host in the drop-in|case_undeclare_admin_declaration"
	"undeclare shadowed by a later drop-in is refused|case_undeclare_shadowed"
	"reattach of a declared device refused with the undeclare hint|case_reattach_refused"
	"apply --requester udev after the rule's pending override|case_apply_udev_pending"
	"pending: undeclare after the apply clears it, host driver probes|case_pending_undeclare_releases"
	"pending: undeclare next to a group member a guest holds is refused, stays on VFIO|case_pending_undeclare_group_held"
	"pending: a failed apply puts it back, no host driver takes the device|case_pending_failed_apply"
	"pending: every write of the apply failing in turn leaves the device held|case_pending_fault_walk"
	"pending: kept while the apply waits for the group's lock|case_pending_lock_window"
	"pending: the boot unit bound it first, udev's apply keeps its override|case_pending_boot_first"
	"pending: udev's apply read it while boot's held the lock: no override write|case_pending_stale_read"
	"pending: the rule's write and two applies racing, 20 times: bound, one record|case_pending_race_loop"
	"apply --requester udev of a device a host driver has: detach|case_apply_udev_bound"
	"apply of an undeclared device writes nothing|case_apply_undeclared_noop"
	"apply after the declaration went: host driver probes|case_apply_pending_undeclared"
	"apply keeps every rule: in use, group not viable, PF with VFs|case_apply_rules_hold"
	"apply --all --requester boot: every declaration, failures reported|case_apply_all_boot"
	"apply --all: an index that cannot be written is said, devices still done|case_apply_all_index_unwritable"
	"apply usage|case_apply_usage"
	"SR-IOV control: without a declaration the host VF driver probes|case_sriov_control"
	"SR-IOV: declared VF id, autoprobe 0, VF bound at creation, restored|case_sriov_declared_vfs"
	"SR-IOV: a PF whose VFs carry its id stays on its driver|case_sriov_vf_id_is_pf_id"
	"SR-IOV: an autoprobe the admin turned off stays off|case_sriov_admin_autoprobe"
	"SR-IOV vfs=: declared on the PF, autoprobe 0, VF bound at creation, PF stays, undone|case_vfs_declare"
	"SR-IOV vfs=: VFs present at declare are moved|case_vfs_present"
	"SR-IOV vfs=: a PF added later writes its model's name; an unwritable index is said|case_vfs_pf_added"
	"SR-IOV vfs=: VFs removed and created again: the stale record is forgotten|case_vfs_recreated"
	"SR-IOV vfs=: VF address over PF's vfs= over VF id; the PF's driver= is its own|case_vfs_precedence"
	"SR-IOV vfs=: undeclare --vfs of the admin's: vfs=host, PF's mode kept|case_vfs_undeclare_admin"
	"SR-IOV vfs=: a VF, no PF, absent, an id, --driver refused, nothing written|case_vfs_bad_input"
	"SR-IOV vfs=: mode=vfio and vfs=vfio with VFs enabled refused everywhere|case_vfs_and_mode"
	"hostile drop-in: vfs=yes|case_hostile_vfs_value"
	"hostile drop-in: vfs= in [id]|case_hostile_vfs_id"
	"hostile drop-in: vfs= in [global]|case_hostile_vfs_global"
	"hostile drop-in: vfs= twice|case_hostile_vfs_twice"
	"apply --index: hand edit reaches index and autoprobe, no device moves|case_apply_index"
	"udev rule: tests the index names, pending override, before 80-drivers|case_rule_matches_index"
	"udev rule: the VF line's vfs-of- name is what the index writes from the PF's sysfs|case_rule_vfs_name"
)

sim_run_cases "${cases[@]}"
[ "$failed" -eq 0 ]
