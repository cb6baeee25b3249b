#!/usr/bin/env bash
# provdesk outbox list|retry|cancel|send against a real SMTP server (aiosmtpd, a
# Maildir per message): queued invitations are delivered, states change,
# an unreachable server gives 69 and keeps the messages queued.
source "$(dirname "$0")/lib.sh"

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SMTPD_PID=""
stop_smtpd() {
	if [[ -n $SMTPD_PID ]]; then
		kill "$SMTPD_PID" 2>/dev/null || true
		wait "$SMTPD_PID" 2>/dev/null || true
	fi
}
pd_on_exit stop_smtpd

run customer create --name "Boîte Postale" --product-type analytics-pro --country FR \
	--admin-name "Zoé Lefèvre" --admin-email zoe@boite.example
expect "customer with a queued invitation" 0
run user add "Boîte Postale" --name "Paul" --email paul@boite.example --role agent
expect "second user queued" 0

# The pinned clock starts at noon when each process first reads it, so a
# message queued by a slow process (valgrind) can be stamped later than the
# start of the next one: sends run a little later in the day, when every
# message queued so far is due.
LATER=2026-11-10T12:30:00

# No SMTP configured: the invitations wait.
PROVDESK_NOW=$LATER run outbox send
expect "no SMTP configured -> 69" 69 "" "smtp"
run outbox list --json
jeq "still queued" '[m["state"] for m in d]' '["queued", "queued"]'

# SMTP configured but nobody listening (on a copy of the database, whose
# messages then wait for their backoff): unavailable, nothing lost.
printf '[smtp]\nurl = smtp://127.0.0.1:%s\nstarttls = off\nfrom = Support <support@reseller.example>\n' "$PORT" >"$CONF"
sqlite3 "$DB" ".backup '$TMP/copy.db'"
MAIN_DB=$DB
DB="$TMP/copy.db"
PROVDESK_NOW=$LATER run outbox send
check "server down -> 69 or 75" test "$RC" = 69 -o "$RC" = 75
check "server down error names the server" grep -q "127.0.0.1:$PORT" "$TMP/err"
run outbox list --json
jeq "not lost when the server is down" '[m["state"] for m in d]' '["queued", "queued"]'
jeq "the error is kept for the console" 'any(m["last_error"] is not None for m in d)' true

# libcurl is opened on first use: a broken one on the library path does not
# stop a command that sends nothing, and a send says which library failed
# (unavailable, 69) and loses nothing.
mkdir -p "$TMP/badlib"
: >"$TMP/badlib/libcurl.so.4"
LD_LIBRARY_PATH="$TMP/badlib" run outbox list --json
expect "a broken libcurl: commands that send nothing work" 0
LD_LIBRARY_PATH="$TMP/badlib" PROVDESK_NOW=$LATER run outbox send
expect "a broken libcurl: the send fails naming the library -> 69" 69 "" "libcurl.so.4 could not be loaded"
run outbox list --json
jeq "a broken libcurl: nothing lost" '[m["state"] for m in d]' '["queued", "queued"]'
DB=$MAIN_DB

# A real server.
env -u LD_PRELOAD /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$PORT" -c aiosmtpd.handlers.Mailbox "$TMP/maildir" \
	>"$TMP/smtpd.log" 2>&1 &
SMTPD_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
PROVDESK_NOW=$LATER run outbox retry --all --send --json
expect "retry --all --send delivers" 0
jeq "both sent" 'd["sent"]' 2
run outbox list --json
jeq "states are sent" '[m["state"] for m in d]' '["sent", "sent"]'
check "two mails in the Maildir" test "$(ls "$TMP/maildir/new" | wc -l)" = 2
check "mail to the primary user" grep -rlq "X-RcptTo: zoe@boite.example" "$TMP/maildir/new"
run user list "Boîte Postale" --json
jeq "users show the invitation sent" '[u["invitation"] for u in d]' '["sent", "sent"]'
run outbox retry 1 --json
expect "resend one" 0
jeq "one requeued" 'd["requeued"]' 1
PROVDESK_NOW=$LATER run outbox send --json
expect "send the resend" 0
jeq "resend delivered" 'd["sent"]' 1
check "three mails now" test "$(ls "$TMP/maildir/new" | wc -l)" = 3
run outbox retry 999
check "retry of an unknown message fails" test "$RC" -ne 0
run outbox retry
expect "retry without ID or --all -> 64" 64

