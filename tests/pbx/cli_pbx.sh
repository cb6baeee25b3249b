#!/usr/bin/env bash
# provdesk lab-pbx + pbx test|resync|status through the real binary over real
# TCP: each failing step is named with its exit code (69 TCP, 76 banner,
# 77 authentication), a resync prints "N new, M updated, K removed" and a
# second one "0 new, 0 updated, 0 removed"; the secret never appears.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "${1:-}" pd-cli-pbx
SRV_PID= LAB2_PID= LAB3_PID= LAB4_PID=
pd_on_exit 'stop_bg LAB4_PID; stop_bg LAB3_PID; stop_bg LAB2_PID; stop_bg SRV_PID'
# start_lab NAME ARGS...: a lab PBX in the background, its --json in $TMP/NAME.json;
# its pid in LAB_STARTED once the file holds the whole document
start_lab() {
	local name=$1
	shift
	"$PROG" lab-pbx --listen 127.0.0.1:0 --secret-file "$TMP/secret" "$@" --json \
		>"$TMP/$name.json" 2>"$TMP/$name.err" &
	LAB_STARTED=$!
	wait_until "$UI_WAIT" lab_started "$TMP/$name.json"
}
lab_port() { json_port "$TMP/$1.json"; }

SECRET='Cli-Lab-S3cret!'
printf '%s\n' "$SECRET" >"$TMP/secret"
printf 'wrong-secret-42\n' >"$TMP/wrong"
start_lab lab --users 12 --sites 3 --call-rate 0
LAB_PID=$LAB_STARTED
PORT=$(lab_port lab)
check "lab-pbx started on port $PORT" test -n "$PORT" -a -z "${PORT//[0-9]/}"

run 0 "customer create" -- customer create --name "Hôtel Lumière" --product-type analytics-pro \
	--country FR --admin-name "Anne Admin" --admin-email anne@example.fr
run 0 "pbx add" -- pbx add "Hôtel Lumière" --platform asterisk-ami --host 127.0.0.1 --port "$PORT" \
	--username admin --secret-file "$TMP/secret" --auto-provision-sub-accounts

run 0 "pbx test passes" -- pbx test "Hôtel Lumière"
has "test names every step" "ok   permissions"
run 0 "pbx test --json" -- pbx test "Hôtel Lumière" --json
has "json ok" '"ok": true'

run 0 "first resync" -- pbx resync "Hôtel Lumière"
has "first resync result" "12 new, 0 updated, 0 removed"
has "sub-accounts from sites" "3 sub-accounts added"
run 0 "second resync" -- pbx resync "Hôtel Lumière"
has "second resync writes nothing" "0 new, 0 updated, 0 removed"
run 0 "resync --json" -- pbx resync "Hôtel Lumière" --json
has "json unchanged" '"unchanged": 12'

# a disabled connection, or user sync off, is not resynced unless --force
run 0 "pbx disable" -- pbx disable "Hôtel Lumière"
run 78 "resync of a disabled PBX refused" -- pbx resync "Hôtel Lumière"
has "says it is disabled" 'the PBX connection of "Hôtel Lumière" is disabled'
has "says how to go on" "--force"
run 78 "refusal --json" -- pbx resync "Hôtel Lumière" --json
has "json names enabled" '"field": "enabled"'
run 0 "--force resyncs a disabled PBX" -- pbx resync "Hôtel Lumière" --force
has "forced resync result" "0 new, 0 updated, 0 removed, 0 linked"
run 0 "pbx enable" -- pbx enable "Hôtel Lumière"
run 0 "user sync off" -- pbx update "Hôtel Lumière" --no-sync
run 78 "resync with sync_users off refused" -- pbx resync "Hôtel Lumière"
has "says sync is off" "sync_users = off"
run 78 "sync off --json" -- pbx resync "Hôtel Lumière" --json
has "json names sync_users" '"field": "sync_users"'
run 0 "--force resyncs with sync off" -- pbx resync "Hôtel Lumière" --force
run 0 "user sync on" -- pbx update "Hôtel Lumière" --sync
run 0 "resync once on again" -- pbx resync "Hôtel Lumière"
run 64 "resync --force=x" -- pbx resync "Hôtel Lumière" --force=yes

