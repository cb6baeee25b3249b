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
# the daemon's answers (tests/api/serve_daemon.sh validates them against these)
jqe() { jq -e "$@" >/dev/null; }
check "pbx test's answer is PbxTestResult" jqe \
	'.paths["/v1/customers/{id}/pbx/test"].post.responses["200"].content["application/json"].schema["$ref"] == "#/components/schemas/PbxTestResult"' "$DOC"
for st in 403 502 503; do
	check "pbx test's $st may carry the steps (PbxTestFailure)" jqe --arg s "$st" \
		'[.paths["/v1/customers/{id}/pbx/test"].post.responses[$s].content["application/json"].schema.oneOf[]["$ref"]] | index("#/components/schemas/PbxTestFailure") != null' "$DOC"
done
check "pbx resync's answer is PbxResyncResult" jqe \
	'.paths["/v1/customers/{id}/pbx/resync"].post.responses["200"].content["application/json"].schema["$ref"] == "#/components/schemas/PbxResyncResult"' "$DOC"
check "the events are named (live, link), their data LiveEvent" jqe \
	'.paths["/v1/events"].get.responses["200"].content["text/event-stream"]["x-events"] | (keys == ["link", "live"]) and all(.[]; .data["$ref"] == "#/components/schemas/LiveEvent")' "$DOC"
check "Last-Event-ID is documented" jqe \
	'.paths["/v1/events"].get.parameters | any(.name == "Last-Event-ID" and .in == "header")' "$DOC"
if python3 -c 'import openapi_spec_validator' 2>/dev/null; then
	check "valid OpenAPI (openapi-spec-validator)" python3 -m openapi_spec_validator "$DOC"
else
	echo "# openapi-spec-validator is not installed: the document's own check is skipped"
fi
finish
