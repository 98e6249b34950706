#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Build a fake host root ("sysroot") from a TOML description.

The tree is laid out like a real Linux host: OUTDIR/sys, OUTDIR/proc,
OUTDIR/lib/modules/REL (indexed by the real depmod) and OUTDIR/etc, so a
program given OUTDIR as its root works unchanged.  Nothing is ever written
outside OUTDIR, and every symlink is relative.  See docs/host-format.md.

  vv-mkhost.py [--cc CC] [--objcopy OBJCOPY] [--depmod DEPMOD] [--stamp F] DESC.toml OUTDIR
  vv-mkhost.py [--cc CC] [--objcopy OBJCOPY] [--depmod DEPMOD] [--stamp F] --sriov-vfs N OUTDIR
"""

import argparse
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import tomllib

MARKER = ".vv-mkhost"
BDF_RE = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$")
ID_RE = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")


class HostError(Exception):
    """A description error; reported as one line, exit status 1."""


def die(msg):
    """Raise a HostError with MSG."""
    raise HostError(msg)


# ---------------------------------------------------------------- small helpers

def put(root, rel, data=""):
    """Write DATA (str or bytes) to ROOT/REL, creating parent directories."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def mkdir(root, rel):
    """Create the directory ROOT/REL (and parents)."""
    os.makedirs(os.path.join(root, rel), exist_ok=True)


