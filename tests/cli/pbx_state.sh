#!/usr/bin/env bash
# customer list --sort pbx / --pbx STATE / --json, and pbx status, over the PBX
# states a monitor stored: worst first, the filter's words, each row's state,
# since, last error, updated_at and age, and the stale wording when no running
# monitor stands behind a row (its monitor stopped, or wrote nothing for 90 s).
# The rows are written as a monitor writes them; the clock is set per command.
source "$(dirname "$0")/lib.sh"

export PD_TEST_SECRET=s3cret
mk() { # NAME [--disabled|none]: a customer, with a PBX connection unless "none"
	run customer create --name "$1" --product-type analytics-pro --country FR \
		--admin-name "Admin" --admin-email "admin@$(echo "$1" | tr -dc 'a-z').example"
	expect "create $1" 0
	[[ ${2-} == none ]] && return
	run pbx add "$1" --platform asterisk-ami --host 127.0.0.1 --port 5038 --username u \
		--secret-env PD_TEST_SECRET ${2-}
	expect "pbx add $1" 0
}
# status NAME LINK UPDATED_AT [MONITORED] [ERROR]: the row a monitor writes
status() {
	q "INSERT OR REPLACE INTO pbx_status(customer_id, state, last_error, updated_at, link,
		since, monitored) SELECT id, '$2', ${5:-NULL}, $3, '$2', $3 - 60, ${4:-1}
		FROM customers WHERE name = '$1'"
}
T=1794312000 # 2026-11-10T12:00:00Z: the rows' updated_at
at() { PROVDESK_NOW=@$(($T + $1)) PROVDESK_CLOCK_START= "${@:2}"; } # at SECONDS_AFTER_T CMD...

mk "Aucun PBX" none
mk "Bloqué Auth"
mk "Calme Plat"
mk "Débranché" --disabled
mk "Éteint Jamais"
mk "Fébrile"
status "Bloqué Auth" auth-failed $T 1 "'login refused'"
status "Calme Plat" monitoring $T
status "Fébrile" retrying $T 1 "'connection refused'"
names='[c["name"] for c in d]'

# ---- sort: worst first, a stable tie-break (the id), both directions
at 30 run customer list --sort pbx --json
expect "list --sort pbx" 0
jeq "worst first" "$names" \
	'["Bloqué Auth", "Fébrile", "Éteint Jamais", "Calme Plat", "Débranché", "Aucun PBX"]'
at 30 run customer list --sort pbx --desc --json
jeq "--desc reverses it" "$names" \
	'["Aucun PBX", "Débranché", "Calme Plat", "Éteint Jamais", "Fébrile", "Bloqué Auth"]'
at 30 run customer list --sort pbx --limit 2 --json
jeq "--limit keeps the order" "$names" '["Bloqué Auth", "Fébrile"]'

# ---- filter
pbxf() { at 30 run customer list --pbx "$1" --json; expect "--pbx $1" 0; jeq "--pbx $1: $2" "$names" "$2"; }
pbxf down '["Bloqué Auth", "Éteint Jamais", "Fébrile"]'
pbxf up '["Calme Plat"]'
pbxf failing '["Bloqué Auth"]'
pbxf none '["Aucun PBX"]'
pbxf not-started '["Éteint Jamais"]'
pbxf retrying,disabled '["Débranché", "Fébrile"]'
# (a filter of letters a tenant id cannot hold: "fé" alone matched a
# random UUID with "fe" in it)
at 30 run customer list --pbx down --filter "fébr" --json
jeq "--pbx with --filter" "$names" '["Fébrile"]'
at 30 run customer list --pbx monitoring --filter "zzz"
expect "no match: says so" 0 "" "no customers match the filter"

# ---- JSON: state, since, last error, updated_at (ISO 8601), age
at 30 run customer list --sort pbx --json
jeq "the failing row" 'd[0]["pbx"]' \
	'{"state": "auth-failed", "status": "auth failed, 30 s ago", "monitored": true, "since": "2026-11-10T11:59:00Z", "last_error": "login refused", "updated_at": "2026-11-10T12:00:00Z", "age_s": 30}'
jeq "not started: no row yet" 'd[2]["pbx"]' \
	'{"state": null, "status": "not started", "monitored": false, "since": null, "last_error": null, "updated_at": null, "age_s": null}'
jeq "a disabled connection" '[d[4]["pbx"]["state"], d[4]["pbx"]["status"]]' '["disabled", "disabled"]'
jeq "no PBX: null" 'd[5]["pbx"]' 'null'
jeq "pbx_state kept" 'd[3]["pbx_state"]' 'monitoring'
at 30 run customer list --sort pbx
expect "text: the state and its age" 0 "auth failed, 30 s ago"
check "text: monitoring, 30 s ago" grep -q "Calme Plat .*monitoring, 30 s ago" "$TMP/out"

