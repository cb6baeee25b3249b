#!/usr/bin/env bash
# What users asked for (issue 14), at 80x24: the global activity screen
# (every customer's audit log, newest first, the full change of the selected
# record), the outbox screen (queued and failed messages: send now, cancel),
# the customer view's Activity tab (the same list + detail), a filter in the
# Users and Activity tabs and in both global screens, and an export of what
# a list shows to CSV (the default file name, bad file names).
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Acme Telecom" contact-centre DE
cli user add "Acme Telecom" --name "Paul Agent" --email paul@example.com --role agent >/dev/null
cli customer update "Acme Telecom" --reference "R-NEW" >/dev/null
seed "Béta Corp" contact-centre FR --admin-name Bob --admin-email bob@example.com
long="a long note that goes on and on for Hélène Dubois of Télécom Sécurité to show that the detail pane wraps the whole change, ending here"
cli customer update "Béta Corp" --notes "$long" >/dev/null
# Two rounds against an SMTP server that is down: the admin's and Paul's
# invitations wait for a retry, with the error
# a port held bound but not listening refuses every connection, and no
# other process (a lab PBX of a test run beside this one) can take it
/usr/bin/python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(300)' >"$TMP/dead-port" &
DEAD_PID=$!
pd_on_exit 'kill $DEAD_PID 2>/dev/null'
wait_until 10 test -s "$TMP/dead-port"
DEAD_PORT=$(cat "$TMP/dead-port")
printf '[smtp]\nurl = smtp://127.0.0.1:%s\nstarttls = off\n' "$DEAD_PORT" >"$TMP/dead-smtp.conf"
for _ in 1 2; do "$PROG" --db "$DB" --config "$TMP/dead-smtp.conf" outbox send >/dev/null 2>&1; done
kill "$DEAD_PID" 2>/dev/null
check "two invitations wait for a retry" q_is "select count(*) from outbox where attempts = 1 and state = 1" 2
# Bob's refused for good (what a 5xx does: mark_failed permanent)
bob=$(q "select id from outbox where to_addr = 'bob@example.com'")
bob_err="550 5.1.1 <bob@example.com>: no such user here; the mailbox of Hélène Dubois at Télécom Sécurité was closed"
q "update outbox set state = 3, attempts = 1, last_error = '$bob_err' where id = $bob"

# the grid's help (from the key table) lists both screens with their keys
start_console 120 50
wait_for "Acme Telecom"
keys F1
check "help lists the activity screen" screen_re '^  A +activity +All activity across customers'
check "help lists the outbox" screen_re '^  o +outbox +Outbox: queued and failed invitations'
check "help lists marking rows" screen_re '^  Space, Ins +mark +Mark or unmark'
keys Escape
wait_gone "All activity across customers"
keys F10
check "the first console quits" test "$(wait_exit)" = 0

start_console 80 24
wait_for "Acme Telecom"

# ---- all activity
keys A
check "A opens every customer's activity" wait_for "All activity —"
check "newest first: Béta's notes change on the first row" \
	bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | sed -n 4p | grep -qE 'Béta Corp +customer update +notes'"
check "Acme's records are listed too" screen_re 'Acme Telecom +customer update +reference'
check "the detail pane shows the selected change whole (its start)" wait_for 'notes: ∅ → "a long note'
check "... and its end, wrapped" wait_for 'ending here"'
# every word of TEXT whole in the pane below a line starting with TITLE: a
# wrap breaks between words, counting columns, not bytes
words_whole_below() { # words_whole_below TITLE TEXT
	local pane w
	pane=$(screen | sed -n "/^$1/,\$p")
	for w in $2; do
		grep -qF -- "$w" <<<"$pane" || { echo "--- '$w' is not whole below '$1'" >&2; return 1; }
	done
}
check "the wrapped change breaks between words, accented ones too" words_whole_below "── " "$long"
keys Down
check "Down: the detail follows the selection, one field per line" wait_for 'email: ∅ → "bob@example.com"'
screen | grep -q 'role: ∅ → "customer-admin"' && ok "each field of the change on its own line" || not_ok "each field of the change on its own line"
keys /
type_text "acme"
check "/ filters as you type" wait_for "Filter: acme"
check "the filter hides other customers' rows" wait_gone "Béta Corp"
check "and keeps the matching ones" screen_re 'Acme Telecom +customer update'
keys Enter
check "Enter keeps the filter" wait_for "Filter: acme  (Esc clears)"
# export what is shown: the default file is in the home folder
keys x
check "x asks a file name" wait_for "Export the 4 rows shown to the CSV file:"
check "the default is in the home folder, named by the day" wait_for "$HOME/provdesk-activity-2026-11-10.csv"
keys Enter
check "the export is said" wait_for "4 rows written to"
csv="$HOME/provdesk-activity-2026-11-10.csv"
check "the file has the header" bash -c "head -1 '$csv' | grep -qx \$'when_utc,who,customer,what,change\r'"
check "what the list showed: 4 rows, Acme's only" test "$(tail -n +2 "$csv" | grep -c 'Acme Telecom')" = 4
check "no row the filter hid" bash -c "! grep -q 'Béta' '$csv'"
# bad file names: said, nothing written
keys x; wait_for "Export to CSV"; keys C-u Enter
check "an empty file name is refused" wait_for "export: give a file name"
keys x; wait_for "Export to CSV"; keys C-u; type_text "$TMP/no/such/dir/a.csv"; keys Enter
check "a folder that does not exist is said" wait_for "cannot write $TMP/no/such/dir/a.csv"
check "nothing written there" test ! -e "$TMP/no/such/dir/a.csv"
keys x; wait_for "Export to CSV"; keys Escape
check "Esc cancels the export" wait_gone "Export to CSV"
keys Escape
check "Esc clears the filter" wait_for "Béta Corp"
keys Escape
check "Esc again goes back to the grid" wait_gone "All activity —"

