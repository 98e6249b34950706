#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks on `vfio-variant ... --json` documents (schemas/vfio-variant.schema.json).

  vv-json-check.py validate SCHEMA FILE...      each FILE validates (draft 2020-12)
  vv-json-check.py same-as-xml SCHEMA JSON XML...  for each pair, the device of JSON (explain
                                                --json) states the facts of XML (explain --xml)
  vv-json-check.py same-as-list SCHEMA LIST JSON...  the devices of LIST (list --json) are the
                                                objects of each JSON (explain --json), in order
  vv-json-check.py invalid SCHEMA FILE          FILE validates, and every mutation of it in
                                                MUTATIONS is rejected
Exit status 0 when every check holds; each failure is printed.
"""
import copy
import json
import sys
import xml.etree.ElementTree as ET

import jsonschema

NS = "{urn:x-vfio-variant:nodedev:1}"


def validator(schema_path):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def yesno(value):
    return "yes" if value else "no"


def same_as_xml(doc, xml_path):
    """The facts both formats carry, compared; a list of differences."""
    device = doc["devices"][0]
    root = ET.parse(xml_path).getroot()
    problems = []

    def expect(what, json_value, xml_value):
        if json_value != xml_value:
            problems.append(f"{what}: JSON {json_value!r}, XML {xml_value!r}")

    expect("address", device["address"], root.get("address"))
    selected = root.find(NS + "selected")
    if device["selected"] is None:
        expect("selected", None, None if selected is None else selected.attrib)
    else:
        sel = device["selected"]
        expect("selected", (sel["module"], sel["driver"], sel["pattern"], str(sel["specificity"]),
                            "yes" if sel["tie"] else None),
               None if selected is None else (selected.get("module"), selected.get("driver"), selected.get("alias"),
                                              selected.get("specificity"), selected.get("tie")))
    xml_candidates = [(c.get("module"), c.get("driver"), c.get("alias"), c.get("specificity"), c.get("source"),
                       c.get("rejected")) for c in root.findall(NS + "candidate")]
    json_candidates = [(c["module"], c["driver"], c["pattern"], str(c["specificity"]), c["source"], c["rejected"])
                       for c in device["candidates"]]
    expect("candidates", json_candidates, xml_candidates)
    group = root.find(NS + "group")
    expect("group number", None if device["iommu_group"] is None else str(device["iommu_group"]), group.get("number"))
    expect("group viable", yesno(device["group_viable"]), group.get("viable"))
    expect("group blockers", [(b["address"], b["driver"]) for b in device["group_blockers"]],
           [(b.get("address"), b.get("driver")) for b in group.findall(NS + "blocker")])
    assignable = root.find(NS + "assignable")
    expect("assignable", (yesno(device["assignable"]["value"]), device["assignable"]["reason"]),
           (assignable.get("value"), assignable.get("reason")))
    policy = root.find(NS + "policy")
    if device["policy"] is None:
        expect("policy", None, None if policy is None else policy.attrib)
    else:
        p = device["policy"]
        expect("policy", (p["action"], p["driver"], p["scope"], None if p["line"] is None else str(p["line"]),
                          p["hook_mode"], p["host_use"]),
               None if policy is None else (policy.get("action"), policy.get("driver"), policy.get("scope"),
                                            policy.get("line"), policy.get("hook-mode"), policy.get("host-use")))
    pick = root.find(NS + "libvirt-pick")
    lp = device["libvirt_pick"]
    expect("libvirt-pick", (lp["module"], None if lp["line"] is None else str(lp["line"]), lp["pattern"],
                            yesno(lp["same"]), yesno(lp["fails"]), lp["reason"]),
           (pick.get("module"), pick.get("line"), pick.get("pattern"), pick.get("same"), pick.get("fails"),
            pick.get("reason")))
    return problems


def first_device(doc):
    return doc["devices"][0]


# Each mutation: (what it breaks, function changing a copy of a list or
# explain document in place). Every one must be rejected.
def _set(path, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _delete(path):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


def _rename(path, new):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[new] = target.pop(path[-1])
    return change


D = ["devices", 0]
MUTATIONS = [
    ("format 2", _set(["format"], 2)),
    ("an unknown command", _set(["command"], "lsit")),
    ("no errors member", _delete(["errors"])),
    ("an extra top-level member", _set(["extra"], 1)),
    ("an uppercase address", _set(D + ["address"], "0000:03:00.A")),
    ("a short address", _set(D + ["address"], "03:00.0")),
    ("a renamed field (address -> addr)", _rename(D + ["address"], "addr")),
    ("a missing field (driver)", _delete(D + ["driver"])),
    ("an unknown field", _set(D + ["colour"], "red")),
    ("a vendor id as a number", _set(D + ["vendor_id"], 0x8086)),
    ("a 3-digit device id", _set(D + ["device_id"], "e20")),
    ("a nodedev name with dots", _set(D + ["nodedev"], "pci_0000_03_00.0")),
    ("a negative IOMMU group", _set(D + ["iommu_group"], -1)),
    ("a known choice with a reason", _set(D + ["choice", "reason"], "because")),
    ("an unknown choice without a reason", _set(D + ["choice"], {"known": False, "reason": None})),
    ("an unknown choice with candidates kept", _set(D + ["choice"], {"known": False, "reason": "no index"})),
    ("a known choice without candidates", _set(D + ["candidates"], None)),
    ("an assignable device with a reason", _set(D + ["assignable"],
                                                {"value": True, "reason": "bridge", "description": None})),
    ("an unknown unassignable reason", _set(D + ["assignable"],
                                            {"value": False, "reason": "purple", "description": "x"})),
    ("specificity 15", _set(D + ["candidates", 0, "specificity"], 15)),
    ("a candidate source that is no source", _set(D + ["candidates", 0, "source"], "modules.dep")),
    ("a candidate without a verdict", _delete(D + ["candidates", 0, "verdict"])),
    ("a candidate with an extra field", _set(D + ["candidates", 0, "weight"], 3)),
    ("a module name with a space", _set(D + ["candidates", 0, "module"], "vfio pci")),
    ("a pattern that is no vfio_pci alias", _set(D + ["candidates", 0, "pattern"], "pci:v*d*")),
    ("libvirt's pick the same with another reason", _set(D + ["libvirt_pick"], {"module": "vfio_pci", "line": None, "pattern": None, "same": True,
                                                "fails": False, "reason": "tie-order", "suggestion": None,
                                                "description": None})),
    ("libvirt's pick with an unknown reason", _set(D + ["libvirt_pick", "reason"], "because")),
    ("libvirt's pick on line 0", _set(D + ["libvirt_pick", "line"], 0)),
    ("a record that is a string", _set(D + ["record"], "detached")),
    ("a policy with an unknown action", _set(D + ["policy"], {"file": "/etc/x", "action": "maybe", "driver": None,
                                                             "scope": "global", "line": None, "hook_mode": "strict",
                                                             "host_use": "allow", "description": "x"})),
    ("group members without a group", _set(D + ["iommu_group"], None)),
    ("an error entry in a list document", _set(["errors"], [{"address": "0000:03:00.0", "message": "x"}])),
]


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    mode, check = argv[1], validator(argv[2])
    failed = 0
    if mode == "validate":
        for path in argv[3:]:
            errors = sorted(check.iter_errors(load(path)), key=lambda e: list(e.absolute_path))
            for error in errors[:3]:
                print(f"FAIL {path}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
            failed += bool(errors)
    elif mode == "same-as-xml":
        for json_path, xml_path in zip(argv[3::2], argv[4::2]):
            for problem in same_as_xml(load(json_path), xml_path):
                print(f"FAIL {json_path} vs {xml_path}: {problem}")
                failed += 1
    elif mode == "same-as-list":
        listed = load(argv[3])["devices"]
        explained = [load(path)["devices"][0] for path in argv[4:]]
        if len(listed) != len(explained):
            print(f"FAIL {argv[3]} has {len(listed)} devices, explain gave {len(explained)}")
            failed += 1
        for one, other in zip(listed, explained):
            if one != other:
                print(f"FAIL {one['address']}: list --json {one!r}, explain --json {other!r}")
                failed += 1
    elif mode == "invalid":
        doc = load(argv[3])
        if not check.is_valid(doc):
            print(f"FAIL {argv[3]} itself does not validate")
            return 1
        for what, change in MUTATIONS:
            mutated = copy.deepcopy(doc)
            try:
                change(mutated)
            except (KeyError, IndexError, TypeError) as error:
                print(f"FAIL mutation '{what}' does not apply to {argv[3]}: {error!r}")
                failed += 1
                continue
            if check.is_valid(mutated):
                print(f"FAIL '{what}' validates but must not")
                failed += 1
        if not failed:
            print(f"{len(MUTATIONS)} invalid documents rejected")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
