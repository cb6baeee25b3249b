#!/usr/bin/env bash
# After the wizard creates a customer the grid selects that row: the user's
# filter and sort stay when the new customer matches the filter; when it does
# not, the filter is cleared and the status line says so. Checked with a
# customer far from the first page (keyset anchor by id, not a filter).
#   wizard_select.sh PROVDESK
PROG=$1
source "$(dirname "$0")/lib.sh"

# wizard: NAME, Germany, Analytics Pro, primary user, no PBX, create
create_in_wizard() {
	keys n
	wizard_step1 "$1"
	keys F6
	wait_for "New customer — Primary user"
	type_text "Ada Admin"
	keys Tab
	type_text "ada@example.com"
	keys F6
	wait_for "New customer — PBX details"
	keys Space F6 # no PBX yet
	wait_for "New customer — Role assignment"
	keys F6
	wait_for "summary: check, then create"
	keys Enter
	wait_gone "Create New Customer"
}
selected_opens() { # Enter opens the selected row: it is NAME; Esc back to the grid
	keys Enter
	wait_for "Customer: $1" || return 1
	keys Escape
	wait_for "provdesk — Customers"
}

for i in $(seq -w 1 60); do seed "Client $i" analytics-pro DE; done
seed "Zed Alpha" analytics-pro DE
seed "Zed Gamma" analytics-pro DE

start_console 100 30
wait_for "Client 01"

# ---- the live columns (Calls, Agents) are not sortable: > skips them; PBX
# sorts by the state last stored
keys F1
check "help says which columns are not sortable" wait_for "every column but Calls and Agents (live, not stored)"
keys Escape
wait_for "provdesk — Customers"
keys ">" ">" ">" ">" ">" ">"
check "> reaches PBX (after Internal)" wait_for "PBX▲"
keys ">"
check "> reaches Users (after PBX)" wait_for "Use…▲"
keys ">"
check "> from Users goes back to Name (skipping Calls and Agents)" wait_for "Name▲"

# ---- far down an unfiltered grid sorted by name
create_in_wizard "Client 45b"
check "created" test "$(q "select count(*) from customers where name='Client 45b'")" = 1
check "the new row is on screen" wait_for "Client 45b"
check "the first page is no longer shown" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'Client 01 '"
check "the new customer is selected (Enter opens it)" selected_opens "Client 45b"

# ---- a filter the new customer matches stays
keys /
type_text "Zed"
keys Enter
wait_for "Filter: Zed"
wait_gone "Client 45b"
create_in_wizard "Zed Beta"
check "the filter is kept" wait_for "Filter: Zed"
check "the filtered rows around it" bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'Zed Alpha' && tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'Zed Gamma'"
check "no row outside the filter" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'Client '"
check "no 'filter cleared' message" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'cleared'"
check "Zed Beta is selected (Enter opens it)" selected_opens "Zed Beta"
check "the filter is still there after opening it" wait_for "Filter: Zed"

# ---- a filter the new customer does not match is cleared, and said
create_in_wizard "Omega Systems"
check "the status line says the filter was cleared" \
	wait_for 'Filter "Zed" cleared: the new customer does not match it'
check "the message keeps the creation news" wait_for "does not match it · Customer Omega Systems created"
check "no filter any more" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'Filter: Zed'"
check "Omega Systems is selected (Enter opens it)" selected_opens "Omega Systems"
keys F10
check "quits cleanly" test "$(wait_exit)" = 0
finish
