#!/bin/bash
# Debian's real libvirtd on this machine, READ-ONLY: a private config and
# socket (no systemd, udevd or D-Bus needed), then `vfio-variant
# nodedev-list` and `nodedev-dumpxml` for every PCI node device, each
# document validated and, our namespace removed, compared with virsh's. Nothing is ever detached here: this machine's PCI
# devices are its own disk and network.
# Usage: test-libvirtd-host.sh VFIO_VARIANT TEST_NODEDEV_XML
# (needs VV_SCHEMA_DIR and VV_LIBVIRT_NODEDEV_RNG in the environment)
set -u
cli=$1 validator=$2

missing() {
	if [ "${CI:-}" = true ]; then echo "Bail out! $1"; exit 1; fi
	echo "1..0 # SKIP $1"; exit 0
}
command -v libvirtd >/dev/null || missing "libvirtd is not installed: apt-get install libvirt-daemon-system"
command -v virsh >/dev/null || missing "virsh is not installed: apt-get install libvirt-clients"
[ "$(id -u)" -eq 0 ] || missing "libvirtd's qemu driver needs root to start"
# The module directory of an installed kernel: the running one may have none.
modules_dir=$(ls -d /lib/modules/*/modules.alias.bin 2>/dev/null | head -n 1)
[ -n "$modules_dir" ] || missing "no kernel modules are installed: apt-get install linux-image-amd64"
modules_dir=$(dirname "$modules_dir")

work=$(mktemp -d)
cleanup() {
	[ -f "$work/libvirtd.pid" ] && kill "$(cat "$work/libvirtd.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/libvirtd.conf" <<CONF
unix_sock_dir = "$work"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$work/libvirtd.log"
CONF
# A private mount namespace with empty state directories: the daemon
# neither clashes with a system libvirtd nor leaves state behind.
command -v unshare >/dev/null || missing "unshare is not installed: apt-get install util-linux"
unshare -m --propagation private sh -c '
	for dir in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
		mkdir -p "$dir" && mount -t tmpfs tmpfs "$dir" || exit 1
	done
	exec libvirtd --config "$1/libvirtd.conf" --pid-file "$1/libvirtd.pid"' sh "$work" >"$work/stdout" 2>&1 &
uri="qemu:///system?socket=$work/libvirt-sock"
for _ in $(seq 100); do
	[ -S "$work/libvirt-sock" ] && virsh -c "$uri" version >/dev/null 2>&1 && break
	sleep 0.2
done

n=0 failed=0
check() { # label command...
	local label=$1; shift
	n=$((n + 1))
	if "$@" >"$work/out" 2>&1; then
		echo "ok $n - $label"
	else
		echo "not ok $n - $label"; sed 's/^/# /' "$work/out"; failed=$((failed + 1))
	fi
}

expected=$(virsh -c "$uri" nodedev-list --cap pci 2>/dev/null | sed '/^$/d' | sort)
[ -n "$expected" ] || { echo "Bail out! libvirtd did not start or lists no PCI device: $(tail -3 "$work/libvirtd.log" "$work/stdout")"; exit 1; }
echo "1..$(( $(wc -l <<<"$expected") * 3 + 4 ))"

listed() { "$cli" --modules-dir "$modules_dir" nodedev-list "$@" | awk '{ print $1 }' | sort; }
check "nodedev-list shows every PCI node device virsh shows" diff <(echo "$expected") <(listed -c "$uri")
check "LIBVIRT_DEFAULT_URI works as in virsh" diff <(echo "$expected") <(LIBVIRT_DEFAULT_URI="$uri" listed)
check "qemu+unix:// is local" diff <(echo "$expected") <(listed -c "qemu+unix:///system?socket=$work/libvirt-sock")
# The same daemon reached as a remote one: the ext transport runs a command
# that carries libvirt's RPC between its stdin and stdout and the daemon's
# socket, as ssh would from another host. It connects, and is refused.
cat >"$work/tunnel" <<TUNNEL
#!/usr/bin/python3
import os, socket, threading
sock = socket.socket(socket.AF_UNIX)
sock.connect("$work/libvirt-sock")
def upstream():
    while data := os.read(0, 65536):
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
threading.Thread(target=upstream, daemon=True).start()
while data := sock.recv(65536):
    while data:
        data = data[os.write(1, data):]
TUNNEL
chmod +x "$work/tunnel"
remote_refused() {
	local status
	"$cli" --modules-dir "$modules_dir" nodedev-list -c "qemu+ext:///system?command=$work/tunnel" >"$work/remote.out" 2>&1
	status=$?
	cat "$work/remote.out"
	[ "$status" -eq 2 ] && grep -qF "error: the libvirt connection 'qemu+ext:///system?command=$work/tunnel' is not local" "$work/remote.out" &&
		grep -qF "error: Run vfio-variant on that host" "$work/remote.out" && [ "$(grep -c . "$work/remote.out")" -eq 2 ]
}
virsh -c "qemu+ext:///system?command=$work/tunnel" uri >/dev/null 2>&1 || { echo "Bail out! the tunnel does not reach libvirtd"; exit 1; }
check "the daemon reached through a command (qemu+ext) is refused as remote" remote_refused
for name in $expected; do
	check "nodedev-dumpxml $name" sh -c "\"$cli\" --modules-dir \"$modules_dir\" nodedev-dumpxml -c \"$uri\" $name >\"$work/$name.xml\""
	check "$name validates (ours and libvirt's grammar)" "$validator" --validate "$work/$name.xml"
	virsh -c "$uri" nodedev-dumpxml "$name" >"$work/$name.libvirt.xml" 2>&1
	check "$name without our namespace is virsh's document" "$validator" --compare "$work/$name.xml" "$work/$name.libvirt.xml"
done
[ "$failed" -eq 0 ]