# linking: the mailboxes' emails (VoicemailUsersList) link synced users to
# console users with the same email, then by extension; the summary counts them
run 0 "linking customer" -- customer create --name "Cabinet Lié" --product-type analytics-pro \
	--country FR --admin-name "Carla Admin" --admin-email Carla.Rossi@lab.example
run 0 "user with the extension of a mailbox without email" -- user add "Cabinet Lié" \
	--name "Grace Poste" --email grace@example.fr --extension 1007
run 0 "twin A on 1011" -- user add "Cabinet Lié" --name "Twin A" --email twin-a@example.fr --extension 1011
run 0 "twin B on 1011" -- user add "Cabinet Lié" --name "Twin B" --email twin-b@example.fr --extension 1011
# the daemon the last resync started would discover the new PBX by itself
# (its sync then comes before ours, and ours reports "0 new"): stopped, the
# resync starts one whose first discovery is the resync
"$PROG" --db "$DB" serve --stop > /dev/null 2>&1
run 0 "linking pbx add" -- pbx add "Cabinet Lié" --platform asterisk-ami --host 127.0.0.1 --port "$PORT" \
	--username admin --secret-file "$TMP/secret" --auto-provision-sub-accounts
run 0 "linking resync" -- pbx resync "Cabinet Lié"
has "links counted" "12 new, 0 updated, 0 removed, 2 linked"
run 0 "linking resync --json" -- pbx resync "Cabinet Lié" --json
has "json linked" '"linked": 0'
run 0 "user list --json" -- user list "Cabinet Lié" --json
eqj "1003 has its mailbox's email" "[u['email'] for u in d if u.get('endpoint') == '1003']" '["carla.rossi@lab.example"]'
eqj "1003 linked to the admin by email" \
	"[u['linked_user_id'] for u in d if u.get('endpoint') == '1003'] == [u['id'] for u in d if u['email'] == 'Carla.Rossi@lab.example']" "true"
eqj "1007 linked to Grace by extension" \
	"[u['linked_user_id'] for u in d if u.get('endpoint') == '1007'] == [u['id'] for u in d if u['email'] == 'grace@example.fr']" "true"
# a manual extension held by a synced user is refused, naming it
run 65 "extension held by a synced user" -- user add "Cabinet Lié" --name "Eve" --email eve@example.fr --extension 1004
has "names the synced user" 'extension 1004 is held by "David Cohen"'
run 65 "update to a held extension" -- user update "Cabinet Lié" grace@example.fr --extension 1004 --json
has "json names extension" '"field": "extension"'

# an extension naming several users: refused with the candidates; qualified forms
run 64 "ambiguous extension refused" -- role assign "Cabinet Lié" 1011 supervisor
has "lists the candidates" "'1011' names several users of this customer"
has "console candidate" '"Twin A" (console user: twin-a@example.fr or #'
has "synced candidate" "(synced from the PBX: site-2/1011, 127.0.0.1:1011 or #"
run 64 "ambiguous --json" -- user update "Cabinet Lié" 1011 --name X --json
has "json usage, field user" '"field": "user"'
run 0 "SUBACCOUNT/EXT" -- role assign "Cabinet Lié" site-2/1011 supervisor --json
has "the synced user got the role" '"endpoint": "1011"'
run 0 "PBX:EXT" -- role assign "Cabinet Lié" 127.0.0.1:1011 agent
run 66 "unknown sub-account" -- role assign "Cabinet Lié" site-9/1011 agent
has "says so" "no synced user 1011 in sub-account 'site-9'"
run 66 "unknown PBX" -- role assign "Cabinet Lié" other.example:1011 agent
has "names the PBX" "its PBX is 127.0.0.1"
run 0 "email still unambiguous" -- role assign "Cabinet Lié" twin-a@example.fr reporting
run 0 "linked pair is one person" -- role assign "Cabinet Lié" 1007 agent --json
has "the console user is meant" '"email": "grace@example.fr"'

