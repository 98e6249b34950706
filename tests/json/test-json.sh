#!/bin/bash
# --json (schemas/vfio-variant.schema.json) on every fixture host: every
# document validates against the schema (python3-jsonschema, draft
# 2020-12); explain --json states the facts explain --xml states, field by
# field; list --json holds, for each device, explain --json's object and
# the table's VFIO driver; mutated documents are rejected. Without a
# module index (no modules.alias.bin, no lib/modules at all) list and
# explain show the rest, mark the choice unknown with the reason and exit
# 3, in text, XML and JSON. status --json after a detach on the simulated
# kernel, and with a damaged record.
# Usage: test-json.sh VFIO_VARIANT FAKEKERNEL HOSTS_DIR SCHEMA CHECKER HOST...
set -u
cli=$1 fakekernel=$2 hosts=$3 schema=$4 checker=$5
shift 5
fixtures=("$@")
# shellcheck source=tests/sim-lib.sh
. "$(dirname "$0")/../sim-lib.sh"
sim_setup json "$cli" "$fakekernel" "$hosts/bind"
# Debian's python3 and its python3-jsonschema, whatever python3 is first in PATH.
py=/usr/bin/python3
"$py" -c 'import jsonschema' 2>/dev/null || { echo "Bail out! python3-jsonschema is not installed (build-aux/deps.sh)"; exit 1; }
check() { "$py" "$checker" "$@" >"$work/check" 2>&1 || fail "$(tr '\n' '|' <"$work/check")"; }

# vv ROOT ARGS...: the CLI, read-only, on ROOT; $status, $out, $err.
vv() {
	local host=$1; shift
	${VV_CLI_WRAPPER:-} "$cli" --sysroot "$host" "$@" >"$work/out" 2>"$work/err"
	status=$?
	out=$(cat "$work/out") err=$(cat "$work/err")
}

# Every device of HOST: explain --json validates and matches explain --xml;
# list --json's objects are explain's; the table's columns agree.
check_host() {
	local host=$hosts/$1 address table jsons=() pairs=()
	vv "$host" list --json
	expect_status 0
	cp "$work/out" "$work/list.json"
	vv "$host" list
	table=$out
	while read -r address _; do
		vv "$host" explain --json "$address"
		case $status in 0|1) ;; *) fail "explain --json $address on $1: status $status: $err" ;; esac
		cp "$work/out" "$work/$address.json"
		vv "$host" explain --xml "$address"
		cp "$work/out" "$work/$address.xml"
		jsons+=("$work/$address.json")
		pairs+=("$work/$address.json" "$work/$address.xml")
	done < <(tail -n +2 <<<"$table")
	[ "${#jsons[@]}" -gt 0 ] || fail "no device listed on $1"
	check validate "$schema" "$work/list.json" "${jsons[@]}"
	check same-as-xml "$schema" "${pairs[@]}"
	check same-as-list "$schema" "$work/list.json" "${jsons[@]}"
	# The table's address, driver and VFIO driver columns are the JSON's.
	echo "$table" >"$work/table"
	"$py" - "$work/list.json" "$work/table" >"$work/py" 2>&1 <<'PY' || fail "the table and list --json differ on $1: $(tr '\n' '|' <"$work/py")"
import json, sys
rows = [line.split() for line in open(sys.argv[2]).read().splitlines()[1:]]
devices = json.load(open(sys.argv[1]))["devices"]
assert len(rows) == len(devices), (len(rows), len(devices))
for row, d in zip(rows, devices):
    assert row[0] == d["address"] and row[2] == (d["driver"] or "-"), (row, d["address"], d["driver"])
    sel = d["selected"]
    assert row[3] == (sel["module"] if sel else "none:"), (row, sel)
PY
}

for host in "${fixtures[@]}"; do
	eval "case_host_$host() { check_host $host; }"
done

case_invalid() {
	vv "$hosts/demo" explain --json 0000:00:01.0
	cp "$work/out" "$work/bridge.json"
	check invalid "$schema" "$work/bridge.json"
	# The checker itself: a fact changed in the JSON is seen against the XML.
	vv "$hosts/demo" explain --xml 0000:00:01.0
	cp "$work/out" "$work/bridge.xml"
	sed 's/"specificity" : 0/"specificity" : 1/' "$work/bridge.json" >"$work/changed.json"
	if "$py" "$checker" same-as-xml "$schema" "$work/changed.json" "$work/bridge.xml" >/dev/null; then
		fail "a changed specificity is not seen against the XML"
	fi
}

