#!/bin/bash
# No file of the CLI calls libvirt's detach or reattach API
# (virNodeDeviceDetachFlags, virNodeDeviceDettach, virNodeDeviceReAttach):
# the version-dependent protocol around them is src/virt's
# (vv_virt_detach, vv_virt_reattach), and the CLI only prints its outcome.
# The check first proves that it finds such a call in a file made for it.
# Usage: check-cli-no-libvirt-calls.sh CLI_SOURCE_DIR
set -u
cli=$1
pattern='virNodeDevice(Detach|ReAttach|Dettach)'
work=$(mktemp -d "${TMPDIR:-/tmp}/vv-check-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
# callers DIR: the C files of DIR that name one of those functions.
callers() { grep -lE "$pattern" "$1"/*.c "$1"/*.h 2>/dev/null; }

echo "1..2"
cp "$cli"/*.c "$cli"/*.h "$work"/
printf 'static int f(void *d) { return virNodeDeviceReAttach(d); }\n' >>"$work/vv-cli-nodedev-detach.c"
if [ "$(callers "$work")" = "$work/vv-cli-nodedev-detach.c" ]; then
	echo "ok 1 - a call planted in a copy of the CLI is found"
else
	echo "not ok 1 - a call planted in a copy of the CLI is not found: '$(callers "$work")'"
fi
found=$(callers "$cli")
if [ -z "$found" ] && [ -n "$(ls "$cli"/*.c)" ]; then
	echo "ok 2 - no file of $cli names $pattern"
else
	echo "not ok 2 - these files of the CLI call libvirt's detach or reattach: ${found:-no C file in $cli}"
	grep -nE "$pattern" "$cli"/*.c "$cli"/*.h 2>/dev/null | sed 's/^/# /'
fi
[ -z "$found" ] && [ "$(callers "$work")" = "$work/vv-cli-nodedev-detach.c" ]
