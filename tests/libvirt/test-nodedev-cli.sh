#!/bin/bash
# The nodedev-* commands against libvirt's own test driver: an in-process
# libvirt connection (test:///PATH, no daemon) whose node devices are those
# of the bind host (tests/libvirt/test-driver-node.xml), on a fresh copy of
# that host per case under the simulated kernel (tests/fakekernel). The
# test driver serves lookups, node-device XML, its version (9.0.0) and
# domain lists, and refuses detach and reattach with a real libvirt error:
# URI and name handling, and every error path, each checked for what it
# says and for where it leaves the device. Remote URIs connect for real to
# a fake daemon behind a fake ssh (fake-remote-libvirtd.py), with no network.
# Usage: test-nodedev-cli.sh VFIO_VARIANT LIBVV_FAKEKERNEL HOSTS_DIR VALIDATOR DRIVER_XML LIBVV_LIBVIRT_SHIM
# (the validator needs VV_SCHEMA_DIR and VV_LIBVIRT_NODEDEV_RNG)
set -u
cli=$1 fakekernel=$2 hosts=$3 validator=$4 driver_xml=$5 shim=$6
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup nodedev "$cli" "$fakekernel" "$hosts/bind"
unset LIBVIRT_DEFAULT_URI
uri="test://$(readlink -f "$driver_xml")"
fake_daemon=$(readlink -f "$(dirname "$0")/fake-remote-libvirtd.py")

# vv ARGS...: the CLI on $root; $status, $out (stdout), $err (stderr).
vv() {
	LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" "$@" >"$work/out" 2>"$work/err"
	status=$?
	out=$(cat "$work/out") err=$(cat "$work/err")
}
expect_err() { grep -qxF -- "$1" <<<"$err" || fail "stderr lacks the line '$1': $err"; }
validates() { "$validator" --validate "$1" >"$work/validate" 2>&1 || fail "$(cat "$work/validate")"; }

case_dumpxml_names() {
	vv nodedev-dumpxml -c "$uri" pci_0000_00_01_0
	expect_status 0
	echo "$out" >"$work/by-nodedev.xml"
	validates "$work/by-nodedev.xml"
	expect_out '<selected module="acme_vfio_pci"'
	expect_out '<name>pci_0000_00_01_0</name>'
	for name in 0000:00:01.0 00:01.0; do
		vv nodedev-dumpxml -c "$uri" "$name"
		expect_status 0
		[ "$out" = "$(cat "$work/by-nodedev.xml")" ] || fail "$name gives another document than pci_0000_00_01_0: $out"
	done
	# No driver in libvirt's document: <vfio> stands where <driver> would, and
	# no <driver> is added (the validator strips our namespace and checks).
	vv nodedev-dumpxml -c "$uri" 00:08.0
	expect_status 0
	echo "$out" >"$work/unbound.xml"
	validates "$work/unbound.xml"
	if grep -qF '<driver>' "$work/unbound.xml"; then fail "a <driver> was added: $out"; fi
}

case_uri_sources() {
	vv nodedev-dumpxml -c "$uri" 00:01.0
	local with_c=$out
	LIBVIRT_DEFAULT_URI=$uri vv nodedev-dumpxml 00:01.0
	expect_status 0
	[ "$out" = "$with_c" ] || fail "LIBVIRT_DEFAULT_URI gives another document than -c: $out"
	# -c wins over the environment, as in virsh.
	LIBVIRT_DEFAULT_URI=nosuch:///x vv nodedev-dumpxml --connect "$uri" 00:01.0
	expect_status 0
	[ "$out" = "$with_c" ] || fail "--connect does not win over LIBVIRT_DEFAULT_URI: $out $err"
	LIBVIRT_DEFAULT_URI=nosuch:///x vv nodedev-dumpxml 00:01.0
	expect_status 2
	expect_err "error: failed to connect to the hypervisor"
}