def link(root, rel, target_rel):
    """Create ROOT/REL as a RELATIVE symlink pointing at ROOT/TARGET_REL."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(os.path.relpath(os.path.join(root, target_rel), os.path.dirname(path)), path)


def safe_rel(rel, what):
    """Return REL if it is a clean relative path inside the root, else fail."""
    norm = os.path.normpath(rel)
    if not rel or os.path.isabs(rel) or norm.startswith(".."):
        die(f"{what}: '{rel}' must be a relative path inside the host root")
    return norm


def parse_bdf(bdf):
    """Check a PCI address DDDD:BB:DD.F (lower case) and return its ints."""
    m = BDF_RE.match(bdf or "")
    if not m or int(m.group(3), 16) >= 32:
        die(f"bad PCI address '{bdf}' (want DDDD:BB:DD.F, device < 0x20, function < 8)")
    return tuple(int(x, 16) for x in m.groups())


def parse_id(text, what):
    """Parse 'vvvv:dddd' into two ints."""
    m = ID_RE.match(text or "")
    if not m:
        die(f"{what}: bad id '{text}' (want 'vvvv:dddd' in hex)")
    return int(m.group(1), 16), int(m.group(2), 16)


# ---------------------------------------------------------------- modules

def default_path(name):
    """Default module path, relative to lib/modules/REL."""
    return f"kernel/drivers/vfio/pci/{name}.ko"


def modinfo_strings(mod, rel):
    """The .modinfo strings of MOD in the order modpost writes them."""
    strs = [f"alias={a}" for a in mod.get("aliases", [])]
    strs += ["license=GPL", f"depends={','.join(mod.get('depends', []))}",
             f"name={mod['name']}", f"vermagic={rel} SMP mod_unload modversions "]
    return strs


def build_modules(host, out, tools):
    """Write .ko files, modules.order/builtin(.modinfo) and run depmod."""
    rel = host["release"]
    mdir = os.path.join("lib/modules", rel)
    order, builtin, builtin_info = [], [], b""
    with tempfile.TemporaryDirectory(prefix="vv-mkhost-") as tmp:
        src, obj = os.path.join(tmp, "empty.c"), os.path.join(tmp, "empty.o")
        put(tmp, "empty.c", "/* fake kernel module made by vv-mkhost.py */\n")
        need_obj = any(not m.get("builtin") for m in host["modules"])
        if need_obj:
            run(tools["cc"] + ["-c", src, "-o", obj])
        for mod in host["modules"]:
            path = mod["path"]
            if mod.get("builtin"):          # "NAME.key=value\0" like the kernel's file
                builtin.append(path)
                keys = [f"alias={a}" for a in mod.get("aliases", [])]
                keys += ["license=GPL", f"file={path[len('kernel/'):-len('.ko')]}"]
                builtin_info += b"".join(f"{mod['name']}.{k}".encode() + b"\0" for k in keys)
                continue
            put(tmp, f"{mod['name']}.modinfo", b"".join(s.encode() + b"\0" for s in modinfo_strings(mod, rel)))
            info = os.path.join(tmp, f"{mod['name']}.modinfo")
            dest = os.path.join(out, mdir, path)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            run(tools["objcopy"] + ["--add-section", f".modinfo={info}",
                                    "--set-section-flags", ".modinfo=alloc,readonly", obj, dest])
            order.append(path)
    put(out, f"{mdir}/modules.order", "".join(p + "\n" for p in order))
    put(out, f"{mdir}/modules.builtin", "".join(p + "\n" for p in builtin))
    put(out, f"{mdir}/modules.builtin.modinfo", builtin_info)
    run(tools["depmod"] + ["-b", out, rel])
    for index in ("modules.alias.bin", "modules.builtin.alias.bin", "modules.dep.bin"):
        if not os.path.isfile(os.path.join(out, mdir, index)):
            die(f"depmod did not produce {mdir}/{index}")


def run(cmd):
    """Run CMD, failing loudly with its output when it fails."""
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        die(f"command failed ({res.returncode}): {shlex.join(cmd)}\n{res.stdout}{res.stderr}")


# ---------------------------------------------------------------- description

def load_host(desc):
    """Check a parsed description and fill in defaults; return the host dict."""
    if not re.fullmatch(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*", str(desc.get("release", ""))):
        die("'release' is required and must look like a kernel release (e.g. 6.1.0-demo)")
    host = {"release": desc["release"],
            "modules": desc.get("module", []), "devices": desc.get("device", []),
            "files": desc.get("files", {}), "drivers": {}}
    seen = set()
    for mod in host["modules"]:
        name = mod.get("name") or die("[[module]] without 'name'")
        if name in seen or not re.fullmatch(r"[A-Za-z0-9_]+", name):
            die(f"module '{name}': duplicate or not a valid module name (use '_')")
        seen.add(name)
        mod["path"] = safe_rel(mod.get("path", default_path(name)), f"module {name}")
        if not mod["path"].endswith(".ko") or (mod.get("builtin") and not mod["path"].startswith("kernel/")):
            die(f"module {name}: path must end in .ko (built-in ones start with kernel/)")
        if os.path.basename(mod["path"])[:-3].replace("-", "_") != name:
            die(f"module {name}: depmod names a module after its file; {mod['path']} does not fit")
        if mod.get("builtin") and mod.get("loaded") is False:
            die(f"module {name}: a built-in module is always loaded")
        if mod.get("driver") and (mod.get("loaded") or mod.get("builtin")):
            add_driver(host, mod["driver"], name, bool(mod.get("builtin")),
                       mod.get("module_link", True), bool(mod.get("vfio")))
    for drv in desc.get("driver", []):
        name = drv.get("name") or die("[[driver]] without 'name'")
        if drv.get("module") in seen:
            die(f"driver {name}: module {drv['module']} is a [[module]]; set its 'driver' key instead")
        add_driver(host, name, drv.get("module"), bool(drv.get("builtin", not drv.get("module"))),
                   drv.get("module_link", True), bool(drv.get("vfio")))
    for key in host["files"]:
        safe_rel(key, "[files]")
    check_devices(host)
    return host


def add_driver(host, name, module, builtin, module_link, vfio):
    """Register a pci_driver NAME provided by MODULE (None: no module)."""
    if name in host["drivers"] or "/" in name:
        die(f"driver '{name}' declared twice or contains '/'")
    host["drivers"][name] = {"module": module, "builtin": builtin,
                             "module_link": module_link and module is not None, "vfio": vfio}


def check_devices(host):
    """Validate devices and compute each one's sysfs directory."""
    devs = {}
    for dev in host["devices"]:
        bdf = dev.get("address", "")
        parse_bdf(bdf)
        if bdf in devs:
            die(f"device {bdf} declared twice")
        dev["vendor"], dev["device"] = parse_id(dev.get("id"), bdf)
        dev["sub"] = parse_id(dev.get("subsystem", "0000:0000"), bdf)
        if not isinstance(dev.get("class"), int):
            die(f"device {bdf}: 'class' (e.g. 0x020000) is required")
        if dev.get("driver") and dev["driver"] not in host["drivers"]:
            die(f"device {bdf}: driver '{dev['driver']}' is not registered "
                "(no loaded/built-in [[module]] with that driver, no [[driver]])")
        devs[bdf] = dev
    for dev in host["devices"]:
        pf = dev.get("physfn")
        if pf:
            if pf not in devs or "sriov_totalvfs" not in devs[pf]:
                die(f"VF {dev['address']}: physfn {pf} is not a device with sriov_totalvfs")
            if dev.get("parent", devs[pf].get("parent")) != devs[pf].get("parent"):
                die(f"VF {dev['address']}: a VF sits beside its PF; drop 'parent'")
            dev["parent"] = devs[pf].get("parent")
            devs[pf].setdefault("vfs", []).append(dev["address"])
        if dev.get("parent") and dev["parent"] not in devs:
            die(f"device {dev['address']}: parent {dev['parent']} is not described")
    for dev in host["devices"]:
        if "sriov_totalvfs" in dev:
            nvfs = len(dev.get("vfs", []))
            if dev.get("sriov_numvfs", 0) != nvfs or nvfs > dev["sriov_totalvfs"]:
                die(f"PF {dev['address']}: sriov_numvfs={dev.get('sriov_numvfs', 0)} but "
                    f"{nvfs} VFs name it as physfn (totalvfs {dev['sriov_totalvfs']})")
    for dev in host["devices"]:
        dev["dir"] = device_dir(dev, devs, set())
    host["by_bdf"] = devs


