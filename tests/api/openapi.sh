#!/usr/bin/env bash
# data/openapi.json describes exactly the router's routes (src/api/server.c):
# every route is in the document with its method, and every operation of
# the document is a route; each operation documents its success and the
# errors every route can give; the document is valid OpenAPI when
# openapi-spec-validator is installed.
source "$(dirname "$0")/lib.sh"
DOC=$PROVDESK_SOURCE_ROOT/data/openapi.json
check "the document is JSON" jq -e .openapi "$DOC"
"$API_SERVE" --routes | sort >"$TMP/routes"
check "the router lists its routes" test -s "$TMP/routes"
jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | ascii_upcase + " " + $p' "$DOC" | sort >"$TMP/documented"
while read -r m p; do
	check "$m $p is in the document" grep -qxF "$m $p" "$TMP/documented"
done <"$TMP/routes"
while read -r m p; do
	check "the document's $m $p is a route" grep -qxF "$m $p" "$TMP/routes"
done <"$TMP/documented"
while read -r m p; do
	[[ $p == /v1/openapi.json ]] && continue
	for st in 400 401 403 429 500 503; do
		check "$m $p documents $st" jq -e --arg p "$p" --arg m "${m,,}" --arg s "$st" \
			'.paths[$p][$m].responses[$s]' "$DOC"
	done
done <"$TMP/routes"
if python3 -c 'import openapi_spec_validator' 2>/dev/null; then
	check "valid OpenAPI (openapi-spec-validator)" python3 -m openapi_spec_validator "$DOC"
else
	echo "# openapi-spec-validator is not installed: the document's own check is skipped"
fi
finish
