#!/bin/bash
# Every device of every fixture host: `explain --xml` validates against the
# schema. Usage: check-cli-xml.sh CLI TEST_SCHEMA SCHEMA HOSTS_DIR HOST...
set -u
cli=$1 test_schema=$2 schema=$3 hosts=$4
shift 4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for host in "$@"; do
	for address in $("$cli" --sysroot "$hosts/$host" list | awk 'NR > 1 { print $1 }'); do
		${VV_CLI_WRAPPER:-} "$cli" --sysroot "$hosts/$host" explain --xml "$address" >"$out/$host-$address.xml"
		case $? in 0|1) ;; *) echo "explain --xml $address on $host failed"; exit 1 ;; esac
	done
done
${VV_CLI_WRAPPER:-} "$test_schema" "$schema" "$out"/*.xml
