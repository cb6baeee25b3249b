#!/usr/bin/env bash
# Fits 80 columns and says everything somewhere (issue 14): the grid's
# widths come from the content (the name gets the slack, other columns give
# way by priority), the tenant id column, the jump prompt (J) by reference or
# tenant id, long messages wrapped whole above the key bar and the message
# log (M) with their times.
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Acme Télécom" contact-centre FR
seed "Bravo SARL" analytics-pro DE --reference REF-B-001
seed "Société Générale Assurances" compliance-recording BE --reference R-77
TENANT=$(json_field "Acme Télécom" tenant_id)
not_on_screen() { ! screen | grep -qE -- "$1"; }

# ---- widths from the content: a 27-character name whole at 80 columns
start_console 80 24
wait_for "Bravo SARL"
check "a 27-character name is not cut at 80 columns" wait_for "Société Générale Assurances"
check "the reference column is as wide as its longest value" wait_for "REF-B-001"
check "no tenant id column at 80 columns (it gives way first)" not_on_screen "Tenant id"
# wider: the tenant id column shows the whole id
T resize-window -t t -x 160 -y 30
check "the tenant id column at 160 columns" wait_for "Tenant id"
check "a whole tenant id in its column" wait_for "$TENANT"
check "the live columns come back when there is room" screen_re "Calls +Agents"
T resize-window -t t -x 80 -y 24
check "back at 80 columns the tenant id gives way again" wait_gone "Tenant id"

# ---- jump: by reference (any case), then by tenant id
keys J
wait_for "Reference or tenant id"
type_text "ref-b-001"; keys Enter
check "J + a reference opens that customer" wait_for "Customer: Bravo SARL"
keys Escape
check "back in the grid, the customer jumped to is selected" screen_re "^ provdesk — Customers +2 of 3"
keys J
wait_for "Reference or tenant id"
type_text "$TENANT"; keys Enter
check "J + a tenant id opens that customer" wait_for "Customer: Acme Télécom"
keys Escape
wait_for "Bravo SARL"

# ---- a long error wraps whole above the key bar, at 80x24
keys J
wait_for "Reference or tenant id"
type_text "no such reference typed here"; keys Enter
check "the long error's start shows" wait_for 'No customer has the reference or tenant id "no such reference'
check "the long error's end shows too (wrapped, not cut)" screen_re '^.*opens the palette\)'
check "the message is not cut with an ellipsis" not_on_screen 'tenant id "no such.*…'
check "the key bar still shows under it" screen_re "^F1Help"

# ---- the message log keeps it with its time (the pinned clock's)
keys M
check "M opens the message log" wait_for "Message log"
check "the error is in the log with its time" screen_re '^[0-9]{2}:[0-9]{2}:[0-9]{2}  No customer has the reference'
check "its end is in the log as well" wait_for "opens the palette)"
keys Escape
check "Esc closes the log" wait_gone "Message log"
keys F1
wait_for "provdesk grid — keys"
check "a key's help text wraps under itself at 80 columns, not cut" screen_re "^ {30,}tenant id, notes\); Esc clears"
page_to() { # page_to REGEX: Page Down through the help until REGEX shows
	local i
	for i in 1 2 3 4 5 6; do
		screen_re "$1" 2 2>/dev/null && return 0
		keys NPage
	done
	screen_re "$1" 2
}
check "the help lists the jump (J)" page_to "^  J +jump +Jump to a customer"
check "the help lists the message log" page_to "message-log"
keys Escape
wait_gone "message-log"
keys F10
check "the console exits 0" test "$(wait_exit)" = 0
finish
