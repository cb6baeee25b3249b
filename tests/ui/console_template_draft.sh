#!/usr/bin/env bash
# Nothing typed is lost in the PBX template form either (issue 14): SIGHUP
# or SIGTERM keeps the form's edits as a draft, as the customer edit form
# does (the form screen's draft), offered back when that form opens again.
PROG=$1
source "$(dirname "$0")/lib.sh"

cli template add lab --platform asterisk-ami --host pbx.example.com --port 5038 \
	--username admin >/dev/null
drafts() { q "select count(*) from drafts"; }
open_templates() {
	wait_for "customers"
	keys t; wait_for "lab"
}

# an existing template: SIGHUP keeps the host typed
start_console 100 30
open_templates
keys e; wait_for "Edit PBX template"
keys Tab C-u; type_text "hup.example.com" # Name is read-only: Platform, then Host
wait_for "hup.example.com"
kill -HUP "$(console_pid)"
check "SIGHUP ends the console (129)" test "$(wait_exit)" = 129
check "SIGHUP: the template's edits are kept as a draft" test "$(drafts)" = 1
check "the draft is the OS user's, for this template's form" \
	bash -c '[[ $1 == */form/template/lab ]]' _ "$(q "select owner from drafts")"
check "the draft holds the changed field" test "$(q "select json from drafts")" = '{"fields":{"host":"hup.example.com"}}'
check "nothing saved behind the user's back" \
	bash -c "\"$PROG\" --db '$DB' template show lab | grep -q pbx.example.com"

start_console 100 30
open_templates
keys e
check "the draft is offered back when the form opens" wait_for "You left unsaved changes on 2026-11-10"
keys Enter
check "restored: the host is back" wait_for "hup.example.com"
keys F2
check "the restored edits save" wait_for "template saved"
check "saved: the draft is gone" test "$(drafts)" = 0
keys q; wait_exit >/dev/null

# a new template: SIGTERM keeps the name typed
start_console 100 30
open_templates
keys a; wait_for "New PBX template"
type_text "typed-tpl"
wait_for "typed-tpl"
kill -TERM "$(console_pid)"
check "SIGTERM ends the console (143)" test "$(wait_exit)" = 143
kept=$(q "select owner || ' ' || json from drafts")
check "SIGTERM: the new template's name is kept" bash -c '[[ $1 == */form/template/new*typed-tpl* ]]' _ "$kept"
check "no template created behind the user's back" bash -c "! \"$PROG\" --db '$DB' template show typed-tpl >/dev/null 2>&1"
finish
