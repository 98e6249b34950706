#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Tests of libvv-fakekernel.so: the driver-core semantics it gives writes
# into a sysroot, and module loading through kmod.
#
#   test-fakekernel.sh LIBVV-FAKEKERNEL.SO
#
# Environment: VV_MKHOST (default build-aux/vv-mkhost.py), CC, OBJCOPY, DEPMOD,
# MODPROBE.
# Output is TAP with a final "# N passed, M failed"; exit status 1 on failure.
# Only the commands under test run with the preload; the script itself, the
# sysroot build and the checks do not. Nothing here writes outside $WORK.
set -u

LIB=$(realpath "${1:-${VV_FAKEKERNEL_LIB:-}}") || { echo "usage: $0 LIBVV-FAKEKERNEL.SO" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
MKHOST=${VV_MKHOST:-$HERE/../../build-aux/vv-mkhost.py}
DEPMOD=${DEPMOD:-$(command -v depmod || echo /usr/sbin/depmod)}
MODPROBE=${MODPROBE:-$(command -v modprobe || echo /usr/sbin/modprobe)}
AWK=$(command -v mawk || command -v awk)
REL=6.1.0-fakekernel
WORK=$(mktemp -d /tmp/vv-fakekernel.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/host
LOG=$WORK/kernel.log

if ! python3 "$MKHOST" --cc "${CC:-cc}" --objcopy "${OBJCOPY:-objcopy}" --depmod "$DEPMOD" \
	"$HERE/host.toml" "$R" >"$WORK/mkhost.out" 2>&1; then
	cat "$WORK/mkhost.out"
	echo "1..0 # SKIP cannot build the sysroot"
	exit 77
fi
cp "$HERE/host.conf" "$R/fakekernel.conf"
mkdir -p "$R/etc/modprobe.d"

passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; printf '#   %s\n' "$@"; }
# expect DESCRIPTION EXPECTED ACTUAL
expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3"; fi; }

# Run a command under the fake kernel.
kernel() { env LD_PRELOAD="$LIB" VV_FAKEKERNEL_ROOT="$R" VV_FAKEKERNEL_LOG="$LOG" "$@"; }
# Shell writes (bash's echo builtin writes through stdio), from sys/bus/pci.
ksh() { kernel bash -c "cd '$R/sys/bus/pci' && $1"; }
# One open/write/close through the write() symbol; prints ok or the errno name.
kwrite() {
	kernel python3 -c '
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
except OSError as e:
    print("open:" + errno.errorcode[e.errno]); sys.exit()
try:
    os.write(fd, sys.argv[2].encode()); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
os.close(fd)' "$R/sys/$1" "$2"
}
modprobe_k() { kernel "$MODPROBE" -d "$R" -S "$REL" -C "$R/etc/modprobe.d" "$@"; }
dev() { echo "$R/sys/bus/pci/devices/$1"; }
driver() { local l; l=$(readlink "$(dev "$1")/driver") && basename "$l" || echo none; }
exists() { [ -e "$1" ] || [ -L "$1" ] && echo yes || echo no; }
override() { cat "$(dev "$1")/driver_override"; }

# --- driver_override, bind, unbind, drivers_probe --------------------------

expect "variant bind without override fails (override-only id)" ENODEV \
	"$(kwrite bus/pci/drivers/abcd-vfio-pci/bind 0000:00:01.0)"
ksh 'echo 0000:00:01.0 > drivers/abcd_nic/unbind; echo 0000:00:01.0 > drivers_probe'
expect "without override drivers_probe binds the ordinary driver" abcd_nic "$(driver 0000:00:01.0)"

ksh 'echo abcd-vfio-pci > devices/0000:00:01.0/driver_override'
expect "driver_override shows the driver name" abcd-vfio-pci "$(override 0000:00:01.0)"
expect "override set while bound: bind is EBUSY" EBUSY \
	"$(kwrite bus/pci/drivers/abcd-vfio-pci/bind 0000:00:01.0)"
ksh 'echo 0000:00:01.0 > drivers/abcd_nic/unbind; echo 0000:00:01.0 > drivers_probe'
expect "with override the variant binds (bash echo)" abcd-vfio-pci "$(driver 0000:00:01.0)"
expect "VFIO binding creates vfio-dev/vfio0" yes "$(exists "$(dev 0000:00:01.0)/vfio-dev/vfio0/dev")"
expect "VFIO binding creates /dev/vfio/1" yes "$(exists "$R/dev/vfio/1")"
expect "driver link is relative, as the generator writes it" ../../../bus/pci/drivers/abcd-vfio-pci \
	"$(readlink "$(dev 0000:00:01.0)/driver")"
expect "driver directory links the device" yes "$(exists "$R/sys/bus/pci/drivers/abcd-vfio-pci/0000:00:01.0")"
expect "unbind from a driver it is not bound to: ENODEV" ENODEV \
	"$(kwrite bus/pci/drivers/abcd_nic/unbind 0000:00:01.0)"

expect "unbind" ok "$(kwrite bus/pci/drivers/abcd-vfio-pci/unbind 0000:00:01.0)"
expect "unbind removes the driver link" none "$(driver 0000:00:01.0)"
expect "unbind removes vfio-dev" no "$(exists "$(dev 0000:00:01.0)/vfio-dev")"
expect "unbind removes /dev/vfio/1" no "$(exists "$R/dev/vfio/1")"
expect "unbind removes the device link of the driver" no \
	"$(exists "$R/sys/bus/pci/drivers/abcd-vfio-pci/0000:00:01.0")"

expect "the module name is accepted as driver_override" ok \
	"$(kwrite bus/pci/devices/0000:00:01.0/driver_override abcd_vfio_pci)"
expect "drivers_probe succeeds although nothing binds" ok "$(kwrite bus/pci/drivers_probe 0000:00:01.0)"
expect "module name in driver_override: no driver" none "$(driver 0000:00:01.0)"

ksh 'echo none > devices/0000:00:01.0/driver_override; echo 0000:00:01.0 > drivers_probe'
expect "driver_override \"none\" blocks every driver" none "$(driver 0000:00:01.0)"
ksh 'echo > devices/0000:00:01.0/driver_override'
expect "\"\\n\" clears driver_override" "(null)" "$(override 0000:00:01.0)"
ksh 'echo 0000:00:01.0 > drivers_probe'
expect "cleared override + drivers_probe: ordinary driver back" abcd_nic "$(driver 0000:00:01.0)"

# --- probe refusals --------------------------------------------------------

ksh 'echo abcd-vfio-pci > devices/0000:00:02.0/driver_override; echo 0000:00:02.0 > drivers/abcd_nic/unbind; echo 0000:00:02.0 > drivers_probe'
expect "refused probe leaves the device driverless" none "$(driver 0000:00:02.0)"
expect "refused probe: bind returns the probe's errno" ENODEV \
	"$(kwrite bus/pci/drivers/abcd-vfio-pci/bind 0000:00:02.0)"

ksh 'echo vfio-pci > devices/0000:00:1c.0/driver_override; echo 0000:00:1c.0 > drivers/pcieport/unbind'
expect "VFIO refuses a bridge: EINVAL" EINVAL "$(kwrite bus/pci/drivers/vfio-pci/bind 0000:00:1c.0)"
expect "refused bridge stays driverless" none "$(driver 0000:00:1c.0)"

ksh 'echo vfio-pci > devices/0000:00:10.0/driver_override; echo 0000:00:10.0 > drivers/abcd_pf/unbind'
expect "VFIO refuses a PF with VFs: EBUSY" EBUSY "$(kwrite bus/pci/drivers/vfio-pci/bind 0000:00:10.0)"
ksh 'echo > devices/0000:00:10.0/driver_override; echo 0000:00:10.0 > drivers_probe'
expect "PF back on its driver" abcd_pf "$(driver 0000:00:10.0)"

ksh 'echo vfio-pci > devices/0000:00:12.0/driver_override'
expect "VFIO refuses a device without IOMMU group: EINVAL" EINVAL \
	"$(kwrite bus/pci/drivers/vfio-pci/bind 0000:00:12.0)"
expect "bind of an unknown device: ENODEV" ENODEV "$(kwrite bus/pci/drivers/vfio-pci/bind 0000:00:99.0)"
expect "drivers_probe of an unknown device: ENODEV" ENODEV "$(kwrite bus/pci/drivers_probe 0000:00:99.0)"
expect "bind of a device path is refused" ENODEV "$(kwrite bus/pci/drivers/vfio-pci/bind ../../../../etc)"
expect "bind file of an unregistered driver does not exist" open:ENOENT \
	"$(kwrite bus/pci/drivers/late-vfio-pci/bind 0000:00:03.0)"
expect "read-only attribute: EACCES at open" open:EACCES "$(kwrite bus/pci/devices/0000:00:03.0/vendor 1)"

# --- IOMMU group shared by two functions -----------------------------------

ksh 'for f in 0 1; do echo vfio-pci > devices/0000:00:05.$f/driver_override; echo 0000:00:05.$f > drivers_probe; done'
expect "both functions on vfio-pci" "vfio-pci vfio-pci" "$(driver 0000:00:05.0) $(driver 0000:00:05.1)"
expect "vfio-dev indexes are allocated lowest first" "vfio0 vfio1" \
	"$(ls "$(dev 0000:00:05.0)/vfio-dev") $(ls "$(dev 0000:00:05.1)/vfio-dev")"
ksh 'echo 0000:00:05.0 > drivers/vfio-pci/unbind'
expect "/dev/vfio/5 stays while a member is VFIO-bound" yes "$(exists "$R/dev/vfio/5")"
ksh 'echo 0000:00:05.1 > drivers/vfio-pci/unbind'
expect "/dev/vfio/5 goes with the last VFIO member" no "$(exists "$R/dev/vfio/5")"

# --- SR-IOV ----------------------------------------------------------------

pf=bus/pci/devices/0000:00:10.0/sriov_numvfs
expect "sriov_numvfs above totalvfs: ERANGE" ERANGE "$(kwrite $pf 5)"
expect "sriov_numvfs N>0 to M>0: EBUSY" EBUSY "$(kwrite $pf 3)"
expect "sriov_numvfs garbage: EINVAL" EINVAL "$(kwrite $pf two)"
expect "sriov_numvfs 0" ok "$(kwrite $pf 0)"
expect "VFs are gone" "no no 0" "$(exists "$(dev 0000:00:10.1)") $(exists "$R/sys/bus/pci/devices/0000:00:10.0/virtfn0") $(cat "$R/sys/$pf")"
expect "sriov_numvfs 2 brings them back" ok "$(kwrite $pf 2)"
expect "VFs are back" "yes yes 2" "$(exists "$(dev 0000:00:10.2)/vendor") $(exists "$R/sys/kernel/iommu_groups/18/devices/0000:00:10.2") $(cat "$R/sys/$pf")"
ksh 'echo 0000:00:10.0 > drivers/abcd_pf/unbind'
expect "sriov_numvfs without a driver: ENOENT" ENOENT "$(kwrite $pf 0)"
ksh 'echo 0000:00:10.0 > drivers_probe'

# --- modules through kmod --------------------------------------------------

ksh 'echo late-vfio-pci > devices/0000:00:03.0/driver_override; echo 0000:00:03.0 > drivers_probe'
expect "override naming an unregistered driver: no driver" none "$(driver 0000:00:03.0)"
: >"$LOG"
modprobe_k late_vfio_pci
expect "modprobe (finit_module) registers the driver" "yes live" \
	"$(exists "$R/sys/bus/pci/drivers/late-vfio-pci/bind") $(cat "$R/sys/module/late_vfio_pci/initstate")"
expect "module -> driver link" ../../../bus/pci/drivers/late-vfio-pci \
	"$(readlink "$R/sys/module/late_vfio_pci/drivers/pci:late-vfio-pci")"
expect "the new driver takes the device whose override names it" late-vfio-pci "$(driver 0000:00:03.0)"
modprobe_k late_vfio_pci
expect "second modprobe sees the module loaded (initstate redirected)" "load late_vfio_pci -> ok" "$(cat "$LOG")"
echo 1 >"$R/sys/module/late_vfio_pci/refcnt"
expect "modprobe -r of a module in use fails" fail "$(modprobe_k -r late_vfio_pci 2>/dev/null && echo ok || echo fail)"
echo 0 >"$R/sys/module/late_vfio_pci/refcnt"
modprobe_k -r late_vfio_pci
expect "modprobe -r unbinds and unregisters" "none no no" \
	"$(driver 0000:00:03.0) $(exists "$R/sys/bus/pci/drivers/late-vfio-pci") $(exists "$R/sys/module/late_vfio_pci")"
expect "proc/modules follows" "0" "$(grep -c '^late_vfio_pci ' "$R/proc/modules")"

kernel python3 -c '
import ctypes, sys
k = ctypes.CDLL("libkmod.so.2")
k.kmod_new.restype = ctypes.c_void_p
ctx = k.kmod_new(sys.argv[1].encode(), ctypes.byref(ctypes.c_char_p(None)))
mod = ctypes.c_void_p()
k.kmod_module_new_from_name(ctypes.c_void_p(ctx), b"late_host", ctypes.byref(mod))
print(k.kmod_module_probe_insert_module(mod, 0, None, None, None, None), k.kmod_module_get_initstate(mod))
' "$R/lib/modules/$REL" >"$WORK/libkmod.out" 2>&1
expect "libkmod probe_insert loads; initstate reads LIVE (1)" "0 1" "$(cat "$WORK/libkmod.out")"
expect "a new driver binds matching unbound devices (ordinary ids)" late_host "$(driver 0000:00:04.0)"

# init_module (kmod's path for compressed modules) and delete_module, through glibc.
sysmod() {
	kernel python3 -c '
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
img = open(sys.argv[2], "rb").read() if sys.argv[1] == "load" else None
r = libc.init_module(img, len(img), b"") if img else libc.delete_module(sys.argv[2].encode(), 0o4000)
print("ok" if r == 0 else errno.errorcode[ctypes.get_errno()])' "$@"
}
ko=$R/lib/modules/$REL/kernel/drivers/vfio/pci/late_vfio_pci.ko
expect "init_module loads" ok "$(sysmod load "$ko")"
expect "init_module of a loaded module: EEXIST" EEXIST "$(sysmod load "$ko")"
echo 1 >"$R/sys/module/late_vfio_pci/refcnt"
expect "delete_module of a module in use: EWOULDBLOCK" EAGAIN "$(sysmod unload late_vfio_pci)"
echo 0 >"$R/sys/module/late_vfio_pci/refcnt"
expect "delete_module" ok "$(sysmod unload late_vfio_pci)"
expect "delete_module of a module not loaded: ENOENT" ENOENT "$(sysmod unload late_vfio_pci)"

# A slow init (VV_FAKEKERNEL_LOAD_MS): coming without the driver, and a
# second load meanwhile waits until it is live, then EEXIST (6.1's
# add_unformed_module). No figure is asserted: the states are.
m=$R/sys/module/late_vfio_pci
VV_FAKEKERNEL_LOAD_MS=1500 sysmod load "$ko" >"$WORK/first.out" &
first=$!
for _ in $(seq 150); do grep -q "^late_vfio_pci " "$R/proc/modules" && break; sleep 0.02; done
expect "a slow load: coming, no driver yet, proc/modules Loading" "coming no Loading" \
	"$(cat "$m/initstate") $(exists "$R/sys/bus/pci/drivers/late-vfio-pci") $(awk '$1 == "late_vfio_pci" { print $5 }' "$R/proc/modules")"
expect "delete_module of a coming module: EBUSY" EBUSY "$(sysmod unload late_vfio_pci)"
second=$(sysmod load "$ko")
expect "a second load waits until it is live, then EEXIST" "EEXIST live yes" \
	"$second $(cat "$m/initstate") $(exists "$R/sys/bus/pci/drivers/late-vfio-pci")"
wait "$first"
expect "the slow load itself succeeds; proc/modules Live" "ok Live" \
	"$(cat "$WORK/first.out") $(awk '$1 == "late_vfio_pci" { print $5 }' "$R/proc/modules")"
expect "then it unloads" ok "$(sysmod unload late_vfio_pci)"

# --- log, stdio, kill-after ------------------------------------------------

: >"$LOG"
ksh 'echo vfio-pci > devices/0000:00:04.0/driver_override; echo 0000:00:04.0 > drivers/late_host/unbind'
kernel "$AWK" 'BEGIN { print "0000:00:04.0" > ARGV[1] }' "$R/sys/bus/pci/drivers_probe"
expect "fopen'ed stdio writes act too (awk)" vfio-pci "$(driver 0000:00:04.0)"
ksh '(echo 0000:00:04.0) > drivers/vfio-pci/unbind'
expect "a subshell's write acts when it exits" none "$(driver 0000:00:04.0)"
ksh 'echo 0000:00:04.0 > drivers_probe'
kwrite bus/pci/drivers/late_host/unbind 0000:00:04.0 >/dev/null
expect "the log holds every write in order" "write /sys/bus/pci/devices/0000:00:04.0/driver_override vfio-pci -> ok
write /sys/bus/pci/drivers/late_host/unbind 0000:00:04.0 -> ok
write /sys/bus/pci/drivers_probe 0000:00:04.0 -> ok
write /sys/bus/pci/drivers/vfio-pci/unbind 0000:00:04.0 -> ok
write /sys/bus/pci/drivers_probe 0000:00:04.0 -> ok
write /sys/bus/pci/drivers/late_host/unbind 0000:00:04.0 -> ENODEV" "$(cat "$LOG")"

: >"$LOG"
VV_FAKEKERNEL_KILL_AFTER=unbind ksh 'echo 0000:00:04.0 > drivers/vfio-pci/unbind; echo 0000:00:04.0 > drivers_probe'
expect "KILL_AFTER=unbind: exit 137 right after the unbind" "137 none 1" \
	"$? $(driver 0000:00:04.0) $(wc -l <"$LOG")"

# --- fault injection ------------------------------------------------------

# kops OP... (one process, so one count): "w PATH VALUE" one write through
# the write() symbol, "s FILE" a state-file write (write, fsync, rename of
# FILE.tmp to FILE); prints each result: ok or the errno name.
kops() {
	kernel python3 -c '
import errno, os, sys
a, out = sys.argv[1:], []
def attempt(f):
    try:
        f(); out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
while a:
    if a[0] == "w":
        fd = os.open(a[1], os.O_WRONLY)
        attempt(lambda: os.write(fd, a[2].encode()))
        os.close(fd); a = a[3:]
    else:
        fd = os.open(a[1] + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        attempt(lambda: os.write(fd, b"step=verified\n"))
        attempt(lambda: os.fsync(fd))
        os.close(fd)
        attempt(lambda: os.rename(a[1] + ".tmp", a[1])); a = a[2:]
print(" ".join(out))' "$@"
}
S=$R/sys/bus/pci
rec=$R/run/vfio-variant/devices/0000:00:01.0.conf
mkdir -p "$(dirname "$rec")"
: >"$LOG"
out=$(VV_FAKEKERNEL_FAIL=2 VV_FAKEKERNEL_COUNT=$WORK/count kops w "$S/devices/0000:00:01.0/driver_override" vfio-pci \
	w "$S/drivers/abcd_nic/unbind" 0000:00:01.0 w "$S/devices/0000:00:01.0/driver_override" $'\n')
expect "FAIL=2: only the second sysfs write fails, with EIO" "ok EIO ok" "$out"
expect "an injected store does not happen: still bound" abcd_nic "$(driver 0000:00:01.0)"
expect "the injection and the total are logged; COUNT holds the total" "write /sys/bus/pci/devices/0000:00:01.0/driver_override vfio-pci -> ok
inject 2 write /sys/bus/pci/drivers/abcd_nic/unbind -> EIO
write /sys/bus/pci/devices/0000:00:01.0/driver_override \"\" -> ok
count 3 -> ok
3" "$(cat "$LOG" "$WORK/count")"

: >"$LOG"
: >"$WORK/not-state"
for at in 1:ENOSPC 2 3:ENODEV 4; do
	out=$(VV_FAKEKERNEL_FAIL=$at kops w "$WORK/not-state" x s "$rec")
	rm -f "$rec" "$rec.tmp"
	echo "$out"
done >"$WORK/state.out"
expect "state files: write, fsync, rename each fail once; other files do not count" "ok ENOSPC ok ok
ok ok EIO ok
ok ok ok ENODEV
ok ok ok ok" "$(cat "$WORK/state.out")"
expect "state-file injections are logged with the path under the root" "inject 1 write /run/vfio-variant/devices/0000:00:01.0.conf.tmp -> ENOSPC
count 3 -> ok
inject 2 fsync /run/vfio-variant/devices/0000:00:01.0.conf.tmp -> EIO
count 3 -> ok
inject 3 rename /run/vfio-variant/devices/0000:00:01.0.conf -> ENODEV
count 3 -> ok
count 3 -> ok" "$(cat "$LOG")"
expect "FAIL=2+: a full disk stays full, sysfs still works" "ok EIO EIO ok EIO EIO EIO" \
	"$(VV_FAKEKERNEL_FAIL=2+ kops s "$rec" w "$S/devices/0000:00:01.0/driver_override" $'\n' s "$rec")"
rm -f "$rec.tmp"
VV_FAKEKERNEL_FAIL=3:ENOSPC kops s "$rec" >/dev/null
expect "a failed rename leaves the record unwritten" no "$(exists "$rec")"
rm -f "$rec.tmp"

: >"$LOG"
expect "FAIL=1 on a module load: EIO, nothing loaded" "EIO no" \
	"$(VV_FAKEKERNEL_FAIL=1 sysmod load "$ko") $(exists "$R/sys/module/late_vfio_pci")"
expect "the failed load is logged" "inject 1 load late_vfio_pci -> EIO" "$(head -1 "$LOG")"
for bad in 0 x 1:EWHAT 1: +1 1++; do
	out=$(VV_FAKEKERNEL_FAIL=$bad kernel /bin/true 2>&1)
	expect "VV_FAKEKERNEL_FAIL='$bad' aborts" "134 yes" "$? $(grep -q 'VV_FAKEKERNEL_FAIL' <<<"$out" && echo yes || echo no)"
done

# --- a group held by a VFIO user (5.19+) ------------------------------------

kwrite bus/pci/devices/0000:00:04.0/driver_override $'\n' >/dev/null
cp "$R/fakekernel.conf" "$WORK/conf.saved"
printf '\n[group 4]\nheld=true\n' >>"$R/fakekernel.conf"
expect "held group: a host driver's bind is EBUSY" EBUSY "$(kwrite bus/pci/drivers/late_host/bind 0000:00:04.0)"
expect "held group: drivers_probe succeeds, the device stays driverless" "ok none" \
	"$(kwrite bus/pci/drivers_probe 0000:00:04.0) $(driver 0000:00:04.0)"
kwrite bus/pci/devices/0000:00:04.0/driver_override vfio-pci >/dev/null
expect "held group: a VFIO driver still binds" "ok vfio-pci" \
	"$(kwrite bus/pci/drivers/vfio-pci/bind 0000:00:04.0) $(driver 0000:00:04.0)"
cp "$WORK/conf.saved" "$R/fakekernel.conf"
kwrite bus/pci/drivers/vfio-pci/unbind 0000:00:04.0 >/dev/null
kwrite bus/pci/devices/0000:00:04.0/driver_override $'\n' >/dev/null
expect "released group: the host driver binds again" "ok late_host" \
	"$(kwrite bus/pci/drivers_probe 0000:00:04.0) $(driver 0000:00:04.0)"

# --- a probe that takes time ------------------------------------------------

kwrite bus/pci/drivers/late_host/unbind 0000:00:04.0 >/dev/null
t0=$(date +%s%N)
r=$(VV_FAKEKERNEL_PROBE_MS=200 kwrite bus/pci/drivers_probe 0000:00:04.0)
t1=$(date +%s%N)
expect "PROBE_MS=200: the probe binds, after at least 200 ms" "ok late_host yes" \
	"$r $(driver 0000:00:04.0) $([ $(((t1 - t0) / 1000000)) -ge 200 ] && echo yes || echo no)"

# --- safety ----------------------------------------------------------------

for root in / "" /tmp/../ /sys; do
	out=$(env LD_PRELOAD="$LIB" VV_FAKEKERNEL_ROOT="$root" /bin/true 2>&1)
	expect "VV_FAKEKERNEL_ROOT='$root' aborts" "134 yes" \
		"$? $(grep -q 'vv-fakekernel: .*refusing' <<<"$out" && echo yes || echo no)"
done
out=$(env -u VV_FAKEKERNEL_ROOT LD_PRELOAD="$LIB" /bin/true 2>&1)
expect "unset VV_FAKEKERNEL_ROOT aborts" 134 "$?"
# The path does not exist, so even without the preload nothing is written.
out=$(kernel bash -c 'echo x > /sys/vv-fakekernel-test-nonexistent/x' 2>&1)
expect "a write to the real /sys aborts" "134 yes" "$? $(grep -q 'real /sys' <<<"$out" && echo yes || echo no)"

echo "1..$n"
echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ]
