#!/usr/bin/env bash
# End-to-end provisioning with the §4.1 commands on a real SQLite file:
# exact spellings, outputs, JSON fields and exit codes.
source "$(dirname "$0")/lib.sh"

# ---- help, version, usage ----
run_raw --version
expect "version" 0 "provdesk 0."
run customer list --version
expect "--version after a command" 0 "provdesk 0."
run_raw --help
expect "top-level help" 0 "customer list|show|create|update|delete|restore"
for cmd in "customer list" "customer show" "customer create" "customer update" "customer delete" \
	"customer restore" "customer trial" "user list" "user add" "user update" "user remove" \
	"role assign" "template list" "pbx add" "pbx show" "pbx update" "pbx enable" \
	"catalogue" "audit" "outbox list" "import" "billing export"; do
	# shellcheck disable=SC2086
	run $cmd --help
	expect "help: $cmd" 0 "Usage: provdesk ${cmd%% *}"
done
run_raw --frobnicate
expect "unknown global option -> 64 naming it" 64 "" "--frobnicate"
run frobnicate
expect "unknown command -> 64" 64 "" "frobnicate"
run customer list --colour
expect "unknown command option -> 64 naming it" 64 "" "--colour"
run customer
expect "group without sub-command -> 64" 64
run customer create --name X
expect "missing required option -> 64 naming it" 64 "" "--product-type"

# ---- create ----
run customer create --name "Société Générale" --product-type analytics-pro --country Allemagne \
	--reference SG-001 --notes $'Première ligne\nseconde ligne' --trial=14 \
	--admin-name "Hélène Dupré" --admin-email helene@sg.example --admin-extension 1001
expect "create with every option" 0 "Created customer Société Générale" ""
check "create says the invitation is queued" grep -q "Invitation for helene@sg.example queued" "$TMP/out"

run customer show "SOCIETE GENERALE" --json
expect "show by folded name" 0
jeq "json tenant_id is a UUID" 'len(d["tenant_id"])' 36
jeq "json name" 'd["name"]' "Société Générale"
jeq "json product_type" 'd["product_type"]' analytics-pro
jeq "json reference" 'd["reference"]' SG-001
jeq "json country from the French name" 'd["country"]' DE
jeq "json time_zone defaulted from country" 'd["time_zone"]' Europe/Berlin
jeq "json notes keep the newline" 'd["notes"]' $'Première ligne\nseconde ligne'
jeq "json trial days_left" 'd["trial"]["days_left"]' 13
jeq "json trial converted" 'd["trial"]["converted"]' false
jeq "json internal_system" 'd["internal_system"]' false
jeq "json status" 'd["status"]' trial
jeq "json version" 'd["version"]' 1
jeq "json primary user role" 'd["users"][0]["role"]' customer-admin
jeq "json primary user extension" 'd["users"][0]["extension"]' 1001
jeq "json invitation queued" 'd["users"][0]["invitation"]' queued
jeq "json pbx null" 'd["pbx"]' null
TENANT=$(jv 'd["tenant_id"]')

run customer create --name "Acme Téléphonie" --product-type analytics-essentials --country Germany \
	--time-zone Europe/Berlin --admin-name "Jean Martin" --admin-email jean@acme.example --json
expect "create --json" 0
jeq "create --json prints the customer" 'd["name"]' "Acme Téléphonie"
jeq "English country name" 'd["country"]' DE
jeq "no trial -> active" 'd["status"]' active

run customer create --name "Lab Interne" --product-type contact-centre --country fr --internal \
	--admin-name "Ops" --admin-email ops@reseller.example
expect "create internal system" 0 "Created customer Lab Interne"

run customer create --name "Verrou SA" --product-type contact-centre-plus --country BE \
	--admin-name "V" --admin-email v@verrou.example
expect "create on a locked product type" 0