# the monitor the resyncs above started (provdesk serve) is stopped: pbx
# status then says nothing monitors the link
"$PROG" --db "$DB" serve --stop > /dev/null 2>&1
run 0 "pbx status" -- pbx status "Hôtel Lumière"
has "status without a monitor: the state it last saw" "not monitored (last known: monitoring, "
run 0 "pbx status --json" -- pbx status "Hôtel Lumière" --json
has "status json state" '"state":'
eqj "without a monitor: the last stored key, and not monitored" "[d['state'], d['status'].split(',')[0], d['monitored']]" \
	'["monitoring", "not monitored (last known: monitoring", false]'
run 69 "status --check without a monitor" -- pbx status "Hôtel Lumière" --check
run 64 "status --check takes no value" -- pbx status "Hôtel Lumière" --check=yes
# the stored key decides, never the text beside it (here they disagree on purpose);
# a row a running monitor wrote 30 s ago (the clock set for these commands)
set_link() {
	sqlite3 "$TMP/db.sqlite" "INSERT OR REPLACE INTO pbx_status(customer_id, state, last_error,
		updated_at, link, since, monitored) SELECT id, 'retrying in 8s', 'scripted', 1794312000,
		'$1', 1794311940, 1 FROM customers WHERE name = 'Hôtel Lumière'"
}
# With no monitor running the stored state is the last known one, not the
# present: --check says "not monitored" (69) whatever is stored (a live
# state's codes: tests/cli/serve_commands.sh).
export PROVDESK_NOW=@1794312030 PROVDESK_CLOCK_START=
set_link auth-failed
run 0 "status of an auth-failed link" -- pbx status "Hôtel Lumière" --json
eqj "json state is the key, status says not monitored" "[d['state'], d['status'], d['since'], d['monitored']]" \
	'["auth-failed", "not monitored (last known: auth failed, 30 s ago)", "2026-11-10T11:59:00Z", false]'
run 69 "--check: auth-failed stored, no monitor" -- pbx status "Hôtel Lumière" --check
for k in protocol-error config-error retrying monitoring; do
	set_link "$k"
	run 69 "--check: $k stored, no monitor" -- pbx status "Hôtel Lumière" --check
	run 0 "status of a $k link" -- pbx status "Hôtel Lumière" --json
	eqj "json state is the stored key: $k" "d['state']" "\"$k\""
done
run 0 "status text" -- pbx status "Hôtel Lumière"
has "the stored human text, as the last known state" "Last known:   retrying in 8s"
if sqlite3 "$TMP/db.sqlite" "UPDATE pbx_status SET link = 'up'" 2>/dev/null; then
	ko "an unknown state key stored"
else
	ok "the column refuses an unknown state key"
fi
sqlite3 "$TMP/db.sqlite" "DELETE FROM pbx_status"
pd_pin_clock

# an Asterisk 13-16 with chan_sip only: same users, sub-accounts from contexts
start_lab lab2 --users 12 --sites 3 --call-rate 0 --legacy-sip
LAB2_PID=$LAB_STARTED
PORT2=$(lab_port lab2)
check "legacy lab-pbx started" grep -q '"legacy_sip": true' "$TMP/lab2.json"
run 0 "legacy customer create" -- customer create --name "Vieux Standard" --product-type analytics-pro \
	--country FR --admin-name "Luc Admin" --admin-email luc@example.fr
# the daemon the last resync started would discover the new PBX by itself
# (its sync then comes before ours, and ours reports "0 new"): stopped, the
# resync starts one whose first discovery is the resync
"$PROG" --db "$DB" serve --stop > /dev/null 2>&1
run 0 "legacy pbx add" -- pbx add "Vieux Standard" --platform asterisk-ami --host 127.0.0.1 \
	--port "$PORT2" --username admin --secret-file "$TMP/secret" --auto-provision-sub-accounts
run 0 "legacy pbx test" -- pbx test "Vieux Standard"
has "legacy banner" "Asterisk Call Manager/2.10.6"
has "legacy permissions via SIPpeers" "SIPpeers (chan_sip), QueueStatus, CoreShowChannels allowed"
run 0 "legacy resync" -- pbx resync "Vieux Standard"
has "legacy resync result" "12 new, 0 updated, 0 removed"
has "legacy sub-accounts from contexts" "3 sub-accounts added"
run 0 "legacy second resync" -- pbx resync "Vieux Standard"
has "legacy second resync writes nothing" "0 new, 0 updated, 0 removed"
stop_bg LAB2_PID

