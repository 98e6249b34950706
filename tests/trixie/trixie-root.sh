#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The trixie suite's libvirt root: Debian 13 (trixie) with libvirtd 11.3
# and QEMU 10, built by mmdebstrap (minbase, no Recommends) into the cache,
# never into this machine's system. tests/trixie/run-trixie-libvirt.sh
# shares it READ-ONLY over virtio-9p into a VM that boots Debian 13's
# kernel; the build tree's CLI, hook and library (built on Debian 12) run
# there unchanged against trixie's libraries.
#
#   trixie-root.sh CACHE
#
# Result: CACHE/libvirt-root/root/ (the root), .../versions (what it holds)
# and .../stamp (the recipe it was built from), written last: the whole
# directory is built beside it and renamed into place, so a run killed
# half way leaves no root that looks complete. A second run whose recipe
# is the stamp's builds nothing. Prints "# FIGURE" lines, and last
# "# trixie-root: ready STAMP". A build holds CACHE/.root-lock exclusively;
# a suite holds it shared while its VM uses the root, and compares
# CACHE/libvirt-root/stamp with that line once it has (another run may have
# built the root again in between).
#
# The archive is the one this machine's apt uses for Debian (VV_TRIXIE_MIRROR
# overrides it); suite trixie, main. Exit status: 0 the root is there, 1 it
# could not be built, 3 a prerequisite is missing (said on stderr).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: trixie-root.sh CACHE" >&2
	exit 2
fi
cache=$1
dest=$cache/libvirt-root

# What the root holds: libvirtd with its QEMU and node-device drivers,
# virsh, QEMU, kmod (libvirt runs modprobe), busybox (poweroff, the shell's
# helpers), and the libraries of the Debian-12-built CLI and hook that
# libvirt's own dependencies do not bring (libpci3 for names,
# libjson-glib for --json).
packages=libvirt-daemon,libvirt-daemon-driver-qemu,libvirt-daemon-driver-nodedev,libvirt-clients,qemu-system-x86,kmod,busybox,libpci3,libjson-glib-1.0-0,diffutils
# Bump when the recipe changes in a way the package list does not show.
recipe_version=1
recipe="trixie-root $recipe_version suite=trixie variant=minbase no-recommends include=$packages"

# The root as the stamp says, read under the lock held shared (a suite's
# VM may be using it); built under it held exclusively.
mkdir -p "$cache"
exec 9>>"$cache/.root-lock"
cached() {
	[ -f "$dest/stamp" ] && [ "$(cat "$dest/stamp")" = "$recipe" ] && [ -x "$dest/root/usr/sbin/libvirtd" ] || return 1
	echo "# FIGURE trixie: libvirt root cached ($(tr '\n' ' ' <"$dest/versions"))"
	echo "# trixie-root: ready $recipe"
}
flock -s 9
cached && exit 0
flock -u 9
flock 9
cached && exit 0

if ! command -v mmdebstrap >/dev/null; then
	echo "trixie-root.sh: mmdebstrap is missing. Install: apt-get install mmdebstrap (build-aux/deps.sh does)" >&2
	exit 3
fi
if [ "$(id -u)" != 0 ] && ! unshare --user --map-root-user true 2>/dev/null; then
	echo "trixie-root.sh: mmdebstrap needs root or user namespaces (unshare --user) to build the root" >&2
	exit 3
fi

# The Debian archive this machine's apt already uses (its main suite).
mirror=${VV_TRIXIE_MIRROR:-}
if [ -z "$mirror" ]; then
	# shellcheck source=/dev/null
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	# shellcheck disable=SC2016 # apt's format, not the shell's
	mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk -v c="$codename" '$2 == c { print $1; exit }')
fi
if [ -z "$mirror" ]; then
	echo "trixie-root.sh: no Debian archive in this machine's apt sources; set VV_TRIXIE_MIRROR to one" >&2
	exit 3
fi

new=$(mktemp -d "$cache/libvirt-root.new.XXXXXX")
trap 'rm -rf "$new"' EXIT
t0=${EPOCHREALTIME/./}
# Documentation, manuals and translations are not needed to run anything.
if ! mmdebstrap --variant=minbase --include="$packages" \
	--aptopt='APT::Install-Recommends "false"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	trixie "$new/root" "$mirror" >"$new/mmdebstrap.log" 2>&1; then
	tail -n 30 "$new/mmdebstrap.log" | sed 's/^/trixie-root.sh: mmdebstrap: /' >&2
	echo "trixie-root.sh: mmdebstrap could not build the trixie root from $mirror" >&2
	exit 1
fi
t_build=$((${EPOCHREALTIME/./} - t0))

# What the root is: checked, and kept for the runner's report.
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
version_of() { chroot "$new/root" dpkg-query -W -f '${Version}' "$1"; }
libvirt_v=$(version_of libvirt-daemon)
qemu_v=$(version_of qemu-system-x86)
case $libvirt_v in
11.*) ;;
*)
	echo "trixie-root.sh: the root's libvirt-daemon is $libvirt_v, expected 11.x" >&2
	exit 1
	;;
esac
[ -x "$new/root/usr/sbin/libvirtd" ] || { echo "trixie-root.sh: the root has no /usr/sbin/libvirtd" >&2; exit 1; }
size_mib=$(du -sm "$new/root" | cut -f1)
printf 'libvirt %s\nqemu %s\nsize %s MiB\n' "$libvirt_v" "$qemu_v" "$size_mib" >"$new/versions"
rm -f "$new/mmdebstrap.log"
echo "$recipe" >"$new/stamp"

# Into place: the old root aside, the new one renamed in, the old removed.
chmod 0755 "$new"
old=
if [ -e "$dest" ]; then
	old=$cache/libvirt-root.old.$$
	mv "$dest" "$old"
fi
mv "$new" "$dest"
trap - EXIT
[ -n "$old" ] && rm -rf "$old"

printf '# FIGURE trixie: libvirt root built in %d.%d s (%s MiB, libvirt %s, QEMU %s)\n' \
	$((t_build / 1000000)) $((t_build % 1000000 / 100000)) "$size_mib" "$libvirt_v" "$qemu_v"
echo "# trixie-root: ready $recipe"
