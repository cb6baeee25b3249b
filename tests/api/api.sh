#!/usr/bin/env bash
# The HTTP API (issue #18) with curl against a real database: every route's
# success, the CLI's bad inputs (tests/cli/bad_input.sh) as 4xx naming the
# field, tokens and scopes, 404/405/409/412, idempotent retries (also racing),
# hostile bodies, limits, TLS and the plain-HTTP rule; at the end every
# answer is checked against data/openapi.json (validate.py).
source "$(dirname "$0")/lib.sh"

PROV=$(token crm provision)
READ=$(token wallboard read)
BILL=$(token erp billing)
check "tokens created" test -n "$PROV" -a -n "$READ" -a -n "$BILL"
eq "only the token's SHA-256 is stored" "$(q "select hash from api_tokens where name = 'crm'")" \
	"$(printf %s "$PROV" | sha256sum | cut -d' ' -f1)"
check "the token itself is nowhere in the database" bash -c "! sqlite3 '$DB' .dump | grep -q '$PROV'"
serve U --allow-plain --rate 600000 --burst 100000 || exit 1
AP=(-H "Authorization: Bearer $PROV")
AR=(-H "Authorization: Bearer $READ")
AB=(-H "Authorization: Bearer $BILL")
J=(-H 'Content-Type: application/json')

# create NAME [extra JSON members]: POST /v1/customers as the CLI's create()
create() {
	local name=$1 extra=${2:-}
	local mail
	mail="admin@x$(printf %s "$name" | md5sum | cut -c1-8).example"
	call POST /v1/customers "${AP[@]}" "${J[@]}" --data-binary @- <<EOF
{"name": $(jq -Rn --arg n "$name" '$n'), "product_type": "analytics-pro", "country": "FR",
 "admin_name": "Admin", "admin_email": "$mail"$extra}
EOF
}

# ---- access ----
call GET /v1/customers
expect "no token: 401" 401 .error.code unauthorized
check "401 asks for a bearer token" test "$(hdr WWW-Authenticate)" = Bearer
call GET /v1/customers -H "Authorization: Bearer pdk_nope"
expect "unknown token: 401" 401 .error.field authorization
call POST /v1/customers "${AR[@]}" "${J[@]}" -d '{}'
expect "read token may not create: 403" 403 .error.code forbidden
call GET /v1/customers "${AB[@]}"
expect "billing token may not list customers: 403" 403 .error.field scope
call GET /v1/billing?period=2026-11 "${AP[@]}"
expect "provision token may not bill: 403" 403
call GET /v1/nothing "${AP[@]}"
expect "unknown path: 404" 404 .error.code notfound
call PUT /v1/customers "${AP[@]}"
expect "wrong method: 405" 405 .error.code method_not_allowed

# ---- the answers' language: Accept-Language; code and field never change ----
if locale -a 2>/dev/null | grep -qix 'fr_FR.utf-\?8'; then
	call GET /v1/nothing "${AP[@]}" -H 'Accept-Language: fr-CH, fr;q=0.9, en;q=0.8'
	expect "Accept-Language fr: the API's message in French" 404 .error.message \
		"aucune ressource : /v1/nothing"
	eq "… the code stays" "$(jl .error.code)" notfound
	eq "… Content-Language says French" "$(hdr Content-Language)" fr
	call POST /v1/customers "${AP[@]}" "${J[@]}" -H 'Accept-Language: fr' -d '{"name": "Langue",
		"product_type": "analytics-pro", "country": "FR", "admin_name": "A", "admin_email": "a b@x.example"}'
	expect "a core rule in French, its field unchanged" 422 .error.field admin_email
	check "… the message is core's, in French" grep -q "ne doit pas contenir d'espaces" "$TMP/last"
	call GET /v1/nothing "${AP[@]}" -H 'Accept-Language: de, en;q=0.5, fr;q=0.4'
	expect "English weighed above French: English" 404 .error.message "no such resource: /v1/nothing"
	eq "… Content-Language says English" "$(hdr Content-Language)" en
	call GET /v1/nothing "${AP[@]}" -H "Accept-Language: ,;q=,fr;q=nope,$(printf 'x%.0s' {1..100});fr"
	expect "a garbled Accept-Language: English, no error" 404 .error.message \
		"no such resource: /v1/nothing"
	# an API whose process runs in French answers in English unless asked
	U_EN=$U
	LC_ALL=fr_FR.UTF-8 serve U --allow-plain || exit 1
	call GET /v1/nothing "${AP[@]}"
	expect "a daemon in French: English without Accept-Language" 404 .error.message \
		"no such resource: /v1/nothing"
	call GET /v1/nothing "${AP[@]}" -H 'Accept-Language: fr'
	expect "… and French when asked" 404 .error.message "aucune ressource : /v1/nothing"
	U=$U_EN
