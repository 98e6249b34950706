# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# Debian's libvirtd in the libvirt suites' VM (dash, in the root that
# tests/libvirt/vm-init.sh switched to), shared by tests/libvirt/
# vm-scenarios.sh, tests/hook/vm-hook-scenarios.sh and tests/vfio-mode/
# vm-guest-stop.sh: fresh state
# directories, a private daemon (no systemd, udevd or D-Bus), and QEMU's
# capabilities kept between boots.
#
# libvirtd probes QEMU's capabilities when it starts (13-16 s of TCG in
# this VM) and caches them in /var/cache/libvirt/qemu/capabilities, which
# is a tmpfs here. The host shares a writable directory of its build tree
# (9p tag "qemucaps", mounted by vm-init.sh at $CAPS_SHARE): what one boot
# probed seeds the next one. libvirt checks every cached entry itself (the
# QEMU binary's and its own ctime and version, the kernel, the CPU) and
# probes again when one does not fit, so a stale seed costs only the probe.

LV=/run/lv
URI="qemu:///system?socket=$LV/libvirt-sock"
CAPS_CACHE=/var/cache/libvirt/qemu/capabilities

now_us() { date +%s%6N; }

# Fresh /run and libvirt state: nothing of the host's (no domains, no
# autostarted network). Then the seed. /tmp is left as the overlay shows
# it: a build tree there (a CI clone, say) stays readable, and what the
# scenarios write there lands in the overlay's tmpfs like every write.
# keep-run: /run stays (the vfio-mode suite's udevd lives in /run/udev).
libvirtd_fresh_root() { # [keep-run]
	[ "${1:-}" = keep-run ] || mount -t tmpfs -o mode=0755 tmpfs /run
	mkdir -p /dev/pts /dev/shm
	mountpoint -q /dev/pts || mount -t devpts devpts /dev/pts
	mountpoint -q /dev/shm || mount -t tmpfs tmpfs /dev/shm
	for dir in /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /etc/libvirt/qemu; do
		mount -t tmpfs -o mode=0755 tmpfs "$dir"
	done
	CAPS_SEEDED=0
	CAPS_SHARED=no
	if [ -n "${CAPS_SHARE:-}" ] && [ -d "$CAPS_SHARE" ]; then
		CAPS_SHARED=yes
		mkdir -p "$CAPS_CACHE"
		for file in "$CAPS_SHARE"/*.xml; do
			[ -f "$file" ] || continue
			cp "$file" "$CAPS_CACHE/" && CAPS_SEEDED=$((CAPS_SEEDED + 1))
		done
	fi
}

# libvirtd.conf (a private socket in $LV, no authentication, and the log
# lines given, else errors to $LV/libvirtd.log) and qemu.conf (root's
# QEMU, no security driver, no mount namespace, no virtlogd).
libvirtd_configure() { # [LOG_LINES]
	if [ $# -gt 0 ]; then
		log_lines=$1
	else
		log_lines="log_outputs = \"3:file:$LV/libvirtd.log\""
	fi
	mkdir -p "$LV"
	cat >"$LV/libvirtd.conf" <<EOF
unix_sock_dir = "$LV"
auth_unix_rw = "none"
auth_unix_ro = "none"
$log_lines
EOF
	cat >/etc/libvirt/qemu.conf <<EOF
user = "root"
group = "root"
security_driver = "none"
namespaces = []
stdio_handler = "file"
EOF
}

# Start the daemon and wait (SECONDS, 60 by default) until virsh gets an
# answer: up=yes|no, its start time in LIBVIRTD_US. What it probed is kept
# for the next boot.
start_libvirtd() { # [SECONDS]
	t0_libvirtd=$(now_us)
	rm -f "$LV/libvirt-sock"
	libvirtd --config "$LV/libvirtd.conf" --pid-file "$LV/libvirtd.pid" >>"$LV/stdout" 2>&1 &
	up=no
	for _ in $(seq "$((${1:-60} * 10))"); do
		if [ -S "$LV/libvirt-sock" ] && virsh -c "$URI" version >/dev/null 2>&1; then
			up=yes
			break
		fi
		sleep 0.1
	done
	LIBVIRTD_US=$(($(now_us) - t0_libvirtd))
	if [ "$up" = yes ] && [ "$CAPS_SHARED" = yes ]; then
		for file in "$CAPS_CACHE"/*.xml; do
			[ -f "$file" ] || continue
			cmp -s "$file" "$CAPS_SHARE/${file##*/}" || cp "$file" "$CAPS_SHARE/"
		done
	fi
}

stop_libvirtd() {
	pid=$(cat "$LV/libvirtd.pid" 2>/dev/null)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	for _ in $(seq 300); do
		if [ -z "$pid" ] || [ ! -d "/proc/$pid" ]; then break; fi
		sleep 0.1
	done
}

# How the daemon's start went, for a FIGURE line.
libvirtd_caps_said() {
	if [ "$CAPS_SEEDED" -gt 0 ]; then
		echo "QEMU capabilities from the cache of an earlier boot ($CAPS_SEEDED seeded)"
	else
		echo "QEMU capabilities probed, no cache"
	fi
}
