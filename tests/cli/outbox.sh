#!/usr/bin/env bash
# provdesk outbox list|retry|send against a real SMTP server (aiosmtpd, a
# Maildir per message): queued invitations are delivered, states change,
# an unreachable server gives 69 and keeps the messages queued.
source "$(dirname "$0")/lib.sh"

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SMTPD_PID=""
cleanup() {
	if [[ -n $SMTPD_PID ]]; then
		kill "$SMTPD_PID" 2>/dev/null || true
		wait "$SMTPD_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
[[ -n ${KEEP_TMP-} ]] && trap - EXIT

run customer create --name "Boîte Postale" --product-type analytics-pro --country FR \
	--admin-name "Zoé Lefèvre" --admin-email zoe@boite.example
expect "customer with a queued invitation" 0
run user add "Boîte Postale" --name "Paul" --email paul@boite.example --role agent
expect "second user queued" 0

# No SMTP configured: the invitations wait.
run outbox send
expect "no SMTP configured -> 69" 69 "" "smtp"
run outbox list --json
jeq "still queued" '[m["state"] for m in d]' '["queued", "queued"]'

# SMTP configured but nobody listening (on a copy of the database, whose
# messages then wait for their backoff): unavailable, nothing lost.
printf '[smtp]\nurl = smtp://127.0.0.1:%s\nstarttls = off\nfrom = Support <support@reseller.example>\n' "$PORT" >"$CONF"
sqlite3 "$DB" ".backup '$TMP/copy.db'"
MAIN_DB=$DB
DB="$TMP/copy.db"
run outbox send
check "server down -> 69 or 75" test "$RC" = 69 -o "$RC" = 75
check "server down error names the server" grep -q "127.0.0.1:$PORT" "$TMP/err"
run outbox list --json
jeq "not lost when the server is down" '[m["state"] for m in d]' '["queued", "queued"]'
jeq "the error is kept for the console" 'd[0]["last_error"] is not None' true
DB=$MAIN_DB

# A real server.
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$PORT" -c aiosmtpd.handlers.Mailbox "$TMP/maildir" \
	>"$TMP/smtpd.log" 2>&1 &
SMTPD_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
run outbox retry --all --send --json
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
run outbox send --json
expect "send the resend" 0
jeq "resend delivered" 'd["sent"]' 1
check "three mails now" test "$(ls "$TMP/maildir/new" | wc -l)" = 3
run outbox retry 999
check "retry of an unknown message fails" test "$RC" -ne 0
run outbox retry
expect "retry without ID or --all -> 64" 64

finish
