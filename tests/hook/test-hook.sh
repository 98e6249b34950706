#!/bin/bash
# The qemu hook as libvirt runs it (arguments DOMAIN OPERATION SUBOP EXTRA,
# the domain XML on stdin), on the simulated kernel: every case gets a
# fresh copy of the hook host (tests/hosts/hook.toml), and the hook, the
# CLI and "libvirt" run under LD_PRELOAD of libvv-fakekernel.so. Between
# the stages this script does what libvirt 9.0 does to the devices
# (src/util/virpci.c, virhostdev.c):
#   start (managed):  driver_override := vfio-pci, unbind, drivers_probe;
#                     unmanaged: accepted only on exactly vfio-pci;
#   stop (managed):   a device on vfio-pci is unbound; any other driver is
#                     not, and is reset under it (logged as a write to
#                     reset); then driver_override := "\n", drivers_probe.
# Each case fails if the rule it names is removed from the hook.
# The last lines are figures: the hook's own time per stage (not asserted).
# Usage: test-hook.sh VFIO_VARIANT_HOOK VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR
set -u
hookbin=$1 cli=$2 fakekernel=$3 hosts=$4
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup hook "$hookbin" "$fakekernel" "$hosts/hook"
figures=()
uuid=6d0c3a1e-5b7f-4c2a-9d41-0a1b2c3d4e5f

sim_before_case() {
	unset hook_input
	domain_xml
}

# domain_xml [BDF:MANAGED[:MODEL]]...: the domain as libvirt formats it, in $xml.
domain_xml() {
	xml="$root.xml"
	{
		echo "<domain type='qemu'>"
		echo "  <name>vm1</name>"
		echo "  <uuid>$uuid</uuid>"
		echo "  <memory unit='KiB'>131072</memory>"
		echo "  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>"
		echo "  <devices>"
		echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
		for spec in "$@"; do
			IFS=: read -r bus slotfn managed model <<<"$spec"
			echo "    <hostdev mode='subsystem' type='pci' managed='$managed'>"
			[ -n "$model" ] && echo "      <driver name='vfio' model='$model'/>"
			echo "      <source>"
			echo "        <address domain='0x0000' bus='0x$bus' slot='0x${slotfn%.*}' function='0x${slotfn#*.}'/>"
			echo "      </source>"
			echo "    </hostdev>"
		done
		echo "    <interface type='network'><source network='default'/><model type='virtio'/></interface>"
		echo "  </devices>"
		echo "</domain>"
	} >"$xml"
}

# hook OPERATION SUBOP: run the hook as libvirt does; $status, $out.
hook() {
	local t0 t1
	t0=$(date +%s%N)
	# shellcheck disable=SC2086 # the wrapper is words
	local before
	before=$(wc -l <"$log")
	out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$hookbin" --sysroot "$root" \
		qemu vm1 "$1" "$2" - <"${hook_input:-$xml}" 2>&1)
	status=$?
	t1=$(date +%s%N)
	last_ms=$(( (t1 - t0) / 1000000 ))
	# The driver changes this stage made: its unbind and probe writes.
	hook_changes=$(( ${hook_changes:-0} +
		$(tail -n +"$((before + 1))" "$log" | grep -cE '^write .*(/unbind|drivers_probe) ') ))
	echo "== hook $1 $2 -> $status" >>"$log"
}

