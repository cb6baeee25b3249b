#!/usr/bin/env bash
# The creation wizard with a Cisco BroadWorks (Xsi) PBX in tmux (issue 16),
# no XSP needed: step 3 offers BroadWorks (marked "no driver yet" exactly
# while the catalogue says unsupported: supported means registered), shows
# its fields from the catalogue (Xsi host, port 443, TLS on, Administrator,
# Password masked, Enterprise id, Group id, Other XSP hosts), refuses the
# missing required ones and a bad XSP host list naming the field, and the
# customer is created with the connection stored: params_json holds
# enterprise_id/group_id/xsp_hosts, the password only encrypted. Created
# disabled (nothing dials xsp1.example.net), which holds with or without the
# Xsi driver registered.
#   wizard_broadworks.sh PROVDESK
set -u
PROG=$(readlink -f "$1")
source "$(dirname "$0")/lib.sh" # tests/lib: counting, temp dir, clock, tmux

SECRET='Xsi-W1z-S3cret!'
on_screen_re() { screen 2>/dev/null | grep -qE -- "$1"; }
not_on_screen() { ! screen | grep -qF -- "$1"; }
cursor_row() { T display -p -t t '#{cursor_y}'; }
row_of() { screen | grep -nF -- "$1" | head -1 | cut -d: -f1 | awk '{print $1 - 1}'; }
cursor_on() { [[ "$(cursor_row)" == "$(row_of "$1")" ]]; }
supported=$("$PROG" --db "$DB" catalogue platforms --json | /usr/bin/python3 -c \
	'import json,sys; print(str([p["supported"] for p in json.load(sys.stdin)["platforms"] if p["key"] == "broadworks-xsi"][0]).lower())')
check "the catalogue says whether BroadWorks is supported ($supported)" test "$supported" = true -o "$supported" = false

start_console 80 24 tmux-256color
wait_for "F10" 30
keys n
wait_for "Create New Customer"
wizard_step1 "Xsi Wizard SA"
keys F6
wait_for "2 Primary user"
type_text "Alice Martin"
keys Tab
type_text "alice.martin@lab.example"
keys F6
check "step 3 reached" wait_for "3 PBX details"
keys Tab Tab Enter # Connect a PBX now -> Template -> Platform list
wait_for "Type to filter"
if [[ $supported == true ]]; then
	check "BroadWorks offered as supported" screen_re '│ Cisco BroadWorks \(Xsi\) +│'
else
	check "BroadWorks offered, without a driver yet" screen_re '│ Cisco BroadWorks \(Xsi\) \(no driver yet\) +│'
fi
type_text "BroadWorks"
keys Enter
check "its fields: Xsi host" wait_for "Xsi host"
for label in "Administrator" "Password" "Enterprise id" "Group id" "Other XSP hosts"; do
	check "its fields: $label" screen_re "^ $label( |\$)"
done
check "port 443 by default" screen_re '^ Port +443 *$'
check "TLS on by default" screen_re '^ TLS +\[x\] yes'
check "no Asterisk field" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -qE "Wrap-up|AMI user"' _ "$TMP/tmux.sock"
check "no FreeSWITCH field" not_on_screen "ESL password"
check "groups are the sub-accounts" wait_for "Monitors every group found"

# nothing typed: each required field refused, named on the status line
keys F6
check "the required fields refused (host first, by its label)" \
	screen_re 'fields to fix before going on · Xsi host: required'
check "Xsi host marked" screen_re '^ Xsi host +✗ required'
check "Administrator marked" screen_re '^ Administrator +✗ required'
check "Password marked" screen_re '^ Password +✗ required'
check "Enterprise id marked" screen_re '^ Enterprise id +✗ required'
check "Group id is optional" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -E "^ (Group id|Other XSP hosts)" | grep -qF "✗"' _ "$TMP/tmux.sock"
check "still step 3" wait_for "3 PBX details"
eventually "the cursor is on the first field to fix" cursor_on "Xsi host"
type_text "xsp1.example.net"
keys Tab Tab Tab # Port, TLS -> Administrator
type_text "admin@lab-ent"
keys Tab
type_text "$SECRET"
check "the password is masked" bash -c 'tmux -S "$1" capture-pane -p -t t | grep -qE "^ Password +\*{15}"' _ "$TMP/tmux.sock"
check "and never shown" not_on_screen "$SECRET"
keys F6
check "only the enterprise id missing now" wait_for "1 field to fix before going on · Enterprise id: required"
eventually "the cursor is on Enterprise id" cursor_on "Enterprise id"
type_text "lab-ent"
keys Tab
type_text "group-1"
keys Tab
type_text "xsp2.example.net:99999"
keys F6
check "a bad XSP host list refused, naming the field" \
	wait_for "1 field to fix before going on · Other XSP hosts: the port must be"
check "marked on its row" screen_re '^ Other XSP hosts +xsp2\.example\.net:99999 +✗ the port'
eventually "the draft (saved as you go) holds the fields, never the password" \
	q_is "select instr(json, 'lab-ent') > 0 and instr(json, 'xsp2.example.net:99999') > 0 and instr(json, '$SECRET') = 0 from drafts" 1
eventually "the cursor is on Other XSP hosts" cursor_on "Other XSP hosts"
keys C-u
type_text "xsp2.example.net:8443, xsp3.example.net"
keys Tab Tab Tab Space # past Verify TLS cert and TLS CA file to Create disabled: nothing dials the example hosts
check "created disabled" screen_re '^ Create disabled +\[x\] yes'
keys F6
check "step 4 reached" wait_for "4 Role assignment"
keys F6
check "the summary shows the platform" wait_for "Cisco BroadWorks"
check "the summary never shows the password" not_on_screen "$SECRET"
keys Enter
eventually "the customer was created" q_is "select count(*) from customers where name = 'Xsi Wizard SA'" 1

# the store: a complete connection
eq "the PBX row" "$(q "select platform, host, port, tls, username, enabled, sync_users, monitor from pbx")" \
	"broadworks-xsi|xsp1.example.net|443|1|admin@lab-ent|0|1|1"
eq "enterprise, group and other XSP hosts in params_json" "$(q "select params_json from pbx")" \
	'{"enterprise_id":"lab-ent","group_id":"group-1","tls_verify":true,"xsp_hosts":"xsp2.example.net:8443,xsp3.example.net"}'
eq "the password stored encrypted only" "$(q "select substr(secret, 1, 5) = 'enc1:' and instr(secret, '$SECRET') = 0 from pbx")" 1
eq "nor in the audit" "$(q "select count(*) from audit where instr(detail, '$SECRET')")" 0
eq "the creation is audited with the platform" "$(q "select count(*) from audit where object like 'pbx%' and instr(detail, 'broadworks-xsi')")" 1

# the customer view's PBX tab
check "the grid selects the new customer" wait_for "Xsi Wizard SA"
keys Enter
check "customer view opens" wait_for "Tenant id"
keys 3
check "PBX tab: the platform" wait_for "Cisco BroadWorks (Xsi)"
check "PBX tab: host and port" screen_re '^ *Host +xsp1\.example\.net:443'
check "PBX tab: the enterprise" screen_re 'Enterprise id +lab-ent'
check "PBX tab: the other XSP hosts" screen_re 'Other XSP hosts +xsp2\.example\.net:8443,xsp3\.example\.net'
check "the password never shown" not_on_screen "$SECRET"
keys F10
check "the console exits 0" test "$(wait_exit 30)" = 0
check "no error output" test ! -s "$TMP/exit.stderr"
finish
