#!/usr/bin/env bash
# "Test connection" inside the PBX form (issue 14): F9 runs the platform
# driver's test (the one `provdesk pbx test` runs) on the connection as
# typed, in the background, against the real lab PBX: the stored wrong
# secret fails at authentication, the right one typed passes every step;
# nothing is saved; a PBX that never answers leaves the console usable and
# Esc closes the test at once.
PROG=$1
source "$(dirname "$0")/lib.sh"

printf '%s' 'Lv-S3cr3t-9qZ!x' >"$TMP/secret"
printf '%s' 'wrong-secret' >"$TMP/bad"
chmod 600 "$TMP/secret" "$TMP/bad"
LAB_PID= SILENT_PID=
cleanup() {
	[[ -n $LAB_PID ]] && { kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; }
	[[ -n $SILENT_PID ]] && { kill "$SILENT_PID" 2>/dev/null; wait "$SILENT_PID" 2>/dev/null; }
	true
}
pd_on_exit cleanup
"$PROG" lab-pbx --listen 127.0.0.1:0 --secret-file "$TMP/secret" --users 3 --seed 7 --json \
	>"$TMP/lab.json" 2>"$TMP/lab.err" &
LAB_PID=$!
check "lab PBX starts" wait_until 10 grep -q '"port"' "$TMP/lab.json"
LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json")

seed "Acme Telecom" contact-centre DE
cli pbx add "Acme Telecom" --platform asterisk-ami --host 127.0.0.1 --port "$LAB_PORT" \
	--username admin --secret-file "$TMP/bad" --disabled >/dev/null
version() { q "select version from pbx"; }
v0=$(version)

start_console 100 30
wait_for "Acme Telecom"
keys Enter; wait_for "Customer: Acme Telecom"
keys 3; wait_for "Secret"
keys e
check "the PBX form opens" wait_for "PBX connection settings"
check "the form says F9 tests" wait_for "F9 tests the connection"
keys F9
check "F9: the stored (wrong) secret fails at authentication" \
	screen_re 'FAIL +authentication'
check "the steps before it passed" screen_re 'ok +TCP connect'
check "the error is said" screen_re 'authentication failed'
check "the wrong secret is never shown" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q wrong-secret"
keys Escape
check "Esc closes the result, back in the form" wait_gone "Test connection"
# type the right secret: the test uses what is typed
# go to the Secret field: Template, Platform, Host, Port, TLS, Username, Secret
keys Tab Tab Tab Tab Tab Tab
type_text "$(cat "$TMP/secret")"
keys C-t
check "^T tests too; the right secret typed passes every step" wait_for "All checks passed"
check "authentication ok" screen_re 'ok +authentication'
check "the typed secret is never shown" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -qF 'Lv-S3cr3t'"
keys Enter
wait_gone "Test connection"
check "nothing saved by a test" test "$(version)" = "$v0"

# a PBX that accepts and never speaks: the test runs in the background
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$TMP/silent.port" &
SILENT_PID=$!
wait_until 10 test -s "$TMP/silent.port"
SILENT_PORT=$(head -1 "$TMP/silent.port")
keys Escape
wait_for "Discard changes?"
keys y
wait_gone "PBX connection settings"
cli pbx update "Acme Telecom" --port "$SILENT_PORT" >/dev/null
keys e; wait_for "PBX connection settings"
keys F9
check "a silent PBX: the test shows it is running" screen_re 'Testing… [0-9]+s'
check "the seconds count while the console stays live" screen_re 'Testing… [1-9][0-9]*s'
keys Escape
check "Esc cancels at once" wait_gone "Test connection" 3
keys F1
check "the console answers keys (help)" wait_for "A form. Each field is checked"
keys Escape
keys F10
eq "quits at once, the abandoned test left to its own deadline" "$(wait_exit 5)" 0
finish
