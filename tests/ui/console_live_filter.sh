#!/usr/bin/env bash
# The live panel's calls filter and export (issue 14): `/` filters the calls
# as they come and go (any column but the duration), Esc clears it, `x`
# writes the calls shown to CSV; against the lab PBX with queue calls.
PROG=$1
source "$(dirname "$0")/lib.sh"

printf '%s' 'filter-secret' >"$TMP/secret"
chmod 600 "$TMP/secret"
LAB_PID=
pd_on_exit '[[ -n $LAB_PID ]] && { kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; }; true'
"$PROG" lab-pbx --listen 127.0.0.1:0 --secret-file "$TMP/secret" --users 12 --queues 2 \
	--call-rate 120 --seed 7 --json >"$TMP/lab.json" 2>"$TMP/lab.err" &
LAB_PID=$!
check "lab PBX starts" wait_until 10 grep -q '"port"' "$TMP/lab.json"
LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json")
seed "Acme Telecom" contact-centre DE
cli pbx add "Acme Telecom" --platform asterisk-ami --host 127.0.0.1 --port "$LAB_PORT" \
	--username admin --secret-file "$TMP/secret" >/dev/null

# the calls section: the lines after the Calls header, up to the blank line
calls_rows() { screen | awk '/^Calls \(/ { on = 1; next } on && /^ *$/ { exit } on'; }
only_sales() { # at least one call row, every one in sales
	local rows
	rows=$(calls_rows | grep -v '^Filter:')
	[[ -n $rows ]] && ! grep -q 'support' <<<"$rows" && grep -q 'sales' <<<"$rows"
}

start_console 100 30
check "the link reaches monitoring" wait_for "monitoring" 30
keys Enter; wait_for "Customer: Acme Telecom"
keys l
check "calls of both queues" wait_until 60 bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q ' sales ' && tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q ' support '"
keys /
type_text "sales"
check "/ filters the calls as you type" wait_for "Filter: sales▏"
check "only the sales calls are listed" wait_until "$UI_WAIT" only_sales
keys Enter
check "Enter keeps the filter" wait_for "Filter: sales  (Esc clears)"
keys x
check "x asks where to export the calls shown" wait_for "Export the"
keys C-u; type_text "$TMP/calls.csv"; keys Enter
check "the export is said" wait_for "written to $TMP/calls.csv"
check "the CSV has the calls' header" bash -c "head -1 '$TMP/calls.csv' | grep -q '^from,to,direction,state,queue,agent,duration'"
check "every exported call is a sales one" bash -c "[[ \$(tail -n +2 '$TMP/calls.csv' | wc -l) -ge 1 ]] && ! tail -n +2 '$TMP/calls.csv' | cut -d, -f5 | grep -qv '^sales'"
keys Escape
check "Esc clears the filter" wait_gone "Filter: sales"
check "the panel is still open" wait_for "Calls & agents"
check "the support calls are back" wait_until 60 bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q ' support '"
keys /; type_text "zzz-no-such"
check "a filter matching nothing says so" wait_for "No call matches the filter (Esc clears it)."
keys Escape Escape
check "Esc twice: cleared, then back to the customer" wait_for "Customer: Acme Telecom"
keys F10
check "the console quits" test "$(wait_exit)" = 0
finish