case_no_daemon() {
	for command in nodedev-list nodedev-dumpxml nodedev-detach nodedev-reattach; do
		if [ "$command" = nodedev-list ]; then
			vv "$command" -c "qemu:///system?socket=$work/no-such-sock"
		else
			vv "$command" -c "qemu:///system?socket=$work/no-such-sock" 00:01.0
		fi
		expect_status 2
		expect_err "error: failed to connect to the hypervisor"
		expect_err "error: Failed to connect socket to '$work/no-such-sock': No such file or directory"
	done
	expect_driver 0000:00:01.0 abcd_nic
	expect_log_empty
}

case_unknown_nodedev() {
	# 00:02.0 is on the host, but libvirt does not know it.
	for command in nodedev-dumpxml nodedev-detach nodedev-reattach; do
		vv "$command" -c "$uri" 00:02.0
		expect_status 2
		expect_err "error: failed to get node device 'pci_0000_00_02_0'"
		grep -q '^error: Node device not found' <<<"$err" || fail "$command: no libvirt reason: $err"
	done
	expect_driver 0000:00:02.0 abcd_nic
	expect_log_empty
}

case_bad_name_before_libvirt() {
	# Refused before any connection: the bad URI is never reached.
	for name in ../../etc/passwd pci_0000_00_01 0000:00:01.8; do
		vv nodedev-dumpxml -c nosuch:///x "$name"
		expect_status 2
		grep -q "^vfio-variant: error: .*$name" <<<"$err" || fail "'$name' is not named in: $err"
		! grep -q 'connect' <<<"$err" || fail "'$name' reached libvirt: $err"
	done
}

# --timeout in seconds, as detach and reattach take it: one whose
# milliseconds overflow (4294968 s would wait 704 ms) is refused before
# libvirt is asked, naming the range.
case_timeout_range() {
	local t command
	for t in 4294968 99999999 -1; do
		for command in nodedev-detach nodedev-reattach; do
			vv "$command" -c "$uri" --timeout "$t" 00:01.0
			expect_status 2
			grep -q -- "--timeout takes a number of seconds from 0 to 4294967; $t is out of range" <<<"$err" ||
				fail "$command --timeout $t: the range is not named: $err"
		done
	done
	expect_driver 0000:00:01.0 abcd_nic
	expect_log_empty
}

# libvirt's detach, which the test driver lacks, by the preloaded shim
# (vv-libvirt-shim.c): libvirt's three writes, as libvirt 9.0 makes them.
vv_shimmed() {
	local dev="$sys/devices/$1"
	shift
	VV_SHIM_DETACH="echo vfio-pci > '$dev/driver_override'; echo '${dev##*/}' > '$dev/driver/unbind'; echo '${dev##*/}' > '$sys/drivers_probe'" \
		preload="$preload:$shim" vv "$@"
}
# libvirt >= 9.7 (the shim answers the daemon's version): it binds the
# driver it is given by name, and when that driver is not bound its
# cleanup clears the override and reprobes, as libvirt's does.
vv_shimmed_by_name() {
	local dev="$sys/devices/$1"
	shift
	# shellcheck disable=SC2016 # $VV_SHIM_DRIVER: expanded by the shim's shell
	VV_SHIM_VERSION=11003000 VV_SHIM_DETACH='echo "$VV_SHIM_DRIVER" > '"'$dev/driver_override'; echo '${dev##*/}' > '$dev/driver/unbind'; echo '${dev##*/}' > '$sys/drivers_probe'; "'[ "$(basename "$(readlink '"'$dev/driver'"')")" = "$VV_SHIM_DRIVER" ] && exit 0; '"echo > '$dev/driver_override'; echo '${dev##*/}' > '$sys/drivers_probe'; exit 1" \
		preload="$preload:$shim" vv "$@"
}

