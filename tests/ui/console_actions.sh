#!/usr/bin/env bash
# Customer actions from the console: trial extend/convert/end, disable and
# enable, delete by typing the name, restore; users: role and resend; PBX
# enable/disable. Each checked on screen and in the database.
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Acme Telecom" contact-centre DE --trial=5
seed "Société Générale" analytics-pro FR
start_console 100 30
wait_for "Acme Telecom"
keys Enter; wait_for "Customer: Acme Telecom"
trial_end() { cli customer show "Acme Telecom" --json | /usr/bin/python3 -c 'import json,sys; t=json.load(sys.stdin)["trial"]; print(t and t.get("end"))'; }
end0=$(trial_end)

# extend the trial by 10 days
keys a; wait_for "Extend the trial"
keys Enter; wait_for "By how many days?"
keys C-u; type_text "abc"; keys Enter
check "a bad number of days is refused" wait_for "days: a whole number"
keys a; wait_for "Extend the trial"; keys Enter; wait_for "By how many days?"
keys C-u; type_text "10"; keys Enter
check "trial extended" wait_for "trial extended"
check "the end date moved by 10 days" test "$(/usr/bin/python3 -c "import datetime as d,sys; print((d.date.fromisoformat('$(trial_end)')-d.date.fromisoformat('$end0')).days)")" = 10

# convert to paid
keys a; wait_for "Convert the trial to paid"; keys Down Enter
wait_for "Convert the trial to a paid"; keys y
check "trial converted" wait_for "trial converted to paid"
check "status active in the database" test "$(json_field "Acme Telecom" status)" = active

# disable, then enable
keys a; wait_for "Disable the customer"; type_text "disable"; keys Enter
wait_for "Disable this customer?"; keys y
check "customer disabled" wait_for "[disabled]"
check "disabled in the database" test "$(json_field "Acme Telecom" status)" = disabled
keys a; wait_for "Enable the customer"; type_text "enable"; keys Enter
wait_for "Enable this customer?"; keys y
check "customer enabled again" wait_for "[active]"

# delete: the wrong name is refused, the right one deletes
keys a; wait_for "Delete…"; type_text "delete"; keys Enter
wait_for "Type the customer's name"
type_text "Acme"; keys Enter
check "a wrong name does not delete" wait_for "refused"
check "still active in the database" test "$(json_field "Acme Telecom" status)" = active
keys a; wait_for "Delete…"; type_text "delete"; keys Enter
wait_for "Type the customer's name"
type_text "acme telecom"; keys Enter
check "the name (any case) deletes" wait_for "customer deleted"
check "deleted in the database" test "$(json_field "Acme Telecom" status)" = deleted

# the grid hides deleted customers; D shows them; restore
keys Escape
check "deleted customer leaves the grid" wait_gone "Acme Telecom"
keys D
check "D shows deleted customers" wait_for "Acme Telecom"
check "its status says deleted" screen_re "Acme Telecom .* deleted"
keys Home Enter; wait_for "Customer: Acme Telecom"
keys a; wait_for "Restore the customer"; keys Enter
wait_for "Restore this deleted customer?"; keys y
check "restored" wait_for "customer restored"
check "active again in the database" test "$(json_field "Acme Telecom" status)" = active

# users: assign a role, resend the invitation
keys 2; wait_for "Source"
keys R; wait_for "Role of Admin"
type_text "superv"; keys Enter
check "the primary user keeps Customer Administrator" test "$(cli customer show "Acme Telecom" --json | /usr/bin/python3 -c 'import json,sys; print([u["role"] for u in json.load(sys.stdin)["users"] if u["primary"]][0])')" = customer-admin
keys +; wait_for "Add a user"
type_text "Jean Dupont"; keys Tab; type_text "jean@acme.de"; keys Tab; type_text "2001"; keys F2
check "user added" wait_for "invitation queued for jean@acme.de"
check "user listed with the default role" screen_re "Jean Dupont +jean@acme.de +2001 +Agent"
keys Down R; wait_for "Role of Jean Dupont"; type_text "superv"; keys Enter
check "role assigned on screen" screen_re "Jean Dupont .*Supervisor"
check "role stored" test "$(cli customer show "Acme Telecom" --json | /usr/bin/python3 -c 'import json,sys; print([u["role"] for u in json.load(sys.stdin)["users"] if u["email"]=="jean@acme.de"][0])')" = supervisor
# a name typed into the list (no field has focus there): its letters fire no
# action behind the user's back; the i in it asks, and n answers No
outbox_n() { cli outbox list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
before=$(outbox_n)
type_text "Kim"
check "i asks before resending" wait_for "Send the invitation to jean@acme.de again?"
check "a typed m does not answer" wait_for "y / n, Esc = No"
keys Enter
check "the default is No" wait_gone "Send the invitation"
check "nothing was queued" test "$(outbox_n)" = "$before"
type_text "Ti" # (an n next would answer No)
check "another i asks again" wait_for "Send the invitation to jean@acme.de again?"
type_text "n"
check "n answers No" wait_gone "Send the invitation"
check "still nothing queued" test "$(outbox_n)" = "$before"
keys i; wait_for "Send the invitation to jean@acme.de again?"; keys y
check "invitation resent" wait_for "invitation to jean@acme.de queued"
check "resent while still queued: one mail, not two" test "$(cli outbox list --json | /usr/bin/python3 -c 'import json,sys; print(sum(1 for m in json.load(sys.stdin) if m["to"]=="jean@acme.de"))')" = 1
keys 4
check "roles tab lists who has each role" screen_re "^   Jean Dupont"

# PBX enable/disable
PDSECRET=s3cret cli pbx add "Acme Telecom" --platform asterisk-ami --host 127.0.0.1 --port 5038 \
	--username u --secret-env PDSECRET --disabled >/dev/null
keys 3
check "PBX tab shows the disabled connection" wait_for "no — nothing connects until enabled"
keys E
check "E enables it" wait_for "PBX connection enabled"
pbx_enabled() { cli customer show "Acme Telecom" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pbx"]["enabled"])'; }
check "enabled in the database" test "$(pbx_enabled)" = True
keys E
check "disabling asks first" wait_for "Disable the PBX connection?"
keys Enter
check "the default is No: still enabled" test "$(pbx_enabled)" = True
wait_gone "Disable the PBX connection?"
keys E; wait_for "Disable the PBX connection?"; keys y
check "y disables it" wait_for "PBX connection disabled"
check "disabled in the database" test "$(pbx_enabled)" = False
keys 5
check "activity tab shows the audit trail" wait_for "customer delete"
keys q
check "quits with status 0" test "$(wait_exit)" = 0
finish
