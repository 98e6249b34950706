#!/bin/sh
# Install what vfio-variant needs to build, run its demo and run its tests
# on Debian 12. Idempotent; uses sudo when not run as root.
set -eu

packages="
  build-essential meson ninja-build pkg-config gettext
  libglib2.0-dev libkmod-dev libpci-dev libxml2-dev libxml2-utils libvirt-dev libjson-glib-dev
  kmod binutils python3 python3-jsonschema pciutils valgrind
  libvirt-daemon-system libvirt-clients util-linux
  qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio
  virtinst
  mmdebstrap debian-archive-keyring xz-utils
  clang libclang-rt-14-dev
  scdoc bash-completion man-db
  udev systemd
"

run_as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

export DEBIAN_FRONTEND=noninteractive
run_as_root apt-get update -qq
# shellcheck disable=SC2086
run_as_root apt-get install -y -qq --no-install-recommends $packages >/dev/null