DECODE="$(dirname "$0")/../mail/decode_mail.py"
# body_of ADDRESS MAILDIR: the decoded body of the (last) mail sent to ADDRESS.
body_of() { # body_of RCPT MAILDIR: the body of the last mail to RCPT (arrival order)
	local f
	for f in $(ls -tr "$2/new"); do
		/usr/bin/python3 "$DECODE" "$2/new/$f" >"$TMP/mail.json"
		if [[ $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["x_rcptto"])' "$TMP/mail.json") == "$1" ]]; then
			/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["body"])' "$TMP/mail.json" >"$TMP/body.$1"
		fi
	done
	cat "$TMP/body.$1" 2>/dev/null
}
# No [invitations] activation_url: the mail says it has no link, never a broken one
# (in French: the customer is in France, so its locale is fr_FR).
check "no activation URL: the mail says there is no link" grep -q "ne contient pas de lien d'activation" <(body_of zoe@boite.example "$TMP/maildir")
check "no activation URL: no link at all" bash -c '! grep -q "token=" "$1"' _ "$TMP/body.zoe@boite.example"

# ---- invitations (issue 11): link, send-time rendering, exit codes ----
kill "$SMTPD_PID" 2>/dev/null; wait "$SMTPD_PID" 2>/dev/null; SMTPD_PID=""
DB="$TMP/inv.db"

# Bad [invitations] values stop the program with file:line and the key: 78.
printf '[invitations]\nactivation_url = https://app.example.com/activate\ntoken_days = 0\n' >"$CONF"
run outbox list
expect "token_days = 0 -> 78 naming file:line and key" 78 "" "provdesk.conf:3: invitations.token_days"
printf '[invitations]\nactivation_url = app.example.com/activate\n' >"$CONF"
run outbox list
expect "activation_url without https:// -> 78" 78 "" "provdesk.conf:2: invitations.activation_url"

# Our test server: reject* recipients get 550 (for good), grey* 450 (later).
env -u LD_PRELOAD /usr/bin/python3 "$(dirname "$0")/../mail/smtp_server.py" "$PORT" "$TMP/maildir2" >"$TMP/smtpd2.log" 2>&1 &
SMTPD_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
printf '[smtp]\nurl = smtp://127.0.0.1:%s\nstarttls = off\nfrom = Support <support@reseller.example>\n[invitations]\nactivation_url = https://app.example.com/activate\ntoken_days = 5\n' "$PORT" >"$CONF"

# an English-speaking customer in France: the invitations below are in English
run customer create --name "Invit Co" --product-type analytics-pro --country FR --locale en_GB \
	--admin-name "Ines" --admin-email ines@invit.example
expect "customer for the invitation tests" 0
# with [smtp] configured, customer create had a monitor (provdesk serve)
# send the new customer's invitation; once it is sent the monitor is
# stopped, so that what follows is this command's own delivery
ines_sent() { pd outbox list --json | grep -q '"outcome": "sent"'; }
check "customer create's invitation sent by the monitor" wait_until 30 ines_sent
pd serve --stop > /dev/null 2>&1
run user add "Invit Co" --name "Rex" --email reject-rex@invit.example --role agent
expect "a user the server refuses" 0
run user add "Invit Co" --name "Gus" --email grey-gus@invit.example --role agent
expect "a user the server greylists" 0
run user add "Invit Co" --name "Paul" --email paul.old@invit.example --role agent
expect "a user whose email changes" 0
run user update "Invit Co" paul.old@invit.example --email paul.new@invit.example --name "Paul Martin"
expect "email changed before the invitation is sent" 0
run outbox list --json
jeq "the queued invitation shows the new address" '[m["to"] for m in d if m["user_id"] == 4]' '["paul.new@invit.example"]'

PROVDESK_NOW=$LATER run outbox send
expect "a recipient refused for good -> 65, not 75" 65 "1 sent, 1 to retry later, 1 failed for good" "refused for good"
check "the error names the refused message and the reply" grep -q "#2 to reject-rex@invit.example: .*550" "$TMP/err"
check "the error names the one waiting for a retry" grep -q "waiting for a retry.*grey-gus@invit.example.*450" "$TMP/err"
run outbox list --json
jeq "outcomes: failed for good vs waiting for retry" '[m["outcome"] for m in d]' '["sent", "failed_for_good", "waiting_for_retry", "sent"]'
jeq "who invited is kept" 'd[0]["invited_by"]' "$(id -un)"
run outbox list
expect "the table says failed for good" 0 "failed for good"
check "the table says when it is retried" grep -q "grey-gus@invit.example  *retry at 2026-11-10T" "$TMP/out"

# The invitation went to the new address, rendered when sent.
check "nothing mailed to the old address" bash -c '! grep -rlq "X-RcptTo: paul.old@invit.example" "$1"' _ "$TMP/maildir2/new"
BODY=$(body_of paul.new@invit.example "$TMP/maildir2")
check "mailed to the new address with the new name" grep -q "Hello Paul Martin," <<<"$BODY"
check "says who invited and for which customer" grep -q "$(id -un), of your reseller's support team, has invited you to the call-analytics and contact-centre platform for the customer Invit Co" <<<"$(tr '\n' ' ' <<<"$BODY" | tr -s ' ')"
TOKEN=$(grep -o 'https://app.example.com/activate?token=[0-9a-f]*' <<<"$BODY" | sed 's/.*token=//')
check "the link carries a 64-hex token" test "${#TOKEN}" = 64
check "valid 5 days" grep -q "until 2026-11-15" <<<"$BODY"
HASH=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
check "only the token's SHA-256 is stored with the user" test "$(sqlite3 "$DB" "SELECT invite_token_hash FROM users WHERE email = 'paul.new@invit.example'")" = "$HASH"
check "the token is not in the database" bash -c '! sqlite3 "$1" .dump | grep -q "$2"' _ "$DB" "$TOKEN"