# AMI over TLS: a self-signed lab certificate is refused by default (step TLS
# named, exit 76), accepted with the lab's certificate as the CA file
check "openssl req made a certificate" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -days 2 -subj /CN=provdesk-lab -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TMP/lab.key" -out "$TMP/lab.pem"
start_lab lab3 --users 12 --sites 3 --call-rate 0 --tls-cert "$TMP/lab.pem" --tls-key "$TMP/lab.key"
LAB3_PID=$LAB_STARTED
PORT3=$(lab_port lab3)
check "TLS lab-pbx started" grep -q '"tls": true' "$TMP/lab3.json"
run 0 "tls customer create" -- customer create --name "Clinique Sûre" --product-type analytics-pro \
	--country FR --admin-name "Inès Admin" --admin-email ines@example.fr
run 0 "tls pbx add" -- pbx add "Clinique Sûre" --platform asterisk-ami --host 127.0.0.1 \
	--port "$PORT3" --username admin --secret-file "$TMP/secret" --tls
run 76 "self-signed certificate refused" -- pbx test "Clinique Sûre"
has "TLS step named" "TLS failed: TLS: certificate verify failed (self-signed certificate)"
run 76 "tls test --json" -- pbx test "Clinique Sûre" --json
has "json failed step" '"failed_step": "TLS"'
# tls_verify / wrapup_time / tls_ca_file through the CLI, stored typed, read
# back with customer show --json, pbx status --json and pbx show
run 0 "tls_verify off and wrap-up via the CLI" -- pbx update "Clinique Sûre" --tls-verify=false --wrapup-time 5
has "text shows tls_verify" "tls_verify:       no"
has "text shows wrapup_time" "wrapup_time:      5"
has "text shows no CA file" "tls_ca_file:      (none)"
run 0 "customer show --json" -- customer show "Clinique Sûre" --json
eqj "customer show: tls_verify stored as a JSON false" "d['pbx']['params']['tls_verify']" "false"
eqj "customer show: wrapup_time stored as a JSON integer" "d['pbx']['params']['wrapup_time']" "5"
run 0 "pbx status --json" -- pbx status "Clinique Sûre" --json
eqj "pbx status: params" "d['params']" '{"tls_verify": false, "wrapup_time": 5}'
eqj "pbx status: tls" "d['tls']" "true"
check "stored typed in the row" q_is "SELECT json_type(params_json, '\$.tls_verify') || ',' || json_type(params_json, '\$.wrapup_time') FROM pbx
	WHERE customer_id = (SELECT id FROM customers WHERE name = 'Clinique Sûre')" "false,integer"
run 0 "self-signed lab accepted with tls_verify off" -- pbx test "Clinique Sûre"
has "test says it is not verified" "certificate not verified (tls_verify is false)"
has "and logs in" "ok   authentication"
# the words a person types, each stored as a boolean
for w in yes:true NO:false 1:true 0:false on:true; do
	run 0 "--tls-verify=${w%%:*}" -- pbx update "Clinique Sûre" --tls-verify="${w%%:*}" --json
	eqj "--tls-verify=${w%%:*} stored ${w##*:}" "d['params']['tls_verify']" "${w##*:}"