# ---- list ----
run customer list
expect "list table" 0 "NAME"
check "list shows the trial days" grep -q "trial (13 days left)" "$TMP/out"
# Columns line up in display cells, not bytes: the PRODUCT TYPE column starts
# at the same character index in the header and in the accented rows.
check "list columns aligned for UTF-8 names" /usr/bin/python3 - "$TMP/out" <<'PY'
import sys
lines = open(sys.argv[1], encoding='utf-8').read().splitlines()
col = lines[0].index('PRODUCT TYPE')
rows = [l for l in lines[1:] if l.startswith('Société') or l.startswith('Acme Télé')]
assert len(rows) == 2, rows
for r in rows:
    assert r[col - 2:col] == '  ' and r[col] != ' ', (r, col)
PY
run customer list --filter generale
expect "filter is accent-insensitive" 0 "Société Générale"
check "filter excludes others" bash -c "! grep -q Acme '$TMP/out'"
run customer list --filter SG-001 --json
expect "filter on reference" 0
jeq "filter on reference finds one" 'len(d)' 1
run customer list --filter "${TENANT:0:8}" --json
jeq "filter on tenant id" 'd[0]["tenant_id"]' "$TENANT"
run customer list --sort name --desc --json
jeq "sort name desc" '[c["name"] for c in d]' '["Verrou SA", "Société Générale", "Lab Interne", "Acme Téléphonie"]'
run customer list --sort nonsense
expect "unknown sort column -> 64" 64 "" "--sort"
run customer list --json
jeq "list json has users count" 'd[0]["users"]' 1

# ---- show ----
run customer show "$TENANT"
expect "show by tenant id" 0 "Tenant id:        $TENANT"
check "show lists the primary user" grep -q "helene@sg.example" "$TMP/out"
run customer show "nobody at all"
expect "show unknown -> 66" 66 "" "customer"

# ---- update, versions ----
run customer update "$TENANT" --reference SG-002 --expect-version 1 --json
expect "update with the current version" 0
jeq "version bumped" 'd["version"]' 2
jeq "reference changed" 'd["reference"]' SG-002
run customer update "$TENANT" --notes "stale edit" --expect-version 1
expect "stale --expect-version -> 75 showing what changed" 75 "" "SG-002"
run customer show "$TENANT" --json
jeq "stale update lost nothing" 'd["notes"]' $'Première ligne\nseconde ligne'
run customer update "$TENANT" --product-type contact-centre
expect "unlocked product change needs --yes" 65 "" "--yes"
check "impact shows the price" grep -q "Licensing impact" "$TMP/err"
run customer update "$TENANT" --product-type contact-centre --yes --json
expect "unlocked product change with --yes" 0
jeq "product changed" 'd["product_type"]' contact-centre
run customer update "Verrou SA" --product-type analytics-pro --yes
expect "locked product change refused" 65 "" "product_type"
run customer update "Acme Téléphonie" --country FR --json
expect "country change" 0
jeq "zone follows the new country" 'd["time_zone"]' Europe/Paris
run customer update "Acme Téléphonie" --disable --json
jeq "disable" 'd["status"]' disabled
run customer update "Acme Téléphonie" --enable --json
jeq "enable" 'd["status"]' active
run customer update "Acme Téléphonie"
expect "update without changes -> 64" 64
run customer update "Acme Téléphonie" --internal --json
expect "second internal system refused" 65 '"field": "internal_system"'

# ---- trial actions ----
run customer trial extend "$TENANT" --days 10 --json
expect "trial extend" 0
jeq "extend adds days" 'd["trial"]["days_left"]' 23
run customer trial convert "$TENANT" --json
jeq "convert -> active" 'd["status"]' active
jeq "convert keeps trial history" 'd["trial"]["converted"]' true
run customer create --name "Essai Court" --product-type analytics-pro --country FR --trial \
	--admin-name E --admin-email e@essai.example --json
jeq "--trial uses the default length" 'd["trial"]["days_left"]' 29
run customer trial end "Essai Court" --json
jeq "trial end -> expired" 'd["status"]' trial-expired

