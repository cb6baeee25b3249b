#!/usr/bin/env bash
# Bad input in every editable field of the console: the error shows beside
# the field when it is left (the same core rules as the command line), and
# nothing invalid is stored.
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Acme Telecom" analytics-pro DE
seed "Demo Interne" analytics-pro FR --internal
seed "Conformité SARL" compliance-recording FR
start_console 100 30
wait_for "Acme Telecom"
keys Enter; wait_for "Tenant id"
keys e; wait_for "Edit customer: Acme Telecom"
# the field's row carries the error (polled: keys may still be in flight)
field_err_text() {
	local d=$((SECONDS + UI_WAIT))
	until line_with "$1" | grep -qF -- "$2"; do
		((SECONDS < d)) || { screen >&2; return 1; }
		sleep 0.05
	done
}
field_err() { field_err_text "$1" "✗"; }
no_field_err() {
	local d=$((SECONDS + UI_WAIT))
	while line_with "$1" | grep -qF "✗"; do
		((SECONDS < d)) || return 1
		sleep 0.05
	done
}
not_on_screen() { ! screen | grep -qF -- "$1"; }

# name: empty, then a name another customer has
keys C-u Tab
check "empty name: error beside Name" wait_for "✗"
check "the error is on the Name row" field_err "Name "
keys BTab C-u; type_text "demo interne"; keys Tab
check "duplicate name (case/accent-insensitive) refused beside Name" field_err_text "Name " "already"
keys BTab C-u; type_text "$(printf 'x%.0s' {1..101})"; keys Tab
check "101-character name refused" field_err "Name "
keys BTab C-u; type_text "Acme Telecom"; keys Tab
check "a valid name clears the error" no_field_err "Name "

# product type: only the types sold in DE are offered; a change states
# its licensing impact
keys Enter; wait_for "Type to filter"
type_text "compliance"
check "a type not sold in DE is not offered" wait_for "(nothing matches)"
keys C-u; type_text "essentials"; keys Enter
wait_gone "Type to filter"
check "changing the product type states the licensing impact" field_err_text "Product type" "icens"
keys Enter; wait_for "Type to filter"; type_text "analytics pro"; keys Enter; wait_gone "Type to filter"
keys Tab

# reference: 65 characters
type_text "$(printf 'r%.0s' {1..65})"; keys Tab
check "65-character reference refused beside Reference" field_err "Reference"
keys BTab C-u; keys Tab

# country: nothing matches
keys C-u; type_text "Atlantide"; keys Tab
check "unknown country refused beside Country" field_err "Country"
keys BTab C-u; type_text "allem"; keys Tab
check "country found by its French name" wait_for "Europe/Berlin"
check "the new country's default locale follows" wait_for "de_DE"

# locale: one the system does not support
keys Tab
keys C-u; type_text "xx_YY"; keys Tab
check "unsupported locale refused beside Locale" field_err "Locale"
keys BTab C-u; type_text "de_CH"; keys Tab

# notes: 4001 characters
type_text "$(printf 'n%.0s' {1..4001})"
keys Tab
check "4001-character notes refused beside Notes" field_err "Notes"
keys BTab C-u; keys Tab

# internal system: the limit (1) is already used by "Demo Interne"
check "internal toggle warns it is for internal use only" wait_for "for internal use only"
keys Space F2
check "second internal system refused at save" wait_for "✗"
check "nothing invalid stored" test "$(json_field "Acme Telecom" internal_system)" = "False"
check "name unchanged in the database" test "$(json_field "Acme Telecom" name)" = "Acme Telecom"

# Esc asks before dropping edits
keys Escape
check "Esc asks before discarding" wait_for "Discard changes?"
keys y
check "discarding returns to the customer" wait_for "Tenant id"

# a locked product type is read-only; moving the customer to a country where
# it is not sold is refused beside the product type
keys Escape; wait_for "customers"
keys /; type_text "conform"; wait_for "1 of 1"; keys Enter Enter; wait_for "Tenant id"
keys e; wait_for "Edit customer: Conformité SARL"
check "locked product type says so" field_err_text "Product type" "locked"
keys Tab Tab C-u; type_text "DE"; keys Tab
check "locked type not sold in the new country: error beside Product type" field_err "Product type"
keys Escape; wait_for "Discard changes?"; keys y; wait_for "Tenant id"
check "country unchanged in the database" test "$(json_field "Conformité SARL" country)" = "FR"
keys Escape; wait_for "customers"; keys Escape; wait_for "Acme Telecom"
keys Home; keys Enter; wait_for "Customer: Acme Telecom"

# users: bad email and extension in the add-user form
keys 2; wait_for "Source"
keys +; wait_for "Add a user"
type_text "Jean Dupont"; keys Tab; type_text "not-an-email"; keys Tab
check "bad email refused beside Email" field_err "Email"
type_text "12ab"; keys Tab
check "bad extension refused beside Extension" field_err "Extension"
keys F2
check "save refused while fields are wrong" wait_for "Please correct the fields"
keys Escape; wait_for "Discard changes?"; keys y; wait_for "Source"
check "no user added" test "$(cli customer show "Acme Telecom" --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["users"]))')" = 1

# PBX: a port out of range, and no secret on screen
keys 3; wait_for "No PBX connection"
keys +; wait_for "Add a PBX connection"
keys Tab Tab; type_text "pbx.example.com"; keys Tab; type_text "99999"; keys Tab
check "port out of range refused beside Port" field_err "Port"
keys BTab C-u; type_text "5038"; keys Tab Tab; type_text "admin"; keys Tab
type_text "s3cr3t-Pass"; keys Tab
check "the secret is masked" not_on_screen "s3cr3t"
check "the secret shows as stars" wait_for "***********"
# the platform's own parameters (catalogue fields kept in params_json)
check "Asterisk's own parameters are offered" wait_for "Wrap-up time (s)"
keys Tab Tab Tab Tab Space Tab # sync, monitor, sub-accounts, enabled -> verify TLS off
type_text "ca.pem"; keys Tab
check "a relative CA file refused beside its field" field_err "TLS CA file"
keys BTab C-u Tab C-u; type_text "99999"; keys Tab
check "a wrap-up time out of range refused beside its field" field_err "Wrap-up time"
keys BTab C-u; type_text "7"; keys Tab
keys F2
check "PBX connection saved" wait_for "PBX connection saved"
check "PBX tab never shows the secret" not_on_screen "s3cr3t"
check "stored disabled by default" test "$(cli customer show "Acme Telecom" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pbx"]["enabled"])')" = False
check "the parameters are stored typed" test "$(q 'select params_json from pbx')" = '{"tls_verify":false,"wrapup_time":7}'
check "the PBX tab shows them" screen_re 'Verify TLS cert +no'
check "the PBX tab shows the wrap-up time" screen_re 'Wrap-up time \(s\) +7'
check "and a default as such" screen_re 'TLS CA file +—'
keys e; wait_for "PBX connection settings"
check "editing shows the stored wrap-up time" screen_re 'Wrap-up time \(s\) +7'
keys Tab Enter; wait_for "Type to filter"; type_text "FreeSWITCH"; keys Enter
check "the platform is changed" screen_re 'Platform +FreeSWITCH'
check "another platform hides Asterisk's parameters" wait_gone "Wrap-up time"
keys Escape; wait_for "Discard changes?"; keys y; wait_for "Verify TLS cert"

keys F10
check "F10 quits with status 0" test "$(wait_exit)" = 0
finish