# A copy of the demo host without its module index: HOW is "no-index"
# (modules.alias.bin removed) or "no-modules" (lib/modules removed).
no_index_root() {
	cp -a "$hosts/demo" "$work/$1"
	case $1 in
	no-index) rm -f "$work/$1"/lib/modules/*/modules.alias.bin ;;
	no-modules) rm -rf "$work/$1/lib/modules" ;;
	esac
	echo "$work/$1"
}

check_no_index() {
	local host
	host=$(no_index_root "$1")
	vv "$host" list
	expect_status 3
	[ "$(grep -c 'unknown: no module index' <<<"$out")" -eq 16 ] || fail "not every row says the choice is unknown: $out"
	expect_out "0000:03:00.0  8086:e20b  xe"
	grep -qF "has no modules.alias.bin" <<<"$err" || fail "list does not say why: $err"
	vv "$host" list --json
	expect_status 3
	cp "$work/out" "$work/unknown.json"
	check validate "$schema" "$work/unknown.json"
	"$py" - "$work/unknown.json" >"$work/py" 2>&1 <<'PY' || fail "list --json without an index: $(tr '\n' '|' <"$work/py")"
import json, sys
devices = json.load(open(sys.argv[1]))["devices"]
assert len(devices) == 16, len(devices)
for d in devices:
    assert d["choice"]["known"] is False and "modules.alias.bin" in d["choice"]["reason"], d["choice"]
    assert d["selected"] is None and d["candidates"] is None, d
xe = [d for d in devices if d["address"] == "0000:03:00.0"][0]
assert (xe["driver"], xe["vendor_id"], xe["iommu_group"]) == ("xe", "8086", 17), xe
PY
	vv "$host" explain 03:00.0
	expect_status 3
	expect_out "  Driver:         xe"
	expect_out "  IOMMU group:    17, members: 0000:03:00.0"
	expect_out "Result: unknown: The module directory"
	vv "$host" explain --json 03:00.0
	expect_status 3
	cp "$work/out" "$work/unknown-explain.json"
	check validate "$schema" "$work/unknown-explain.json"
	vv "$host" explain --xml 03:00.0
	expect_status 3
	[ -z "$out" ] || fail "explain --xml printed a half document: $out"
	grep -qF "has no modules.alias.bin" <<<"$err" || fail "explain --xml does not say why: $err"
	# With the index, the same command exits 0: the status is the index's.
	vv "$hosts/demo" explain 03:00.0
	expect_status 0
}
case_no_index() { check_no_index no-index; }
case_no_modules() { check_no_index no-modules; }

# status --json: a detach on the simulated kernel, then the record as JSON.
case_status() {
	LD_PRELOAD="$preload" ${VV_CLI_WRAPPER:-} "$cli" --sysroot "$root" detach 00:01.0 >/dev/null 2>&1 ||
		fail "detach 00:01.0 failed"
	vv "$root" status --json
	expect_status 0
	cp "$work/out" "$work/status.json"
	check validate "$schema" "$work/status.json"
	"$py" - "$work/status.json" >"$work/py" 2>&1 <<'PY' || fail "status --json: $(tr '\n' '|' <"$work/py")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["command"] == "status" and doc["errors"] == [], doc
(d,) = doc["devices"]
assert (d["address"], d["present"], d["detached"]) == ("0000:00:01.0", True, True), d
r = d["record"]
assert (r["module"], r["native_driver"], r["complete"], r["requester"]) == ("acme_vfio_pci", "abcd_nic", True, "cli"), r
assert d["driver"] == r["driver"], d
PY
	vv "$root" status --json 00:02.0
	expect_status 0
	cp "$work/out" "$work/status-one.json"
	check validate "$schema" "$work/status-one.json"
	grep -qF '"detached" : false' "$work/status-one.json" || fail "00:02.0 is not shown as not detached: $out"
	# A damaged record: named in errors, the others still shown, status 1.
	echo garbage >"$(record 0000:00:02.0)"
	vv "$root" status --json
	expect_status 1
	cp "$work/out" "$work/status-damaged.json"
	check validate "$schema" "$work/status-damaged.json"
	grep -qF '"address" : "0000:00:02.0"' "$work/status-damaged.json" || fail "the damaged record is not in errors: $out"
	grep -qF '"address" : "0000:00:01.0"' "$work/status-damaged.json" || fail "the readable record is not shown: $out"
}

cases=()
for host in "${fixtures[@]}"; do cases+=("--json on every device of $host validates and states the XML's facts|case_host_$host"); done
sim_run_cases "${cases[@]}" \
	"mutated documents are rejected; a changed fact is seen against the XML|case_invalid" \
	"without modules.alias.bin: list, explain show the rest, the choice unknown, status 3 (text, XML, JSON)|case_no_index" \
	"without lib/modules: the same|case_no_modules" \
	"status --json after a detach, for one device, and with a damaged record|case_status"
[ "$failed" -eq 0 ]