# ---- delete / restore ----
run customer delete "Acme Téléphonie"
expect "delete without --confirm -> 64" 64 "" "--confirm"
run customer delete "Acme Téléphonie" --confirm "Acme"
expect "delete with the wrong name -> 65" 65
run customer delete "Acme Téléphonie" --confirm "acme telephonie"
expect "delete confirmed by the name" 0 "Deleted customer Acme Téléphonie"
run customer list --json
jeq "deleted hidden" '"Acme Téléphonie" in [c["name"] for c in d]' false
run customer list --all --json
jeq "--all shows deleted" '[c["status"] for c in d if c["name"] == "Acme Téléphonie"]' '["deleted"]'
run customer restore "Acme Téléphonie" --json
jeq "restore" 'd["status"]' active

# ---- users and roles ----
run user add "$TENANT" --name "Paul Agent" --email paul@sg.example --extension 1002 --role agent --json
expect "user add" 0
jeq "user role" 'd["role"]' agent
jeq "user invitation queued" 'd["invitation"]' queued
run user add "$TENANT" --name "Doublon" --email HELENE@sg.example
expect "user add duplicate email in customer -> 65" 65 "" "email"
run role assign "$TENANT" paul@sg.example Supervisor --json
expect "role by display name" 0
jeq "role assigned" 'd["role"]' supervisor
run role assign "$TENANT" 1002 none --json
jeq "role none keeps the user" 'd["role"]' null
run role assign "$TENANT" paul@sg.example wizard
expect "unknown role -> 65" 65 "" "role"
run user update "$TENANT" paul@sg.example --name "Paul Superviseur" --json
jeq "user update" 'd["display_name"]' "Paul Superviseur"
run user list "$TENANT" --json
jeq "user list" '[u["email"] for u in d]' '["helene@sg.example", "paul@sg.example"]'
run user remove "$TENANT" paul@sg.example
expect "user remove" 0 "Removed user"

# ---- templates and PBX ----
run template add "Asterisk lab" --platform asterisk-ami --host 127.0.0.1 --port 5038 --username admin
expect "template add" 0 "Added template Asterisk lab"
run template add "Asterisk lab" --platform asterisk-ami
expect "template add twice -> 65" 65
run template list --json
jeq "template list" 'd[0]["port"]' 5038
run template update "Asterisk lab" --port 5039 --json
jeq "template update" 'd["port"]' 5039
export PD_TEST_SECRET='Tr0ub4dor&3-very-secret'
run pbx add "$TENANT" --template "Asterisk lab" --secret-env PD_TEST_SECRET --disabled --json
expect "pbx add from template" 0
jeq "pbx from template host" 'd["host"]' 127.0.0.1
jeq "pbx disabled" 'd["enabled"]' false
jeq "pbx json has no secret" '"secret" in d' false
run pbx add "$TENANT" --template "Asterisk lab" --secret-env PD_TEST_SECRET
expect "second pbx refused" 65
run pbx show "$TENANT"
expect "pbx show" 0 "Secret:           (set; never shown)"
run pbx enable "$TENANT" --json
jeq "pbx enable" 'd["enabled"]' true
run pbx disable "$TENANT" --json
jeq "pbx disable" 'd["enabled"]' false
run pbx update "$TENANT" --auto-provision-sub-accounts
expect "auto-provision only at creation" 65 "" "auto_provision_sub_accounts"
printf 'n3w-s3cret-value\n' >"$TMP/secret"
run pbx update "$TENANT" --secret-file "$TMP/secret" --host 127.0.0.2 --json
jeq "pbx update" 'd["host"]' 127.0.0.2
run customer show "$TENANT" --json
jeq "customer show includes pbx" 'd["pbx"]["platform"]' asterisk-ami
run pbx add "Verrou SA" --platform asterisk-ami --host pbx.example --port 5038 --username u \
	--secret-file "$TMP/missing-file"
expect "unreadable secret file -> 66" 66 "" "secret_file"
run template delete "Asterisk lab"
expect "template delete" 0

