#!/usr/bin/env bash
# A BroadWorks customer through the real binary over real HTTP against
# `provdesk lab-pbx --platform broadworks`, with a real SQLite store: the
# catalogue marks broadworks-xsi supported, so the connection is added
# enabled; `pbx test` names each step (name resolution, TCP connect,
# authentication, directory, event channel); `pbx resync` syncs the
# enterprise directory (one sub-account per group, a console user linked by
# email); a second resync writes nothing; a group-level connection reads its
# group only; a wrong password exits 77, an unknown enterprise 78, a closed
# port 69; the password never appears in any output.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "${1:-}" pd-cli-pbx-xsi

SECRET='Xsi-Lab-S3cret!'
printf '%s\n' "$SECRET" >"$TMP/secret"
printf 'wrong-secret-42\n' >"$TMP/wrong"
# the lab XSP: 12 users, 2 call centres, 3 groups; sets PORT
lab_start "$TMP/lab.json" --platform broadworks --listen 127.0.0.1:0 --secret-file "$TMP/secret" \
	--users 12 --queues 2 --sites 3 --call-rate 0 --json
PORT=$(json_port "$TMP/lab.json")
check "lab XSP started on port $PORT" test -n "$PORT" -a -z "${PORT//[0-9]/}"

run 0 "catalogue platforms" -- catalogue platforms --json
eqj "broadworks-xsi supported (a driver is registered)" \
	"[p['supported'] for p in d['platforms'] if p['key'] == 'broadworks-xsi']" '[true]'

# the admin's email is Carla Rossi's (1003) in the lab's directory: linked
run 0 "customer create" -- customer create --name "Télécom Nord" --product-type analytics-pro \
	--country FR --admin-name "Carla Admin" --admin-email Carla.Rossi@lab.example
run 0 "pbx add broadworks-xsi, enabled" -- pbx add "Télécom Nord" --platform broadworks-xsi \
	--host 127.0.0.1 --port "$PORT" --no-tls --username admin --enterprise-id lab-ent \
	--xsp-hosts "127.0.0.1:1" --secret-file "$TMP/secret" --auto-provision-sub-accounts
# a bad xsp_hosts list is refused when given (core's host-list rule, the
# field named); one already stored (a hand edit of the database) is refused
# by the driver with the same rule (78: not dialled)
run 65 "a bad xsp_hosts list refused" -- pbx update "Télécom Nord" --xsp-hosts "xsp2:99999"
has "naming the field" "xsp_hosts"
sqlite3 "$DB" "UPDATE pbx SET params_json = json_set(params_json, '$.xsp_hosts', 'xsp2:99999')"
run 78 "pbx test refuses a bad stored list" -- pbx test "Télécom Nord"
has "naming the parameters step" "FAIL parameters"
has "and the value" "xsp2:99999"
run 0 "a good xsp_hosts list" -- pbx update "Télécom Nord" --xsp-hosts "127.0.0.1:1, [::1]:2"

run 0 "pbx test passes" -- pbx test "Télécom Nord"
has "test: authentication" "ok   authentication"
has "test: the directory's count" "14 users in enterprise"
has "test: event channel" "opened and deleted"

run 0 "first resync" -- pbx resync "Télécom Nord"
# the monitor (provdesk serve, started by the resync) syncs the link when it
# comes up, which may be before the resync asked: the users are counted in
# the store, not in the summary
has "first resync result" "updated, 0 removed"
check "14 users synced" q_is "SELECT count(*) FROM users WHERE synced = 1" 14
check "one sub-account per group" q_is "SELECT count(*) FROM sub_accounts" 3
run 0 "second resync" -- pbx resync "Télécom Nord"
has "second resync writes nothing" "0 new, 0 updated, 0 removed"
run 0 "user list --json" -- user list "Télécom Nord" --json
eqj "1003 linked to the admin by email" \
	"[u['linked_user_id'] for u in d if u.get('endpoint') == '1003@lab.example'] == [u['id'] for u in d if u['email'] == 'Carla.Rossi@lab.example']" "true"
eqj "UTF-8 names" "[u['display_name'] for u in d if u.get('endpoint') == '1008@lab.example']" '["Hélène Dubois"]'

# group level: that group's users only
run 0 "group level" -- pbx update "Télécom Nord" --group-id group-2
run 0 "resync at group level" -- pbx resync "Télécom Nord"
run 0 "user list --json" -- user list "Télécom Nord" --json
eqj "only group-2's users stay" "sorted(set(u['sub_account'] for u in d if u.get('endpoint')))" '["group-2"]'
run 0 "enterprise level again" -- pbx update "Télécom Nord" --group-id ''

# an unknown enterprise: the directory step, 78
run 0 "unknown enterprise" -- pbx update "Télécom Nord" --enterprise-id no-such-ent
run 78 "pbx test of an unknown enterprise" -- pbx test "Télécom Nord"
has "test names the directory step" "FAIL directory"
run 0 "the right enterprise" -- pbx update "Télécom Nord" --enterprise-id lab-ent

# a wrong password: 77, and no retry loop (the command returns)
run 0 "wrong password" -- pbx update "Télécom Nord" --secret-file "$TMP/wrong"
run 77 "pbx test with a refused password" -- pbx test "Télécom Nord"
has "test names the failed step" "FAIL authentication"
run 77 "resync with a refused password" -- pbx resync "Télécom Nord"
run 0 "right password again" -- pbx update "Télécom Nord" --secret-file "$TMP/secret"

# nobody listening: 69
stop_lab
run 69 "pbx test of an unreachable XSP" -- pbx test "Télécom Nord"
has "test names TCP connect" "FAIL TCP connect"

check "the password never shown" bash -c '! grep -qF -- "$1" "$2"' _ "$SECRET" "$TMP/all"
finish