else
	ok "the answers' language: skipped, fr_FR.UTF-8 is not generated # SKIP"
fi

# ---- create: the whole wizard in one request ----
call GET /v1/customers "${AR[@]}"
expect "empty list" 200 '.customers | length' 0
create "Société Générale" ', "reference": "R-1001", "notes": "first"'
expect "create: 201" 201 .name "Société Générale"
SG_TENANT=$(jl .tenant_id)
check "create: ETag is the version" test "$(hdr ETag)" = '"1"'
eq "create: the primary user is the customer admin" "$(jl '.users[0].role')" customer-admin
eq "create: the invitation is queued" "$(jl '.users[0].invitation')" queued
eq "create: one invitation in the outbox" "$(q 'select count(*) from outbox')" 1
eq "audit: who is the token and the client address" \
	"$(q "select actor || ' ' || client from audit where object = 'customer' and action = 'create'")" \
	"api:crm 127.0.0.1"
call POST /v1/customers "${AP[@]}" "${J[@]}" --data-binary @- <<'EOF'
{"name": "Wizard SA", "product_type": "contact-centre", "country": "Belgique",
 "admin_name": "Wanda", "admin_email": "wanda@wizard.example", "admin_extension": "100",
 "trial_days": 14, "time_zone": "Europe/Brussels",
 "users": [{"display_name": "Sam", "email": "sam@wizard.example", "extension": "101", "role": "Supervisor"},
           {"display_name": "Ada", "email": "ada@wizard.example", "role": "agent"}],
 "pbx": {"platform": "asterisk-ami", "host": "pbx.wizard.example", "port": 5038,
         "username": "provdesk", "secret": "hunter2", "enabled": false}}
EOF
expect "create with users, roles and a PBX: 201" 201 '.users | length' 3
eq "roles by name or key" "$(jl '[.users[].role] | join(",")')" "customer-admin,supervisor,agent"
eq "the PBX is stored" "$(jl .pbx.host)" pbx.wizard.example
eq "the trial is set" "$(jl .trial.end)" 2026-11-23
eq "the country's default locale" "$(jl .locale)" fr_BE
check "the PBX secret is never answered" bash -c "! grep -q hunter2 '$TMP/last'"
eq "three invitations more" "$(q 'select count(*) from outbox')" 4
call POST /v1/customers "${AP[@]}" "${J[@]}" --data-binary @- <<'EOF'
{"name": "Half Done", "product_type": "analytics-pro", "country": "FR",
 "admin_name": "H", "admin_email": "h@half.example",
 "users": [{"display_name": "Ok", "email": "ok@half.example"}, {"display_name": "Bad", "email": "nope"}]}
EOF
expect "a bad second user refuses the whole create: 422" 422 .error.field "users[1].email"
eq "all or nothing: no customer, no invitation" "$(q "select count(*) from customers where name = 'Half Done'") $(q 'select count(*) from outbox')" "0 4"