done
run 0 "bare --tls-verify" -- pbx update "Clinique Sûre" --no-tls-verify
run 0 "bare --tls-verify" -- pbx update "Clinique Sûre" --tls-verify --json
eqj "bare --tls-verify is true" "d['params']['tls_verify']" "true"
# bad values: refused by the core naming the field, nothing changed
run 65 "--tls-verify=maybe refused" -- pbx update "Clinique Sûre" --tls-verify=maybe
has "names tls_verify" "tls_verify must be true or false"
run 65 "--wrapup-time 3601 refused" -- pbx update "Clinique Sûre" --wrapup-time 3601 --json
has "json error field" '"field": "wrapup_time"'
has "names the range" "from 0 to 3600"
run 65 "--wrapup-time 5s refused" -- pbx update "Clinique Sûre" --wrapup-time 5s
has "names wrapup_time" "wrapup_time must be a whole number"
run 65 "--wrapup-time -1 refused" -- pbx update "Clinique Sûre" --wrapup-time=-1
run 64 "--tls-verify with --no-tls-verify" -- pbx update "Clinique Sûre" --tls-verify --no-tls-verify
run 0 "unchanged after refusals" -- pbx show "Clinique Sûre" --json
eqj "still verify on, wrap-up 5" "[d['params']['tls_verify'], d['params']['wrapup_time']]" "[true, 5]"
# verification on with the lab's certificate as a private CA, given relative
# to the current directory and stored absolute
ca_relative() { (cd "$TMP" && "$PROG" --db "$DB" pbx update "Clinique Sûre" --tls-ca-file lab.pem --json >"$TMP/out" 2>&1); }
check "CA file set (relative path)" ca_relative
eqj "CA file stored absolute" "d['params']['tls_ca_file']" "\"$TMP/lab.pem\""
run 0 "TLS with the lab's CA" -- pbx test "Clinique Sûre"
has "TLS step passes" "ok   TLS"
has "verified against the CA" "certificate verified against $TMP/lab.pem"
has "then logs in" "ok   authentication"
run 0 "CA file removed with ''" -- pbx update "Clinique Sûre" --tls-ca-file '' --json
eqj "no CA file" "'tls_ca_file' in d['params']" "false"
run 76 "self-signed refused again" -- pbx test "Clinique Sûre"
run 65 "a blank wrap-up refused" -- pbx update "Clinique Sûre" --tls-ca-file "$TMP/lab.pem" --wrapup-time ' '
run 0 "CA file back" -- pbx update "Clinique Sûre" --tls-ca-file "$TMP/lab.pem"
# a row written by hand (or an older version) with strings: honoured by pbx test
check "string 'false' written in the row" q "UPDATE pbx SET params_json = json_object('tls_verify', 'false')
	WHERE customer_id = (SELECT id FROM customers WHERE name = 'Clinique Sûre')"
run 0 "string 'false' honoured by pbx test" -- pbx test "Clinique Sûre"
has "not verified" "not verified (tls_verify is false)"
q "UPDATE pbx SET params_json = json_object('tls_verify', 'maybe')
	WHERE customer_id = (SELECT id FROM customers WHERE name = 'Clinique Sûre')"
run 78 "a bad stored tls_verify is named by pbx test" -- pbx test "Clinique Sûre"
has "tls_verify named" "tls_verify must be true or false"
run 0 "CA file back" -- pbx update "Clinique Sûre" --tls-verify=yes --tls-ca-file "$TMP/lab.pem"
# templates carry the same parameters, checked by the same rule
run 0 "template with the parameters" -- template add "Lab TLS" --platform asterisk-ami --tls \
	--no-tls-verify --wrapup-time 3 --json
eqj "template params typed" "d['params']" '{"tls_verify": false, "wrapup_time": 3}'
run 65 "template: bad wrap-up" -- template update "Lab TLS" --wrapup-time soon
has "template error names wrapup_time" "wrapup_time"
run 0 "template show" -- template show "Lab TLS"
has "template text shows tls_verify" "tls_verify: no"
run 0 "customer for the template" -- customer create --name "Labo Modèle" --product-type analytics-pro \
	--country FR --admin-name "Zoé Admin" --admin-email zoe@example.fr
run 0 "pbx add from the template, own wrap-up" -- pbx add "Labo Modèle" --template "Lab TLS" \
	--host 127.0.0.1 --port "$PORT3" --username admin --secret-file "$TMP/secret" --tls --wrapup-time 8 --json
eqj "template's tls_verify, own wrap-up" "d['params']" '{"tls_verify": false, "wrapup_time": 8}'
run 0 "template-made link passes" -- pbx test "Labo Modèle"
has "template-made: not verified" "not verified (tls_verify is false)"
# a platform without these fields refuses them as a usage error, listing its own
run 64 "not a parameter of broadworks-xsi" -- pbx add "Labo Modèle" --platform broadworks-xsi \
	--host xsi.example.net --username a --disabled --wrapup-time 5
