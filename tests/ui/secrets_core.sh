#!/usr/bin/env bash
# No secret in a running console's memory image (#15): the console is
# started on a database whose PBX secret and SMTP password are unique
# markers, the PBX link logs in to the lab PBX and an invitation is sent
# through an SMTP server that asks for the password; then gcore writes the
# process's memory and neither marker may be in it (docs/architecture.md,
# "Secrets in memory", says what is wiped and what a library may still hold).
PROG=$1
source "$(dirname "$0")/lib.sh"

command -v gcore >/dev/null && command -v gdb >/dev/null ||
	skip "gdb/gcore is not installed (.ci/deps --test installs it)"
# an ASan process maps terabytes of shadow memory: its image takes minutes
# to write, and the release build's run is the one that counts
instrumented "$PROG" && skip "an AddressSanitizer or valgrind build"

PBX_MARK="pbx-MARK-$RANDOM$RANDOM-Zq"
SMTP_MARK="smtp-MARK-$RANDOM$RANDOM-Wk"
printf '%s' "$PBX_MARK" >"$TMP/secret"
printf '%s\n' "$SMTP_MARK" >"$TMP/smtp-pw"
chmod 600 "$TMP/secret" "$TMP/smtp-pw"
LAB_PID= SMTPD_PID=
cleanup() {
	[[ -n $LAB_PID ]] && { kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; }
	[[ -n $SMTPD_PID ]] && { kill "$SMTPD_PID" 2>/dev/null; wait "$SMTPD_PID" 2>/dev/null; }
	rm -f "$TMP"/core*
}
pd_on_exit cleanup

"$PROG" lab-pbx --listen 127.0.0.1:0 --secret-file "$TMP/secret" --call-rate 20 --users 4 \
	--seed 3 --json >"$TMP/lab.json" 2>"$TMP/lab.err" &
LAB_PID=$!
wait_until 10 grep -q '"port"' "$TMP/lab.json" || { cat "$TMP/lab.err" >&2; not_ok "lab PBX starts"; finish; }
LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json")

SMTP_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -u LD_PRELOAD /usr/bin/python3 "$(dirname "$0")/../mail/smtp_server.py" "$SMTP_PORT" "$TMP/maildir" \
	--user provdesk --password-file "$TMP/smtp-pw" >"$TMP/smtpd.log" 2>&1 &
SMTPD_PID=$!
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SMTP_PORT" 2>/dev/null
CONF=$TMP/provdesk.conf
printf '[smtp]\nurl = smtp://127.0.0.1:%s\nstarttls = off\nfrom = Support <support@reseller.example>\nusername = provdesk\npassword_file = %s\n[invitations]\nactivation_url = https://app.example.com/activate\n' \
	"$SMTP_PORT" "$TMP/smtp-pw" >"$CONF"

seed "Marker Co" contact-centre FR
check "pbx add with the marker secret" cli --config "$CONF" pbx add "Marker Co" --platform asterisk-ami \
	--host 127.0.0.1 --port "$LAB_PORT" --username admin --secret-file "$TMP/secret"
check "an invitation is queued" q_is "SELECT count(*) FROM outbox WHERE state = 1" 1

start_console 120 30 tmux-256color -- --config "$CONF" --core-dumps
check "the PBX link logged in" wait_for "monitoring" 30
eventually "the invitation was sent with the SMTP password" q_is "SELECT count(*) FROM outbox WHERE sent_at > 0" 1
check "the SMTP server saw the login" grep -rlq "X-RcptTo: admin@example.com" "$TMP/maildir/new"
PID=$(pgrep -P "$(T list-panes -t t -F '#{pane_pid}')" | head -1)
check "the console runs" test -n "$PID"
gcore -o "$TMP/core" "$PID" >"$TMP/gcore.log" 2>&1
CORE=$(ls "$TMP"/core.* 2>/dev/null | head -1)
check "gcore wrote the console's memory" test -s "$CORE"
if [[ -s $CORE ]]; then
	check "the PBX secret is not in memory" bash -c "! grep -aqF '$PBX_MARK' '$CORE'"
	check "the SMTP password is not in memory" bash -c "! grep -aqF '$SMTP_MARK' '$CORE'"
	B64=$(printf '\0provdesk\0%s' "$SMTP_MARK" | base64 -w0)
	check "nor the SMTP AUTH PLAIN blob" bash -c "! grep -aqF '${B64:8:24}' '$CORE'"
else
	cat "$TMP/gcore.log" >&2
fi
keys F10
finish