# ---- the CLI's bad inputs (tests/cli/bad_input.sh), as 4xx naming the field ----
create ""
expect "empty name" 422 .error.field name
create "   "
expect "whitespace-only name" 422 .error.field name
create "$(printf 'é%.0s' {1..101})"
expect "101-character name" 422 .error.field name
create "SOCIETE GENERALE"
expect "duplicate differing in case and accents: 409" 409 .error.code name_taken
create "  société générale  "
expect "duplicate after trimming: 409" 409 .error.field name
for bad in '"product_type": "platinum"' '"country": "Atlantis"' '"country": "XX"' '"country": "Guin"' \
	'"time_zone": "Mars/Olympus_Mons"' '"locale": "xx_YY"' '"locale": "fr"'; do
	field=${bad%%\":*}
	field=${field#\"}
	call POST /v1/customers "${AP[@]}" "${J[@]}" -d "{\"name\": \"Foo\", \"product_type\": \"analytics-pro\", \"country\": \"FR\", \"admin_name\": \"A\", \"admin_email\": \"a@foo.example\", $bad}"
	if [[ $ST == 400 ]]; then # a member given twice: JSON refuses duplicates
		call POST /v1/customers "${AP[@]}" "${J[@]}" -d "$(jq -c --argjson o "{$bad}" '{name: "Foo", product_type: "analytics-pro", country: "FR", admin_name: "A", admin_email: "a@foo.example"} + $o' <<<null)"
	fi
	expect "invalid $bad" 422 .error.field "$field"
done
for bad in "plainaddress" "a@" "@foo.example" "a b@foo.example" "a@foo" "a@@foo.example"; do
	call POST /v1/customers "${AP[@]}" "${J[@]}" -d "{\"name\": \"Foo\", \"product_type\": \"analytics-pro\", \"country\": \"FR\", \"admin_name\": \"A\", \"admin_email\": \"$bad\"}"
	expect "invalid email '$bad'" 422 .error.field admin_email
done
create Foo ', "admin_extension": "12ab"'
expect "invalid extension" 422 .error.field admin_extension
create Foo ", \"reference\": \"$(printf 'r%.0s' {1..65})\""
expect "over-long reference" 422 .error.field reference
create Foo ", \"notes\": \"$(printf 'n%.0s' {1..4001})\""
expect "over-long notes" 422 .error.field notes
call POST /v1/customers "${AP[@]}" "${J[@]}" -d '{"name": "Foo", "product_type": "compliance-recording", "country": "US", "admin_name": "A", "admin_email": "a@foo.example"}'
expect "product type not sold in the country" 422 .error.field product_type
call POST /v1/customers "${AP[@]}" "${J[@]}" -d '{"name": "Foo", "product_type": "contact-centre-plus", "country": "FR", "admin_name": "A", "admin_email": "a@foo.example", "trial_days": 30}'
expect "trial on a product type that forbids it" 422
create Foo ', "trial_days": "abc"'
expect "trial days not a number: 400" 400 .error.field trial_days
create Foo ', "trial_days": -3'
expect "negative trial days: 400" 400 .error.field trial_days
call POST /v1/customers "${AP[@]}" "${J[@]}" -d '{"name": "Foo"}'
expect "missing product type: 400" 400 .error.field product_type
create Foo ', "colour": "blue"'
expect "unknown member: 400" 400 .error.field colour
create Foo ', "internal_system": "yes"'
expect "ill-typed member: 400" 400 .error.field internal_system
create "Interne Un" ', "internal_system": true'
expect "first internal system, with the warning" 201 '.warnings | length' 1
create "Interne Deux" ', "internal_system": true'
expect "internal system beyond the limit" 422
call GET "/v1/customers?filter=$(printf 'a%.0s' {1..201})" "${AR[@]}"
expect "201-byte filter: 400" 400 .error.field filter
eq "nothing half-created" "$(q 'select count(*) from customers')" 3

# ---- hostile bodies ----
call POST /v1/customers "${AP[@]}" "${J[@]}" -d '{"name":'
expect "malformed JSON: 400" 400 .error.field body
call POST /v1/customers "${AP[@]}" "${J[@]}" --data-binary $'{"name": "\xff\xfe", "product_type": "x"}'
expect "invalid UTF-8: 400" 400 .error.field body
call POST /v1/customers "${AP[@]}" "${J[@]}" -d '{"name": "a\u0000b"}'
expect "NUL in a string: 400" 400 .error.field body
python3 -c "print('{\"users\": ' + '[' * 100000 + ']' * 100000 + '}')" >"$TMP/deep.json"
call POST /v1/customers "${AP[@]}" "${J[@]}" --data-binary @"$TMP/deep.json"
expect "100,000-deep nesting: 400" 400 .error.field body
call POST /v1/customers "${AP[@]}" "${J[@]}" -d '["a"]'
expect "a body that is not an object: 400" 400
call POST /v1/customers "${AP[@]}" -H 'Content-Type: text/plain' -d '{}'
expect "not JSON: 415" 415 .error.code unsupported_media_type
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$TMP/big"
call POST /v1/customers "${AP[@]}" "${J[@]}" --data-binary @"$TMP/big"
expect "a body of 1 MiB + 1 byte: 413" 413 .error.code too_large
call POST /v1/customers "${AP[@]}" "${J[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big"
expect "the same, chunked (no length given): 413" 413 .error.code too_large
call GET "/v1/customers?filter=%ff" "${AR[@]}"
expect "invalid UTF-8 in the query: 400" 400 .error.field url

# ---- read ----
call GET "/v1/customers/$SG_TENANT" "${AR[@]}"
expect "get by tenant id" 200 .name "Société Générale"
call GET /v1/customers/R-1001 "${AR[@]}"
expect "get by reference" 200 .tenant_id "$SG_TENANT"
call GET "/v1/customers/Wizard%20SA" "${AR[@]}"
expect "get by name" 200 '.sub_accounts | length' 0
WZ=$(jl .tenant_id)
call GET /v1/customers/%231 "${AR[@]}"
expect "get by #rowid" 200 .tenant_id "$SG_TENANT"
call GET /v1/customers/nobody "${AR[@]}"
expect "unknown customer: 404" 404 .error.field customer
pd customer show "Société Générale" --json >"$TMP/cli.json"
call GET "/v1/customers/$SG_TENANT" "${AR[@]}"
check "the same object as customer show --json" cmp -s "$TMP/cli.json" "$TMP/last"

# ---- list: paged by keyset ----
for n in Alpha Bravo Charlie Delta Echo; do create "$n" >/dev/null; done
call GET "/v1/customers?limit=2&sort=name" "${AR[@]}"
expect "first page" 200 '[.customers[].name] | join(",")' "Alpha,Bravo"
names=$(jl '[.customers[].name] | join(",")')
cur=$(jl .next_cursor)
create "Aardvark" >/dev/null # added before the cursor: not shown twice, nothing skipped
while [[ $cur != null ]]; do
	call GET "/v1/customers?limit=2&sort=name&cursor=$cur" "${AR[@]}"
	names+=",$(jl '[.customers[].name] | join(",")')"
	cur=$(jl .next_cursor)
done
eq "the pages follow each other" "$names" "Alpha,Bravo,Charlie,Delta,Echo,Interne Un,Société Générale,Wizard SA"
call GET "/v1/customers?sort=-name&limit=1" "${AR[@]}"
expect "descending" 200 '.customers[0].name' "Wizard SA"
call GET "/v1/customers?filter=wiz" "${AR[@]}"
expect "filter" 200 '.customers[0].users' 3
call GET "/v1/customers?sort=colour" "${AR[@]}"
expect "unknown sort: 400" 400 .error.field sort
call GET "/v1/customers?limit=0" "${AR[@]}"
expect "limit 0: 400" 400 .error.field limit
call GET "/v1/customers?sort=name&cursor=3.country.a" "${AR[@]}"
expect "a cursor of another sort: 400" 400 .error.field cursor
pd customer list --json >"$TMP/cli.json"
call GET "/v1/customers?limit=500" "${AR[@]}"
check "the rows of customer list --json" bash -c "diff <(jq .customers '$TMP/last') <(jq . '$TMP/cli.json')"

# ---- update with If-Match ----
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -H 'If-Match: "1"' -d '{"notes": "second", "country": "Belgium"}'
expect "patch at the current version" 200 .notes second
eq "a new country brings its time zone" "$(jl .time_zone)" Europe/Brussels
eq "and its default locale" "$(jl .locale)" fr_BE
check "ETag: the new version" test "$(hdr ETag)" = '"2"'
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -H 'If-Match: "1"' -d '{"notes": "third"}'
expect "patch based on a stale version: 412" 412 .error.code conflict
pd customer update R-1001 --notes "console edit" >/dev/null
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -H 'If-Match: "2"' -d '{"notes": "racing the console"}'
expect "a PATCH racing the console's edit: 412" 412
call GET /v1/customers/R-1001 "${AR[@]}"
expect "nothing overwritten" 200 .notes "console edit"
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -H 'If-Match: soon' -d '{"notes": "x"}'
expect "malformed If-Match: 400" 400 .error.field if_match
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -d '{"name": "Wizard SA"}'
expect "rename onto a taken name: 409" 409 .error.code name_taken
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -d '{"product_type": "contact-centre"}'
expect "product type change needs confirming: 422" 422 .error.field product_type
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -d '{"product_type": "contact-centre", "confirm_product_change": true, "reference": null}'
expect "confirmed product type change, reference cleared" 200 .reference null
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -d '{"trial_end": "2026-02-30"}'
expect "impossible trial end: 400" 400 .error.field trial_end
call PATCH /v1/customers/R-1001 "${AP[@]}" "${J[@]}" -d '{}'
expect "nothing to change: 400" 400
call PATCH "/v1/customers/$SG_TENANT" "${AP[@]}" "${J[@]}" -d '{"disabled": true}'
expect "disable" 200 .status disabled

# ---- users and roles ----
call GET "/v1/customers/$WZ/users" "${AR[@]}"
expect "users" 200 'length' 3
call POST "/v1/customers/$WZ/users" "${AP[@]}" "${J[@]}" -d '{"display_name": "Zoe", "email": "zoe@wizard.example", "role": "reporting"}'
expect "add a user: 201" 201 .role reporting
ZOE=$(jl .id)
call POST "/v1/customers/$WZ/users" "${AP[@]}" "${J[@]}" -d '{"display_name": "Zed", "email": "ZOE@wizard.example"}'
expect "an email the customer has: 422" 422 .error.field email
call POST "/v1/customers/$WZ/users" "${AP[@]}" "${J[@]}" -d '{"display_name": "Zed"}'
expect "missing email: 400" 400 .error.field email
call PUT "/v1/customers/$WZ/users/%23$ZOE/role" "${AP[@]}" "${J[@]}" -d '{"role": "Agent"}'
expect "role by display name" 200 .role agent
call PUT "/v1/customers/$WZ/users/%23$ZOE/role" "${AP[@]}" "${J[@]}" -d '{"role": "king"}'
expect "unknown role: 422" 422 .error.field role
call PUT "/v1/customers/$WZ/users/999/role" "${AP[@]}" "${J[@]}" -d '{"role": null}'
expect "unknown user: 404" 404 .error.field user
call DELETE "/v1/customers/$WZ/users/%23$ZOE" "${AP[@]}"
expect "remove a user" 200 .removed true

# ---- trial ----
call POST "/v1/customers/$WZ/trial/extend" "${AP[@]}" "${J[@]}" -d '{"days": 5}'
expect "extend the trial" 200 .trial.end 2026-11-28
call POST "/v1/customers/$WZ/trial/extend" "${AP[@]}" "${J[@]}" -d '{"days": -3}'
expect "negative extension: 400" 400 .error.field days
call POST "/v1/customers/$WZ/trial/convert" "${AP[@]}"
expect "convert the trial" 200 .trial.converted true
call POST /v1/customers/Alpha/trial/convert "${AP[@]}"
expect "convert without a trial: 422" 422

# ---- PBX ----
call GET "/v1/customers/$WZ/pbx/status" "${AR[@]}"
expect "PBX status from the stored row" 200 .state disabled
pd pbx status "$WZ" --json >"$TMP/cli.json"
check "the object of pbx status --json" cmp -s "$TMP/cli.json" "$TMP/last"
call GET /v1/customers/Alpha/pbx/status "${AR[@]}"
expect "no PBX: 404" 404 .error.field pbx
call POST "/v1/customers/$WZ/pbx/test" "${AP[@]}"
expect "PBX test without the daemon: 503" 503 .error.code unavailable
check "503 says when to retry" test -n "$(hdr Retry-After)"
call POST "/v1/customers/$WZ/pbx/resync" "${AP[@]}"
expect "PBX resync without the daemon: 503" 503
call GET /v1/events "${AR[@]}"
expect "events without the daemon: 503" 503
serve UH --allow-plain --hooks || exit 1
U0=$U U=$UH
call POST "/v1/customers/$WZ/pbx/test" "${AP[@]}"
expect "PBX test through the daemon's hook" 200 '.steps[0].step' "fake test"
call POST "/v1/customers/$WZ/pbx/resync" "${AP[@]}"
expect "PBX resync through the hook" 200 '.customer | startswith("customer ")' true
call GET /v1/events "${AP[@]}" -N
expect "events through the daemon's feed" 200
check "as Server-Sent Events" bash -c "grep -qi '^content-type: text/event-stream' '$TMP/hdr' && grep -q '^data: {\"n\": 1}' '$TMP/last'"
U=$U0

# ---- catalogue and billing ----
call GET /v1/catalogue "${AB[@]}"
expect "catalogue (billing token)" 200 '.roles | length' 4
pd catalogue --json >"$TMP/cli.json"
check "the object of catalogue --json" cmp -s "$TMP/cli.json" "$TMP/last"
call GET "/v1/billing?period=2026-11" "${AB[@]}"
expect "billing as JSON" 200 .period 2026-11
pd billing export --period 2026-11 --json >"$TMP/cli.json"
check "the document of billing export --json" cmp -s "$TMP/cli.json" "$TMP/last"
call GET "/v1/billing?period=2026-11" "${AB[@]}" -H 'Accept: text/csv'
expect "billing as CSV" 200
pd billing export --period 2026-11 >"$TMP/cli.csv"
check "the CSV of billing export" cmp -s "$TMP/cli.csv" "$TMP/last"
call GET "/v1/billing" "${AB[@]}"
expect "billing without a period: 400" 400 .error.field period
call GET "/v1/billing?period=2026-13" "${AB[@]}"
expect "billing of a bad period: 400" 400 .error.field period

# ---- Idempotency-Key ----
call POST /v1/customers "${AP[@]}" "${J[@]}" -H 'Idempotency-Key: crm-4711' -d '{"name": "Once", "product_type": "analytics-pro", "country": "FR", "admin_name": "O", "admin_email": "o@once.example"}'
expect "first create with a key" 201
first=$(jl .tenant_id)
call POST /v1/customers "${AP[@]}" "${J[@]}" -H 'Idempotency-Key: crm-4711' -d '{"name": "Once", "product_type": "analytics-pro", "country": "FR", "admin_name": "O", "admin_email": "o@once.example"}'
expect "a retry gets the same answer" 201 .tenant_id "$first"
check "marked as replayed" test "$(hdr Idempotent-Replayed)" = true
eq "one customer, one invitation" "$(q "select count(*) from customers where name = 'Once'") $(q "select count(*) from outbox o join users u on u.id = o.user_id where u.email = 'o@once.example'")" "1 1"
call POST /v1/customers "${AP[@]}" "${J[@]}" -H 'Idempotency-Key: crm-4711' -d '{"name": "Twice", "product_type": "analytics-pro", "country": "FR", "admin_name": "O", "admin_email": "o@once.example"}'
expect "the key with another request: 422" 422 .error.field idempotency_key
call POST /v1/customers "${AP[@]}" "${J[@]}" -H "Idempotency-Key: $(printf 'k%.0s' {1..201})" -d '{}'
expect "an over-long key: 400" 400 .error.field idempotency_key
call GET /v1/customers "${AP[@]}" -H 'Idempotency-Key: k'
expect "a key on a GET: 400" 400
pids=()
for i in 1 2 3 4 5 6; do
	curl -s -o "$TMP/race.$i" -w '%{http_code}\n' -X POST "$U/v1/customers" "${AP[@]}" "${J[@]}" \
		-H 'Idempotency-Key: race-1' -d '{"name": "Racer", "product_type": "analytics-pro", "country": "FR", "admin_name": "R", "admin_email": "r@race.example"}' >"$TMP/race.st.$i" &
	pids+=($!)
done
wait "${pids[@]}"
eq "six racing retries: all 201" "$(cat "$TMP"/race.st.* | sort -u | tr -d '\n')" 201
eq "six racing retries: one customer" "$(q "select count(*) from customers where name = 'Racer'")" 1
eq "six racing retries: the same tenant in every answer" "$(jq -r .tenant_id "$TMP"/race.[1-6] | sort -u | wc -l)" 1
call POST /v1/customers "${AP[@]}" "${J[@]}" -H 'Idempotency-Key: bad-then-good' -d '{"name": "", "product_type": "analytics-pro", "country": "FR", "admin_name": "G", "admin_email": "g@good.example"}'
expect "a refused request keeps no answer" 422
call POST /v1/customers "${AP[@]}" "${J[@]}" -H 'Idempotency-Key: bad-then-good' -d '{"name": "Good", "product_type": "analytics-pro", "country": "FR", "admin_name": "G", "admin_email": "g@good.example"}'
expect "so the corrected retry with the key is done" 201 .name Good

# ---- delete ----
call DELETE /v1/customers/Good "${AP[@]}" -H 'If-Match: "7"'
expect "delete at a stale version: 412" 412
call DELETE /v1/customers/Good "${AP[@]}" -H 'If-Match: "1"'
expect "delete" 200 .status deleted
call GET /v1/customers/Good "${AR[@]}"
expect "a deleted customer is still found" 200 .status deleted
call GET "/v1/customers?filter=Good" "${AR[@]}"
expect "but not listed" 200 '.customers | length' 0
call GET "/v1/customers?filter=Good&include_deleted=true" "${AR[@]}"
expect "unless asked" 200 '.customers | length' 1

# ---- revoked token ----
pd api-token revoke wallboard >/dev/null
call GET /v1/customers "${AR[@]}"
expect "a revoked token: 401" 401

# ---- the OpenAPI document and the contract ----
call GET /v1/openapi.json
expect "the document is served without a token" 200
check "as installed" cmp -s "$TMP/last" "$PROVDESK_SOURCE_ROOT/data/openapi.json"
if python3 -c 'import jsonschema' 2>/dev/null; then
	check "every answer of this script matches data/openapi.json" \
		python3 "$(dirname "$0")/validate.py" "$PROVDESK_SOURCE_ROOT/data/openapi.json" "$TMP/records.tsv"
else
	not_ok "python3-jsonschema is needed for the contract check (.ci/deps --test)"
fi
stop_servers
finish
