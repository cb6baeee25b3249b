#!/usr/bin/env bash
# pbx add without --secret-file/--secret-env on a terminal: the secret is
# asked for without echo (a real pty in a private tmux server), stored, and
# never shown on the screen.
source "$(dirname "$0")/lib.sh"

PROG=$PROVDESK
source "$(dirname "$0")/../lib/tmux.sh" # T, wait_for (deadlines scaled by PD_TEST_SLOW)

run customer create --name "Invite Tty" --product-type analytics-pro --country FR \
	--admin-name A --admin-email a@tty.example
expect "customer" 0

T -f /dev/null new-session -d -s t -x 120 -y 20 -e LANG=C.UTF-8 -e LC_ALL=C.UTF-8 \
	-e "PROVDESK_DATADIR=${PROVDESK_DATADIR-}" \
	"exec sh -c '\"\$0\" --db \"\$1\" --config \"\$2\" pbx add \"Invite Tty\" --platform asterisk-ami --host 127.0.0.1 --port 5038 --username admin; echo \"exit=\$?\"; sleep 60' '$PROVDESK' '$DB' '$CONF'"
check "the prompt appears" wait_for "PBX secret:"
T send-keys -t t -l "typed-S3cret-value"
T send-keys -t t Enter
check "the command finishes" wait_for "exit=0"
check "the secret is not echoed" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q typed-S3cret"
check "the connection was added" bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'Added PBX connection'"
check "the secret was stored sealed (docs/architecture.md, Secrets at rest)" \
	test "$(sqlite3 "$DB" "SELECT substr(secret, 1, 5) FROM pbx")" = "enc1:"
check "the database holds no clear secret" bash -c "! sqlite3 '$DB' .dump | grep -q typed-S3cret-value"
check "the key beside the database is the user's alone" test "$(stat -c %a "$DB.key")" = 600

run customer create --name "Sans Tty" --product-type analytics-pro --country FR \
	--admin-name A --admin-email a@sans.example
run pbx add "Sans Tty" --platform asterisk-ami --host 127.0.0.1 --port 5038 --username admin </dev/null
expect "no terminal and no secret option: no prompt, the secret is required" 65 "" "secret"
run pbx add "Sans Tty" --platform asterisk-ami --host 127.0.0.1 --port 5038 --username admin \
	--disabled </dev/null
expect "a disabled link may wait for its secret" 0 "Secret:           (none)"
run pbx enable "Sans Tty"
expect "enabling without a secret is refused" 65 "" "secret"
printf 'later-secret\n' >"$TMP/s"
run pbx update "Sans Tty" --secret-file "$TMP/s" --json
jeq "secret set later" 'd["secret_set"]' true
run pbx enable "Sans Tty" --json
jeq "then it can be enabled" 'd["enabled"]' true

finish