# ---- nothing stale passes for live: 12 minutes without a heartbeat
at 720 run customer list --sort pbx --json
jeq "stale: not monitored, last known" 'd[3]["pbx"]["status"]' \
	'not monitored (last known: monitoring, 12 min ago)'
jeq "stale: monitored false, age" '[d[3]["pbx"]["monitored"], d[3]["pbx"]["age_s"]]' '[false, 720]'
jeq "stale rows still sort by their last known state" "$names" \
	'["Bloqué Auth", "Fébrile", "Éteint Jamais", "Calme Plat", "Débranché", "Aucun PBX"]'
at 720 run customer list
check "text: stale wording" grep -q "not monitored (last known: auth failed, 12 min ago)" "$TMP/out"
at 89 run customer list --pbx up --json
jeq "89 s: still fresh" 'd[0]["pbx"]["monitored"]' 'true'
at 90 run customer list --pbx up --json
jeq "90 s: stale" 'd[0]["pbx"]["monitored"]' 'false'

# ---- pbx status: fresh, stale, stopped. No monitor (provdesk serve) answers
# here, so even a row written 42 s ago is the last known state, not a live
# one (a live one: tests/cli/serve_commands.sh)
at 42 run pbx status "Calme Plat"
expect "pbx status, no monitor" 0 "State:        not monitored (last known: monitoring, 42 s ago)"
check "its age" grep -q "^Updated:      42 s ago (no monitor running since)$" "$TMP/out"
check "since" grep -q "^Since:        2026-11-10T11:59:00Z (102 s ago)$" "$TMP/out"
at 42 run pbx status "Calme Plat" --check
expect "--check: no monitor" 69
at 720 run pbx status "Calme Plat"
expect "pbx status stale" 0 "State:        not monitored (last known: monitoring, 12 min ago)"
check "stale: no live figures" bash -c "! grep -q 'Live calls' '$TMP/out'"
check "stale: updated says so" grep -q "^Updated:      12 min ago (no monitor running since)$" "$TMP/out"
at 720 run pbx status "Calme Plat" --check
expect "--check: stale is not monitoring" 69
at 720 run pbx status "Bloqué Auth" --check
expect "--check: a stale auth failure is not live either" 69
at 720 run pbx status "Calme Plat" --json
jeq "json: stale" '[d["state"], d["status"], d["monitored"], d["age_s"], d["updated_at"]]' \
	'["monitoring", "not monitored (last known: monitoring, 12 min ago)", false, 720, "2026-11-10T12:00:00Z"]'
# the monitor stopped cleanly 30 s ago (monitored = 0): stale at once
status "Calme Plat" monitoring $T 0
at 30 run pbx status "Calme Plat"
expect "stopped monitor: stale at once" 0 "State:        not monitored (last known: monitoring, 30 s ago)"
at 30 run customer list --pbx up --json
jeq "stopped monitor: list too" 'd[0]["pbx"]["status"]' 'not monitored (last known: monitoring, 30 s ago)'
at 30 run pbx status "Débranché" --json
jeq "a disabled connection stays disabled" '[d["state"], d["status"]]' '["disabled", "disabled"]'

# pbx show and customer show say it the same way
status "Calme Plat" monitoring $T
at 720 run pbx show "Calme Plat" --json
jeq "pbx show: stale" '[d["state"], d["status"], d["monitored"], d["age_s"]]' \
	'["monitoring", "not monitored (last known: monitoring, 12 min ago)", false, 720]'
at 30 run customer show "Calme Plat" --json
jeq "customer show: fresh" '[d["pbx"]["status"], d["pbx"]["monitored"], d["pbx"]["updated_at"]]' \
	'["monitoring", true, "2026-11-10T12:00:00Z"]'

# ---- bad input: the option and what it accepts
run customer list --sort bogus
expect "--sort unknown" 64 "" "--sort: unknown column 'bogus' (one of: name, product_type, reference, country, status, internal_system, users, created, pbx)"
for bad in bogus "" "down," "UP" ",up" "down;up"; do
	run customer list --pbx "$bad"
	expect "--pbx '$bad' refused" 64 "" "--pbx: unknown PBX state '$bad' (one of: down, up, failing, auth-failed,"
done
run customer list --pbx
expect "--pbx needs a value" 64 "" "--pbx"
run customer list --pbx bogus --json
expect "--pbx bogus --json" 64
jeq "json error names the field" 'd["error"]["field"]' 'pbx'

finish
