#!/bin/bash
# Run one libFuzzer harness for VV_FUZZ_SECONDS (default 30) seconds on a
# copy of its seed corpus (the tree is never written), with leak detection.
# Prints the number of executions; fails on any crash, leak, timeout,
# out-of-memory or sanitizer report, keeping the input that caused it in
# FINDINGS_DIR (named after the harness).
# Usage: run-fuzz.sh HARNESS SEED_CORPUS FINDINGS_DIR
set -u
harness=$1 seeds=$2 findings=$3
seconds=${VV_FUZZ_SECONDS:-30}
name=$(basename "$harness")

work=$(mktemp -d "${TMPDIR:-/tmp}/vv-$name.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$findings"
cp "$seeds"/* "$work/corpus/" || exit 1
seed_count=$(find "$work/corpus" -type f | wc -l)

# UBSan stops at its first report, so that libFuzzer sees it as a crash.
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
"$harness" -max_total_time="$seconds" -detect_leaks=1 -print_final_stats=1 \
	-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/$name-" \
	"$work/corpus" >"$work/log" 2>&1
status=$?
found=""

units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
echo "$name: ${units:-no} executions in $seconds s, corpus $seed_count seeds -> $(find "$work/corpus" -type f | wc -l) inputs, exit status $status"
if [ "$status" -ne 0 ] || [ -z "$units" ] ||
   grep -qE '^==[0-9]+==(ERROR|WARNING: MemorySanitizer)|runtime error:|^SUMMARY: ' "$work/log"; then
	tail -n 80 "$work/log"
	for kept in "$findings/$name-"*; do
		[ -e "$kept" ] && found="$found $(basename "$kept")"
	done
	echo "$name: FINDING; inputs kept in $findings:${found:- none (see the log above)}"
	exit 1
fi