case_detach_by_name() {
	vv_shimmed_by_name 0000:00:01.0 nodedev-detach -c "$uri" 00:01.0
	expect_status 0
	expect_out "Device pci_0000_00_01_0 detached (libvirt 11.3.0): on acme-vfio-pci, native driver abcd_nic recorded."
	expect_no_out "moves pci_0000_00_01_0 on"
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "requester=libvirt"
	expect_record 0000:00:01.0 "fallback=false"
	# libvirt wrote the variant's driver name, never vfio-pci first.
	expect_log "write /sys/bus/pci/devices/0000:00:01.0/driver_override acme-vfio-pci -> ok"
	expect_no_log "driver_override vfio-pci"
}

case_detach_by_name_fallback() {
	printf '[driver acme-vfio-pci]\nrefuse=0000:00:01.0\n' >>"$root/fakekernel.conf"
	vv_shimmed_by_name 0000:00:01.0 nodedev-detach -c "$uri" 00:01.0
	expect_status 0
	expect_out "libvirt could not bind acme-vfio-pci (Failed to detach device pci_0000_00_01_0 shim: VV_SHIM_DETACH failed); it bound the generic vfio-pci instead."
	expect_out "Device pci_0000_00_01_0 detached (libvirt 11.3.0): on vfio-pci, native driver abcd_nic recorded."
	expect_driver 0000:00:01.0 vfio-pci
	expect_record 0000:00:01.0 "fallback=true"
	# --driver: no fallback, back on the native driver.
	vv reattach --force 00:01.0
	vv_shimmed_by_name 0000:00:01.0 nodedev-detach -c "$uri" --driver acme_vfio_pci 00:01.0
	expect_status 1
	expect_err "error: Failed to detach device pci_0000_00_01_0"
	expect_err "error: shim: VV_SHIM_DETACH failed"
	expect_err "error: 0000:00:01.0 is back on abcd_nic."
	expect_driver 0000:00:01.0 abcd_nic
	expect_no_record 0000:00:01.0
}

# libvirt's reattach leaves the device without a driver (its reprobe
# found none): vfio-variant gives it back to the recorded one.
case_reattach_repaired() {
	vv_shimmed_by_name 0000:00:01.0 nodedev-detach -c "$uri" 00:01.0
	expect_status 0
	local dev="$sys/devices/0000:00:01.0"
	VV_SHIM_VERSION=11003000 VV_SHIM_REATTACH="echo > '$dev/driver_override'; echo 0000:00:01.0 > '$dev/driver/unbind'" \
		preload="$preload:$shim" vv nodedev-reattach -c "$uri" 00:01.0
	expect_status 0
	expect_out "libvirt left 0000:00:01.0 on no driver; vfio-variant gave it back to abcd_nic:"
	expect_out "Device pci_0000_00_01_0 re-attached: on abcd_nic, its driver before the detach."
	expect_driver 0000:00:01.0 abcd_nic
	expect_no_record 0000:00:01.0
}

# break_record BDF: the record of BDF becomes a symlink to a copy of it.
break_record() {
	local rec
	rec=$(record "$1")
	echo "cp '$rec' '$work/record.target' && ln -sfn '$work/record.target' '$rec'"
}

# A record that cannot be read back is no "no record": nodedev-detach does
# not say the device had no driver, nor send a reattach to "its native
# driver" it cannot name; it names the record and fails.
case_detach_unreadable_record() {
	VV_SHIM_AFTER_REBIND=$(break_record 0000:00:01.0) vv_shimmed 0000:00:01.0 nodedev-detach -c "$uri" 00:01.0
	expect_status 1
	grep -q "^error: Device pci_0000_00_01_0 is detached (libvirt 9.0.0) and on acme-vfio-pci, but its record cannot be read back: .*$(record 0000:00:01.0) is a symbolic link" <<<"$err" ||
		fail "after the move: the unreadable record is not named: $out $err"
	! grep -q "it had no driver before" <<<"$out" || fail "after the move: 'no driver before' from an unreadable record: $out"
	expect_driver 0000:00:01.0 acme-vfio-pci
	rm -f "$(record 0000:00:01.0)"
	vv reattach --force 00:01.0
	VV_SHIM_BEFORE_REBIND=$(break_record 0000:00:03.0) vv_shimmed 0000:00:03.0 nodedev-detach -c "$uri" 00:03.0
	expect_status 1
	grep -q "^error: pci_0000_00_03_0 stays on vfio-pci, detached by libvirt, and its record cannot be read: .*$(record 0000:00:03.0) is a symbolic link" <<<"$err" ||
		fail "the move failed: the unreadable record is not named: $err"
	! grep -q "gives it back to its native driver" <<<"$err" || fail "the move failed: a reattach advised from an unreadable record: $err"
	expect_driver 0000:00:03.0 vfio-pci
}