has "named as not a broadworks field" "--wrapup-time: platform broadworks-xsi has no field 'wrapup_time' (fields: host, port, tls, username, secret, enterprise_id, group_id, xsp_hosts, tls_verify, tls_ca_file)"
run 0 "resync over TLS" -- pbx resync "Clinique Sûre"
# the monitor's link may have synced them when it came up, before the resync
has "tls resync result" "updated, 0 removed"
check "the 12 users synced over TLS" q_is "SELECT count(*) FROM users WHERE synced = 1 AND
	customer_id = (SELECT id FROM customers WHERE name = 'Clinique Sûre')" 12
stop_bg LAB3_PID

# authentication refused: 77, step named
run 0 "pbx update secret" -- pbx update "Hôtel Lumière" --secret-file "$TMP/wrong"
run 77 "wrong secret" -- pbx test "Hôtel Lumière"
has "auth step named" "authentication failed"
run 77 "resync with wrong secret" -- pbx resync "Hôtel Lumière"

# banner: a server that is not AMI: 76
/usr/bin/python3 - "$TMP/port2" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(5)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept(); c.sendall(b"SSH-2.0-OpenSSH_9.2 Caf\xe9 \xe2\x80\xae evil\r\n"); c.close()
PY
SRV_PID=$!
wait_until "$UI_WAIT" test -s "$TMP/port2"
run 0 "point at a non-AMI port" -- pbx update "Hôtel Lumière" --port "$(cat "$TMP/port2")"
run 76 "banner refused" -- pbx test "Hôtel Lumière"
has "banner step named" "banner failed"
# the PBX's own bytes (invalid UTF-8, a right-to-left override) are shown
# escaped, on the terminal and in --json, never raw
has "banner bytes escaped" 'Caf\xe9 \u202e evil'
raw_utf() { if LC_ALL=C grep -qP '\xe2\x80\xae|\xe9 ' "$TMP/out"; then not_ok "$1: nothing raw" "printed"; else ok "$1: nothing raw"; fi; }
raw_utf "pbx test of a foreign banner"
run 76 "banner refused --json" -- pbx test "Hôtel Lumière" --json
has "json keeps the failed step's detail" 'Caf\\xe9 \\u202e evil'
raw_utf "pbx test --json of a foreign banner"
t0=$SECONDS
run 76 "resync: not that PBX is a protocol error" -- pbx resync "Hôtel Lumière"
# the link's failure since asked is the answer, not the 60 s wait's end
check "the protocol error is said at once, not after the wait" test $((SECONDS - t0)) -lt 30
has "resync names the banner" "not an Asterisk manager interface"
has "resync: banner bytes escaped" 'Caf\xe9 \u202e evil'
raw_utf "resync of a foreign banner"

# nothing listening: 69, TCP connect named
stop_bg LAB_PID
run 0 "point at a closed port" -- pbx update "Hôtel Lumière" --port "$PORT"
run 69 "TCP connect refused" -- pbx test "Hôtel Lumière"
has "tcp step named" "TCP connect failed"
run 0 "unresolvable host" -- pbx update "Hôtel Lumière" --host no-such-host.invalid
run 69 "name resolution fails" -- pbx test "Hôtel Lumière"
has "resolution step named" "name resolution failed"

