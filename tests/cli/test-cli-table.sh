#!/bin/bash
# The command table against what the commands do: `help` lists every
# command; each command's own help names it on its usage line and lists
# exactly the options the table gives it (which completion offers and the
# man page's synopsis shows); `__synopsis` has a line per command.
# Usage: test-cli-table.sh VFIO_VARIANT
set -u
cli=$1
export LC_ALL=C

mapfile -t commands < <("$cli" __complete '')
globals=$(mktemp)
trap 'rm -f "$globals"' EXIT
# The global options, and --help, which every command has.
"$cli" __complete - | grep -vxF -- --version >"$globals"
help=$("$cli" help)
synopsis=$("$cli" __synopsis)
[ "${#commands[@]}" -ge 8 ] || { echo "1..0 # too few commands from __complete: ${commands[*]}"; exit 1; }

n=0 failed=0
echo "1..$((${#commands[@]} * 4))"
check() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}

for command in "${commands[@]}"; do
	problem=""
	grep -qE "^  $command +[A-Z]" <<<"$help" || problem=$help
	check "help lists $command" "$problem"

	own=$("$cli" help "$command")
	status=$?
	problem=""
	[ "$status" -eq 0 ] || problem="help $command: exit status $status"
	grep -q "vfio-variant \(\[GLOBAL\] \)\?$command\b" <<<"$own" || problem="$problem${problem:+; }no usage line naming $command: $own"
	check "help $command names it" "$problem"

	# The options its help shows (GOption's "  --name=ARG  text" lines),
	# less the global ones, against those the table gives it.
	shown=$(grep -oE '^  (-[a-z], )?--[a-z-]+' <<<"$own" | sed -E 's/.*(--[a-z-]+)$/\1/' |
		grep -vxFf "$globals" | sort)
	table=$("$cli" __complete "$command" - | grep -vxFf "$globals" | sort)
	check "$command: its help's options are the table's" \
		"$([ "$shown" = "$table" ] || diff <(echo "$table") <(echo "$shown") | sed 's/^< /table only: /; s/^> /help only: /' | grep only)"

	problem=""
	grep -qE "^\*vfio-variant\* \*$command\*( |$)" <<<"$synopsis" || problem=$synopsis
	check "__synopsis has $command" "$problem"
done
[ "$failed" -eq 0 ]
