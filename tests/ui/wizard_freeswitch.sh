#!/usr/bin/env bash
# The creation wizard with a FreeSWITCH PBX, end to end in tmux (issue 13):
# a FreeSWITCH lab PBX started by the test (two domains), step 3 picks
# FreeSWITCH (offered as supported), fills host/port/ESL password; step 4's
# discovery (F9) lists the lab's users with their UTF-8 names, roles are given
# to two of them; after the creation the store has the users with their
# roles, the PBX row and the synced users linked by email, and the console
# shows the link monitoring and the users synced.
#   wizard_freeswitch.sh PROVDESK
set -u
PROG=$(readlink -f "$1")
source "$(dirname "$0")/lib.sh" # tests/lib: counting, temp dir, clock, tmux

SECRET='Fs-W1z-S3cret!'
printf '%s' "$SECRET" > "$TMP/secret"
chmod 600 "$TMP/secret"
LAB_PID=
stop_lab() { if [[ -n $LAB_PID ]]; then kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; LAB_PID=; fi; }
pd_on_exit stop_lab
on_screen_re() { screen 2>/dev/null | grep -qE -- "$1"; }
cursor_row() { T display -p -t t '#{cursor_y}'; }
row_of() { screen | grep -nF -- "$1" | head -1 | cut -d: -f1 | awk '{print $1 - 1}'; }
cursor_on() { [[ "$(cursor_row)" == "$(row_of "$1")" ]]; }

# the FreeSWITCH lab: 10 users (1008 is Hélène Dubois), domains default and site-2
"$PROG" lab-pbx --platform freeswitch --listen 127.0.0.1:0 --secret-file "$TMP/secret" \
	--users 10 --sites 2 --call-rate 0 --json > "$TMP/lab.json" 2> "$TMP/lab.err" &