# Only waiting for a retry (the next day, the greylisted one again): 75.
PROVDESK_TODAY=2026-11-11 run outbox send
expect "only a temporary failure -> 75" 75 "0 sent, 1 to retry later, 0 failed for good" "waiting for a retry"

# Re-sent: a new token replaces the old one.
run outbox retry 4 --send
expect "resend Paul's invitation" 0
BODY2=$(body_of paul.new@invit.example "$TMP/maildir2")
TOKEN2=$(grep -o 'token=[0-9a-f]*' <<<"$BODY2" | sed 's/.*token=//')
check "a new token" test -n "$TOKEN2" -a "$TOKEN2" != "$TOKEN"
check "the new token's hash replaced the old one" test "$(sqlite3 "$DB" "SELECT invite_token_hash FROM users WHERE email = 'paul.new@invit.example'")" = "$(printf '%s' "$TOKEN2" | sha256sum | cut -d' ' -f1)"
run outbox retry 4
expect "resend" 0
run outbox retry 4
expect "resend twice queues one message" 65 "" "still queued"

# A server that stalls after DATA: --timeout bounds the run, the message
# stays queued as it was (no attempt counted), and bad values are usage errors.
run user add "Invit Co" --name "Stella" --email stall-stella@invit.example --role agent
expect "a user whose invitation the server stalls on" 0
rm -f "$TMP/maildir2.stalled"
t0=$SECONDS
PROVDESK_NOW=2026-11-11T13:00:00 run outbox send --timeout 2
took=$((SECONDS - t0))
expect "--timeout reached -> 75 naming the option" 75 "" "--timeout 2 s reached"
check "the server did stall after DATA" test -s "$TMP/maildir2.stalled"
check "the run ended near its timeout, not after the 60 s SMTP timeout (took ${took} s)" \
	test "$took" -lt $((10 * ${PD_TEST_SLOW:-1}))
run outbox list --json
jeq "the stalled message is still queued, no attempt counted" \
	'[(m["state"], m["attempts"]) for m in d if m["to"] == "stall-stella@invit.example"]' \
	'[["queued", 0]]'
for bad in 0 -1 abc 86401; do
	run outbox send --timeout "$bad"
	expect "--timeout $bad is a usage error" 64 "" "--timeout"
done
run user remove "Invit Co" stall-stella@invit.example
expect "remove the stalled user" 0

# A removed user's invitation is cancelled; retry cannot send it again.
run user remove "Invit Co" reject-rex@invit.example
expect "remove the refused user" 0
run user remove "Invit Co" grey-gus@invit.example
expect "remove the greylisted user" 0
run outbox list --json
jeq "both cancelled" '[m["state"] for m in d if m["to"] in ("reject-rex@invit.example", "grey-gus@invit.example")]' '["cancelled", "cancelled"]'
run outbox retry --all
expect "retry --all skips cancelled ones" 0 "0 messages queued again"
run outbox retry 2
expect "retry of a cancelled message -> 65" 65 "" "cancelled"

# A person cancels a queued invitation (the console's outbox screen uses the
# same store function): it is not sent, stays listed, and the audit says who.
run user add "Invit Co" --name "Nina" --email nina@invit.example --role agent
expect "a third user is queued" 0
run outbox list --json
NINA=$(/usr/bin/python3 -c 'import json,sys; print([m["id"] for m in json.load(open(sys.argv[1])) if m["to"] == "nina@invit.example"][0])' "$TMP/out")
run outbox cancel "$NINA"
expect "outbox cancel ID" 0 "Message $NINA cancelled."
run outbox list --json
jeq "the cancelled message is listed as cancelled" "[m['state'] for m in d if m['to'] == 'nina@invit.example']" '["cancelled"]'
run outbox cancel "$NINA" --json
expect "cancel of a message that is not queued -> 65" 65 "" "only a queued message can be cancelled"
run outbox cancel 99999
expect "cancel of an unknown message -> 66" 66 "" "no outbox message #99999"
run outbox cancel abc
expect "cancel ID not a number -> 64" 64 "" "ID"
run outbox cancel
expect "cancel without ID -> 64" 64
PROVDESK_NOW=2026-11-12T13:00:00 run outbox send --json
check "a cancelled message is not sent" test "$(grep -rl "X-RcptTo: nina@invit.example" "$TMP/maildir2/new" | wc -l)" = 0
run audit "Invit Co" --json
check "the audit names the cancel" grep -q "to nina@invit.example: state: queued → cancelled" "$TMP/out"

finish