vv() {
	out=$(LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" "$@" 2>&1)
	status=$?
}

# What libvirt 9.0 does to a device between the hook's stages, with the
# same three writes, through the fake kernel.
lv_sh() { LD_PRELOAD="$preload" bash -c "$1"; }
lv_detach() {
	local dev="$sys/devices/$1"
	lv_sh "echo vfio-pci > '$dev/driver_override'
		[ -e '$dev/driver' ] && echo '$1' > '$dev/driver/unbind'
		echo '$1' > '$sys/drivers_probe'"
	echo "== libvirt detached $1" >>"$log"
	[ "$(driver_of "$1")" = vfio-pci ] || fail "libvirt could not bind $1 to vfio-pci: on '$(driver_of "$1")'"
}
lv_accepts_unmanaged() {
	[ "$(driver_of "$1")" = vfio-pci ] ||
		fail "libvirt 9.0: Unmanaged PCI device $1 must be manually detached from the host (it is on '$(driver_of "$1")')"
}
lv_reattach() {
	local dev="$sys/devices/$1"
	if [ "$(driver_of "$1")" = vfio-pci ]; then
		lv_sh "echo '$1' > '$dev/driver/unbind'"
	elif [ -e "$dev/driver" ]; then
		lv_sh "echo 1 > '$dev/reset'"
	fi
	lv_sh "echo > '$dev/driver_override'; echo '$1' > '$sys/drivers_probe'"
	echo "== libvirt reattached $1" >>"$log"
}
# libvirt >= 10 binds a driver of its own choosing the same way.
lv10_detach() {
	local dev="$sys/devices/$1"
	lv_sh "echo '$2' > '$dev/driver_override'
		[ -e '$dev/driver' ] && echo '$1' > '$dev/driver/unbind'
		echo '$1' > '$sys/drivers_probe'"
}

# libvirt 11.3 between the stages (src/util/virpci.c, virhostdev.c):
#   start (managed):  its own pick bound the same way, nothing done when
#                     the device is on it already;
#   unmanaged:        accepted on any VFIO driver (vfio-dev/ exists);
#   stop (managed):   never a reset; driver_override := "\n", unbind
#                     whatever the driver, drivers_probe.
lv11_detach() {
	local dev="$sys/devices/$1"
	[ "$(driver_of "$1")" = "$2" ] ||
		lv_sh "echo '$2' > '$dev/driver_override'
			[ -e '$dev/driver' ] && echo '$1' > '$dev/driver/unbind'
			echo '$1' > '$sys/drivers_probe'"
	echo "== libvirt 11.3 detached $1" >>"$log"
	[ "$(driver_of "$1")" = "$2" ] || fail "libvirt 11.3 could not bind $1 to $2: on '$(driver_of "$1")'"
}
lv11_accepts_unmanaged() {
	[ -d "$sys/devices/$1/vfio-dev" ] ||
		fail "libvirt 11.3: Unmanaged PCI device $1 must be manually detached from the host (it is on '$(driver_of "$1")', no vfio-dev/)"
}
lv11_reattach() {
	local dev="$sys/devices/$1"
	lv_sh "echo > '$dev/driver_override'
		[ -e '$dev/driver' ] && echo '$1' > '$dev/driver/unbind'
		echo '$1' > '$sys/drivers_probe'"
	echo "== libvirt 11.3 reattached $1" >>"$log"
}
# libvirt_runs VERSION: the hook's parent maps libvirt.so.0 of VERSION
# (under the sysroot, as /proc/PID/maps of this script, an ancestor of
# every hook run); "none": no map at all.
libvirt_runs() {
	local so major minor micro
	rm -rf "$root/proc/$$"
	[ "$1" = none ] && return
	mkdir -p "$root/proc/$$"
	IFS=. read -r major minor micro <<<"$1"
	so="/usr/lib/x86_64-linux-gnu/libvirt.so.0.$((major * 1000 + minor)).$micro"
	cat >"$root/proc/$$/maps" <<-EOF
	55d0c0a00000-55d0c0a1e000 r--p 00000000 fe:01 1311234                    /usr/sbin/libvirtd
	7f2bf0567000-7f2bf0569000 r--p 00000000 fe:01 1320001                    /usr/lib/x86_64-linux-gnu/libvirt-qemu.so.0.$((major * 1000 + minor)).$micro
	7f2bf0000000-7f2bf0100000 r--p 00000000 fe:01 1320002                    $so${2:+ $2}
	7f2bf0100000-7f2bf0400000 r-xp 00100000 fe:01 1320002                    $so${2:+ $2}
	7ffd1a5e0000-7ffd1a601000 rw-p 00000000 00:00 0                          [stack]
	EOF
}

expect_silent() { [ -z "$out" ] || fail "output: $out"; }
plan() { echo "$root/run/vfio-variant/hook/$uuid.conf"; }
expect_no_plan() { [ ! -e "$(plan)" ] || fail "plan remains: $(cat "$(plan)")"; }
# No sysfs write and no module load since the log was last emptied.
expect_no_write() { ! grep -qE '^(write|load|unload) ' "$log" || fail "something was written: $(grep -E '^(write|load|unload) ' "$log" | tr '\n' '|')"; }
policy() { mkdir -p "$root/etc/vfio-variant"; printf '%b' "$1" >"$root/etc/vfio-variant/vfio-variant.conf"; }
figure() { figures+=("$1: $2"); }
hook_ms() { grep -oE '[0-9.]+ ms in the hook' <<<"$out" | tail -n 1 | cut -d' ' -f1; }

# The whole life of a guest under libvirt 9.0, managed hostdev(s) $@.
# $out holds what both stages said.
run_guest() {
	local prepared
	hook prepare begin; expect_status 0
	prepared=$out
	for bdf in "$@"; do lv_detach "$bdf"; done
	hook start begin; expect_status 0
	out="$prepared
$out"
}
stop_guest() {
	hook stopped end; expect_status 0
	for bdf in "$@"; do lv_reattach "$bdf"; done
	hook release end; expect_status 0
}

# ---------------------------------------------------------------- cases

case_managed_cycle() {
	domain_xml 00:01.0:yes
	hook prepare begin
	expect_status 0
	expect_out "0000:00:01.0 (managed): plan acme-vfio-pci (from selection, fallback mode), native driver abcd_nic"
	figure "prepare begin, 1 managed hostdev (hook's own time)" "$(hook_ms) ms"
	# prepare plans and loads the module; the device is libvirt's to move.
	expect_log "load acme_vfio_pci -> ok"
	expect_no_log "write "
	expect_driver 0000:00:01.0 abcd_nic
	lv_detach 0000:00:01.0
	: >"$log"
	hook start begin
	expect_status 0
	figure "start begin, 1 hostdev vfio-pci -> variant (hook's own time)" "$(hook_ms) ms"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_vfio 0000:00:01.0
	expect_log "devices/0000:00:01.0/driver_override acme-vfio-pci -> ok"
	expect_record 0000:00:01.0 "requester=hook"
	expect_record 0000:00:01.0 "domain=vm1"
	expect_record 0000:00:01.0 "managed=true"
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	expect_record 0000:00:01.0 "driver=acme-vfio-pci"
	expect_record 0000:00:01.0 "step=verified"
	# While the guest runs, a reattach by hand is refused.
	vv reattach 00:01.0
	expect_status 1
	expect_out "assigned to the libvirt domain vm1"
	expect_driver 0000:00:01.0 acme-vfio-pci
	vv status 00:01.0
	expect_out "by hook"
	expect_out "Domain:           vm1 (a managed hostdev; the qemu hook gives it back)"
	: >"$log"
	hook stopped end
	expect_status 0
	figure "stopped end, 1 hostdev variant -> vfio-pci (hook's own time)" "$(hook_ms) ms"
	expect_driver 0000:00:01.0 vfio-pci
	lv_reattach 0000:00:01.0
	expect_no_log "/reset"
	expect_driver 0000:00:01.0 abcd_nic
	hook release end
	expect_status 0
	figure "release end, 1 hostdev verified (hook's own time)" "$(hook_ms) ms"
	expect_out "0000:00:01.0 is back on its driver abcd_nic"
	expect_driver 0000:00:01.0 abcd_nic
	expect_override 0000:00:01.0 "(null)"
	expect_no_record 0000:00:01.0
	expect_no_plan
}

case_model_vfio_pci() {
	domain_xml 00:01.0:yes:vfio-pci
	run_guest 0000:00:01.0
	expect_out "plan vfio-pci (from <driver model>"
	expect_driver 0000:00:01.0 vfio-pci
	expect_no_log "acme"
	stop_guest 0000:00:01.0
	expect_driver 0000:00:01.0 abcd_nic
	expect_no_plan
}

# libvirt 9.0 drops <driver model>, keeps <metadata>: ours names the driver.
case_metadata_driver() {
	domain_xml 00:01.0:yes
	sed -i "s|  <devices>|  <metadata><vv:hostdevs xmlns:vv='urn:x-vfio-variant:domain:1'><vv:hostdev address='0000:00:01.0' driver='vfio-pci'/></vv:hostdevs></metadata>\n  <devices>|" "$xml"
	run_guest 0000:00:01.0
	expect_out "plan vfio-pci (from <metadata>"
	expect_driver 0000:00:01.0 vfio-pci
	expect_no_log "acme"
}

case_generic_policy() {
	policy "[id abcd:0001]\ndriver=generic\n"
	domain_xml 00:01.0:yes
	run_guest 0000:00:01.0
	expect_out "plan vfio-pci (from policy"
	expect_driver 0000:00:01.0 vfio-pci
	expect_no_log "acme"
	stop_guest 0000:00:01.0
	expect_driver 0000:00:01.0 abcd_nic
}

case_refused_fallback() {
	domain_xml 00:02.0:yes
	run_guest 0000:00:02.0
	expect_out "refused 0000:00:02.0"
	expect_out "Falling back to the generic vfio-pci"
	expect_driver 0000:00:02.0 vfio-pci
	expect_vfio 0000:00:02.0
	stop_guest 0000:00:02.0
	expect_driver 0000:00:02.0 abcd_nic
	expect_override 0000:00:02.0 "(null)"
	expect_no_record 0000:00:02.0
}

case_refused_strict() {
	policy "[global]\nhook-mode=strict\n"
	domain_xml 00:02.0:yes
	hook prepare begin
	expect_status 0
	expect_out "strict mode"
	lv_detach 0000:00:02.0
	hook start begin
	expect_status 1
	expect_out "the guest does not start (strict mode)"
	expect_out "The driver picky_vfio_pci refused 0000:00:02.0"
	expect_out "it is back on vfio-pci"
	expect_driver 0000:00:02.0 vfio-pci
	# libvirt's stop path after a failed start.
	stop_guest 0000:00:02.0
	expect_driver 0000:00:02.0 abcd_nic
	expect_override 0000:00:02.0 "(null)"
	expect_no_record 0000:00:02.0
	expect_no_plan
}

case_unmanaged_after_our_detach() {
	vv detach 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	domain_xml 00:01.0:no
	hook prepare begin
	expect_status 0
	expect_out "plan acme-vfio-pci (from admin"
	# libvirt 9.0 only takes an unmanaged device on vfio-pci.
	lv_accepts_unmanaged 0000:00:01.0
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	hook start begin
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "domain=vm1"
	expect_record 0000:00:01.0 "managed=false"
	hook stopped end
	expect_status 0
	expect_driver 0000:00:01.0 vfio-pci
	: >"$log"
	hook release end
	expect_status 0
	# As the administrator left it: on the variant, the record theirs.
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "requester=cli"
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	grep -q '^domain=' "$(record 0000:00:01.0)" && fail "the record still names a domain"
	expect_no_plan
	vv reattach 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 abcd_nic
}

case_unmanaged_after_plain_virsh_detach() {
	lv_detach 0000:00:01.0
	domain_xml 00:01.0:no
	hook prepare begin
	expect_status 0
	expect_no_log "driver_override acme"
	lv_accepts_unmanaged 0000:00:01.0
	hook start begin
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "original-driver=vfio-pci"
	hook stopped end
	expect_status 0
	expect_driver 0000:00:01.0 vfio-pci
	hook release end
	expect_status 0
	# As virsh nodedev-detach left it.
	expect_driver 0000:00:01.0 vfio-pci
	expect_override 0000:00:01.0 vfio-pci
	expect_no_record 0000:00:01.0
	expect_no_plan
}

case_unmanaged_on_host_driver_refused() {
	domain_xml 00:01.0:no
	hook prepare begin
	expect_status 1
	expect_out "0000:00:01.0 is a managed='no' hostdev but it is on abcd_nic"
	expect_out "vfio-variant nodedev-detach pci_0000_00_01_0"
	expect_no_plan
}

case_no_hostdevs() {
	local before after
	domain_xml
	before=$(snapshot)
	for stage in "prepare begin" "start begin" "stopped end" "release end"; do
		# shellcheck disable=SC2086
		hook $stage
		expect_status 0
		expect_silent
	done
	figure "vfio-variant-hook, domain without hostdevs (process wall time, fake kernel preloaded)" "$last_ms ms"
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "the tree changed: $(diff <(echo "$before") <(echo "$after") | head -5)"
	[ ! -e "$root/run/vfio-variant" ] || fail "a state directory was made"
	expect_no_write
}

case_other_operations_silent() {
	domain_xml 00:01.0:yes
	for stage in "started begin" "stopped begin" "release begin" "migrate begin" "restore begin" "reconnect begin" "attach begin" "prepare end" "start end"; do
		# stdin is not even read: a closed one must do.
		# shellcheck disable=SC2086
		hook_input=/dev/null hook $stage
		expect_status 0
		expect_silent
	done
	[ ! -e "$root/run/vfio-variant" ] || fail "a state directory was made"
}

case_bad_xml_refused() {
	local before after big
	domain_xml 00:01.0:yes
	before=$(snapshot)
	printf '<domain><name>vm1</name><uuid>%s</uuid><devices><hostdev mode="subsystem" type="pci" managed="yes"><source><address bus="0x00" slot="0x01" function="0x0"/></source></hostdev>' "$uuid" >"$root.broken.xml"
	hook_input="$root.broken.xml" hook prepare begin
	expect_status 1
	expect_out "is not well-formed"
	cat >"$root.entities.xml" <<-EOF
	<?xml version="1.0"?>
	<!DOCTYPE domain [ <!ENTITY a "aaaaaaaaaa"> <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"> <!ENTITY c SYSTEM "file:///etc/shadow"> ]>
	<domain><name>&b;</name><uuid>$uuid</uuid><devices><hostdev mode='subsystem' type='pci' managed='yes'><source><address bus='0x00' slot='0x01' function='0x0'/></source></hostdev></devices><description>&c;</description></domain>
	EOF
	hook_input="$root.entities.xml" hook prepare begin
	expect_status 1
	expect_out "The domain XML holds a DOCTYPE"
	big="$root.big.xml"
	{ head -n -1 "$xml"; head -c 4200000 /dev/zero | tr '\0' ' '; echo "</domain>"; } >"$big"
	hook_input="$big" hook prepare begin
	expect_status 1
	expect_out "larger than 4 MiB"
	hook_input=/dev/null hook prepare begin
	expect_status 1
	expect_out "No domain XML on standard input"
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "the tree changed: $(diff <(echo "$before") <(echo "$after") | head -5)"
	expect_no_write
}

case_group_not_viable() {
	domain_xml 00:04.0:yes
	hook prepare begin
	expect_status 1
	expect_out "0000:00:04.0 cannot be given to a guest: its IOMMU group 4 is not viable"
	expect_out "0000:00:04.1 (bound to abcd_nic)"
	expect_no_write
	expect_no_plan
	# Both functions given to the guest: libvirt detaches both, the group is viable.
	domain_xml 00:04.0:yes 00:04.1:yes
	run_guest 0000:00:04.0 0000:00:04.1
	figure "start begin, 2 hostdevs (one moved to its variant, one on vfio-pci already; hook's own time)" "$(hook_ms) ms"
	expect_driver 0000:00:04.0 acme-vfio-pci
	expect_driver 0000:00:04.1 vfio-pci
	stop_guest 0000:00:04.0 0000:00:04.1
	expect_driver 0000:00:04.0 abcd_nic
	expect_driver 0000:00:04.1 abcd_nic
}

case_policy_deny_refused() {
	policy "[device 0000:00:01.0]\ndriver=deny\n"
	domain_xml 00:01.0:yes:vfio-pci
	hook prepare begin
	expect_status 1
	expect_out "the guest cannot start: 0000:00:01.0: The policy denies this device ([device 0000:00:01.0] in $root/etc/vfio-variant/vfio-variant.conf line 2)"
	expect_no_write
	# A broken policy file stops the start too, naming the line.
	policy "[device 0000:00:01.0]\ndriver=maybe not\n"
	hook prepare begin
	expect_status 1
	expect_out "vfio-variant.conf line 2: 'maybe not' is not a value of driver"
}

case_bridge_refused() {
	domain_xml 00:1c.0:yes
	hook prepare begin
	expect_status 1
	expect_out "0000:00:1c.0 cannot be given to a guest: it is a PCI bridge"
}

case_libvirt10_other_choice() {
	domain_xml 00:01.0:yes
	hook prepare begin
	expect_status 0
	lv10_detach 0000:00:01.0 picky_vfio_pci
	expect_driver 0000:00:01.0 picky_vfio_pci
	hook start begin
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	# Its own choice equal to ours: nothing to move.
	domain_xml 00:05.0:yes
	hook prepare begin
	lv10_detach 0000:00:05.0 acme-vfio-pci
	: >"$log"
	hook start begin
	expect_status 0
	expect_out "already bound to acme-vfio-pci; nothing to move"
	expect_no_write
	expect_record 0000:00:05.0 "original-driver=abcd_nic"
}

case_native_module_reloaded() {
	domain_xml 00:09.0:yes
	run_guest 0000:00:09.0
	expect_driver 0000:00:09.0 vfio-pci
	# The host's driver module is unloaded while the guest runs.
	rm -rf "$root/sys/module/abcd_native" "$sys/drivers/abcd_native"
	sed -i '/^abcd_native /d' "$root/proc/modules"
	hook stopped end
	lv_reattach 0000:00:09.0
	expect_driver 0000:00:09.0 ""
	hook release end
	expect_status 0
	expect_log "load abcd_native -> ok"
	expect_driver 0000:00:09.0 abcd_native
	expect_no_record 0000:00:09.0
}

case_release_fails_then_forced_reattach() {
	local ko
	domain_xml 00:09.0:yes
	run_guest 0000:00:09.0
	# The host's driver module is removed while the guest runs: it can
	# neither be loaded by libvirt's reprobe nor by 'release end'.
	ko=$(echo "$root"/lib/modules/*/kernel/drivers/misc/abcd_native.ko)
	mv "$ko" "$work/abcd_native.ko"
	rm -rf "$root/sys/module/abcd_native" "$sys/drivers/abcd_native"
	sed -i '/^abcd_native /d' "$root/proc/modules"
	hook stopped end
	lv_reattach 0000:00:09.0
	hook release end
	expect_status 1
	expect_out "0000:00:09.0"
	expect_record 0000:00:09.0 "domain=vm1"
	# The administrator puts the module back; the guest is gone, but its
	# record names it: a plain reattach refuses and says what to do.
	mv "$work/abcd_native.ko" "$ko"
	vv reattach 00:09.0
	expect_status 1
	expect_out "assigned to the libvirt domain vm1"
	expect_out "reattach 0000:00:09.0 with --force"
	vv reattach --force 00:09.0
	expect_status 0
	expect_driver 0000:00:09.0 abcd_native
	expect_no_record 0000:00:09.0
}

# A record that cannot be read is no "no record": with a plan and without
# one, 'release end' refuses it, naming the record, and keeps the plan.
case_broken_record_refused() {
	local rec
	domain_xml 00:01.0:yes
	run_guest 0000:00:01.0
	hook stopped end
	expect_status 0
	lv_reattach 0000:00:01.0
	rec=$(record 0000:00:01.0)
	cp "$rec" "$work/record.good"
	cp "$(plan)" "$work/plan.good"
	for broken in symlink incomplete; do
		for with_plan in yes no; do
			rm -f "$rec"
			case $broken in
			symlink) cp "$work/record.good" "$work/record.target"; ln -s "$work/record.target" "$rec" ;;
			incomplete) grep -v '^original-driver=' "$work/record.good" >"$rec" ;;
			esac
			cp "$work/plan.good" "$(plan)"
			[ "$with_plan" = yes ] || rm -f "$(plan)"
			hook release end
			expect_status 1
			expect_out "0000:00:01.0.conf"
			[ "$with_plan" = no ] || [ -e "$(plan)" ] || fail "$broken record, with a plan: the plan was removed"
		done
	done
}

# The plan is read as the records are: a symlink (to a plan that would
# move the device), a FIFO (under timeout 10: 124 = it hung) or an
# oversized file is refused, named, and nothing is moved.
case_plan_not_followed() {
	local kind
	domain_xml 00:01.0:yes
	hook prepare begin
	expect_status 0
	lv_detach 0000:00:01.0
	mv "$(plan)" "$work/plan.good"
	for kind in symlink fifo oversized; do
		rm -f "$(plan)"
		case $kind in
		symlink) cp "$work/plan.good" "$work/plan.target"; ln -s "$work/plan.target" "$(plan)" ;;
		fifo) mkfifo "$(plan)" ;;
		oversized) { cat "$work/plan.good"; head -c 300000 /dev/zero | tr '\0' '#'; echo; } >"$(plan)" ;;
		esac
		: >"$log"
		VV_CLI_WRAPPER="timeout 10" hook start begin
		[ "$status" -ne 124 ] || fail "$kind plan: the hook hung"
		expect_out "$(plan)"
		expect_no_write
		expect_driver 0000:00:01.0 vfio-pci
	done
}

case_killed_mid_move_then_stopped() {
	domain_xml 00:01.0:yes
	hook prepare begin
	lv_detach 0000:00:01.0
	VV_FAKEKERNEL_KILL_AFTER=/unbind hook start begin
	expect_status 137
	expect_driver 0000:00:01.0 ""
	# libvirt gives up on the start and runs its stop path.
	stop_guest 0000:00:01.0
	expect_driver 0000:00:01.0 abcd_nic
	expect_override 0000:00:01.0 "(null)"
	expect_no_record 0000:00:01.0
	expect_no_plan
}

case_no_plan_leaves_devices() {
	domain_xml 00:01.0:no
	vv detach 00:01.0
	# No 'prepare begin' was seen: the admin's device is not touched.
	: >"$log"
	hook stopped end
	expect_status 0
	hook release end
	expect_status 0
	expect_no_write
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "requester=cli"
}

case_libvirt_calling_convention() {
	local dir="$root/etc/libvirt/hooks/qemu.d"
	mkdir -p "$dir"
	ln -s "$(readlink -f "$hookbin")" "$dir/vfio-variant"
	domain_xml
	out=$("$dir/vfio-variant" vm1 prepare begin - <"$xml" 2>&1)
	status=$?
	expect_status 0
	expect_silent
	out=$("$dir/vfio-variant" vm1 started begin - </dev/null 2>&1)
	status=$?
	expect_status 0
	out=$("$dir/vfio-variant" --sysroot "$root" qemu vm1 prepare begin - <"$xml" 2>&1)
	status=$?
	expect_status 2
	expect_out "four arguments"
	# A hook must never call back into libvirt (libvirtd waits for it):
	# it does not even link it.
	! readelf -d "$hookbin" | grep -q 'NEEDED.*libvirt' ||
		fail "the hook links libvirt: $(readelf -d "$hookbin" | grep NEEDED | tr '\n' ' ')"
}

case_cli_hook_command() {
	local t0 t1
	domain_xml
	t0=$(date +%s%N)
	out=$(LD_PRELOAD="$preload" "$cli" --sysroot "$root" hook qemu vm1 prepare begin - <"$xml" 2>&1)
	t1=$(date +%s%N)
	figure "vfio-variant hook (the CLI, linking libvirt), domain without hostdevs (process wall time)" "$(( (t1 - t0) / 1000000 )) ms"
	domain_xml 00:01.0:yes
	out=$(LD_PRELOAD="$preload" "$cli" --sysroot "$root" hook qemu vm1 prepare begin - <"$xml" 2>&1)
	status=$?
	expect_status 0
	expect_out "plan acme-vfio-pci"
	[ -e "$(plan)" ] || fail "no plan written"
}

case_policy_cli() {
	policy "[global]\nhook-mode=strict\n[device 0000:00:01.0]\ndriver=deny\n[device 0000:00:03.0]\ndriver=other_vfio_pci\n"
	vv explain 00:03.0
	expect_status 0
	expect_out "Policy:         other_vfio_pci, from [device 0000:00:03.0] in $root/etc/vfio-variant/vfio-variant.conf line 6"
	expect_out "Hook mode:      strict"
	expect_out "although none of its vfio_pci aliases matches"
	vv explain --xml 00:01.0
	expect_status 1
	expect_out '<policy action="deny" scope="device" line="4" hook-mode="strict" host-use="refuse"/>'
	vv list
	expect_out "0000:00:01.0  abcd:0001  abcd_nic     none: policy deny"
	vv detach --driver vfio-pci 00:01.0
	expect_status 1
	expect_out "The policy denies this device"
	expect_no_write
	vv detach 00:03.0
	expect_status 0
	expect_driver 0000:00:03.0 other-vfio-pci
	vv --config /nonexistent.conf list
	expect_status 2
	expect_out "/nonexistent.conf"
	# A broken policy does not keep a device from going back.
	policy "[global]\ndriver=\n"
	vv reattach 00:03.0
	expect_status 0
	expect_driver 0000:00:03.0 abcd_nic
}


# hook_refused FILE MESSAGE: prepare begin with FILE on stdin, bounded
# (the hook before these checks expanded entities to gigabytes: 512 MiB of
# address space and 20 s at most, so it fails here instead of hurting the
# machine), must exit 1 saying MESSAGE with nothing written or planned.
hook_refused() {
	local file=$1 message=$2 limit="ulimit -v 524288"
	: >"$log"
	# AddressSanitizer reserves terabytes of shadow address space: there
	# its own allocator bounds each allocation instead.
	[[ $preload == *libasan* ]] && limit="export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}max_allocation_size_mb=512"
	# shellcheck disable=SC2086
	out=$( ($limit; LD_PRELOAD="$preload" timeout 20 ${VV_CLI_WRAPPER:-} "$hookbin" --sysroot "$root" \
		qemu vm1 prepare begin - <"$file") 2>&1)
	status=$?
	expect_status 1
	expect_out "$message"
	expect_no_out "Memory allocation failed"
	expect_no_write
	expect_no_plan
}

# The DTD refusal comes from the parser, not from a byte search, and only
# UTF-8 is read: in UTF-7 or EBCDIC "<!DOCTYPE" has other bytes.
case_xml_encoding_and_dtd() {
	local body="$root.body.xml" entity
	domain_xml 00:01.0:yes
	entity=$(head -c 40000 /dev/zero | tr '\0' a)
	# A quadratic blow-up: 2 GB once expanded, in <name>, which the hook reads.
	{
		echo "<!DOCTYPE domain [ <!ENTITY a \"$entity\"> ]>"
		printf '<domain><name>'
		for _ in $(seq 500); do printf '&a;%.0s' $(seq 100); done
		echo "</name><uuid>$uuid</uuid><devices><hostdev mode='subsystem' type='pci' managed='yes'><source><address bus='0x00' slot='0x01' function='0x0'/></source></hostdev></devices></domain>"
	} >"$body"
	{ echo '<?xml version="1.0" encoding="UTF-7"?>'; iconv -f UTF-8 -t UTF-7 <"$body"; } >"$root.utf7.xml"
	grep -q '<!DOCTYPE\|<!ENTITY' "$root.utf7.xml" && fail "the UTF-7 sample shows its DOCTYPE in ASCII"
	hook_refused "$root.utf7.xml" 'declares encoding="UTF-7"'
	# The same declared in single quotes and in another case.
	{ echo "<?xml version='1.0' encoding = 'utf-7' ?>"; iconv -f UTF-8 -t UTF-7 <"$body"; } >"$root.utf7b.xml"
	hook_refused "$root.utf7b.xml" "declares encoding=\"utf-7\""
	# UTF-7 with its byte order mark and no declaration.
	{ printf '+/v8-'; iconv -f UTF-8 -t UTF-7 <"$body"; } >"$root.utf7bom.xml"
	hook_refused "$root.utf7bom.xml" "byte order mark of UTF-7"
	# UTF-7 bytes under a UTF-8 declaration: read as UTF-8, they are text
	# outside the root, never a DOCTYPE.
	{ echo '<?xml version="1.0" encoding="UTF-8"?>'; iconv -f UTF-8 -t UTF-7 <"$body"; } >"$root.utf7as8.xml"
	hook_refused "$root.utf7as8.xml" "is not well-formed"
	# EBCDIC: libxml2 recognises "<?xm" in it and would decode it.
	{ echo '<?xml version="1.0" encoding="IBM037"?>'; cat "$body"; } | iconv -f UTF-8 -t IBM037 >"$root.ebcdic.xml"
	hook_refused "$root.ebcdic.xml" "is not UTF-8"
	# UTF-16 with its byte order mark, and UTF-16 declared on ASCII.
	{ echo '<?xml version="1.0" encoding="UTF-16"?>'; cat "$xml"; } | iconv -f UTF-8 -t UTF-16 >"$root.utf16.xml"
	hook_refused "$root.utf16.xml" "byte order mark of UTF-16LE"
	{ echo '<?xml version="1.0" encoding="UTF-16"?>'; cat "$xml"; } >"$root.utf16decl.xml"
	hook_refused "$root.utf16decl.xml" 'declares encoding="UTF-16"'
	# Any DTD, in UTF-8: an internal subset without entities, one with a
	# parameter entity, an external one (never fetched).
	{ echo '<!DOCTYPE domain [ ]>'; cat "$xml"; } >"$root.dtd-empty.xml"
	hook_refused "$root.dtd-empty.xml" "The domain XML holds a DOCTYPE"
	{ echo '<!DOCTYPE domain [ <!ENTITY % p "<!ENTITY x \"y\">"> %p; ]>'; cat "$xml"; } >"$root.dtd-pe.xml"
	hook_refused "$root.dtd-pe.xml" "The domain XML holds a DOCTYPE"
	{ echo '<!DOCTYPE domain SYSTEM "file:///etc/passwd">'; cat "$xml"; } >"$root.dtd-external.xml"
	hook_refused "$root.dtd-external.xml" "The domain XML holds a DOCTYPE"
	{ echo '<!DOCTYPE domain PUBLIC "-//x//y" "http://127.0.0.1:9/x.dtd">'; cat "$xml"; } >"$root.dtd-public.xml"
	hook_refused "$root.dtd-public.xml" "The domain XML holds a DOCTYPE"
	# An undeclared entity is an error; the predefined ones are text.
	sed 's|<name>vm1</name>|<name>vm1\&x;</name>|' "$xml" >"$root.undeclared.xml"
	hook_refused "$root.undeclared.xml" "is not well-formed"
	# What libvirt may write passes: a UTF-8 BOM, a UTF-8 declaration,
	# character references.
	{ printf '\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n'; sed 's|<name>vm1</name>|<name>v\&#109;1</name>|' "$xml"; } >"$root.good.xml"
	hook_input="$root.good.xml" hook prepare begin
	expect_status 0
	expect_out "vfio-variant hook: vm1: prepare begin: 0000:00:01.0 (managed): plan acme-vfio-pci"
}

# <driver model> and our metadata's driver= name a VFIO driver or nothing
# is loaded or planned: not a host driver, not a path.
case_model_not_vfio_refused() {
	local entry name message
	for entry in "abcd_nic|names abcd_nic, which is not a VFIO driver" \
		"abcd_native|names abcd_native, which is not a VFIO driver" \
		"e1000e|names e1000e, which is not a VFIO driver" \
		"../x|'../x' is not a driver or module name" \
		"..|'..' is not a driver or module name" \
		".|'.' is not a driver or module name" \
		"/|'/' is not a driver or module name" \
		"vfio-pci/|'vfio-pci/' is not a driver or module name" \
		"|'' is not a driver or module name"; do
		name=${entry%%|*} message=${entry#*|}
		domain_xml 00:01.0:yes
		sed -i "s|<source>|<driver name='vfio' model='$name'/><source>|" "$xml"
		: >"$log"
		hook prepare begin
		expect_status 1
		expect_out "0000:00:01.0"
		expect_out "<driver model>"
		expect_out "$message"
		expect_no_write
		expect_no_plan
		[ -z "$problem" ] || { problem="model='$name': $problem"; return; }
	done
	# Our metadata, for libvirt 9.0.
	domain_xml 00:01.0:yes
	sed -i "s|  <devices>|  <metadata><vv:hostdevs xmlns:vv='urn:x-vfio-variant:domain:1'><vv:hostdev address='0000:00:01.0' driver='abcd_nic'/></vv:hostdevs></metadata>\n  <devices>|" "$xml"
	: >"$log"
	hook prepare begin
	expect_status 1
	expect_out "0000:00:01.0: <metadata> names abcd_nic, which is not a VFIO driver"
	expect_no_write
	# A VFIO driver not loaded yet is loaded, by its module or driver name.
	for name in other_vfio_pci other-vfio-pci; do
		domain_xml 00:01.0:yes:"$name"
		hook prepare begin
		expect_status 0
		expect_out "plan other-vfio-pci (from <driver model>"
	done
	expect_log "load other_vfio_pci -> ok"
}

# Address attributes: 0x hex or hex digits, in range; nothing else.
case_address_attributes() {
	local entry attr value
	for entry in "slot|-18446744073709551615" "slot|+1" "slot| 0x01" "slot|0x01 " "slot|0x" "slot|0x20" \
		"slot|0x0x1" "slot|1g" "function|8" "bus|0x100" "domain|0x10000" "domain|-0" "bus|0x0000000000000000100"; do
		attr=${entry%%|*} value=${entry#*|}
		domain_xml 00:01.0:yes
		sed -i -E "s|$attr='[^']*'|$attr='$value'|" "$xml"
		: >"$log"
		hook prepare begin
		expect_status 1
		expect_out "has no valid <source><address domain= bus= slot= function=/>"
		expect_no_write
		expect_no_plan
		[ -z "$problem" ] || { problem="$attr='$value': $problem"; return; }
	done
	# Plain hex digits, without 0x: slot '01' is slot 1.
	domain_xml 00:01.0:yes
	sed -i -E "s|slot='[^']*'|slot='01'|; s|domain='[^']*'|domain='0000'|" "$xml"
	hook prepare begin
	expect_status 0
	expect_out "0000:00:01.0 (managed): plan"
}

# Input echoed in the hook's log and in messages is escaped: a newline in
# <name> cannot forge a line, an ESC cannot reach a terminal.
case_control_characters_escaped() {
	local esc=$'\e'
	domain_xml 00:01.0:yes
	sed -i 's|<name>vm1</name>|<name>vm1\nvfio-variant hook: vm1: prepare begin: done, 0 PCI hostdev(s)\&#x9b;31m</name>|' "$xml"
	hook prepare begin
	expect_status 0
	expect_out 'vfio-variant hook: vm1\nvfio-variant hook: vm1: prepare begin: done, 0 PCI hostdev(s)\u009b31m: prepare begin: '
	grep -q '^vfio-variant hook: vm1: prepare begin: done, 0' <<<"$out" && fail "a forged line: $out"
	grep -q $'\xc2\x9b' <<<"$out" && fail "a raw CSI in: $out"
	# The domain name libvirt passes as an argument, on a refusal.
	out=$(LD_PRELOAD="$preload" "$hookbin" --sysroot "$root" qemu "vm1${esc}[2J" prepare begin - </dev/null 2>&1)
	expect_out 'vfio-variant hook: vm1\x1b[2J: prepare begin: refused'
	grep -q "$esc" <<<"$out" && fail "a raw ESC in: $out"
	# A device name given on the command line.
	vv detach "0000:00:01.0${esc}]0;owned${esc}\\"
	expect_status 2
	expect_out "'0000:00:01.0\x1b]0;owned\x1b\\' is not a PCI device name"
	grep -q "$esc" <<<"$out" && fail "a raw ESC in: $out"
	vv detach --driver "x${esc}[1m" 00:01.0
	expect_status 2
	expect_out "'x\x1b[1m' is not a driver or module name"
	grep -q "$esc" <<<"$out" && fail "a raw ESC in: $out"
	vv "${esc}[2Jlist"
	expect_status 2
	expect_out "'\x1b[2Jlist' is not a command"
	grep -q "$esc" <<<"$out" && fail "a raw ESC in: $out"
	out=$("$cli" --sysroot "$root${esc}[2J" list 2>&1)
	expect_out "$root\x1b[2J has no sys/bus/pci directory"
	grep -q "$esc" <<<"$out" && fail "a raw ESC in: $out"
}

# give_host_disk BDF: a mounted NVMe namespace below BDF, as the host sees it.
give_host_disk() {
	local dir rel
	dir=$(readlink -f "$sys/devices/$1")
	rel=${dir#"$(readlink -f "$root/sys")"/}
	mkdir -p "$dir/nvme/nvme0/nvme0n1" "$root/sys/class/block"
	echo "259:0" >"$dir/nvme/nvme0/nvme0n1/dev"
	# Relative, as sysfs's own links are.
	ln -s "../../$rel/nvme/nvme0/nvme0n1" "$root/sys/class/block/nvme0n1"
	mkdir -p "$root/proc"
	echo "/dev/nvme0n1 /srv ext4 rw,relatime 0 0" >"$root/proc/mounts"
}

# A guest start must not take what the host visibly uses, as detach
# refuses it, unless the policy allows it for the device.
case_host_used_refused() {
	give_host_disk 0000:00:03.0
	domain_xml 00:03.0:yes
	: >"$log"
	hook prepare begin
	expect_status 1
	expect_out "the guest cannot start: 0000:00:03.0 is used by the host: its block device nvme0n1 is mounted on /srv"
	expect_out "host-use=allow under [device 0000:00:03.0]"
	# The code's remedy in the hook's words (src/hook/vv-hook-hint.c).
	expect_out "The host uses the device: stop that use, or give the domain another device"
	expect_no_out "--force"
	expect_no_write
	expect_no_plan
	# The CLI refuses it the same way, its hint naming its option.
	vv detach 00:03.0
	expect_status 1
	expect_out "nvme0n1 is mounted on /srv"
	expect_out "hint: Stop using 0000:00:03.0 first, or detach it anyway with --force."
	# Allowed for another device: still refused; for this one: it starts.
	policy "[global]\\nhost-use=refuse\\n[device 0000:00:01.0]\\nhost-use=allow\\n"
	hook prepare begin
	expect_status 1
	policy "[global]\\nhost-use=refuse\\n[device 0000:00:03.0]\\nhost-use=allow\\n"
	run_guest 0000:00:03.0
	expect_out "0000:00:03.0 goes to the guest although the host uses it (its block device nvme0n1 is mounted on /srv): the policy allows it (host-use=allow)."
	expect_driver 0000:00:03.0 vfio-pci
	stop_guest 0000:00:03.0
	expect_driver 0000:00:03.0 abcd_nic
	vv explain 00:03.0
	expect_out "Host use:       allow"
	policy "[global]\\nhost-use=maybe\\n"
	hook prepare begin
	expect_status 1
	expect_out "'maybe' is not a value of host-use"
}

# One device twice (managed and unmanaged): refused before anything is
# planned or moved.
case_listed_twice_refused() {
	vv detach 00:01.0
	expect_status 0
	domain_xml 00:01.0:yes 00:01.0:no
	: >"$log"
	hook prepare begin
	expect_status 1
	expect_out "the guest cannot start: 0000:00:01.0 is listed twice among its hostdevs (as managed='yes' and managed='no')"
	expect_no_write
	expect_no_plan
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "requester=cli"
}

# Killed in 'start begin' after the variant bound: the 'stopped end' that
# follows settles the cut-short move and says so; it does not fail.
case_killed_after_probe_then_stopped() {
	domain_xml 00:01.0:yes
	hook prepare begin
	lv_detach 0000:00:01.0
	VV_FAKEKERNEL_KILL_AFTER=drivers_probe hook start begin
	expect_status 137
	expect_driver 0000:00:01.0 acme-vfio-pci
	hook stopped end
	expect_status 0
	expect_out "0000:00:01.0: an earlier move of it was cut short and is now settled"
	expect_no_out "libvirt may reset it under its variant driver"
	lv_reattach 0000:00:01.0
	hook release end
	expect_status 0
	expect_driver 0000:00:01.0 abcd_nic
	expect_override 0000:00:01.0 "(null)"
	expect_no_record 0000:00:01.0
	expect_no_plan
}

# Names checked wherever they enter: --driver (detach, nodedev-detach),
# the policy's driver=, a record's fields. Exit 2, the input and the rule
# named, nothing written.
case_names_refused() {
	local name
	for name in .. . / ../.. vfio-pci/ '' '../../../../bin' 'vfio-pci x'; do
		: >"$log"
		vv detach --driver "$name" 00:01.0
		expect_status 2
		expect_out "--driver: "
		expect_out "is not a driver or module name: a name is 1 to 255 letters, digits, '_', '-' or '.', and not '.' or '..'"
		expect_no_write
		expect_driver 0000:00:01.0 abcd_nic
		vv nodedev-detach -c test:///default --driver "$name" 00:01.0
		expect_status 2
		# A build without libvirt (-Dlibvirt=disabled) has no such command.
		if [ "${VV_WITH_LIBVIRT:-1}" = 1 ]; then
			expect_out "is not a driver or module name"
		else
			expect_out "nodedev-detach needs libvirt, and this build of vfio-variant has no libvirt support"
		fi
		[ -z "$problem" ] || { problem="--driver '$name': $problem"; return; }
	done
	policy "[device 0000:00:01.0]\ndriver=..\n"
	vv explain 00:01.0
	expect_status 2
	expect_out "vfio-variant.conf line 2: '..' is not a value of driver"
	policy "[global]\ndriver=.\n"
	: >"$log"
	vv detach 00:01.0
	expect_status 2
	expect_out "'.' is not a value of driver"
	expect_no_write
	rm "$root/etc/vfio-variant/vfio-variant.conf"
	# A record edited to name a path: reattach refuses it, writes nothing.
	vv detach 00:01.0
	expect_status 0
	sed -i 's|^original-driver=.*|original-driver=../../../../devices/platform|' "$(record 0000:00:01.0)"
	: >"$log"
	vv reattach 00:01.0
	expect_status 1
	expect_out "holds original-driver=../../../../devices/platform, which is not a driver or module name"
	expect_no_write
	expect_driver 0000:00:01.0 acme-vfio-pci
	# A plan edited between the stages to name a path: refused, the
	# device stays where libvirt put it.
	domain_xml 00:05.0:yes
	hook prepare begin
	expect_status 0
	lv_detach 0000:00:05.0
	sed -i 's|^module=.*|module=../module/vfio_pci|' "$(plan)"
	: >"$log"
	hook start begin
	expect_status 0
	expect_out "[hostdev 0000:00:05.0] module: '../module/vfio_pci' is not a driver or module name"
	expect_out "the devices stay where libvirt put them"
	expect_no_write
	expect_driver 0000:00:05.0 vfio-pci
	# ... or a host driver.
	sed -i 's|^module=.*|module=abcd_nic|' "$(plan)"
	hook start begin
	expect_status 0
	expect_out "0000:00:05.0: the plan names abcd_nic, which is not a VFIO driver; the device stays on vfio-pci."
	expect_no_write
	expect_driver 0000:00:05.0 vfio-pci
}

# Which libvirt runs the hook, read from its parent's memory map; the
# version decides nothing here (00:03.0: vfio-pci only), only what it says.
case_libvirt_version_found() {
	local row version extra said
	domain_xml 00:03.0:yes
	for row in "9.0.0||libvirt 9.0.0 runs this hook (/usr/lib/x86_64-linux-gnu/libvirt.so.0.9000.0 mapped by process" \
		"9.7.0||libvirt 9.7.0 runs this hook" \
		"10.0.0||libvirt 10.0.0 runs this hook" \
		"11.3.0||libvirt 11.3.0 runs this hook (/usr/lib/x86_64-linux-gnu/libvirt.so.0.11003.0 mapped by process" \
		"11.3.0|(deleted)|libvirt 11.3.0 runs this hook (/usr/lib/x86_64-linux-gnu/libvirt.so.0.11003.0 (deleted) mapped" \
		"none||the version of libvirt that runs this hook is unknown: no parent process maps libvirt.so.0"; do
		IFS='|' read -r version extra said <<<"$row"
		libvirt_runs "$version" $extra
		hook prepare begin
		expect_status 0
		expect_out "$said"
		expect_out "plan vfio-pci"
	done
	# A script between the daemon and the hook (the single-script
	# /etc/libvirt/hooks/qemu): the daemon is found further up.
	libvirt_runs 11.3.0
	out=$(LD_PRELOAD="$preload" bash -c '"$0" "$@"; status=$?; echo "(script: $$)"; exit $status' \
		"$hookbin" --sysroot "$root" qemu vm1 prepare begin - <"$xml" 2>&1)
	status=$?
	expect_status 0
	expect_out "libvirt 11.3.0 runs this hook (/usr/lib/x86_64-linux-gnu/libvirt.so.0.11003.0 mapped by process $$ ("
	# Only libvirt.so.0 counts: libvirt-qemu.so.0 alone is no daemon.
	libvirt_runs 11.3.0
	sed -i '/ \/usr\/lib\/x86_64-linux-gnu\/libvirt\.so\./d' "$root/proc/$$/maps"
	hook prepare begin
	expect_out "the version of libvirt that runs this hook is unknown"
	# Said at 'prepare begin' only, once per start.
	libvirt_runs none
	lv_detach 0000:00:03.0
	hook start begin
	expect_status 0
	expect_no_out "libvirt"
	# Given by hand; a malformed version is a usage error.
	out=$(LD_PRELOAD="$preload" "$hookbin" --sysroot "$root" --libvirt-version 11.3.0 qemu vm1 prepare begin - <"$xml" 2>&1)
	expect_out "libvirt 11.3.0 runs this hook (given as --libvirt-version 11.3.0)"
	out=$(LD_PRELOAD="$preload" "$hookbin" --sysroot "$root" --libvirt-version 11.x qemu vm1 prepare begin - <"$xml" 2>&1)
	status=$?
	expect_status 2
	expect_out "--libvirt-version takes MAJOR.MINOR.MICRO"
}

# One guest's life under libvirt VERSION (simulated as 9.0, 9.7 or 11.3
# does it, see above) with one hostdev; $hook_changes: the unbind and
# probe writes of the hook's four stages together.
life() {
	local version=$1 bdf=$2 managed=$3 pick=${4:-}
	hook_changes=0
	libvirt_runs "$version"
	domain_xml "${bdf#0000:}:$managed"
	hook prepare begin; expect_status 0
	case $version:$managed in
	11.*:yes) lv11_detach "$bdf" "$pick" ;;
	11.*:no | 9.7.*:no) lv11_accepts_unmanaged "$bdf" ;;
	*:yes) lv_detach "$bdf" ;;
	*:no) lv_accepts_unmanaged "$bdf" ;;
	esac
	hook start begin; expect_status 0
	expect_vfio "$bdf"
	running_on=$(driver_of "$bdf")
	hook stopped end; expect_status 0
	case $version:$managed in
	11.*:yes) lv11_reattach "$bdf" ;;
	*:yes) lv_reattach "$bdf" ;;
	esac
	hook release end; expect_status 0
	expect_no_plan
	expect_no_log "/reset"
}

# The libvirt 9.0 workarounds only where needed: the hook's own driver
# changes per guest life, by libvirt version (unbind + probe writes).
case_workarounds_by_libvirt_version() {
	local row version managed pick expected
	for row in "none:yes::4" "9.0.0:yes::4" "9.7.0:yes::4" "11.3.0:yes:acme-vfio-pci:0" "11.3.0:yes:vfio-pci:2" \
		"none:no::8" "9.0.0:no::8" "9.7.0:no::4" "11.3.0:no::0"; do
		IFS=: read -r version managed pick expected <<<"$row"
		sim_fresh
		[ "$managed" = no ] && { vv detach 00:05.0; expect_status 0; }
		life "$version" 0000:00:05.0 "$managed" "$pick"
		[ "$running_on" = acme-vfio-pci ] || fail "libvirt $version, managed=$managed: the guest ran on '$running_on', not acme-vfio-pci"
		[ "$hook_changes" -eq "$expected" ] ||
			fail "libvirt $version, managed=$managed${pick:+, libvirt picked $pick}: the hook made $hook_changes unbind/probe writes, expected $expected"
		figure "hook's unbind+probe writes per guest life, libvirt $version, managed=$managed${pick:+, libvirt picks $pick}" "$hook_changes"
		if [ "$managed" = yes ]; then
			expect_driver 0000:00:05.0 abcd_nic
			expect_override 0000:00:05.0 "(null)"
			expect_no_record 0000:00:05.0
		else
			# As the administrator left it.
			expect_driver 0000:00:05.0 acme-vfio-pci
			expect_record 0000:00:05.0 "requester=cli"
			grep -q '^domain=' "$(record 0000:00:05.0)" && fail "libvirt $version: the record still names a domain"
		fi
		[ -z "$problem" ] || return
	done
}

# While an unmanaged guest runs under 11.3 (nothing moved), its record
# still names the domain: a manual reattach is refused.
case_unmanaged_11_3_held() {
	vv detach 00:01.0
	libvirt_runs 11.3.0
	domain_xml 00:01.0:no
	hook prepare begin; expect_status 0
	lv11_accepts_unmanaged 0000:00:01.0
	: >"$log"
	hook start begin; expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "domain=vm1"
	vv reattach 00:01.0
	expect_status 1
	expect_out "assigned to the libvirt domain vm1"
	hook stopped end; expect_status 0
	expect_out "0000:00:01.0 stays on acme-vfio-pci: libvirt >= 10 reattaches"
	hook release end; expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_no_log "/unbind"
}

# libvirt >= 10 picks blocked_vfio_pci for 00:06.0 by its text matcher
# (an exact alias line), which modprobe.d blacklists: its start would
# fail after 'prepare begin' with a bare modprobe error. The hook fails it
# at 'prepare begin', naming why and the line that makes it start.
case_blacklisted_libvirt_pick() {
	local line version
	line=$(grep -n ' blocked_vfio_pci$' "$root"/lib/modules/*/modules.alias | cut -d: -f1)
	[ -n "$line" ] || fail "the fixture's modules.alias has no blocked_vfio_pci line"
	for version in 11.3.0 10.0.0; do
		libvirt_runs "$version"
		domain_xml 00:06.0:yes
		: >"$log"
		hook prepare begin
		expect_status 1
		expect_out "the guest cannot start: libvirt $version would fail to start the domain vm1: the managed hostdev 0000:00:06.0 has no <driver model>, so libvirt picks its driver itself, blocked_vfio_pci (modules.alias line $line: vfio_pci:v0000ABCDd00000006sv*sd*bc*sc*i*), but /etc/modprobe.d/hook-host.conf blacklists that module: libvirt's \`modprobe -b blocked_vfio_pci\` loads nothing and the start fails with \"module is missing from /sys/module\". Add <driver model='vfio-pci'/> inside this <hostdev> (virsh edit vm1) to start it on vfio-pci, vfio-variant's choice."
		expect_no_write
		expect_no_plan
		expect_driver 0000:00:06.0 abcd_nic
	done
	# Our <metadata> is nothing to libvirt: it still picks by itself.
	sed -i "s|  <devices>|  <metadata><vv:hostdevs xmlns:vv='urn:x-vfio-variant:domain:1'><vv:hostdev address='0000:00:06.0' driver='vfio-pci'/></vv:hostdevs></metadata>\n  <devices>|" "$xml"
	hook prepare begin
	expect_status 1
	expect_out "Add <driver model='vfio-pci'/> inside this <hostdev>"
	# The line it gives makes the guest start, on vfio-pci, and stop.
	hook_changes=0
	domain_xml 00:06.0:yes:vfio-pci
	hook prepare begin; expect_status 0
	lv11_detach 0000:00:06.0 vfio-pci
	hook start begin; expect_status 0
	expect_driver 0000:00:06.0 vfio-pci
	hook stopped end; expect_status 0
	lv11_reattach 0000:00:06.0
	hook release end; expect_status 0
	expect_driver 0000:00:06.0 abcd_nic
	[ "$hook_changes" -eq 0 ] || fail "the hook made $hook_changes unbind/probe writes"
	# libvirt 9.0 and 9.7 pick nothing themselves (vfio-pci): no failure.
	for version in 9.0.0 9.7.0 none; do
		libvirt_runs "$version"
		domain_xml 00:06.0:yes
		hook prepare begin
		expect_status 0
		expect_no_out "would fail"
		hook release end
	done
	# An unmanaged hostdev: libvirt binds nothing.
	vv detach 00:06.0
	libvirt_runs 11.3.0
	domain_xml 00:06.0:no
	hook prepare begin
	expect_status 0
	expect_no_out "would fail"
}

# A device declared in VFIO mode (issue 13): libvirt's reattach gives it
# to its host driver, 'release end' gives it back to its VFIO driver, with
# no domain in the record; a reattach by hand is refused.
case_declared_back_to_vfio() {
	vv declare 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 acme-vfio-pci
	domain_xml 00:01.0:yes
	run_guest 0000:00:01.0
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "domain=vm1"
	hook stopped end; expect_status 0
	lv_reattach 0000:00:01.0
	expect_driver 0000:00:01.0 abcd_nic
	hook release end
	expect_status 0
	expect_out "0000:00:01.0 is declared in VFIO mode: back to its VFIO driver."
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_vfio 0000:00:01.0
	expect_record 0000:00:01.0 "requester=hook"
	! grep -q "^domain=" "$(record 0000:00:01.0)" || fail "the record still names the domain: $(cat "$(record 0000:00:01.0)")"
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	expect_no_plan
	vv reattach 00:01.0
	expect_status 1
	expect_out "vfio-variant undeclare 0000:00:01.0"
	# An undeclared device still goes back to its host driver.
	vv undeclare 00:01.0
	expect_status 0
	expect_driver 0000:00:01.0 abcd_nic
	run_guest 0000:00:01.0
	stop_guest 0000:00:01.0
	expect_driver 0000:00:01.0 abcd_nic
	expect_no_out "declared in VFIO mode"
}

cases=(
	"managed: variant while running, native and override back after release|case_managed_cycle"
	"declared in VFIO mode: back to its VFIO driver at release end|case_declared_back_to_vfio"
	"<driver model='vfio-pci'/> stays on vfio-pci|case_model_vfio_pci"
	"our <metadata> names the driver (libvirt 9.0 drops <driver model>)|case_metadata_driver"
	"generic policy stays on vfio-pci|case_generic_policy"
	"variant refuses: fallback to vfio-pci, guest starts|case_refused_fallback"
	"variant refuses in strict mode: start fails, device back on native|case_refused_strict"
	"managed='no' after vfio-variant detach: vfio-pci for libvirt, variant while running|case_unmanaged_after_our_detach"
	"managed='no' after plain virsh nodedev-detach: variant while running|case_unmanaged_after_plain_virsh_detach"
	"managed='no' on its host driver refused at prepare|case_unmanaged_on_host_driver_refused"
	"domain without hostdevs: nothing at all|case_no_hostdevs"
	"other operations: exit 0, silent, stdin unread|case_other_operations_silent"
	"malformed, entity-laden, oversized, empty XML refused untouched|case_bad_xml_refused"
	"group not viable fails at prepare, naming the blocker|case_group_not_viable"
	"policy deny and a broken policy fail at prepare|case_policy_deny_refused"
	"bridge refused at prepare|case_bridge_refused"
	"libvirt >= 10 chose another VFIO driver: moved to the plan|case_libvirt10_other_choice"
	"native module unloaded while running: release reloads it|case_native_module_reloaded"
	"release end fails (native module gone): record kept, reattach --force after the fix|case_release_fails_then_forced_reattach"
	"a broken record (symlink, incomplete) refused at release end, plan or none|case_broken_record_refused"
	"a plan that is a symlink, a FIFO or oversized: refused, nothing moved|case_plan_not_followed"
	"hook killed mid-move: libvirt's stop path ends on native|case_killed_mid_move_then_stopped"
	"no plan from prepare: devices left alone|case_no_plan_leaves_devices"
	"libvirt's calling convention through qemu.d/NAME; no libvirt linked|case_libvirt_calling_convention"
	"vfio-variant hook qemu ... runs the same stages|case_cli_hook_command"
	"policy in explain, list and detach|case_policy_cli"
	"UTF-7, EBCDIC, UTF-16 and any DTD refused by the parser, bounded|case_xml_encoding_and_dtd"
	"<driver model>/metadata naming a host driver or a path: refused, nothing loaded|case_model_not_vfio_refused"
	"address attributes: hex only, in range, no sign or space|case_address_attributes"
	"control characters in echoed input escaped|case_control_characters_escaped"
	"a host-used device fails prepare unless host-use=allow|case_host_used_refused"
	"one device listed twice: refused at prepare, nothing planned|case_listed_twice_refused"
	"killed after the variant bound: stopped end settles it and says so|case_killed_after_probe_then_stopped"
	"names: --driver, driver= and a record's names checked, exit 2|case_names_refused"
	"which libvirt runs the hook: read from the daemon's map, unknown said once|case_libvirt_version_found"
	"9.0 workarounds only where needed: hook's driver changes per libvirt version|case_workarounds_by_libvirt_version"
	"unmanaged on libvirt 11.3: nothing moved, the domain still holds it|case_unmanaged_11_3_held"
	"libvirt >= 10's own pick blacklisted: prepare fails naming the fix|case_blacklisted_libvirt_pick"
)

# VV_HOOK_CASES=PATTERN runs only the cases whose function matches.
if [ -n "${VV_HOOK_CASES:-}" ]; then
	selected=()
	for c in "${cases[@]}"; do [[ ${c#*|} =~ $VV_HOOK_CASES ]] && selected+=("$c"); done
	cases=("${selected[@]}")
fi

sim_run_cases "${cases[@]}"
for f in "${figures[@]}"; do echo "# FIGURE $f"; done
[ "$failed" -eq 0 ]
