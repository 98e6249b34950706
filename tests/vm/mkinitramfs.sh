#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the test VM's initramfs (an uncompressed newc cpio: TCG unpacks it
# faster than it would inflate it).
#
#   mkinitramfs.sh --kver KVER --root DIR --out FILE --cli PATH --libdir DIR \
#       --module KO --init SCRIPT --conf FILE [--helper PATH]... [--preload SO]...
#       [--moddir ROOT [--full-index]] [--modules "NAME..."] [--no-cli]
#
# The image holds: busybox (static) and its applets; the real kmod as
# /sbin/{kmod,modprobe,depmod,insmod,rmmod,lsmod,modinfo}; the CLI, the
# library from --libdir and every shared library they need (ldd); the
# kernel modules `modprobe --show-depends` lists for the VM's drivers, the
# test module, all indexed by the real depmod; the helpers; /init.
#
# --moddir ROOT takes the modules from ROOT/lib/modules/KVER (another
# kernel's tree, already indexed by depmod -b ROOT, e.g. the trixie suite's
# tests/trixie/trixie-fetch.sh) instead of /lib/modules/KVER; --module is
# then optional (modules under ROOT are named in --modules). --modules
# replaces the list of modules to resolve (default below). --full-index
# keeps ROOT's own depmod indexes (modules.alias of the whole tree, as on
# an installed system) instead of indexing the modules in the image alone.
# --no-cli leaves the CLI and its libraries out (--cli and --libdir are then
# not needed): a suite whose /init switches to a shared root runs them there.
set -euo pipefail

kver='' root='' out='' cli='' libdir='' module='' init='' conf='' modroot='' modules='' full_index=0 no_cli=0
helpers=()
preloads=()
while [ $# -gt 0 ]; do
	case $1 in
	--full-index) full_index=1; shift; continue ;;
	--no-cli) no_cli=1; shift; continue ;;
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
	--moddir) modroot=$(readlink -f "$2") ;;
	--modules) modules=$2 ;;
	*) echo "mkinitramfs.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
required="kver root out init conf"
[ "$no_cli" = 1 ] || required="$required cli libdir"
[ -n "$modroot" ] || required="$required module"
for v in $required; do
	[ -n "${!v}" ] || { echo "mkinitramfs.sh: --$v is required" >&2; exit 2; }
done

modprobe=/sbin/modprobe
depmod=/sbin/depmod
kmod=$(readlink -f "$modprobe")
moddir=/lib/modules/$kver        # in the image
src_moddir=$modroot$moddir       # on this machine
modprobe_dir=()
[ -z "$modroot" ] || modprobe_dir=(-d "$modroot")

# The modules the VM needs: the VFIO stack, the native drivers of its
# devices, the host's root shared over virtio-9p under an overlay (the
# libvirt suite, tests/libvirt/), and what they depend on (softdeps
# included: vfio's "post: vfio_iommu_type1").
vm_modules=${modules:-"vfio_pci vfio_iommu_type1 vfio_virqfd e1000 e1000e virtio_pci virtio_net 9p 9pnet_virtio overlay"}

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

if [ "$no_cli" = 0 ]; then
	cp "$cli" "$root/usr/bin/vfio-variant"
	for lib in "$libdir"/libvfio-variant.so.*; do
		case $lib in *.so.[0-9]) cp -L "$lib" "$root/usr/lib/x86_64-linux-gnu/" ;; esac
	done
	copy_libs "$cli"
fi
for helper in "${helpers[@]}"; do
	cp "$helper" "$root/usr/bin/"
	ldd "$helper" >/dev/null 2>&1 && copy_libs "$helper"
done
for preload in "${preloads[@]}"; do
	cp "$preload" "$root/usr/lib/"
	copy_libs "$preload"
done

# Kernel modules, at their paths below /lib/modules/KVER, in the source
# tree's modules.order; the test module under updates/ as an out-of-tree
# module.
mkdir -p "$root$moddir/updates"
# shellcheck disable=SC2086
paths=$("$modprobe" "${modprobe_dir[@]}" -a -S "$kver" --show-depends $vm_modules | awk '$1 == "insmod" {print $2}' | sort -u)
[ -n "$paths" ] || { echo "mkinitramfs.sh: modprobe lists no module for $kver" >&2; exit 1; }
for path in $paths; do
	dest=$root${path#"$modroot"}
	mkdir -p "$(dirname "$dest")"
	cp "$path" "$dest"
done
# (entries name the uncompressed file: trixie ships .ko.xz)
while read -r entry; do
	for f in "$root$moddir/$entry"{,.xz,.zst,.gz}; do
		[ -e "$f" ] && echo "$entry" && break
	done
done <"$src_moddir/modules.order" >"$root$moddir/modules.order"
cp "$src_moddir/modules.builtin" "$src_moddir/modules.builtin.modinfo" "$root$moddir/"
[ -z "$module" ] || cp "$module" "$root$moddir/updates/"
if [ "$full_index" = 1 ] && [ -n "$modroot" ]; then
	cp "$src_moddir"/modules.{alias,alias.bin,builtin.alias.bin,builtin.bin,dep,dep.bin,devname,softdep,symbols,symbols.bin} "$root$moddir/"
else
	"$depmod" -b "$root" "$kver"
fi
if [ -n "$module" ]; then
	grep -q '^alias vfio_pci:v00008086d000010D3sv\*sd\*bc\*sc\*i\* vv_test_vfio_pci$' "$root$moddir/modules.alias" || {
		echo "mkinitramfs.sh: depmod did not index the test module's vfio_pci: alias" >&2
		exit 1
	}
fi

install -m 0755 "$init" "$root/init"
cp "$conf" "$root/etc/vv-vm.conf"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out"