def device_dir(dev, devs, busy):
    """sys/devices/... path of DEV, nested under its parent bridge."""
    bdf = dev["address"]
    if bdf in busy:
        die(f"device {bdf}: parent loop")
    busy.add(bdf)
    if dev.get("parent"):
        return f"{device_dir(devs[dev['parent']], devs, busy)}/{bdf}"
    return f"sys/devices/pci{bdf[:7]}/{bdf}"


# ---------------------------------------------------------------- sysfs

def header_type(dev):
    """Config-space header type: 1 for PCI bridges, 2 for CardBus, else 0."""
    default = {0x0604: 1, 0x0609: 1, 0x0607: 2}.get(dev["class"] >> 8, 0)
    return dev.get("header_type", default) | (0x80 if dev.get("multifunction") else 0)


def config_space(dev, devs):
    """256 bytes of config space with ids, class and header type filled in."""
    cfg = bytearray(256)
    struct.pack_into("<HH", cfg, 0, dev["vendor"], dev["device"])
    struct.pack_into("<I", cfg, 8, (dev["class"] << 8) | dev.get("revision", 0))
    cfg[0x0e] = header_type(dev)
    if header_type(dev) & 0x7f == 0:
        struct.pack_into("<HH", cfg, 0x2c, *dev["sub"])
    elif header_type(dev) & 0x7f == 1:
        buses = [parse_bdf(d["address"])[1] for d in devs.values() if d.get("parent") == dev["address"]]
        cfg[0x18] = parse_bdf(dev["address"])[1]
        cfg[0x19], cfg[0x1a] = (min(buses), max(buses)) if buses else (0, 0)
    return bytes(cfg)


def build_device(out, host, dev, vfio_index):
    """Create one device directory, its attribute files and links."""
    d, bdf, sub = dev["dir"], dev["address"], dev["sub"]
    cls = dev["class"]
    files = {
        "vendor": f"0x{dev['vendor']:04x}\n", "device": f"0x{dev['device']:04x}\n",
        "subsystem_vendor": f"0x{sub[0]:04x}\n", "subsystem_device": f"0x{sub[1]:04x}\n",
        "class": f"0x{cls:06x}\n", "revision": f"0x{dev.get('revision', 0):02x}\n",
        "modalias": "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n" % (
            dev["vendor"], dev["device"], sub[0], sub[1], cls >> 16, (cls >> 8) & 0xff, cls & 0xff),
        "driver_override": (dev.get("driver_override") or "(null)") + "\n",
        "config": config_space(dev, host["by_bdf"]),
        "enable": "1\n" if dev.get("driver") else "0\n",
        "remove": "", "rescan": "", "reset": "",
    }
    if "reset_method" in dev:
        files["reset_method"] = dev["reset_method"] + "\n"
    if "sriov_totalvfs" in dev:
        files["sriov_totalvfs"] = f"{dev['sriov_totalvfs']}\n"
        files["sriov_numvfs"] = f"{dev.get('sriov_numvfs', 0)}\n"
        files["sriov_drivers_autoprobe"] = "1\n"
        # The VFs' device id, as the kernel prints it (%x): given, or the
        # first VF's.
        vf_device = dev.get("sriov_vf_device")
        if vf_device is None and dev.get("vfs"):
            vf_device = f"{host['by_bdf'][dev['vfs'][0]]['device']:x}"
        if vf_device is not None:
            files["sriov_vf_device"] = f"{vf_device}\n"
    for name, data in files.items():
        put(out, f"{d}/{name}", data)
    link(out, f"sys/bus/pci/devices/{bdf}", d)
    link(out, f"{d}/subsystem", "sys/bus/pci")
    for i, vf in enumerate(dev.get("vfs", [])):
        link(out, f"{d}/virtfn{i}", host["by_bdf"][vf]["dir"])
    if dev.get("physfn"):
        link(out, f"{d}/physfn", host["by_bdf"][dev["physfn"]]["dir"])
    if "iommu_group" in dev:
        grp = f"sys/kernel/iommu_groups/{int(dev['iommu_group'])}"
        put(out, f"{grp}/type", "DMA\n")
        put(out, f"{grp}/reserved_regions", "")
        link(out, f"{d}/iommu_group", grp)
        link(out, f"{grp}/devices/{bdf}", d)
    drv = dev.get("driver")
    if drv:
        link(out, f"{d}/driver", f"sys/bus/pci/drivers/{drv}")
        link(out, f"sys/bus/pci/drivers/{drv}/{bdf}", d)
        if host["drivers"][drv]["vfio"]:
            node = f"vfio{vfio_index}"
            put(out, f"{d}/vfio-dev/{node}/dev", f"511:{vfio_index}\n")
            link(out, f"sys/class/vfio-dev/{node}", f"{d}/vfio-dev/{node}")
            vfio_index += 1
    for net in dev.get("net", []):
        up = net.get("up", False)
        nd = f"{d}/net/{net['name']}"
        put(out, f"{nd}/operstate", "up\n" if up else "down\n")
        put(out, f"{nd}/flags", "0x1003\n" if up else "0x1002\n")
        link(out, f"sys/class/net/{net['name']}", nd)
    for blk in dev.get("block", []):
        m = re.fullmatch(r"(nvme\d+)n\d+", blk)
        bd = f"{d}/nvme/{m.group(1)}/{blk}" if m else f"{d}/block/{blk}"
        mkdir(out, bd)
        if m and not os.path.lexists(os.path.join(out, f"sys/class/nvme/{m.group(1)}")):
            link(out, f"sys/class/nvme/{m.group(1)}", f"{d}/nvme/{m.group(1)}")
        link(out, f"sys/block/{blk}", bd)
        link(out, f"sys/class/block/{blk}", bd)
    return vfio_index


