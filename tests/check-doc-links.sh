#!/bin/bash
# Every relative link of README.md and docs/*.md resolves: the file or
# directory exists, and a #fragment names a heading of the target (as
# GitHub makes anchors: lower case, punctuation dropped, spaces to '-').
# Usage: check-doc-links.sh SOURCE_ROOT
set -u
cd "$1" || exit 1
status=0 links=0

anchors() { # FILE: the anchors of its headings, one a line
	sed -n 's/^#\{1,6\} \(.*\)/\1/p' "$1" | tr '[:upper:]' '[:lower:]' |
		sed -e 's/[^a-z0-9 _-]//g' -e 's/ /-/g'
}

for doc in README.md docs/*.md; do
	# [text](target): targets without a scheme; code spans removed first.
	# shellcheck disable=SC2016 # the sed and grep expressions are not the shell's
	while IFS= read -r target; do
		links=$((links + 1))
		path=${target%%#*} fragment=
		[ "$path" != "$target" ] && fragment=${target#*#}
		if [ -z "$path" ]; then
			file=$doc
		else
			file=$(dirname "$doc")/$path
		fi
		if [ ! -e "$file" ]; then
			echo "$doc: link to $target: $file does not exist"; status=1; continue
		fi
		if [ -n "$fragment" ] && ! anchors "$file" | grep -qxF -- "$fragment"; then
			echo "$doc: link to $target: no heading of $file makes the anchor #$fragment"; status=1
		fi
	done < <(sed -e 's/`[^`]*`//g' "$doc" | grep -oE '\]\([^)[:space:]]+\)' |
		sed -E 's/^\]\((.*)\)$/\1/' | grep -vE '^[a-z][a-z0-9+.-]*:')
done
echo "$links relative links checked in README.md and docs/*.md"
exit $status
