#!/bin/bash
# Each man page renders without a warning from man(1) and groff, and has
# its sections; vfio-variant(1) lists every command of the CLI's table.
# Usage: check-man.sh VFIO_VARIANT PAGE...
set -u
cli=$1
shift
export LC_ALL=C.UTF-8 MANWIDTH=80

n=0 failed=0
echo "1..$(($# + 1))"
for page in "$@"; do
	n=$((n + 1))
	warnings=$(man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
	text=$(man -E UTF-8 -l "$page" 2>/dev/null)
	problem=""
	[ -z "$warnings" ] || problem="warnings: $warnings"
	for section in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
		grep -qx "$section" <<<"$text" || problem="$problem${problem:+; }no $section section"
	done
	if [ -z "$problem" ]; then
		echo "ok $n - $(basename "$page") renders without warnings"
	else
		echo "not ok $n - $(basename "$page") renders without warnings"
		printf '%s\n' "$problem" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done

n=$((n + 1))
page=$(printf '%s\n' "$@" | grep '/vfio-variant\.1$')
text=$(man -E UTF-8 -l "$page" 2>/dev/null)
missing=""
for command in $("$cli" __complete ''); do
	grep -qE "^ +vfio-variant $command( |$)" <<<"$text" || missing="$missing $command"
done
if [ -n "$page" ] && [ -z "$missing" ]; then
	echo "ok $n - vfio-variant(1)'s synopsis has every command"
else
	echo "not ok $n - vfio-variant(1)'s synopsis has every command (missing:${missing:- the page})"
	failed=$((failed + 1))
fi
[ "$failed" -eq 0 ]