case_detach_refused_by_libvirt() {
	vv nodedev-detach -c "$uri" 00:01.0
	expect_status 1
	expect_err "error: Failed to detach device pci_0000_00_01_0"
	expect_err "error: this function is not supported by the connection driver: virNodeDeviceDetachFlags"
	expect_err "error: 0000:00:01.0 is back on abcd_nic."
	expect_driver 0000:00:01.0 abcd_nic
	expect_override 0000:00:01.0 "(null)"
	expect_no_record 0000:00:01.0
}

case_detach_named_driver_refused_by_libvirt() {
	vv nodedev-detach -c "$uri" --driver acme_vfio_pci 00:03.0
	expect_status 1
	expect_err "error: Failed to detach device pci_0000_00_03_0"
	expect_err "error: 0000:00:03.0 is back on abcd_nic."
	expect_driver 0000:00:03.0 abcd_nic
	expect_no_record 0000:00:03.0
}

case_reattach_refused_by_libvirt() {
	vv detach 00:01.0
	expect_status 0
	vv nodedev-reattach -c "$uri" pci_0000_00_01_0
	expect_status 1
	expect_err "error: Failed to re-attach device pci_0000_00_01_0"
	expect_err "error: this function is not supported by the connection driver: virNodeDeviceReAttach"
	# libvirt 9.0 gives back only from vfio-pci: moved there for it, and
	# back to the variant when libvirt refused.
	expect_err "error: 0000:00:01.0 is back on acme-vfio-pci, where it was before this command."
	expect_driver 0000:00:01.0 acme-vfio-pci
	expect_record 0000:00:01.0 "requester=cli"
	expect_record 0000:00:01.0 "driver=acme-vfio-pci"
	expect_record 0000:00:01.0 "original-driver=abcd_nic"
	expect_record 0000:00:01.0 "step=verified"
	# On vfio-pci already: nothing to move, nothing moved.
	vv detach --generic 00:03.0
	: >"$log"
	vv nodedev-reattach -c "$uri" 00:03.0
	expect_status 1
	expect_err "error: pci_0000_00_03_0 stays on vfio-pci."
	expect_log_empty
}

case_dumpxml_detached() {
	vv detach 00:01.0
	vv nodedev-dumpxml -c "$uri" 00:01.0
	expect_status 0
	expect_out '<detached driver="acme-vfio-pci" module="acme_vfio_pci" fallback="no" requester="cli"'
	expect_out '<native driver="abcd_nic" module="abcd_nic"/>'
	echo "$out" >"$work/detached.xml"
	validates "$work/detached.xml"
}