def build_sysfs(out, host):
    """Create sys/, proc/ and the extra [files] of the host."""
    put(out, "proc/sys/kernel/osrelease", host["release"] + "\n")
    for name in ("drivers_probe", "rescan"):
        put(out, f"sys/bus/pci/{name}", "")
    put(out, "sys/bus/pci/drivers_autoprobe", "1\n")
    mkdir(out, "sys/bus/pci/devices")
    mkdir(out, "sys/kernel/iommu_groups")
    proc_modules = ""
    modules = {m["name"]: m for m in host["modules"]}
    for mod in host["modules"]:
        if mod.get("builtin"):
            mkdir(out, f"sys/module/{mod['name']}")
        elif mod.get("loaded"):
            put(out, f"sys/module/{mod['name']}/initstate", "live\n")
            put(out, f"sys/module/{mod['name']}/refcnt", "0\n")
            proc_modules += f"{mod['name']} 16384 0 - Live 0x0000000000000000\n"
    for name, drv in host["drivers"].items():
        ddir = f"sys/bus/pci/drivers/{name}"
        for f in ("bind", "unbind", "new_id", "remove_id", "uevent"):
            put(out, f"{ddir}/{f}", "")
        mod = drv["module"]
        if mod and mod not in modules:      # a [[driver]] naming an undescribed module
            if drv["builtin"]:
                mkdir(out, f"sys/module/{mod}")
            else:
                put(out, f"sys/module/{mod}/initstate", "live\n")
                put(out, f"sys/module/{mod}/refcnt", "0\n")
                proc_modules += f"{mod} 16384 0 - Live 0x0000000000000000\n"
        if drv["module_link"]:
            link(out, f"{ddir}/module", f"sys/module/{mod}")
            link(out, f"sys/module/{mod}/drivers/pci:{name}", ddir)
    put(out, "proc/modules", proc_modules)
    vfio_index = 0
    for dev in host["devices"]:
        vfio_index = build_device(out, host, dev, vfio_index)
    for rel, content in host["files"].items():
        put(out, safe_rel(rel, "[files]"), content)


# ---------------------------------------------------------------- benchmark host

MLX5_VFIO_ALIAS = "vfio_pci:v000015B3d0000101Esv*sd*bc*sc*i*"
VFIO_PCI_ALIAS = "vfio_pci:v*d*sv*sd*bc*sc*i*"


