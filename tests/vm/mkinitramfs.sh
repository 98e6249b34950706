#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the test VM's initramfs (an uncompressed newc cpio: TCG unpacks it
# faster than it would inflate it).
#
#   mkinitramfs.sh --kver KVER --root DIR --out FILE --cli PATH --libdir DIR \
#       --module KO --init SCRIPT --conf FILE [--helper PATH]... [--preload SO]...
#
# The image holds: busybox (static) and its applets; the real kmod as
# /sbin/{kmod,modprobe,depmod,insmod,rmmod,lsmod,modinfo}; the CLI, the
# library from --libdir and every shared library they need (ldd); the
# kernel modules `modprobe --show-depends` lists for the VM's drivers, the
# test module, all indexed by the real depmod; the helpers; /init.
set -euo pipefail

kver='' root='' out='' cli='' libdir='' module='' init='' conf=''
helpers=()
preloads=()
while [ $# -gt 0 ]; do
	case $1 in
	--kver) kver=$2 ;;
	--root) root=$2 ;;
	--out) out=$2 ;;
	--cli) cli=$2 ;;
	--libdir) libdir=$2 ;;
	--module) module=$2 ;;
	--init) init=$2 ;;
	--conf) conf=$2 ;;
	--helper) helpers+=("$2") ;;
	--preload) preloads+=("$2") ;;
	*) echo "mkinitramfs.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
for v in kver root out cli libdir module init conf; do
	[ -n "${!v}" ] || { echo "mkinitramfs.sh: --$v is required" >&2; exit 2; }
done

modprobe=/sbin/modprobe
depmod=/sbin/depmod
kmod=$(readlink -f "$modprobe")
moddir=/lib/modules/$kver

# The modules the VM needs: the VFIO stack, the native drivers of its
# devices, the host's root shared over virtio-9p under an overlay (the
# libvirt suite, tests/libvirt/), and what they depend on (softdeps
# included: vfio's "post: vfio_iommu_type1").
vm_modules="vfio_pci vfio_iommu_type1 vfio_virqfd e1000 e1000e virtio_pci virtio_net 9p 9pnet_virtio overlay"

rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,etc/modprobe.d,usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64}
# Debian's merged /usr: /lib and /lib64 are links, as on the host.
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

# busybox and its applets (not the module tools: those are kmod's).
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	case $applet in
	busybox|modprobe|insmod|rmmod|lsmod|depmod|modinfo) continue ;;
	esac
	ln -s busybox "$root/bin/$applet"
done

# A binary and every shared library it needs, at the paths ldd names.
copy_libs() {
	local lib
	for lib in $(LD_LIBRARY_PATH=$libdir ldd "$1" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do
		local dest=$root$lib
		[ -e "$dest" ] && continue
		mkdir -p "$(dirname "$dest")"
		cp -L "$lib" "$dest"
	done
}

cp "$kmod" "$root/sbin/kmod"
for tool in modprobe depmod insmod rmmod lsmod modinfo; do
	ln -s kmod "$root/sbin/$tool"
done
copy_libs "$kmod"

cp "$cli" "$root/usr/bin/vfio-variant"
for lib in "$libdir"/libvfio-variant.so.*; do
	case $lib in *.so.[0-9]) cp -L "$lib" "$root/usr/lib/x86_64-linux-gnu/" ;; esac
done
copy_libs "$cli"
for helper in "${helpers[@]}"; do
	cp "$helper" "$root/usr/bin/"
	ldd "$helper" >/dev/null 2>&1 && copy_libs "$helper"
done
for preload in "${preloads[@]}"; do
	cp "$preload" "$root/usr/lib/"
	copy_libs "$preload"
done

# Kernel modules, at their paths below /lib/modules/KVER, in the host's
# modules.order; the test module under updates/ as an out-of-tree module.
mkdir -p "$root$moddir/updates"
# shellcheck disable=SC2086
paths=$("$modprobe" -a -S "$kver" --show-depends $vm_modules | awk '$1 == "insmod" {print $2}' | sort -u)
[ -n "$paths" ] || { echo "mkinitramfs.sh: modprobe lists no module for $kver" >&2; exit 1; }
for path in $paths; do
	mkdir -p "$(dirname "$root$path")"
	cp "$path" "$root$path"
done
while read -r entry; do
	[ -e "$root$moddir/$entry" ] && echo "$entry"
done <"$moddir/modules.order" >"$root$moddir/modules.order"
cp "$moddir/modules.builtin" "$moddir/modules.builtin.modinfo" "$root$moddir/"
cp "$module" "$root$moddir/updates/"
"$depmod" -b "$root" "$kver"
grep -q '^alias vfio_pci:v00008086d000010D3sv\*sd\*bc\*sc\*i\* vv_test_vfio_pci$' "$root$moddir/modules.alias" || {
	echo "mkinitramfs.sh: depmod did not index the test module's vfio_pci: alias" >&2
	exit 1
}

install -m 0755 "$init" "$root/init"
cp "$conf" "$root/etc/vv-vm.conf"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out"
