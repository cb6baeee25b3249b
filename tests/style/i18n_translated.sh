#!/usr/bin/env bash
# Every string marked for translation has its French (po/LINGUAS's languages):
# the template is extracted afresh from po/POTFILES with the keywords of
# po/meson.build, and msgcmp names each message a catalogue lacks (a
# message marked but left untranslated would show in English on a French
# screen). A fuzzy or empty translation counts as missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
xgettext --keyword=_ --keyword=N_ --keyword=P_:1,2 --keyword=NC_:1c,2 --from-code=UTF-8 --language=C \
	--files-from=po/POTFILES -o "$tmp/provdesk.pot"
rc=0
while read -r lang; do
	[[ -z $lang || $lang == \#* ]] && continue
	if msgcmp "po/$lang.po" "$tmp/provdesk.pot" 2>"$tmp/cmp"; then
		echo "ok - po/$lang.po translates every marked message"
	else
		echo "not ok - po/$lang.po lacks translations:"
		sed "s|$tmp/provdesk.pot|the marked sources|" "$tmp/cmp" | head -40
		rc=1
	fi
done <po/LINGUAS
exit $rc
