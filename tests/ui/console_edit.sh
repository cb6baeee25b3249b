#!/usr/bin/env bash
# The console end to end: find, open, edit, save, conflicts with another
# process, and other processes' changes showing up without a keypress.
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Société Générale" analytics-pro FR
seed "Acme Telecom" contact-centre DE --trial=5
seed "Zèbre Télécom" analytics-essentials BE

start_console 100 30
check "grid shows French names with accents" wait_for "Société Générale"
check "accented name renders exactly" screen_re '^Société Générale +Analytics P'
check "trial ending within 7 days shows days left" wait_for "trial 4d"
check "status line has counts" wait_for "3 customers"

# filter as you type down to one customer; the match is highlighted
keys /; type_text "gén"
check "filter narrows to one customer" wait_for "1 of 1"
check "other customers are filtered out" wait_gone "Acme Telecom"
hl=$(T capture-pane -p -e -t t | grep -F "Soci" | head -1)
check "the match is highlighted (underlined)" bash -c '[[ "$1" =~ $'"'"'\e'"'"'\[[0-9\;]*4[0-9\;]*mGén ]]' _ "$hl"
keys Enter Enter
check "Enter opens the customer view" wait_for "Tenant id"
check "tabs are shown" wait_for "1 Details   2 Users   3 PBX   4 Roles   5 Activity"

# edit one field and save; check the database
keys e
check "edit form opens" wait_for "Edit customer: Société Générale"
keys Tab Tab; type_text "R-77"; keys F2
check "save reports the new version" wait_for "saved (version 2)"
check "reference stored" test "$(json_field "Société Générale" reference)" = "R-77"
check "details show the saved reference" wait_for "R-77"

# conflicting edit from another process: reapply keeps both
keys e; wait_for "Edit customer"
keys Tab Tab C-u; type_text "MINE-2"
cli customer update "Société Générale" --notes "their note" >/dev/null
keys F2
check "conflict screen appears" wait_for "Conflict: someone else saved this customer"
check "conflict shows their change" screen_re '^ notes +their note'
check "conflict shows my change" screen_re '^ reference +R-77 +R-77 +MINE-2'
check "nothing saved while deciding" test "$(json_field "Société Générale" reference)" = "R-77"
keys r
check "reapply saves" wait_for "saved (version 4)"
check "my edit stored" test "$(json_field "Société Générale" reference)" = "MINE-2"
check "their edit kept" test "$(json_field "Société Générale" notes)" = "their note"

# the SAME field changed by both (and another one): both values are shown,
# nothing is saved until the user keeps one of them per field
keys e; wait_for "Edit customer"
type_text " SA" # the name opens with the cursor after it
keys Tab Tab C-u; type_text "MINE-5"
cli customer update "Société Générale" --reference "THEIRS-5" --name "Société Générale Paris" >/dev/null
keys F2
check "same field: conflict screen" wait_for "Conflict: someone else saved this customer"
check "same field: both values shown" screen_re '^ reference +MINE-2 +THEIRS-5 +MINE-5 +\? m/t'
check "same field: both names shown" screen_re '^ name +.*Société Générale Paris +Société Générale SA +\? m/t'
check "same field: it says what to do" wait_for "m keeps yours, t theirs"
keys r
check "same field: r without a choice saves nothing" wait_for "Choose first"
check "same field: still the stored version" test "$(json_field "Société Générale Paris" reference)" = "THEIRS-5"
keys m # the name (first): mine; the selection moves to the reference
check "m keeps mine for the selected field" screen_re '^ name +.* yours *$'
keys t
check "t keeps theirs for the next one" screen_re '^ reference +MINE-2 +THEIRS-5 +MINE-5 +theirs *$'
keys r
check "the merge saves" wait_for "saved (version 6)"
check "the name kept is mine" test "$(json_field "Société Générale SA" reference)" = "THEIRS-5"
check "their notes are kept" test "$(json_field "Société Générale SA" notes)" = "their note"
cli customer update "Société Générale SA" --name "Société Générale" >/dev/null

# conflict, discard mine: their version is loaded, nothing overwritten
keys e; wait_for "Edit customer"
keys Tab Tab C-u; type_text "LOST"
cli customer update "Société Générale" --reference "THEIRS-3" >/dev/null
keys F2
wait_for "Conflict: someone else saved"
keys d
check "discard loads their version" wait_for "Their version is loaded"
check "form shows their value" wait_for "THEIRS-3"
keys Escape
check "form closes without asking (no edits left)" wait_for "Tenant id"
check "their value is stored" test "$(json_field "Société Générale" reference)" = "THEIRS-3"

