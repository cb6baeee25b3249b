#!/usr/bin/env bash
# Checks (or with --fix, applies) the repository's .clang-format on every
# tracked .c and .h file. Prints each file that differs and a count line.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
cf=${CLANG_FORMAT:-clang-format}
if [[ ${1:-} == --fix ]]; then
	git ls-files -z '*.c' '*.h' ':!po/*' | xargs -0 "$cf" -i
	exit
fi
files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files '*.c' '*.h' ':!po/*')
else
	mapfile -t files < <(find src include tests -name '*.[ch]' | sort)
fi
bad=0
for f in "${files[@]}"; do
	[[ -f $f ]] || continue
	if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (tests/style/format.sh --fix)"
		bad=$((bad + 1))
	fi
done
echo "$((${#files[@]} - bad)) passed, $bad failed"
((bad == 0))