def sriov_host(nvfs):
    """Description of a benchmark host: one ConnectX PF with NVFS VFs."""
    if nvfs < 1 or nvfs > 250 * 256:
        die("--sriov-vfs wants 1..64000")
    devices = [
        {"address": "0000:00:01.0", "id": "8086:a110", "subsystem": "17aa:2245", "class": 0x060400,
         "driver": "pcieport", "iommu_group": 0},
        {"address": "0000:01:00.0", "id": "15b3:101d", "subsystem": "15b3:0016", "class": 0x020000,
         "parent": "0000:00:01.0", "driver": "mlx5_core", "iommu_group": 1, "multifunction": True,
         "sriov_totalvfs": nvfs, "sriov_numvfs": nvfs},
    ]
    slot = 2                        # ConnectX VFs start at function 2 of the PF's bus
    for i in range(nvfs):
        bus, dev, fn = 1 + slot // 256, (slot % 256) // 8, slot % 8
        devices.append({"address": f"0000:{bus:02x}:{dev:02x}.{fn}", "id": "15b3:101e",
                        "subsystem": "15b3:0016", "class": 0x020000, "physfn": "0000:01:00.0",
                        "driver": "mlx5_core", "iommu_group": 2 + i})
        slot += 1
    return {
        "release": "6.1.0-sriov-bench",
        "module": [
            {"name": "vfio_pci", "path": "kernel/drivers/vfio/pci/vfio-pci.ko",
             "aliases": [VFIO_PCI_ALIAS], "loaded": True, "driver": "vfio-pci", "vfio": True},
            {"name": "mlx5_vfio_pci", "aliases": [MLX5_VFIO_ALIAS], "vfio": True,
             "driver": "mlx5_vfio_pci"},
            {"name": "mlx5_core", "path": "kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko",
             "aliases": ["pci:v000015B3d0000101Dsv*sd*bc*sc*i*", "pci:v000015B3d0000101Esv*sd*bc*sc*i*"],
             "loaded": True, "driver": "mlx5_core"},
        ],
        "driver": [{"name": "pcieport"}],
        "device": devices,
    }


# ---------------------------------------------------------------- main

def prepare_outdir(out):
    """Empty OUTDIR, refusing to delete anything this script did not make."""
    real = os.path.realpath(out)
    if real == "/" or real == os.path.realpath(os.path.expanduser("~")):
        die(f"refusing to use {out} as output directory")
    if os.path.lexists(out):
        if not os.path.isdir(out) or os.path.islink(out):
            die(f"{out} exists and is not a directory")
        if os.listdir(out) and not os.path.exists(os.path.join(out, MARKER)):
            die(f"{out} is not empty and was not made by vv-mkhost.py; not deleting it")
        shutil.rmtree(out)
    os.makedirs(out)
    put(out, MARKER, "made by vv-mkhost.py; deleted and rebuilt on each run\n")


def tool(cmd, name):
    """Split a tool command line; default to NAME found in PATH or /usr/sbin."""
    if cmd:
        return shlex.split(cmd)
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    return [found or name]


def main(argv):
    """Parse the command line and build the host."""
    ap = argparse.ArgumentParser(
        description="Build a fake host root from a TOML description.",
        usage="%(prog)s [--cc CC] [--objcopy OBJCOPY] [--depmod DEPMOD] [--stamp FILE]\n"
              "       (DESCRIPTION.toml | --sriov-vfs N) OUTDIR")
    ap.add_argument("--cc"), ap.add_argument("--objcopy"), ap.add_argument("--depmod")
    ap.add_argument("--sriov-vfs", type=int, metavar="N",
                    help="generate the SR-IOV benchmark host instead of reading a description")
    ap.add_argument("--stamp", metavar="FILE", help="also touch FILE when done (for meson)")
    ap.add_argument("paths", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    want = 1 if args.sriov_vfs is not None else 2
    if len(args.paths) != want:
        ap.error("want DESCRIPTION.toml OUTDIR, or --sriov-vfs N OUTDIR")
    tools = {"cc": tool(args.cc, "cc"), "objcopy": tool(args.objcopy, "objcopy"),
             "depmod": tool(args.depmod, "depmod")}
    try:
        if args.sriov_vfs is not None:
            desc = sriov_host(args.sriov_vfs)
        else:
            with open(args.paths[0], "rb") as f:
                desc = tomllib.load(f)
        host = load_host(desc)
        out = args.paths[-1]
        prepare_outdir(out)
        build_modules(host, out, tools)
        build_sysfs(out, host)
        put(out, ".stamp", "")
        if args.stamp:
            with open(args.stamp, "w", encoding="utf-8"):
                pass
    except (HostError, tomllib.TOMLDecodeError, OSError) as e:
        print(f"vv-mkhost.py: {args.paths[0]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