# ---- the outbox
keys o
check "o opens the outbox" wait_for "Outbox — 2 queued, 1 failed"
check "a message waiting for a retry: attempts, next attempt" screen_re '^1 +Acme Telecom +admin@example.com +retry +1 +2026-11-10'
check "a failed one with its error" screen_re 'Béta Corp +bob@example.com +failed +1 +—'
keys /; type_text "bob"; keys Enter
check "the outbox filters too" wait_gone "paul@example.com"
check "the pane shows the whole error" wait_for "Error: 550 5.1.1 <bob@example.com>: no such user here"
check "a long error wraps between words beside its label, accented ones too" \
	words_whole_below "── #" "$bob_err"
keys r
check "r on a failed message queues it again (as outbox retry)" wait_until "$UI_WAIT" q_is "select state from outbox where id = $bob" 1
check "... and says so" wait_for "queued again"
check "the list follows the database" wait_for "Outbox — 3 queued, 0 failed"
keys Escape
wait_for "paul@example.com"
# cancel asks first (default No), then cancels with an audit row
paul=$(q "select id from outbox where to_addr = 'paul@example.com'")
keys Home
for ((i = 0; i < 5; i++)); do
	wait_until 2 bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q '── #$paul '" && break
	keys Down
done
keys d
check "d asks before cancelling" wait_for "Cancel the message"
keys Escape
check "Esc: nothing cancelled" q_is "select state from outbox where id = $paul" 1
keys d; wait_for "Cancel the message"; keys y
check "y cancels the message" wait_until "$UI_WAIT" q_is "select state from outbox where id = $paul" 4
check "the cancel is in the audit log with who did it" wait_until "$UI_WAIT" \
	q_is "select count(*) from audit where object = 'outbox' and action = 'cancel' and actor = '$(id -un)'" 1
check "a cancelled message leaves the outbox screen" wait_gone "paul@example.com"
keys r
check "retry now on a queued message makes it due now" wait_for "is sent now"
keys Escape
wait_gone "Outbox —"

# ---- the customer view's Activity tab: the same list + detail
keys Home
wait_for "Acme Telecom"
keys Enter; wait_for "Customer: Acme Telecom"
keys 5
check "Activity tab: who/when/what columns" screen_re '^When \(UTC\) +Who +What +Change'
check "the tab's detail pane shows the full change" wait_for 'reference: ∅ → "R-NEW"'
check "the tab lists this customer only" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'bob@example.com'"
keys /; type_text "paul1"
check "a digit typed in the filter is text, not a tab switch" wait_for "Filter: paul1"
keys BSpace
check "backspace edits the filter" wait_for "Filter: paul▏"
check "the tab's filter keeps Paul's record" screen_re 'user create +user "Paul Agent"'
check "and hides the others" wait_gone 'reference: ∅ → "R-NEW"'
keys Escape
check "Esc clears the tab's filter" wait_for 'customer update'

# ---- the Users tab: filter and export
keys 2
wait_for "Source / link"
keys /; type_text "paul"
check "the Users tab filters" wait_gone "admin@example.com"
check "Paul is shown" screen_re 'Paul Agent +paul@example.com'
keys Enter x
check "export from the Users tab" wait_for "Export the 1 row shown"
keys C-u; type_text "~/users.csv"; keys Enter
check "~/ is the home folder" wait_for "users: 1 row written to $HOME/users.csv"
check "the users export holds what was shown" \
	bash -c "[[ \$(tail -n +2 '$HOME/users.csv') == 'Paul Agent,paul@example.com,'*',console,cancelled'* ]]"
keys /; type_text "zzz"
check "a filter that matches nobody says so" wait_for "No user matches the filter"
keys Enter R
check "no action on a hidden user" wait_for "no user shown (Esc clears the filter)"
keys Escape
check "Esc clears it" wait_for "admin@example.com"
keys 1 x
check "x on a tab without a list says so" wait_for "the Users and Activity tabs have a list to export"
keys F10
check "the console quits" test "$(wait_exit)" = 0
finish
