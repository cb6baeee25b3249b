#!/usr/bin/env bash
# The command palette (: and ^K, issue 14): customers by name, reference or
# tenant id from the store's filter (a bounded page), and the actions of the
# screen under it by name; Enter opens or runs, Esc cancels.
PROG=$1
source "$(dirname "$0")/lib.sh"
not_on_screen() { ! screen | grep -qF -- "$1"; }

seed "Acme Télécom" contact-centre FR
seed "Bravo SARL" analytics-pro DE --reference REF-B-001
seed "Zulu GmbH" compliance-recording BE
for i in $(seq 1 30); do seed "Filler $i" analytics-pro DE; done
TENANT=$(json_field "Zulu GmbH" tenant_id)

start_console 100 30
wait_for "Acme Télécom"
type_text ":"
check ": opens the palette" wait_for "Go to a customer or run an action"
check "at most 8 customers read for an empty query" test "$(screen | grep -c 'Customer  ')" -le 8
type_text "sort-m"
check "the palette lists actions by name, with their keys" screen_re "Action +sort-menu \(F6\)"
keys Escape
wait_gone "Go to a customer or run an action"
type_text ":"
wait_for "Go to a customer or run an action"
type_text "bravo"
check "a name finds the customer" screen_re "Customer  Bravo SARL · REF-B-001"
check "the other customers are gone" wait_gone "Acme Télécom ·"
keys Escape
check "Esc cancels" wait_gone "Go to a customer or run an action"
check "Esc left the grid as it was" wait_for "Acme Télécom"
# ^K, a reference
keys C-k
wait_for "Go to a customer or run an action"
type_text "ref-b-001"
check "a reference finds the customer" screen_re "Customer  Bravo SARL"
keys Enter
check "Enter opens the customer" wait_for "Customer: Bravo SARL"
keys Escape
wait_for "Filler 1"
# a tenant id
keys C-k
wait_for "Go to a customer or run an action"
type_text "$TENANT"
check "a tenant id finds the customer" screen_re "Customer  Zulu GmbH"
keys Enter
check "Enter opens it" wait_for "Customer: Zulu GmbH"
keys Escape
check "back in the grid, it is selected" screen_re "^ provdesk — Customers.* 33 of 33"
# an action by name runs on the screen under the palette
type_text ":"
wait_for "Go to a customer or run an action"
type_text "templates"
check "an action found by name" screen_re "Action +templates"
keys Enter
check "Enter runs it (PBX templates open)" wait_for "PBX templates"
keys Escape
wait_gone "PBX templates"
type_text ":"
wait_for "Go to a customer or run an action"
type_text "nothing matches this"
check "nothing found says so" wait_for "nothing matches"
keys Escape
wait_gone "Go to a customer"
keys F10
check "the console exits 0" test "$(wait_exit)" = 0
finish
