#!/bin/bash
# `meson install --destdir` of the build, against the expected tree
# (tests/install/expected-default.txt): every file and link, nothing more;
# the tmpfiles.d entry makes /run/vfio-variant; the installed link is the
# one libvirt runs. Usage: test-install.sh BUILD_DIR EXPECTED PREFIX LIBDIR
set -u
build=$1 expected=$2 prefix=$3 libdir=$4
export LC_ALL=C

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
echo "1..3"
if ! meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1; then
	echo "not ok 1 - meson install --destdir"
	sed 's/^/# /' "$dest.log"
	rm -f "$dest.log"
	exit 1
fi
rm -f "$dest.log"

got=$(cd "$dest" && find . \( -type f -o -type l \) -printf '%P\n' | sort | while read -r path; do
	if [ -L "$path" ]; then echo "/$path -> $(readlink "$path")"; else echo "/$path"; fi
done)
want=$(grep -v '^#' "$expected" | sed "s|@PREFIX@|$prefix|g; s|@LIBDIR@|$libdir|g" | sort)
if [ "$got" = "$want" ]; then
	echo "ok 1 - the installed tree is the expected one ($(wc -l <<<"$got") paths)"
else
	echo "not ok 1 - the installed tree is the expected one"
	diff <(echo "$want") <(echo "$got") | sed -n 's/^< /# missing: /p; s/^> /# not expected: /p'
fi

entry=$(find "$dest" -path '*/tmpfiles.d/vfio-variant.conf' -print -quit)
if [ -n "$entry" ] && grep -qE '^d /run/vfio-variant 0755 root root -$' "$entry"; then
	echo "ok 2 - tmpfiles.d makes /run/vfio-variant"
else
	echo "not ok 2 - tmpfiles.d makes /run/vfio-variant"
fi

link=$(readlink "$dest/etc/libvirt/hooks/qemu.d/vfio-variant")
if [ -x "$dest$link" ] && [ "$(basename "$link")" = vfio-variant-hook ]; then
	echo "ok 3 - the hook's link in /etc/libvirt/hooks/qemu.d points to the installed vfio-variant-hook"
else
	echo "not ok 3 - the hook's link points to the installed vfio-variant-hook (it points to '$link')"
fi