# control characters never go on the wire: refused where typed, naming the
# field and the character, never echoing the value (raw ESC would drive the
# terminal; CR/LF would inject AMI lines)
raw_ctl() { if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$TMP/out"; then not_ok "$1: no raw control byte" "printed"; else ok "$1: no raw control byte"; fi; }
run 65 "username with ESC refused" -- pbx update "Hôtel Lumière" --username $'adm\e[2Jin'
has "username named" "username must not contain control characters (found ESC)"
raw_ctl "username with ESC"
run 65 "username with CR LF refused" -- pbx update "Hôtel Lumière" --username $'admin\r\nAction: Originate'
has "line break named" "found a line break"
run 65 "username with a bidi override refused" -- pbx update "Hôtel Lumière" --username $'\u202enimda'
has "bidi named" "U+202E"
printf 'Bad\aSecret\n' >"$TMP/ctl-secret"
run 65 "secret with BEL refused" -- pbx update "Hôtel Lumière" --secret-file "$TMP/ctl-secret"
has "secret named" "secret must not contain control characters"
if grep -qF "Bad" "$TMP/out"; then not_ok "refused secret not echoed"; else ok "refused secret not echoed"; fi
run 65 "host with BEL refused" -- pbx update "Hôtel Lumière" --host $'pbx\a.example.net'
raw_ctl "host with BEL"
run 65 "template username with ESC refused" -- template add "Evil" --platform asterisk-ami --username $'ad\emin'
has "template username named" "username"

# bad lab-pbx options
run 64 "bad --faults" -- lab-pbx --faults drop,teleport
has "fault named" "teleport"
has "hostile faults listed" "flood, huge, ctrl, bidi, hostile"
run 64 "bad --users" -- lab-pbx --users 0
run 64 "bad --listen" -- lab-pbx --listen nowhere
run 64 "bad --platform" -- lab-pbx --platform cisco-ucm
has "platform option named" "--platform"
has "platforms listed" "freeswitch-esl"
run 64 "bad --ring" -- lab-pbx --ring 0
run 64 "bad --talk" -- lab-pbx --talk soon
run 64 "bad --wrapup" -- lab-pbx --wrapup -1
run 64 "bad --calls-up" -- lab-pbx --calls-up 1001
run 64 "--pause-in-call without an extension" -- lab-pbx --pause-in-call :Lunch
has "pause-in-call named" "--pause-in-call"
run 64 "--pause-in-call with a control byte" -- lab-pbx --pause-in-call $'1001:Lu\x1bnch'
run 64 "--pause-in-call not an extension" -- lab-pbx --pause-in-call 'PJSIP/1001:Lunch'
run 64 "bad --direct-pct" -- lab-pbx --direct-pct 101
run 64 "--direct-pct on a FreeSWITCH lab" -- lab-pbx --platform freeswitch --direct-pct 10
has "Asterisk-only named" "--direct-pct"
run 64 "Asterisk-only option on a FreeSWITCH lab" -- lab-pbx --platform freeswitch --legacy-sip
has "platform field named" "platform"

# the FreeSWITCH lab: auth/request, the password from the file, api status
start_lab lab4 --platform freeswitch --call-rate 0
LAB4_PID=$LAB_STARTED
check "FreeSWITCH lab-pbx started" grep -q '"platform": "freeswitch-esl"' "$TMP/lab4.json"
/usr/bin/python3 - "$(lab_port lab4)" "$SECRET" >"$TMP/out" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def until(marker):
    buf = b""
    end = time.time() + 10
    while marker not in buf and time.time() < end:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf.decode()
print(until(b"auth/request\n\n"), end="")
s.sendall(b"auth " + sys.argv[2].encode() + b"\n\n")
print(until(b"\n\n"), end="")
s.sendall(b"api status\n\n")
print(until(b"8192K\n"), end="")
PY
has "FreeSWITCH lab greets" "Content-Type: auth/request"
has "FreeSWITCH lab takes the password file" "Reply-Text: +OK accepted"
has "FreeSWITCH lab answers api status" "FreeSWITCH (Version 1.10.12-release  64bit) is ready"
stop_bg LAB4_PID

# --latency: nothing the lab sends leaves before that long, on any platform
run 64 "bad --latency" -- lab-pbx --latency 10001
has "latency named" "--latency"
run 64 "--latency not a number" -- lab-pbx --latency far
start_lab lab6 --platform freeswitch --call-rate 0 --latency 400
LAB4_PID=$LAB_STARTED
/usr/bin/python3 - "$(lab_port lab6)" "$SECRET" >"$TMP/out" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def until(marker):
    t0, buf = time.monotonic(), b""
    while marker not in buf and time.monotonic() < t0 + 10:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return marker in buf, time.monotonic() - t0
# the lab's clock is in whole milliseconds and ours starts after connect()
# returns: a byte held 400 ms may be seen a millisecond or so sooner
held = lambda t: "400 ms" if t >= 0.39 else "%.3f s" % t
got, t = until(b"auth/request\n\n")
print("greeting %s after %s" % ("came" if got else "never came", held(t)))
s.sendall(b"auth " + sys.argv[2].encode() + b"\n\n")
got, t = until(b"+OK accepted")
print("reply %s after %s" % ("came" if got else "never came", held(t)))
PY
has "the greeting waits for the latency" "greeting came after 400 ms"
has "a reply waits for the latency" "reply came after 400 ms"
stop_bg LAB4_PID

# a PBX that lists more users than [pbx] max_users_per_link: not synced (a
# directory cut short would read as users removed), said, nothing written
start_lab lab5 --users 130 --call-rate 0
LAB4_PID=$LAB_STARTED
# the cap is the monitor's configuration: the monitor of the default one
# is stopped first (running, it would discover and sync the new PBX under
# the default cap), the resync starts one with cap.conf
"$PROG" --db "$DB" serve --stop > /dev/null 2>&1
run 0 "customer for the user cap" -- customer create --name "Grand Annuaire" \
	--product-type analytics-pro --country FR --admin-name "Gil" --admin-email gil@example.fr
run 0 "its PBX" -- pbx add "Grand Annuaire" --platform asterisk-ami --host 127.0.0.1 \
	--port "$(lab_port lab5)" --username admin --secret-file "$TMP/secret"
printf '[pbx]\nmax_users_per_link = 100\n' >"$TMP/cap.conf"
synced_before=$(q "SELECT count(*) FROM users WHERE synced = 1")
t0=$SECONDS
run 69 "resync over the user cap fails" -- --config "$TMP/cap.conf" pbx resync "Grand Annuaire"
check "the refusal is said at once, not after the wait" test $((SECONDS - t0)) -lt 30
has "it says why" "not synced: the PBX lists more than 100 users (max_users_per_link); 30 more refused"
check "no synced user written" q_is "SELECT count(*) FROM users WHERE synced = 1" "$synced_before"
"$PROG" --db "$DB" serve --stop > /dev/null 2>&1
run 0 "under the default cap it syncs" -- pbx resync "Grand Annuaire"
has "130 users synced" "130 new"
stop_bg LAB4_PID

# OpenSSL is opened on first use: a broken libssl on the library path does
# not stop a command that needs no secret; one that seals or opens a PBX
# secret says which library failed (unavailable, 69) and stores nothing.
mkdir -p "$TMP/badlib"
: >"$TMP/badlib/libssl.so.3"
pbx_before=$(q "SELECT count(*) FROM pbx")
LD_LIBRARY_PATH="$TMP/badlib" run 0 "a broken libssl: customer list works" -- customer list
has "the list is there" "Hôtel Lumière"
LD_LIBRARY_PATH="$TMP/badlib" run 0 "a broken libssl: customer create works" -- customer create \
	--name "Sans TLS" --product-type analytics-pro --country FR --admin-name "Ana" \
	--admin-email ana@example.fr
LD_LIBRARY_PATH="$TMP/badlib" run 69 "a broken libssl: pbx add with a secret fails" -- pbx add \
	"Sans TLS" --platform asterisk-ami --host 127.0.0.1 --port "$PORT" --username admin \
	--secret-file "$TMP/secret"
has "it names the library" "libssl.so.3 could not be loaded"
check "no PBX stored without its secret" q_is "SELECT count(*) FROM pbx" "$pbx_before"
LD_LIBRARY_PATH="$TMP/badlib" run 69 "a broken libssl: pbx test (the secret is needed) fails" -- \
	pbx test "Hôtel Lumière"
has "it names the library there too" "libssl.so.3 could not be loaded"
run 0 "with the real library the same add works" -- pbx add "Sans TLS" --platform asterisk-ami \
	--host 127.0.0.1 --port "$PORT" --username admin --secret-file "$TMP/secret"

# the secret never leaks
if grep -rqF -- "$SECRET" "$TMP"/out "$TMP"/lab.json "$TMP"/lab.err "$TMP"/lab4.json "$TMP"/lab4.err; then not_ok "secret never printed"; else ok "secret never printed"; fi
if "$PROG" --db "$DB" audit --json 2>/dev/null | grep -qF -- "$SECRET"; then not_ok "secret not in audit"; else ok "secret not in audit"; fi

finish