LAB_PID=$!
lab_port() { LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json" 2>/dev/null) && [[ -n $LAB_PORT ]]; }
LAB_PORT=
check "FreeSWITCH lab PBX listening" wait_until 10 lab_port

start_console 80 24 tmux-256color
wait_for "F10" 30
keys n
wait_for "Create New Customer"
wizard_step1 "Fête FreeSWITCH"
keys F6
wait_for "2 Primary user"
# the primary user has the email of the lab's user 1001: the sync links them
type_text "Alice Martin"
keys Tab
type_text "alice.martin@lab.example"
keys F6
check "step 3 reached" wait_for "3 PBX details"
keys Tab Tab Enter # Connect a PBX now -> Template -> Platform list
wait_for "Type to filter"
check "FreeSWITCH is offered as supported" screen_re '│ FreeSWITCH \(event socket\) +│'
check "and without 'no driver yet'" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -F "FreeSWITCH" | grep -qF "no driver"' _ "$TMP/tmux.sock"
type_text "FreeSWITCH"
keys Enter
check "its own fields: the ESL password" wait_for "ESL password"
check "no AMI user field for FreeSWITCH" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -qF "AMI user"' _ "$TMP/tmux.sock"
check "the port defaults to 8021" wait_for "8021"
keys Tab
type_text "127.0.0.1"
keys Tab C-u
type_text "$LAB_PORT"
keys Tab
# a wrong password first: the discovery says so, and writes nothing
type_text "wrong-password"
keys F6
check "step 4 reached" wait_for "4 Role assignment"
keys F9
check "a wrong ESL password is reported (no user name to blame)" wait_for "the PBX refused the password" 15
keys F5
wait_for "3 PBX details"
wait_for "ESL password"
keys Tab Tab Tab Tab Tab C-u # Connect a PBX, Template, Platform, Host, Port -> password
type_text "$SECRET"
check "the password is masked" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -qF -- "$2"' _ "$TMP/tmux.sock" "$SECRET"
# created enabled, sync and monitor on (defaults); auto-provision on: the
# domains become sub-accounts
keys Tab Tab Tab Tab Space
check "auto-provision on" screen_re 'Auto.*\[x\]'
keys F6
check "back in step 4" wait_for "4 Role assignment"
keys F9
check "discovery lists the FreeSWITCH users (UTF-8 names)" wait_for "Hélène Dubois" 15
check "with their count" wait_for "10 users found on the PBX"
check "users named user@domain" screen_re '1002@site-2 +Bob Dupont'
eq "nothing written by a discovery" "$(q 'select count(*) from customers') $(q 'select count(*) from users')" "0 0"
# roles: 1002@site-2 Supervisor, 1008@site-2 (Hélène Dubois) Agent
eventually "the cursor is on the first PBX user" cursor_on "1001@default"
keys Tab
eventually "Tab goes to the next PBX user" cursor_on "1002@site-2"
keys Enter
wait_for "Type to filter"
type_text "superv"
keys Enter
eventually "the role is shown beside the PBX user" on_screen_re "1002@site-2 .*Supervisor"
for _ in 3 4 5 6 7 8; do keys Tab; done
eventually "the cursor is on Hélène Dubois" cursor_on "Hélène Dubois"
keys Enter
wait_for "Type to filter"
type_text "Agent"
keys Enter
eventually "her role is shown" on_screen_re "1008@site-2 +Hélène Dubois .*Agent"
keys F6
check "the summary counts the PBX users" wait_for "Users found on the PBX: 10 (synced; 2 with a role"
check "the summary shows the platform" wait_for "FreeSWITCH"
keys Enter
eventually "the customer was created" q_is "select count(*) from customers where name = 'Fête FreeSWITCH'" 1

# the store
eq "the PBX row" "$(q "select platform, host, port, coalesce(username, '-'), enabled, sync_users, monitor, substr(secret, 1, 5) = 'enc1:' and instr(secret, '$SECRET') = 0 from pbx")" \
	"freeswitch-esl|127.0.0.1|$LAB_PORT|-|1|1|1|1"
eq "the PBX users created with it, synced" "$(q 'select count(*) from users where synced = 1')" 10
eq "with the roles given in step 4" \
	"$(q "select endpoint || ':' || role from users where synced = 1 and role is not null order by endpoint" | tr '\n' ' ')" \
	"1002@site-2:supervisor 1008@site-2:agent "
eq "the primary user is the administrator" "$(q "select role from users where is_primary = 1")" "customer-admin"
# the console's monitor connects to the lab and syncs: states filled, roles kept
eventually "the first sync ran (device states filled)" \
	q_is 'select count(*) from users where synced = 1 and device_state is not null' 10
eq "the first sync kept the roles" \
	"$(q "select endpoint || ':' || coalesce(role, '-') from users where synced = 1 and endpoint in ('1001@default', '1002@site-2', '1008@site-2') order by endpoint" | tr '\n' ' ')" \
	"1001@default:- 1002@site-2:supervisor 1008@site-2:agent "
eq "the synced user 1001 is linked to the primary user by email" \
	"$(q "select s.endpoint from users s join users a on a.id = s.linked_user_id where a.is_primary = 1")" "1001@default"
eq "the domains became sub-accounts" "$(q 'select name from sub_accounts order by name' | tr '\n' ' ')" "default site-2 "
eq "UTF-8 names stored as they are" "$(q "select display_name from users where endpoint = '1008@site-2'")" "Hélène Dubois"

# what the screen shows after: the grid with the link monitoring
check "the grid selects the new customer" wait_for "Fête FreeSW"
check "grid: the link monitoring" screen_re '^Fête FreeSW.* monitor' 30
keys Enter
check "customer view opens" wait_for "Tenant id"
keys 2
check "users tab: a synced FreeSWITCH user with its role" screen_re 'Bob Dupont .*Supervisor' 10
check "users tab: the UTF-8 name with its role" screen_re '^Hélène Dubo.* 1008@.* Agent '
check "users tab: the synced user linked to the administrator" screen_re '^Alice Martin .* 1001@.* PBX ↔ Alice Mar'
check "users tab: the administrator linked to the PBX" screen_re '^Alice Marti… .* console ↔ PBX' 
keys 3
check "PBX tab: the platform" wait_for "FreeSWITCH (event socket)"
check "PBX tab: host and port" screen_re "^ *Host +127\.0\.0\.1:$LAB_PORT"
check "PBX tab: the link monitoring" screen_re '^ *Status +monitoring' 30
check "PBX tab: no Username row (ESL has a password only)" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -qE "^ *Username"' _ "$TMP/tmux.sock"
check "PBX tab: sub-accounts auto-provisioned" screen_re '^ *Sub-accounts +auto-provisioned'
check "the ESL password never shown" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -qF -- "$2"' _ "$TMP/tmux.sock" "$SECRET"
keys F10
check "the console exits 0" test "$(wait_exit 30)" = 0
check "no error output" test ! -s "$TMP/exit.stderr"
stop_lab
finish
