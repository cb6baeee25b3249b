#!/usr/bin/env bash
# One wizard per OS user at a time: a user has one draft, so a second
# console of the same user opening the wizard would overwrite the first
# one's draft field by field. The second is told why and gets the draft once
# the first leaves. Two real consoles on one database in one tmux server.
#   wizard_lock.sh PATH/TO/provdesk
PROG=$1
source "$(dirname "$0")/lib.sh"

cli customer create --name "Existing" --product-type analytics-pro --country FR \
	--admin-name Admin --admin-email admin@example.com >/dev/null
# F10 is five bytes (ESC [ 2 1 ~); with the harness's ESCDELAY of 25 ms a
# busy machine once delivered the ESC alone: the wizard took it as Esc (its
# "leave?" question) and F10 never came (CI, "still showed step 2"). Both
# consoles here wait longer for the rest of a sequence; nothing in this test
# presses Escape, so it costs no time.
start_console 100 30 tmux-256color ESCDELAY=500
wait_for "Existing"
keys n
wizard_step1 "Drafted Here"
keys F6
check "the first console is in the wizard" wait_for "New customer — Primary user"

# a second console of the same user, same database
T new-session -d -s t2 -x 100 -y 30 -e TERM=tmux-256color -e LANG=C.UTF-8 -e LC_ALL=C.UTF-8 -e ESCDELAY=500 \
	-e HOME="$HOME" -e XDG_CONFIG_HOME="$XDG_CONFIG_HOME" -e XDG_DATA_HOME="$XDG_DATA_HOME" \
	"env TERM=tmux-256color '$PROG' --db '$DB' 2> '$TMP/t2.stderr'; echo \$? > '$TMP/t2.exit'"
screen2() { T capture-pane -p -t t2; }
wait2() { # wait2 TEXT: poll the second console's screen
	local d=$((SECONDS + UI_WAIT))
	until screen2 | grep -qF -- "$1"; do
		((SECONDS < d)) || { echo "--- timed out waiting for: $1" >&2; screen2 >&2; return 1; }
		sleep 0.05
	done
}
wait2 "Existing"
T send-keys -t t2 n
check "the second console is told the wizard is open elsewhere" wait2 "already open in another console"
check "and names the user" wait2 "of $(id -un)"
check "no second wizard opened" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t2 | grep -q 'Create New Customer'"
check "the first console's draft is intact" test \
	"$(q "select json_extract(json, '\$.customer.name') from drafts")" = "Drafted Here"

# the first console leaves (its draft kept): the second may now open it
keys F10
check "the first console quits" test "$(wait_exit)" = 0
T send-keys -t t2 n
check "the second console now offers the draft" wait2 "Resume the draft?"
T send-keys -t t2 r
check "at the step the first console was in" wait2 "step 2 of 4"
T send-keys -t t2 F5
check "with what the first console typed" wait2 "Drafted Here"
T send-keys -t t2 F10
for _ in $(seq $((UI_WAIT * 20))); do [[ -s $TMP/t2.exit ]] && break; sleep 0.05; done
check "the second console quits cleanly" test "$(cat "$TMP/t2.exit" 2>/dev/null)" = 0
finish