# back to the grid; Esc clears the filter
keys Escape; wait_for "Filter: gén"
keys Escape
check "Esc clears the filter" wait_for "Acme Telecom"
# a filter longer than PD_FILTER_MAX (200 bytes) is refused at the key, and said
keys /
type_text "$(printf 'z%.0s' {1..205})"
check "an over-long filter is said, not cut in silence" wait_for "The filter holds at most 200 bytes"
check "and it holds the first 200 bytes" wait_for "No customer matches the filter"
keys Escape
check "Esc clears the long filter" wait_for "Acme Telecom"

# another process's change appears without a keypress
start=$SECONDS
cli customer create --name "Zébulon Énergie" --product-type analytics-pro --country FR \
	--admin-name "Zoé" --admin-email "zoe@example.fr" >/dev/null
check "a customer created elsewhere shows within 2 s" wait_for "Zébulon Énergie" 2
cli customer update "Acme Telecom" --name "Acme Télécom" >/dev/null
check "a rename elsewhere shows within 2 s" wait_for "Acme Télécom" 2

# selection is kept by id across refreshes
keys Home; wait_for "Acme Télécom"
keys Down
sel_before=$(T capture-pane -p -e -t t | grep -n "Société" | cut -d: -f1)
cli customer create --name "Aardvark" --product-type analytics-pro --country FR \
	--admin-name "A" --admin-email "a@example.fr" >/dev/null
wait_for "Aardvark" 2
check "selection stays on the same customer" screen_re '3 of 5'

# help is generated from the key table
keys F1
check "help lists the actions" wait_for "filter"
check "help lists the default keys" screen_re '^  n, F7 +new-customer'
keys End
check "End scrolls the help to its last lines" wait_for "wizard-discover"
check "… and its first lines are gone" wait_gone "provdesk grid — keys"
keys Home
check "Home scrolls the help back to the top" wait_for "provdesk grid — keys"
keys Escape; wait_for "Customers"

# sort by another column, invert
keys '>'
check "> sorts by the next column" wait_for "Product type▲"
keys I
check "I inverts the order" wait_for "Product type▼"
keys '<'
check "< goes back to the name column (order kept)" wait_for "Name▼"
keys I; wait_for "Name▲"

# catalogue and PBX templates screens
keys c
check "catalogue screen lists product types" wait_for "== Product types"
check "catalogue shows a locked type" wait_for "locked once assigned"
keys Escape; wait_for "Customers"
keys t
check "templates screen opens" wait_for "PBX templates"
keys a; wait_for "New PBX template"
type_text "Paris AMI"; keys Tab Tab; type_text "pbx.paris.example"; keys Tab; type_text "5038"; keys Tab Tab; type_text "amiuser"
check "the template offers the platform's own parameters" wait_for "Wrap-up time (s)"
keys Tab Tab Tab C-u; type_text "3"; keys Tab # verify TLS, CA file -> wrap-up time
keys F2
check "template saved and listed" wait_for "pbx.paris.example:5038"
check "with its wrap-up time, stored typed" test "$(q "select params_json from templates where name = 'Paris AMI'")" = '{"wrapup_time":3}'
keys Escape; wait_for "Customers"

# marking a customer internal asks first: internal use only, not billed,
# how many internal systems are left (the words of the command line)
keys /; type_text "Zèbre"; wait_for "1 of 1"
keys Enter Enter; wait_for "Tenant id"
keys e; wait_for "Edit customer: Zèbre Télécom"
keys BTab # from the name back round to the last field, internal system
wait_for "for internal use only"
keys Space F2
check "internal: the warning is shown" wait_for "will not be billed"
check "internal: it says how many are left" wait_for "0 of 1 internal system"
keys n
check "internal: No saves nothing" test "$(json_field "Zèbre Télécom" internal_system)" = False
keys F2; wait_for "will not be billed"; keys y
check "internal: Yes saves" wait_for "saved (version 2)"
check "internal: stored" test "$(json_field "Zèbre Télécom" internal_system)" = True
keys Escape; wait_for "Filter: Zèbre"
keys Escape; wait_for "Acme Télécom"

keys q
check "q quits with status 0" test "$(wait_exit)" = 0
finish
