#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the libvirt suite's VM (busybox sh, in the initramfs that
# tests/vm/mkinitramfs.sh builds): the host's root, shared read-only over
# virtio-9p (mount tag "hostroot"), becomes the lower layer of an overlay
# with a tmpfs on top; the initramfs's own module tree (the VM's drivers
# and the test variant, indexed by depmod on the host) is put over the
# host's /lib/modules/RELEASE; then switch_root runs the scenario script,
# whose path /etc/vv-vm.conf names (STAGE2), with the host's own libvirtd,
# virsh and QEMU. The share is read-only: nothing here can write to the
# host but for the one directory of the build tree shared for libvirtd's
# QEMU capabilities cache, and the guest's /proc, /sys and /dev are its own.

export PATH=/usr/bin:/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Only emergencies on the console: kernel messages must not split our lines.
echo 1 >/proc/sys/kernel/printk

# shellcheck source=/dev/null
. /etc/vv-vm.conf
fail() {
	echo "RESULT root: FAIL $*"
	echo "VV-INIT done (stage 1 failed)"
	poweroff -f
}

release=$(uname -r)
/sbin/modprobe -a virtio_pci 9pnet_virtio 9p overlay || fail "cannot load virtio_pci, 9pnet_virtio, 9p and overlay"
mkdir -p /mnt/host /mnt/rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /mnt/host ||
	fail "cannot mount the host's root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 tmpfs /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work /newroot ||
	fail "cannot mount the overlay on the host's root"
# More of the host, read-only, at its own path in the new root (the
# trixie suite's source and build trees): SHARES is "TAG:PATH ...".
for share in ${SHARES:-}; do
	mkdir -p "/newroot${share#*:}"
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 "${share%%:*}" "/newroot${share#*:}" ||
		fail "cannot mount ${share#*:} (9p tag ${share%%:*})"
done
[ -x "/newroot$STAGE2" ] || [ -r "/newroot$STAGE2" ] || fail "the host's root has no $STAGE2"
mkdir -p "/newroot/lib/modules/$release"
mount -t tmpfs tmpfs "/newroot/lib/modules/$release"
cp -a "/lib/modules/$release/." "/newroot/lib/modules/$release/"
cp /etc/vv-vm.conf /newroot/etc/vv-vm.conf
# The host's writable directory for libvirtd's QEMU capabilities cache
# (tests/libvirt/vm-libvirtd.sh), when the suite shares one.
if [ -n "${CAPS_SHARE:-}" ]; then
	mkdir -p "/newroot$CAPS_SHARE"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 qemucaps "/newroot$CAPS_SHARE" ||
		fail "cannot mount the QEMU capabilities cache (9p tag qemucaps)"
fi
for dir in proc sys dev; do
	mount --move "/$dir" "/newroot/$dir"
done
exec switch_root /newroot /bin/sh "$STAGE2"
