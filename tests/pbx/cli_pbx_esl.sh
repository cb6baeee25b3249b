#!/usr/bin/env bash
# A FreeSWITCH customer through the real binary over real TCP against
# `provdesk lab-pbx --platform freeswitch`, with a real SQLite store:
# `pbx resync` syncs the directory's users ("N new, M updated, K removed"),
# one sub-account per domain, links a console user by email and one by the
# user part of user@domain (before and after the sync); a second resync
# writes nothing; after the lab's directory shrinks the missing users are
# removed; `pbx test` names each step (event socket, authentication, version);
# a wrong password exits 77, an AMI port 76, a closed port 69; `pbx status` answers;
# the password never appears in any output.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "${1:-}" pd-cli-pbx-esl

SECRET='Esl-Lab-S3cret!'
printf '%s\n' "$SECRET" >"$TMP/secret"
printf 'wrong-secret-42\n' >"$TMP/wrong"
# start_lab USERS PORT: the FreeSWITCH lab, 3 domains; sets PORT
start_lab() {
	lab_start "$TMP/lab.json" --platform freeswitch --listen "127.0.0.1:$2" \
		--secret-file "$TMP/secret" --users "$1" --sites 3 --call-rate 0 --json
	PORT=$(json_port "$TMP/lab.json")
	check "FreeSWITCH lab started on port $PORT" test -n "$PORT" -a -z "${PORT//[0-9]/}"
}
start_lab 12 0

# the admin's email is Carla Rossi's (1003) in the lab's directory: linked
run 0 "customer create" -- customer create --name "Opérateur Sud" --product-type analytics-pro \
	--country FR --admin-name "Carla Admin" --admin-email Carla.Rossi@lab.example
run 0 "pbx add freeswitch-esl" -- pbx add "Opérateur Sud" --platform freeswitch-esl --host 127.0.0.1 \
	--port "$PORT" --secret-file "$TMP/secret" --auto-provision-sub-accounts
run 0 "pbx status before any monitor" -- pbx status "Opérateur Sud"
has "status says not monitored" "not monitored"

run 0 "pbx test passes" -- pbx test "Opérateur Sud"
has "test names the event socket" "ok   event socket"
has "test reports the version" "FreeSWITCH Version 1.10"
run 0 "pbx test --json" -- pbx test "Opérateur Sud" --json
has "json ok" '"ok": true'

# linking by extension: FreeSWITCH endpoints are user@domain, so a console
# extension (digits, no '@') is compared with the user part (1004 of
# 1004@default)
run 0 "console user with extension 1004" -- user add "Opérateur Sud" --name "Diego Poste" \
	--email diego.poste@sud.example --extension 1004
run 0 "first resync" -- pbx resync "Opérateur Sud"
has "first resync result" "12 new, 0 updated, 0 removed, 2 linked"
has "one sub-account per domain" "3 sub-accounts added"
run 0 "second resync" -- pbx resync "Opérateur Sud"
has "second resync writes nothing" "0 new, 0 updated, 0 removed"
run 0 "resync --json" -- pbx resync "Opérateur Sud" --json
has "json unchanged" '"unchanged": 12'

run 0 "user list --json" -- user list "Opérateur Sud" --json
eqj "endpoints are user@domain" "sorted(u['endpoint'] for u in d if u.get('endpoint'))[:3]" \
	'["1001@default", "1002@site-2", "1003@site-3"]'
eqj "1003 has its directory email" "[u['email'] for u in d if u.get('endpoint') == '1003@site-3']" \
	'["carla.rossi@lab.example"]'
eqj "1003 linked to the admin by email" \
	"[u['linked_user_id'] for u in d if u.get('endpoint') == '1003@site-3'] == [u['id'] for u in d if u['email'] == 'Carla.Rossi@lab.example']" "true"
eqj "1004@default linked to the console user of extension 1004 (by the sync)" \
	"[u['linked_user_id'] for u in d if u.get('endpoint') == '1004@default'] == [u['id'] for u in d if u['email'] == 'diego.poste@sud.example']" "true"
eqj "1002@site-2 not linked (no console user has 1002)" \
	"[u['linked_user_id'] for u in d if u.get('endpoint') == '1002@site-2']" '[null]'
eqj "1007 has no email (user_data answers -ERR)" \
	"[u['email'] for u in d if u.get('endpoint') == '1007@default']" '[null]'
eqj "UTF-8 names" "[u['display_name'] for u in d if u.get('endpoint') == '1008@site-2']" '["Hélène Dubois"]'
eqj "unregistered phone" "[u['device_state'] for u in d if u.get('endpoint') == '1010@default']" \
	'["Unavailable"]'

# a console user given an extension after the sync is linked at once
# (users_relink): 1005 is 1005@site-2
run 0 "console user with extension 1005" -- user add "Opérateur Sud" --name "Eva Tard" \
	--email eva.tard@sud.example --extension 1005
run 0 "user list after the edit" -- user list "Opérateur Sud" --json
eqj "1005@site-2 linked to the new console user (by the relink)" \
	"[u['linked_user_id'] for u in d if u.get('endpoint') == '1005@site-2'] == [u['id'] for u in d if u['email'] == 'eva.tard@sud.example']" "true"

# the directory shrinks: the missing users are removed on the next resync
stop_lab
start_lab 10 "$PORT"
run 0 "resync after the directory changed" -- pbx resync "Opérateur Sud"
has "two users removed" "0 new, 0 updated, 2 removed"

# a wrong password: 77, and no retry loop (the command returns)
run 0 "wrong password" -- pbx update "Opérateur Sud" --secret-file "$TMP/wrong"
run 77 "pbx test with a refused password" -- pbx test "Opérateur Sud"
has "test names the failed step" "FAIL authentication"
run 77 "resync with a refused password" -- pbx resync "Opérateur Sud"
has "says authentication failed" "authentication failed"
run 0 "right password again" -- pbx update "Opérateur Sud" --secret-file "$TMP/secret"

# not an event socket (an Asterisk lab on that port): 76
stop_lab
"$PROG" lab-pbx --listen "127.0.0.1:$PORT" --secret-file "$TMP/secret" --users 2 --call-rate 0 \
	--json >"$TMP/lab.json" 2>"$TMP/lab.err" &
LAB_PID=$!
for _ in $(seq $((100 * ${PD_TEST_SLOW:-1}))); do grep -q '}' "$TMP/lab.json" 2>/dev/null && break; sleep 0.05; done
run 76 "pbx test against an AMI port" -- pbx test "Opérateur Sud"
has "says it is not an event socket" "not a FreeSWITCH event socket"

# nobody listening: 69
stop_lab
run 69 "pbx test of an unreachable PBX" -- pbx test "Opérateur Sud"
has "test names TCP connect" "FAIL TCP connect"
run 69 "resync of an unreachable PBX" -- pbx resync "Opérateur Sud"

check "the password never shown" bash -c '! grep -qF -- "$1" "$2"' _ "$SECRET" "$TMP/all"
finish
