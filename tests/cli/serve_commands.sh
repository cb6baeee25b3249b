#!/usr/bin/env bash
# The commands on the host's monitor (issue 17): pbx status with and without
# a daemon (its age, "no monitor running"), pbx resync through the daemon
# (started by the command, one login to the PBX, the same summary and exit
# codes), pbx test reporting the daemon's link instead of a second login,
# --force on a disabled link as a one-shot run of its own, outbox send asked
# of the daemon, and customer create having a daemon send the invitation to
# a real SMTP server (aiosmtpd) with no console ever opened.
source "$(dirname "$0")/lib.sh"

printf 'lab-secret' > "$TMP/secret"
chmod 600 "$TMP/secret"
LAB_PID="" SMTPD_PID=""
cleanup() {
	local p
	for p in $LAB_PID $SMTPD_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [[ $FAIL -gt 0 ]]; then tail -20 "$DB.serve.log" >&2 2>/dev/null; fi
}
pd_on_exit cleanup

"$PROVDESK" lab-pbx --json --listen 127.0.0.1:0 --secret-file "$TMP/secret" --users 6 \
	--call-rate 0 > "$TMP/lab.json" 2> "$TMP/lab.err" &
LAB_PID=$!
wait_until 10 grep -q '"port"' "$TMP/lab.json"
LAB_PORT=$(grep -oE '"port": [0-9]+' "$TMP/lab.json" | grep -oE '[0-9]+')
logins() { # the lab's successful logins so far (SIGUSR1 prints them)
	local before
	before=$(grep -c '"logins"' "$TMP/lab.json")
	kill -USR1 "$LAB_PID"
	wait_until 10 eval '(($(grep -c "\"logins\"" "$TMP/lab.json") > before))' || return 1
	grep '"logins"' "$TMP/lab.json" | tail -1 | grep -oE '"logins": [0-9]+' | grep -oE '[0-9]+'
}
running() { pd serve --status > /dev/null 2>&1; }

run customer create --name Acme --product-type contact-centre --country FR \
	--admin-name Admin --admin-email admin@acme.example
expect "customer (no SMTP: no daemon started)" 0
check "no daemon without SMTP" eval '! running'
run pbx add Acme --platform asterisk-ami --host 127.0.0.1 --port "$LAB_PORT" --username admin \
	--secret-file "$TMP/secret"
expect "pbx add" 0

# ---- pbx status, no daemon
run pbx status Acme
expect "pbx status without a daemon" 0 "not monitored (no monitor running)"
run pbx status Acme --check
expect "… --check: 69" 69
run pbx status Acme --json
jeq "… --json: not monitored" 'd["monitored"]' false
check "pbx status starts no daemon" eval '! running'

# ---- pbx resync through the daemon it starts
run pbx resync Acme
expect "pbx resync through the monitor" 0 "6 new, 0 updated, 0 removed, 0 linked"
check "the resync started a daemon" running
eq "one login to the PBX" "$(logins)" 1
run pbx resync Acme --json
expect "a second resync, same daemon" 0
jeq "… unchanged users" 'd["unchanged"]' 6
eq "still one login (the daemon's link)" "$(logins)" 1
run user list Acme --json
check "synced users stored" test "$(jv 'len(d)')" -ge 6

# ---- pbx status with the daemon
run pbx status Acme
expect "pbx status with a daemon: live" 0 "Updated:      live (monitor pid"
check "… its state and age" grep -qE 'State: +monitoring \(for [0-9]+s\)' <<<"$OUT"
run pbx status Acme --json
jeq "… --json monitored" 'd["monitored"]' true
jeq "… --json state" 'd["state"]' monitoring
run pbx status Acme --check
expect "… --check: 0" 0

# ---- pbx test: the daemon's link is up: no second login
# (an hour later: a change of the connection within the last seconds, which
# the monitor may not have reloaded yet, would be tested anew)
export PROVDESK_NOW=2026-11-10T13:00:00
run pbx test Acme
expect "pbx test reports the monitor's link" 0 "not dialled again"
run pbx test Acme --json
jeq "… --json names the monitor" 'd["monitor"]["state"]' monitoring
eq "no login for the tests" "$(logins)" 1
unset PROVDESK_NOW

# ---- --force on a disabled connection: a one-shot run of its own
run pbx disable Acme
expect "pbx disable" 0
run pbx resync Acme
expect "resync of a disabled connection refused" 78 "" "disabled"
run pbx resync Acme --force
expect "--force: one run of its own" 0 "0 new, 0 updated, 0 removed, 0 linked"
eq "its own login" "$(logins)" 2
run pbx enable Acme
expect "pbx enable" 0

# ---- a read-only user of the database may look, not command: see
# tests/serve (the daemon's side); a resync of an unknown customer:
run pbx resync Nobody
expect "resync of an unknown customer" 66

# ---- outbox send asked of the daemon; customer create has one send
pd serve --stop > /dev/null 2>&1
check "daemon stopped" eval '! running'
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[smtp]\nurl = smtp://127.0.0.1:%s\nstarttls = off\nfrom = Support <support@reseller.example>\n' \
	"$PORT" > "$CONF"
env -u LD_PRELOAD /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$PORT" -c aiosmtpd.handlers.Mailbox \
	"$TMP/maildir" > "$TMP/smtpd.log" 2>&1 &
SMTPD_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
run customer create --name Bravo --product-type contact-centre --country FR \
	--admin-name Zoé --admin-email zoe@bravo.example
expect "customer create with SMTP" 0 "queued in the outbox"
check "customer create started a daemon" running
mail_to() { grep -rlq "X-RcptTo: $1" "$TMP/maildir/new" 2>/dev/null; }
check "the invitation is delivered with no console" wait_until 30 mail_to zoe@bravo.example
run user add Bravo --name Paul --email paul@bravo.example --role agent
expect "a user added (queued)" 0
run outbox send
# (the daemon may have found it by itself first: then 0 sent)
expect "outbox send through the monitor" 0 "sent, 0 to retry later, 0 failed for good"
check "… delivered" wait_until 30 mail_to paul@bravo.example
run outbox send --json
expect "nothing left to send" 0
jeq "… none" 'd["sent"]' 0
finish
