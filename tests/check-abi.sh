#!/bin/bash
# The shared library exports exactly the functions of the public header:
# nothing internal leaks (hidden visibility + version script), nothing
# declared is missing. Usage: check-abi.sh LIBRARY HEADER
set -u
library=$1 header=$2
exported=$(nm -D --defined-only "$library" | awk '$2 == "T" { print $3 }' | sed 's/@.*//' | sort -u)
declared=$(grep -oE '\bvv_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u)
if [ "$exported" = "$declared" ]; then
	echo "ok: $(wc -l <<<"$exported") exported functions match the header"
	exit 0
fi
echo "exported but not declared:"; comm -23 <(echo "$exported") <(echo "$declared")
echo "declared but not exported:"; comm -13 <(echo "$exported") <(echo "$declared")
exit 1
