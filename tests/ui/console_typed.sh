#!/usr/bin/env bash
# Nothing typed is ever lost (issue 14): a quit from a form with unsaved
# changes asks (keep editing / save / discard); a quit that cannot ask
# (SIGHUP from a closed SSH session, SIGTERM) keeps the edits as a draft,
# offered back the next time that customer's form opens.
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Acme Telecom" contact-centre DE
drafts() { q "select count(*) from drafts"; }
open_edit() { # from a fresh console on the only customer
	wait_for "Acme Telecom"
	keys Enter; wait_for "Tenant id"
	keys e; wait_for "Edit customer: Acme Telecom"
}

# F10 with unsaved changes asks; Keep editing is the default
start_console 100 30
open_edit
keys Tab Tab C-u; type_text "TYPED-1"
keys F10
check "F10 with unsaved changes asks first" wait_for "Discard changes?"
check "it offers to save" wait_for "Save, then quit"
check "and to keep editing" wait_for "Keep editing"
keys Enter
check "Enter keeps editing: the form is still there" wait_gone "Discard changes?"
check "with what was typed" wait_for "TYPED-1"
type_text "X"
check "and typing goes on in the same field" wait_for "TYPED-1X"
check "the console did not quit" test ! -s "$TMP/exit"
# q is typed into a field, never a quit
type_text "q"
check "q in a field is text" wait_for "TYPED-1Xq"
# Save, then quit
keys F10; wait_for "Save, then quit"
keys Down Enter
check "Save, then quit saves and exits 0" test "$(wait_exit)" = 0
check "the value was saved" test "$(json_field "Acme Telecom" reference)" = "TYPED-1Xq"

# Backspace at the start of a field stays in it (no jump to the field above)
start_console 100 30
open_edit
keys Tab Tab Home BSpace; type_text "Z"
check "backspace at the start stays in the field" wait_for "ZTYPED-1Xq"
check "the field above is untouched" screen_re '^ Product type +Contact Centre *$'
# Discard changes and quit: nothing saved, no draft left
keys C-u; type_text "NOT-WANTED"
keys F10; wait_for "Discard changes and quit"
keys Down Down Enter
check "discard quits with status 0" test "$(wait_exit)" = 0
check "discarded: nothing saved" test "$(json_field "Acme Telecom" reference)" = "TYPED-1Xq"
check "discarded: no draft kept" test "$(drafts)" = 0

# a form without changes quits at once
start_console 100 30
open_edit
keys F10
check "no changes: F10 quits without asking" test "$(wait_exit)" = 0

# SIGHUP (a closed SSH session) keeps the edits as a draft
start_console 100 30
open_edit
type_text " GmbH" # the name opens with the cursor after it: this appends
check "typing appends to the value a field opens with" wait_for "Acme Telecom GmbH"
keys Tab Tab C-u; type_text "HUP-KEPT"
kill -HUP "$(console_pid)"
check "SIGHUP ends the console (129)" test "$(wait_exit)" = 129
check "SIGHUP: the edits are kept as a draft" test "$(drafts)" = 1
check "SIGHUP: nothing saved behind the user's back" test "$(json_field "Acme Telecom" reference)" = "TYPED-1Xq"
draft=$(q "select json from drafts")
owner=$(q "select owner from drafts")
check "the draft is the OS user's, for this customer's form" bash -c '[[ $1 == */form/customer/* ]]' _ "$owner"
check "the draft holds the changed fields" test "$draft" = '{"fields":{"name":"Acme Telecom GmbH","reference":"HUP-KEPT"}}'
start_console 100 30
open_edit
check "the draft is offered back, dated" wait_for "You left unsaved changes on 2026-11-10"
keys Escape
check "Esc: decide later, the form shows what is stored" wait_gone "You left unsaved"
check "Esc: the draft is left alone" test "$(drafts)" = 1
keys Escape; wait_for "Tenant id"
check "closing the form unchanged keeps the draft for later" test "$(drafts)" = 1
keys e; wait_for "You left unsaved changes on 2026-11-10"
check "restoring is the default" wait_for "Restore them"
keys Enter
check "restored: the reference is back" wait_for "HUP-KEPT"
check "restored: the name too" wait_for "Acme Telecom GmbH"
check "restored: it says so" wait_for "Your unsaved changes are restored"
keys F2
check "the restored edits save" wait_for "saved (version 3)"
check "stored" test "$(json_field "Acme Telecom GmbH" reference)" = "HUP-KEPT"
check "saved: the draft is gone" test "$(drafts)" = 0
keys q; wait_exit >/dev/null

# SIGTERM too; choosing Discard them drops the draft
start_console 100 30
open_edit
keys Tab Tab C-u; type_text "TERM-KEPT"
kill -TERM "$(console_pid)"
check "SIGTERM ends the console (143)" test "$(wait_exit)" = 143
check "SIGTERM: the edits are kept as a draft" test "$(drafts)" = 1
start_console 100 30
open_edit
wait_for "Discard them"
keys Down Enter
check "Discard: the form shows what is stored" wait_for "HUP-KEPT"
check "Discard: the draft is gone" test "$(drafts)" = 0
keys Escape
check "nothing changed: Esc closes the form" wait_for "Tenant id"

# bad drafts (the table is shared: read as input): unreadable, and values
# that no field could hold
put_draft() { q "insert or replace into drafts(owner, json, saved_at) values ('$owner', '$1', 0)"; }
put_draft '{not json'
keys e
check "an unreadable draft is said, not offered" wait_for "An unreadable draft of this form was dropped"
check "and dropped" test "$(drafts)" = 0
check "the form opens on what is stored" wait_for "HUP-KEPT"
keys Escape; wait_for "Tenant id"
long=$(printf 'x%.0s' {1..300})
put_draft '{"fields":{"notes":5,"nosuch":"x","reference":"R\u001b[2J","name":"'"$long"'","country":"FR"}}'
keys e; wait_for "You left unsaved changes on"; keys Enter
check "bad values are left out, and said" wait_for "4 value(s) of the draft did not fit"
check "a good value of the same draft is restored (and checked: its zone follows)" wait_for "Europe/Paris"
check "the reference keeps what is stored" wait_for "HUP-KEPT"
check "the name keeps what is stored" wait_for "Name              Acme Telecom GmbH"
keys F10; wait_for "Discard changes and quit"; keys Down Down Enter
check "discarding a restored draft deletes it" test "$(wait_exit)" = 0
check "no draft left" test "$(drafts)" = 0
start_console 100 30
wait_for "Acme Telecom"
keys q
check "quits with status 0" test "$(wait_exit)" = 0
finish
