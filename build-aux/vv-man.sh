#!/bin/bash
# Render a man page from its scdoc source (docs/man/*.scd.in): @SYNOPSIS@
# and @COMMANDS@ become what the CLI's command table says (`vfio-variant
# __synopsis`, before and after its "# COMMANDS" line), @POLICYDIR@ and
# @HOOKSDIR@ the configured directories; then scdoc.
# Usage: vv-man.sh SCDOC VFIO_VARIANT INPUT OUTPUT POLICYDIR HOOKSDIR
set -euo pipefail
scdoc=$1 cli=$2 input=$3 output=$4 policydir=$5 hooksdir=$6

synopsis=$(mktemp) commands=$(mktemp)
trap 'rm -f "$synopsis" "$commands"' EXIT
LC_ALL=C "$cli" __synopsis >"$synopsis"
grep -qx '# COMMANDS' "$synopsis" || { echo "$cli __synopsis has no '# COMMANDS' line" >&2; exit 1; }
sed -n '/^# COMMANDS$/,$p' "$synopsis" >"$commands"
sed -i '/^# COMMANDS$/,$d' "$synopsis"

awk -v synopsis="$synopsis" -v commands="$commands" -v policydir="$policydir" -v hooksdir="$hooksdir" '
	function cat(file,   line) { while ((getline line <file) > 0) print line; close(file) }
	$0 == "@SYNOPSIS@" { cat(synopsis); next }
	$0 == "@COMMANDS@" { cat(commands); next }
	{ gsub(/@POLICYDIR@/, policydir); gsub(/@HOOKSDIR@/, hooksdir); print }
' "$input" | "$scdoc" >"$output"
