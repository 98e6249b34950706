#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Debian 13 (trixie) for the trixie suite, fetched and built under CACHE,
# never into this machine's system:
#   trixie-fetch.sh CACHE [VARIANT_SRC]
# VARIANT_SRC is the test variant's sources (default tests/vm/vv-test-variant).
#
#   CACHE/apt/        a private apt (its own apt.conf, sources.list, lists,
#                     archives, dpkg status): suite trixie, main, on
#                     deb.debian.org, trixie's keys from Debian 12's
#                     debian-archive-keyring
#   CACHE/debs/       the newest trixie kernel (the linux-image-amd64
#                     metapackage resolved), its headers, -common, kbuild
#                     and linux-source-6.12 of the same version
#   CACHE/chroot/     a trixie build chroot (mmdebstrap, minbase, no
#                     Recommends), the headers and kbuild unpacked into it
#   CACHE/kernel/     what the suites use (the contract, kept stable):
#     kver                           one line, e.g. 6.12.117+deb13-amd64
#     vmlinuz                        the kernel image
#     root/lib/modules/KVER/         Debian's modules, and under updates/
#                                    virtio-vfio-pci.ko (upstream, built from
#                                    linux-source-6.12) and vv_test_vfio_pci.ko;
#                                    depmod -b run: `modprobe -d CACHE/kernel/root
#                                    -S KVER` works (root/lib -> usr/lib)
#     variant.sha256                 the checksum of the test variant's sources
#     stamp                          written last
# CACHE/kernel is built in a temporary directory and renamed into place.
#
# Idempotent: each step has its stamp; a second run downloads and builds
# nothing and says "cached". A change in the test variant's sources rebuilds
# that module alone (and depmod). Runs hold CACHE/.lock exclusively, so
# suites sharing a cache (VV_TRIXIE_CACHE) wait for each other; a suite that
# reads CACHE/kernel holds it shared meanwhile and checks that
# CACHE/kernel/stamp is what the last stdout line "# trixie-fetch: ready
# STAMP" says.
#
# Needs root (the chroot), apt-get, dpkg-deb, mmdebstrap, depmod and the
# network on a first run (VV_TRIXIE_MIRROR: another Debian mirror). Exit
# status: 0 ready, 1 failed, 77 a prerequisite or the network is missing
# (the last line on stderr says what; the caller turns it into a TAP skip,
# or a failure on CI).
#
# Prints "# FIGURE trixie: ..." lines (the caller passes them on as TAP
# comments).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: trixie-fetch.sh CACHE [VARIANT_SRC]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
cache=$(readlink -f "$1")
variant_src=$(readlink -f "${2:-$here/../vm/vv-test-variant}")
mirror=${VV_TRIXIE_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# What the build chroot holds: the compiler the trixie kernel was built
# with and what its kbuild runs.
chroot_packages=gcc-14,make,libc6-dev,libelf-dev,libssl-dev,pahole,kmod,xz-utils,bc,bison,flex,python3,cpio

now() { echo "${EPOCHREALTIME/./}"; }
secs() { printf '%d.%01d' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }
say() { echo "trixie-fetch: $*" >&2; }
die() { say "$*"; exit 1; }

# ---- prerequisites -----------------------------------------------------------

missing=()
[ "$(id -u)" = 0 ] || missing+=("root (the build chroot)")
command -v apt-get >/dev/null || missing+=("apt-get (apt)")
command -v dpkg-deb >/dev/null || missing+=("dpkg-deb (dpkg)")
command -v mmdebstrap >/dev/null || missing+=("mmdebstrap")
command -v unshare >/dev/null || missing+=("unshare (util-linux)")
command -v xz >/dev/null || missing+=("xz (xz-utils)")
[ -x /sbin/depmod ] || missing+=("/sbin/depmod (kmod)")
{ [ -r "$keyring" ] && [ -e /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; } || missing+=("trixie's archive keys (debian-archive-keyring from Debian 12)")
if [ ${#missing[@]} -gt 0 ]; then
	needs=$(printf '%s, ' "${missing[@]}")
	echo "trixie-fetch: needs ${needs%, }. Install: apt-get install mmdebstrap debian-archive-keyring kmod xz-utils util-linux (build-aux/deps.sh does), and run as root" >&2
	exit 77
fi

exec 9>"$cache/.lock"
flock 9

t_download=0 t_chroot=0 t_virtio=0 t_variant=0 t_depmod=0
mib_download=0
f_download=cached f_chroot=cached f_virtio=cached f_variant=cached f_depmod=cached

# ---- a private apt ------------------------------------------------------------

apt_dir=$cache/apt
mkdir -p "$apt_dir"/{etc/apt.conf.d,etc/preferences.d,etc/sources.list.d,etc/trusted.gpg.d,state/lists/partial,cache/archives/partial}
: >>"$apt_dir/state/status"
echo "deb [signed-by=$keyring] $mirror trixie main" >"$apt_dir/etc/sources.list"
cat >"$apt_dir/apt.conf" <<EOF
Dir::Etc "$apt_dir/etc";
Dir::Etc::main "$apt_dir/apt.conf";
Dir::Etc::Parts "$apt_dir/etc/apt.conf.d";
Dir::Etc::SourceList "$apt_dir/etc/sources.list";
Dir::Etc::SourceParts "$apt_dir/etc/sources.list.d";
Dir::Etc::PreferencesParts "$apt_dir/etc/preferences.d";
Dir::Etc::TrustedParts "$apt_dir/etc/trusted.gpg.d";
Dir::State "$apt_dir/state";
Dir::State::status "$apt_dir/state/status";
Dir::Cache "$apt_dir/cache";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
APT::Sandbox::User "root";
Acquire::Retries "3";
EOF
export APT_CONFIG=$apt_dir/apt.conf

# ---- the kernel's packages ----------------------------------------------------------

debs=$cache/debs
if [ ! -e "$debs/stamp" ]; then
	t0=$(now)
	if ! apt-get -q update >"$apt_dir/update.log" 2>&1 || grep -q '^\(W\|E\): ' "$apt_dir/update.log"; then
		sed 's/^/  /' "$apt_dir/update.log" >&2
		why=$(grep -m1 '^\(W\|E\): ' "$apt_dir/update.log" | cut -c1-160)
		echo "trixie-fetch: needs the network to $mirror (apt-get update of trixie failed${why:+: $why}). Connect this machine, or set VV_TRIXIE_MIRROR to a reachable Debian mirror" >&2
		exit 77
	fi
	image=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.12\..*-amd64$/ { print $2; exit }')
	[ -n "$image" ] || die "linux-image-amd64 in trixie names no linux-image-6.12.*-amd64"
	kver=${image#linux-image-}
	version=$(apt-cache show "$image" | awk '$1 == "Version:" { print $2; exit }')
	[ -n "$version" ] || die "no version for $image"
	pkgs=("$image" "linux-headers-$kver" "linux-headers-${kver%-amd64}-common"
		"linux-kbuild-${kver%-amd64}" "linux-source-6.12=$version")
	rm -rf "$debs.tmp"
	mkdir -p "$debs.tmp"
	(cd "$debs.tmp" && apt-get -q download "${pkgs[@]}") >"$apt_dir/download.log" 2>&1 || {
		sed 's/^/  /' "$apt_dir/download.log" >&2
		die "apt-get download ${pkgs[*]} failed"
	}
	echo "$kver" >"$debs.tmp/kver"
	echo "$version" >"$debs.tmp/version"
	touch "$debs.tmp/stamp"
	rm -rf "$debs"
	mv "$debs.tmp" "$debs"
	t_download=$(($(now) - t0))
	mib_download=$(($(du -sb "$debs" | cut -f1) / 1048576))
	f_download="$mib_download MiB in $(secs "$t_download") s"
fi
kver=$(cat "$debs/kver")
version=$(cat "$debs/version")
say "trixie kernel $kver ($version)"
deb_of() {
	local f
	f=$(find "$debs" -maxdepth 1 -name "$1_*.deb" | head -n 1)
	[ -n "$f" ] || die "no $1 package in $debs"
	echo "$f"
}

# ---- the build chroot --------------------------------------------------------------

chroot_dir=$cache/chroot
if [ ! -e "$chroot_dir.stamp" ] || [ "$(cat "$chroot_dir.stamp")" != "$kver $chroot_packages" ]; then
	t0=$(now)
	rm -rf "$chroot_dir" "$chroot_dir.tmp" "$chroot_dir.stamp"
	mmdebstrap --quiet --mode=root --variant=minbase --keyring="$keyring" \
		--aptopt='APT::Install-Recommends "false"' --include="$chroot_packages" \
		trixie "$chroot_dir.tmp" "deb $mirror trixie main" >"$cache/mmdebstrap.log" 2>&1 || {
		tail -n 30 "$cache/mmdebstrap.log" | sed 's/^/  /' >&2
		die "mmdebstrap of the trixie build chroot failed"
	}
	for p in "linux-headers-$kver" "linux-headers-${kver%-amd64}-common" "linux-kbuild-${kver%-amd64}"; do
		dpkg-deb -x "$(deb_of "$p")" "$chroot_dir.tmp"
	done
	[ -e "$chroot_dir.tmp/lib/modules/$kver/build/Makefile" ] ||
		die "the headers of $kver have no /lib/modules/$kver/build/Makefile in the chroot"
	# upstream's virtio_vfio_pci, from Debian's linux-source-6.12
	mkdir -p "$chroot_dir.tmp/src"
	dpkg-deb --fsys-tarfile "$(deb_of linux-source-6.12)" |
		tar -xO --wildcards './usr/src/linux-source-6.12.tar.*' |
		xz -dc | tar -x -C "$chroot_dir.tmp/src" --wildcards 'linux-source-6.12/drivers/vfio/pci/virtio/*'
	[ -e "$chroot_dir.tmp/src/linux-source-6.12/drivers/vfio/pci/virtio/main.c" ] ||
		die "linux-source-6.12 has no drivers/vfio/pci/virtio/main.c"
	mv "$chroot_dir.tmp" "$chroot_dir"
	echo "$kver $chroot_packages" >"$chroot_dir.stamp"
	t_chroot=$(($(now) - t0))
	f_chroot="$(secs "$t_chroot") s ($(($(du -sb "$chroot_dir" | cut -f1) / 1048576)) MiB)"
fi

# in_chroot COMMAND...: run in the build chroot (mmdebstrap made its /dev
# nodes), with /proc in a mount namespace of its own: gone with the
# command, nothing is left mounted.
in_chroot() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --pid --fork --kill-child -- sh -c '
		dir=$1; shift
		mount --make-rprivate / &&
		mount -t proc proc "$dir/proc" &&
		exec chroot "$dir" "$@"' sh "$chroot_dir" "$@"
}

# ---- the modules ----------------------------------------------------------------------

# virtio_vfio_pci: upstream's Makefile builds virtio-vfio-pci.ko when
# CONFIG_VIRTIO_VFIO_PCI is set, which Debian's config leaves unset.
mods=$cache/modules
mkdir -p "$mods"
if [ ! -e "$mods/virtio-vfio-pci.stamp" ] || [ "$(cat "$mods/virtio-vfio-pci.stamp")" != "$kver" ]; then
	t0=$(now)
	rm -rf "$chroot_dir/build/virtio" "$mods/virtio-vfio-pci.ko" "$mods/virtio-vfio-pci.stamp"
	mkdir -p "$chroot_dir/build"
	cp -r "$chroot_dir/src/linux-source-6.12/drivers/vfio/pci/virtio" "$chroot_dir/build/virtio"
	if ! in_chroot make -C "/lib/modules/$kver/build" M=/build/virtio CONFIG_VIRTIO_VFIO_PCI=m \
		CONFIG_VIRTIO_VFIO_PCI_ADMIN_LEGACY=y modules >"$mods/virtio-vfio-pci.log" 2>&1 ||
		[ ! -e "$chroot_dir/build/virtio/virtio-vfio-pci.ko" ]; then
		sed 's/^/  /' "$mods/virtio-vfio-pci.log" >&2
		die "virtio_vfio_pci does not build against $kver"
	fi
	cp "$chroot_dir/build/virtio/virtio-vfio-pci.ko" "$mods/"
	echo "$kver" >"$mods/virtio-vfio-pci.stamp"
	t_virtio=$(($(now) - t0))
	f_virtio="$(secs "$t_virtio") s"
fi

# The test variant: rebuilt when its sources change.
variant_sum=$(cd "$variant_src" && find . -type f \( -name Kbuild -o -name '*.c' -o -name '*.h' \) -print0 |
	LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ ! -e "$mods/vv_test_vfio_pci.stamp" ] || [ "$(cat "$mods/vv_test_vfio_pci.stamp")" != "$kver $variant_sum" ]; then
	t0=$(now)
	rm -rf "$chroot_dir/build/variant" "$mods/vv_test_vfio_pci.ko" "$mods/vv_test_vfio_pci.stamp"
	mkdir -p "$chroot_dir/build/variant"
	(cd "$variant_src" && find . -maxdepth 1 -type f \( -name Kbuild -o -name '*.c' -o -name '*.h' \) \
		-exec cp {} "$chroot_dir/build/variant/" \;)
	if ! in_chroot make -C "/lib/modules/$kver/build" M=/build/variant modules >"$mods/vv_test_vfio_pci.log" 2>&1 ||
		[ ! -e "$chroot_dir/build/variant/vv_test_vfio_pci.ko" ]; then
		sed 's/^/  /' "$mods/vv_test_vfio_pci.log" >&2
		die "the test variant ($variant_src) does not build against $kver"
	fi
	cp "$chroot_dir/build/variant/vv_test_vfio_pci.ko" "$mods/"
	echo "$kver $variant_sum" >"$mods/vv_test_vfio_pci.stamp"
	t_variant=$(($(now) - t0))
	f_variant="$(secs "$t_variant") s"
fi

# ---- CACHE/kernel: Debian's modules and ours, indexed --------------------------------------

kernel=$cache/kernel
want="$kver $(cat "$mods/virtio-vfio-pci.stamp") $(cat "$mods/vv_test_vfio_pci.stamp")"
if [ ! -e "$kernel/stamp" ] || [ "$(cat "$kernel/stamp")" != "$want" ]; then
	t0=$(now)
	tmp=$cache/kernel.tmp
	rm -rf "$tmp"
	if [ -d "$kernel/root/usr/lib/modules/$kver/kernel" ] && [ "$(cat "$kernel/kver" 2>/dev/null)" = "$kver" ]; then
		# Only our modules changed: Debian's tree by hard links, our
		# files and depmod's indexes written anew (never through a link).
		cp -al "$kernel" "$tmp"
		rm -f "$tmp/stamp" "$tmp/root/usr/lib/modules/$kver/updates/"*.ko "$tmp/root/usr/lib/modules/$kver/modules."*.bin
		for f in alias dep symbols softdep devname builtin.alias; do
			rm -f "$tmp/root/usr/lib/modules/$kver/modules.$f"
		done
	else
		mkdir -p "$tmp/root"
		dpkg-deb -x "$(deb_of "linux-image-$kver")" "$tmp/root"
		ln -s usr/lib "$tmp/root/lib"
		[ -e "$tmp/root/boot/vmlinuz-$kver" ] || die "linux-image-$kver has no /boot/vmlinuz-$kver"
		mv "$tmp/root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
		echo "$kver" >"$tmp/kver"
	fi
	mkdir -p "$tmp/root/usr/lib/modules/$kver/updates"
	cp "$mods/virtio-vfio-pci.ko" "$mods/vv_test_vfio_pci.ko" "$tmp/root/usr/lib/modules/$kver/updates/"
	echo "$variant_sum" >"$tmp/variant.sha256"
	/sbin/depmod -b "$tmp/root" "$kver" || die "depmod -b $tmp/root $kver failed"
	for m in virtio_vfio_pci vv_test_vfio_pci vfio_pci e1000e; do
		/sbin/modprobe -d "$tmp/root" -S "$kver" --show-depends "$m" >/dev/null 2>&1 ||
			die "modprobe -d $tmp/root -S $kver does not find $m after depmod"
	done
	grep -q '^alias vfio_pci:v00001AF4d00001041sv\*sd\*bc\*sc\*i\* virtio_vfio_pci$' "$tmp/root/lib/modules/$kver/modules.alias" ||
		die "depmod did not index virtio_vfio_pci's vfio_pci: alias for 1af4:1041"
	echo "$want" >"$tmp/stamp"
	rm -rf "$kernel.old"
	[ -e "$kernel" ] && mv "$kernel" "$kernel.old"
	mv "$tmp" "$kernel"
	rm -rf "$kernel.old"
	t_depmod=$(($(now) - t0))
	f_depmod="$(secs "$t_depmod") s"
fi

echo "# FIGURE trixie: kernel $kver; download $f_download, build chroot $f_chroot, virtio_vfio_pci build $f_virtio, test variant build $f_variant, depmod $f_depmod"
# What a caller compares with CACHE/kernel/stamp once it holds CACHE/.lock
# shared (another run may have rebuilt the test variant in between).
echo "# trixie-fetch: ready $(cat "$kernel/stamp")"
if [ "$f_download$f_chroot$f_virtio$f_variant$f_depmod" = cachedcachedcachedcachedcached ]; then
	say "cached: $kernel ($kver), nothing downloaded or built"
fi