case_list() {
	vv nodedev-list -c "$uri"
	expect_status 0
	[ "$(awk '{ print $1 "|" $2 "|" $3 }' <<<"$out")" = "pci_0000_00_01_0|abcd_nic|acme_vfio_pci
pci_0000_00_03_0|abcd_nic|vfio_pci
pci_0000_00_08_0|-|vfio_pci" ] || fail "unexpected list: $out"
	# A node device libvirt lists but the host lacks: named.
	rm "$root/sys/bus/pci/devices/0000:00:03.0"
	vv nodedev-list -c "$uri"
	expect_status 2
	grep -q '0000:00:03.0' <<<"$err" || fail "the missing device is not named: $err"
}

# nodedev-list --json: the schema's document, libvirt's devices in order.
case_list_json() {
	vv nodedev-list --json -c "$uri"
	expect_status 0
	echo "$out" >"$work/list.json"
	/usr/bin/python3 "$VV_JSON_CHECK" validate "$VV_SCHEMA_DIR/vfio-variant.schema.json" "$work/list.json" >"$work/check" 2>&1 ||
		fail "$(cat "$work/check")"
	[ "$(grep -o '"nodedev" : "[^"]*"' <<<"$out" | cut -d'"' -f4 | tr '\n' ' ')" = "pci_0000_00_01_0 pci_0000_00_03_0 pci_0000_00_08_0 " ] ||
		fail "unexpected devices: $out"
	expect_out '"command" : "nodedev-list"'
	expect_out '"module" : "acme_vfio_pci"'
}

# Without a module index: libvirt's part is shown, the choice is unknown
# with the reason, the status is 3; nodedev-dumpxml prints libvirt's own
# document, which validates against libvirt's nodedev.rng.
case_no_index() {
	rm -f "$root"/lib/modules/*/modules.alias.bin
	vv nodedev-list -c "$uri"
	expect_status 3
	[ "$(awk '{ print $1 "|" $2 "|" $3 }' <<<"$out")" = "pci_0000_00_01_0|abcd_nic|unknown:
pci_0000_00_03_0|abcd_nic|unknown:
pci_0000_00_08_0|-|unknown:" ] || fail "unexpected list: $out"
	grep -qF "has no modules.alias.bin" <<<"$err" || fail "nodedev-list does not say why: $err"
	vv nodedev-list --json -c "$uri"
	expect_status 3
	echo "$out" >"$work/unknown.json"
	/usr/bin/python3 "$VV_JSON_CHECK" validate "$VV_SCHEMA_DIR/vfio-variant.schema.json" "$work/unknown.json" >"$work/check" 2>&1 ||
		fail "$(cat "$work/check")"
	[ "$(grep -c '"known" : false' <<<"$out")" -eq 3 ] || fail "not every device's choice is unknown: $out"
	vv nodedev-dumpxml -c "$uri" 00:01.0
	expect_status 3
	expect_out '<name>pci_0000_00_01_0</name>'
	expect_no_out 'urn:x-vfio-variant'
	grep -qF "vfio-variant: warning: the VFIO driver of 0000:00:01.0 is unknown: The module directory" <<<"$err" ||
		fail "nodedev-dumpxml does not say why: $err"
	echo "$out" >"$work/libvirt-only.xml"
	xmllint --noout --relaxng "$VV_LIBVIRT_NODEDEV_RNG" "$work/libvirt-only.xml" >"$work/check" 2>&1 ||
		fail "libvirt's document does not validate: $(cat "$work/check")"
	expect_log_empty
}

# A remote libvirt that really answers, with no network: libvirt's remote
# driver runs `ssh HOST sh -c ...` (or the ext URI's command) and speaks its
# RPC over the command's stdin and stdout; a fake ssh first in PATH (and
# the ext command) execs the fake daemon, which logs every call. libvirt
# passes LD_PRELOAD on to the commands it runs, and the simulated kernel
# refuses to load without its root: a static shell drops the preload.
remote_setup() {
	[ -x /bin/busybox ] || { fail "no /bin/busybox (package busybox-static)"; return; }
	remote_log="$root.remote"
	mkdir -p "$work/bin"
	printf '#!/bin/busybox sh\nunset LD_PRELOAD\nexec python3 %s %s\n' "$fake_daemon" "$remote_log" >"$work/bin/ssh"
	cp "$work/bin/ssh" "$work/bin/ext"
	chmod +x "$work/bin/ssh" "$work/bin/ext"
}

case_remote_refused() {
	remote_setup
	local spec how shown command
	# HOW|URI: the URI given with -c or as LIBVIRT_DEFAULT_URI.
	for spec in "c|test+ssh://other/default" "c|qemu+ssh://other/system" "c|test+ssh://localhost/default" \
		    "c|test+ext:///default?command=$work/bin/ext" "env|test+ssh://other/default"; do
		how=${spec%%|*} shown=${spec#*|}
		# Every command with the first URI; the others (one check in
		# vv_virt_connect() for all) with nodedev-list only: each run
		# costs seconds under valgrind.
		local commands=(nodedev-list)
		[ "$spec" = "c|test+ssh://other/default" ] && commands=(nodedev-detach nodedev-reattach nodedev-dumpxml nodedev-list)
		for command in "${commands[@]}"; do
			local args=("$command")
			[ "$how" = c ] && args+=(-c "$shown")
			[ "$command" = nodedev-list ] || args+=(00:01.0)
			: >"$remote_log"
			if [ "$how" = env ]; then
				PATH="$work/bin:$PATH" LIBVIRT_DEFAULT_URI=$shown vv "${args[@]}"
			else
				PATH="$work/bin:$PATH" vv "${args[@]}"
			fi
			expect_status 2
			grep -qF "connection 1 CONNECT_OPEN" "$remote_log" ||
				fail "$command $shown: no connection reached the fake daemon: $err"
			expect_err "error: the libvirt connection '$shown' is not local: vfio-variant reads, moves and records the devices of the machine it runs on, so a device of another host must not be handled from here"
			expect_err "error: Run vfio-variant on that host, with a local connection such as qemu:///system."
			! grep -q '^acting' "$remote_log" ||
				fail "$command $shown: the remote libvirt was asked to act: $(grep '^acting' "$remote_log" | tr '\n' '|')"
			[ -z "$problem" ] || return
		done
	done
	expect_driver 0000:00:01.0 abcd_nic
	expect_no_record 0000:00:01.0
	expect_log_empty
}

cases=(
	"dumpxml: node-device name, address, short address give one valid document|case_dumpxml_names"
	"-c, --connect and LIBVIRT_DEFAULT_URI as in virsh|case_uri_sources"
	"no daemon at the URI: libvirt's reason, nothing written|case_no_daemon"
	"device libvirt does not know: named, libvirt's reason|case_unknown_nodedev"
	"malformed names refused before libvirt is asked|case_bad_name_before_libvirt"
	"--timeout out of range (4294968, 99999999, -1): exit 2 naming the range, libvirt not asked|case_timeout_range"
	"detach with a record that cannot be read back: named, exit 1, no 'no driver before'|case_detach_unreadable_record"
	"detach refused by libvirt: named, reason, back on the native driver, no record|case_detach_refused_by_libvirt"
	"detach --driver refused by libvirt: back on the native driver|case_detach_named_driver_refused_by_libvirt"
	"reattach refused by libvirt: back on the VFIO driver it was on, record as it was|case_reattach_refused_by_libvirt"
	"libvirt 11.3: detach by the variant's driver name, no vfio-pci first|case_detach_by_name"
	"libvirt 11.3: the variant refuses: vfio-pci, said and recorded; with --driver: back on the native driver|case_detach_by_name_fallback"
	"libvirt 11.3: reattach left without a driver: repaired, said|case_reattach_repaired"
	"dumpxml of a detached device: <detached> and <native>, valid|case_dumpxml_detached"
	"remote connection (ssh, ext, localhost, LIBVIRT_DEFAULT_URI) refused after connecting, nothing asked or written|case_remote_refused"
	"list: libvirt's PCI devices with the selection; a device the host lacks named|case_list"
	"list --json: the schema's document|case_list_json"
	"without a module index: list and dumpxml show libvirt's part, the choice unknown, exit 3|case_no_index"
)

sim_run_cases "${cases[@]}"
[ "$failed" -eq 0 ]