# ---- secrets never leak ----
run audit --format csv
expect "audit csv" 0 "id,at,actor,client,customer_id,object,action,detail"
check "audit redacts the secret" grep -q "secret: (changed)" "$TMP/out"
leak=0
for args in "audit --json" "customer show $TENANT --json" "pbx show $TENANT --json" \
	"billing export --period 2026-11" "customer list --json"; do
	# shellcheck disable=SC2086
	pd $args 2>&1 | grep -qe "$PD_TEST_SECRET" -e "n3w-s3cret-value" && leak=1
done
check "no secret in any output" test $leak = 0
check "no secret in the database text dump except the pbx row" bash -c \
	"sqlite3 '$DB' .dump | grep -v '^INSERT INTO pbx' | grep -qe 'n3w-s3cret' && exit 1 || exit 0"

# ---- catalogue, audit, outbox ----
run catalogue --json
expect "catalogue json" 0
jeq "catalogue sections" 'sorted(d.keys())' '["countries", "platforms", "product_types", "roles"]'
jeq "catalogue French names" '[c["name_fr"] for c in d["countries"] if c["code"] == "DE"]' '["Allemagne"]'
jeq "catalogue field types and bounds" '[(f["type"], f.get("min"), f.get("max")) for p in d["platforms"] if p["key"] == "asterisk-ami" for f in p["fields"] if f["key"] in ("tls_verify", "wrapup_time")]' '[["bool", null, null], ["int", 0, 3600]]'
run catalogue
expect "catalogue text" 0 "Product types:"
run audit "$TENANT" --limit 3 --json
expect "audit per customer" 0
jeq "audit limit" 'len(d)' 3
jeq "audit actor" 'd[0]["actor"]' "$(id -un)"
run outbox list --json
expect "outbox list" 0
jeq "outbox has queued invitations" 'all(m["state"] == "queued" for m in d if m["to"] != "paul@sg.example") and len(d) >= 5' true
jeq "the removed user's invitation will not be sent" '[(m["state"], m["last_error"]) for m in d if m["to"] == "paul@sg.example"]' '[["cancelled", "user removed before it was sent"]]'
run outbox retry --all
expect "outbox retry --all" 0 "queued again"
run outbox send
expect "outbox send without SMTP -> 69" 69 "" "smtp"

# ---- billing ----
run billing export --period 2026-11
expect "billing csv" 0 "period,billing_id,customer_name,product_type,licensed_users,active_days,period_days,unit_price,amount,currency,flags"
check "billing uses the reference as billing id" grep -q "^2026-11,SG-002,Société Générale," "$TMP/out"
check "billing internal zero-rated" grep -q "Lab Interne,contact-centre,.*,0.00,EUR,internal / zero-rated" "$TMP/out"
run billing export --period 2026-11 --format json
expect "billing json" 0
jeq "billing json period" 'd["period"]' 2026-11
jeq "billing json lines have flags arrays" '[l["flags"] for l in d["lines"] if l["customer_name"] == "Lab Interne"]' '[["internal / zero-rated"]]'
run billing export --period 2026-11 --output "$TMP/bill.csv"
expect "billing --output" 0 "" "written to"
check "billing file written" grep -q "^period," "$TMP/bill.csv"
run billing export --period 2026-11 --output "$TMP/no/such/dir/bill.csv"
expect "billing output cannot be created -> 73" 73 "" "output"
run billing export --period 2026-1
expect "billing bad period -> 64 naming --period" 64 "" "--period"
run billing export --period 2026-13 --json
expect "billing bad period json error" 64 '"field": "period"'
run billing export
expect "billing missing period -> 64" 64 "" "--period"

# ---- JSON errors ----
run customer create --name "" --product-type analytics-pro --country FR --admin-name A \
	--admin-email a@b.example --json
expect "json error on stdout" 65 '"code": "invalid"' "name"
jeq "json error field" 'd["error"]["field"]' name

finish
