#!/bin/bash
# Translations: every source file that marks messages with _() or N_() is
# in po/POTFILES.in, every listed file exists, and xgettext extracts them.
# Usage: check-po.sh SOURCE_ROOT
set -u
cd "$1" || exit 1
status=0
marked=$(grep -rlE '\b(N_|_)\("' src --include='*.c' | sort)
listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d' | sort)
for file in $(comm -23 <(echo "$marked") <(echo "$listed")); do
	echo "not in po/POTFILES.in: $file"; status=1
done
for file in $listed; do
	[ -f "$file" ] || { echo "listed in po/POTFILES.in but missing: $file"; status=1; }
done
pot=$(mktemp)
trap 'rm -f "$pot"' EXIT
if ! xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --language=C -o "$pot" -f po/POTFILES.in; then
	echo "xgettext failed"; status=1
fi
echo "$(grep -c '^msgid ' "$pot") messages from $(wc -l <<<"$listed") files"
exit $status
