#!/bin/bash
# The library states facts; the tools give advice: no translatable message
# of the library (src/lib) names a command-line option (--driver, --force,
# ...) or a command of the CLI ('vfio-variant recover', ...). Those belong
# to the CLI's hint table (src/cli/vv-cli-exit.c). The commands are read
# from the CLI's own command table, so a new command is covered at once.
# Messages are read as xgettext reads them (concatenated, unescaped).
# Usage: check-lib-messages.sh SOURCE_ROOT
set -u
cd "$1" || exit 1

# Temporary: files whose messages are reworded in the engine's split
# (branch i12-engine); the lead empties this list once that is merged.
allowed=""

commands=$(sed -nE 's/^[[:space:]]*\{ \.name = "([a-z-]+)", \.run = vv_cli_[a-z_]+,.*/\1/p' src/cli/vv-cli-commands.c | paste -sd'|')
if [ -z "$commands" ]; then
	echo "no command found in src/cli/vv-cli-commands.c's table"
	exit 1
fi
pot=$(mktemp)
trap 'rm -f "$pot"' EXIT
xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --language=C --no-wrap --omit-header \
	-o "$pot" src/lib/*.c || { echo "xgettext failed"; exit 1; }

# One line per message: "FILE:LINE ... <TAB>MESSAGE" (its references, then
# the msgid's pieces joined).
messages=$(awk '
	/^#: / { refs = refs " " substr($0, 4); next }
	/^msgid / { id = substr($0, 8, length($0) - 8); inid = 1; next }
	/^"/ && inid { id = id substr($0, 2, length($0) - 2); next }
	/^msgstr/ { if (id != "") print refs "\t" id; refs = ""; id = ""; inid = 0 }
' "$pot")
count=$(wc -l <<<"$messages")

status=0
while IFS=$'\t' read -r refs message; do
	grep -qE "(^|[^-[:alnum:]])--[a-z]|vfio-variant ($commands)\b" <<<"$message" || continue
	for ref in $refs; do
		file=${ref%%:*}
		case " $allowed " in *" $file "*) continue ;; esac
		echo "$ref: a library message names a CLI option or command: $message"
		status=1
	done
done <<<"$messages"
echo "$count library messages read; commands: ${commands//|/, }"
exit $status
