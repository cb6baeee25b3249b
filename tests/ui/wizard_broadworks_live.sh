#!/usr/bin/env bash
# The creation wizard with a Cisco BroadWorks PBX against a live lab XSP, end
# to end in tmux (issue 16's "done when"; wizard_broadworks.sh does the fields
# without an XSP, live_broadworks.sh the live panel of a customer added by the
# CLI): a lab XSP process started by the test (plain HTTP, groups group-1 and
# group-2); step 3 picks BroadWorks (offered as supported), fills the Xsi
# host/port, TLS off, administrator, password, enterprise lab-ent. Step 4's
# discovery (F9) refuses a wrong password and a wrong enterprise id on the
# step, lists only group-2's users with a Group id, then every user of the
# enterprise with their UTF-8 names and their group; roles are given to two of
# them. After the creation the store has the users with their roles, the PBX
# row with the enterprise, the synced users linked by email and the groups as
# sub-accounts; the console shows the link monitoring with the users synced
# and the customer's live panel its agents. No screen shows the password.
#   wizard_broadworks_live.sh PROVDESK
set -u
PROG=$(readlink -f "$1")
source "$(dirname "$0")/lib.sh" # tests/lib: counting, temp dir, clock, tmux

SECRET='Xsi-W1z-L1ve-S3cret!'
printf '%s' "$SECRET" > "$TMP/secret"
chmod 600 "$TMP/secret"
SCREENS=$TMP/screens.log
LAB_PID=
stop_lab() { if [[ -n $LAB_PID ]]; then kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; LAB_PID=; fi; }
pd_on_exit stop_lab
# every capture that a check reads is also logged: no screen may show the password
snap() { local s; s=$(screen 2>/dev/null); printf '%s\n----\n' "$s" >> "$SCREENS"; printf '%s\n' "$s"; }
on_screen_re() { snap | grep -qE -- "$1"; }
not_on_screen() { ! snap | grep -qF -- "$1"; }
cursor_row() { T display -p -t t '#{cursor_y}'; }
row_of() { screen | grep -nF -- "$1" | head -1 | cut -d: -f1 | awk '{print $1 - 1}'; }
cursor_on() { [[ "$(cursor_row)" == "$(row_of "$1")" ]]; }

# the lab XSP: enterprise lab-ent, 10 users in groups group-1 (1001, 1003...)
# and group-2 (1002, 1004... 1008 is Hélène Dubois), two call centres
# (support in group-1, sales in group-2); the directory lists both kinds
"$PROG" lab-pbx --platform broadworks --listen 127.0.0.1:0 --username admin \
	--secret-file "$TMP/secret" --users 10 --sites 2 --queues 2 --call-rate 0 --seed 7 \
	--json > "$TMP/lab.json" 2> "$TMP/lab.err" &
LAB_PID=$!
lab_port() { LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json" 2>/dev/null) && [[ -n $LAB_PORT ]]; }
LAB_PORT=
check "BroadWorks lab XSP listening" wait_until 10 lab_port

start_console 80 24 tmux-256color
wait_for "F10" 30
keys n
wait_for "Create New Customer"
wizard_step1 "Fête BroadWorks"
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
check "BroadWorks is offered as supported" screen_re '│ Cisco BroadWorks \(Xsi\) +│'
check "and without 'no driver yet'" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -F "BroadWorks" | grep -qF "no driver"' _ "$TMP/tmux.sock"
type_text "BroadWorks"
keys Enter
check "its own fields: Xsi host" wait_for "Xsi host"
check "the port defaults to 443" screen_re '^ Port +443 *$'
keys Tab
type_text "127.0.0.1"
keys Tab C-u
type_text "$LAB_PORT"
keys Tab Space # TLS off: the lab XSP is plain HTTP
check "TLS unticked" screen_re '^ TLS +\[ \]'
keys Tab
type_text "admin"
keys Tab
# a wrong password first: the discovery says so on the step, and writes nothing
type_text "wrong-password"
keys Tab
type_text "lab-ent"
# auto-provisioning on: the groups become sub-accounts
keys Tab Tab Tab Tab Tab Tab Tab Tab Space # Group id, Other XSP hosts, Verify TLS cert, TLS CA file, Create disabled, Sync, Monitor -> Auto-provision
check "auto-provision on" screen_re 'Auto.*\[x\]'
keys F6
check "step 4 reached" wait_for "4 Role assignment"
keys F9
check "a wrong password is reported on the step" \
	wait_for "PBX users not discovered: the PBX refused the user name or secret" 15
eq "nothing written by a failed discovery" "$(q 'select count(*) from customers') $(q 'select count(*) from users')" "0 0"

# the right password, a wrong enterprise id: the directory's 404 on the step
keys F5
wait_for "3 PBX details"
wait_for "Enterprise id"
keys Tab Tab Tab Tab Tab Tab Tab C-u # Connect a PBX, Template, Platform, Host, Port, TLS, Administrator -> Password
type_text "$SECRET"
check "the password is masked" on_screen_re '^ Password +\*{20}'
keys Tab C-u
type_text "no-such-ent"
keys F6
check "back in step 4" wait_for "4 Role assignment"
keys F9
check "a wrong enterprise id is reported on the step" \
	wait_for "PBX users not discovered: the directory answered 404: no such enterprise" 15

# the right enterprise and a Group id: only that group's users
keys F5
wait_for "3 PBX details"
wait_for "Enterprise id"
keys Tab Tab Tab Tab Tab Tab Tab Tab C-u # ... Password -> Enterprise id
type_text "lab-ent"
keys Tab
type_text "group-2"
keys F6
check "in step 4 again" wait_for "4 Role assignment"
keys F9
# the label column cuts long endpoints and names ("1008@lab.exa Hélène Dubo…")
check "discovery by group: group-2's users (UTF-8 names)" wait_for "Hélène Dubo" 15
check "with their count (5 users and the sales call centre)" wait_for "6 users found on the PBX"
check "with their group" on_screen_re '1008@lab.*Hélène Dubo.* group-2 <helene\.dubois@'
check "no user of group-1" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -qE "Carla Rossi|1001@|1003@|support@|group-1"' _ "$TMP/tmux.sock"

# without a Group id: the whole enterprise
keys F5
wait_for "3 PBX details"
wait_for "Group id"
keys Tab Tab Tab Tab Tab Tab Tab Tab Tab C-u # ... Enterprise id -> Group id
keys F6
check "and step 4 again" wait_for "4 Role assignment"
check "the group's list is stale now" wait_for "The PBX changed in step 3: F9 lists its users again."
keys F9
check "discovery at enterprise level: every user" wait_for "12 users found on the PBX" 15
check "users of group-1 listed" on_screen_re '1003@lab.*Carla Rossi.* group-1 <carla\.rossi@'
check "users of group-2 listed" on_screen_re '1002@lab.*Bob Dupont.* group-2 <bob\.dupont@'
check "the primary user's PBX user shown as the same email" on_screen_re '1001@lab.*Alice Martin.* group-1 = primary user'
eq "nothing written by a discovery" "$(q 'select count(*) from customers') $(q 'select count(*) from users')" "0 0"
# roles: 1002 (Bob Dupont) Supervisor, 1008 (Hélène Dubois) Agent
eventually "the cursor is on the first PBX user" cursor_on "1001@lab"
keys Tab
eventually "Tab goes to the next PBX user" cursor_on "1002@lab"
keys Enter
wait_for "Type to filter"
type_text "superv"
keys Enter
eventually "the role is shown beside the PBX user" on_screen_re "1002@lab.* Bob Dupont .*Supervisor"
for _ in 3 4 5 6 7 8; do keys Tab; done
eventually "the cursor is on Hélène Dubois" cursor_on "1008@lab"
keys Enter
wait_for "Type to filter"
type_text "Agent"
keys Enter
eventually "her role is shown" on_screen_re "1008@lab.* Hélène Dubo.*Agent"
keys F6
check "the summary counts the PBX users" wait_for "Users found on the PBX: 12 (synced; 2 with a role"
check "the summary shows the platform" wait_for "Cisco BroadWorks"
check "the summary never shows the password" not_on_screen "$SECRET"
keys Enter
eventually "the customer was created" q_is "select count(*) from customers where name = 'Fête BroadWorks'" 1

# the store
eq "the PBX row" "$(q "select platform, host, port, tls, username, enabled, sync_users, monitor, substr(secret, 1, 5) = 'enc1:' and instr(secret, '$SECRET') = 0 from pbx")" \
	"broadworks-xsi|127.0.0.1|$LAB_PORT|0|admin|1|1|1|1"
eq "the enterprise (no group) in params_json" "$(q "select params_json from pbx")" '{"enterprise_id":"lab-ent","tls_verify":true}'
eq "the PBX users created with it, synced" "$(q 'select count(*) from users where synced = 1')" 12
eq "with the roles given in step 4" \
	"$(q "select endpoint || ':' || role from users where synced = 1 and role is not null order by endpoint" | tr '\n' ' ')" \
	"1002@lab.example:supervisor 1008@lab.example:agent "
eq "the primary user is the administrator" "$(q "select role from users where is_primary = 1")" "customer-admin"
# the console's monitor connects to the lab XSP and syncs: the groups become
# sub-accounts (auto-provisioning), roles kept
eventually "the first sync ran: the groups became sub-accounts" \
	q_is "select group_concat(name, ' ') from (select name from sub_accounts order by name)" "group-1 group-2"
eventually "each synced user in its group's sub-account" \
	q_is "select group_concat(g, ' ') from (select sub_account || ':' || count(*) as g from users where synced = 1 group by sub_account order by sub_account)" "group-1:6 group-2:6"
eq "the first sync kept the roles" \
	"$(q "select endpoint || ':' || coalesce(role, '-') from users where synced = 1 and endpoint in ('1001@lab.example', '1002@lab.example', '1008@lab.example') order by endpoint" | tr '\n' ' ')" \
	"1001@lab.example:- 1002@lab.example:supervisor 1008@lab.example:agent "
eq "the synced user 1001 is linked to the primary user by email" \
	"$(q "select s.endpoint from users s join users a on a.id = s.linked_user_id where a.is_primary = 1")" "1001@lab.example"
eq "UTF-8 names stored as they are" "$(q "select display_name from users where endpoint = '1008@lab.example'")" "Hélène Dubois"
eq "the password in no audit row" "$(q "select count(*) from audit where instr(detail, '$SECRET')")" 0

# what the screen shows after: the grid with the link monitoring, users synced
check "the grid selects the new customer" wait_for "Fête BroadWo"
check "grid: the link monitoring with the users synced" screen_re '^Fête BroadWo.* monitoring +13 ' 30
keys Enter
check "customer view opens" wait_for "Tenant id"
keys 3
check "PBX tab: the platform" wait_for "Cisco BroadWorks (Xsi)"
check "PBX tab: the enterprise" on_screen_re 'Enterprise id +lab-ent'
check "PBX tab: the link monitoring" screen_re '^ *Status +monitoring' 30
keys l
check "live panel opens" wait_for "Live — Fête BroadWorks"
check "live panel: link status" wait_for "PBX: monitoring" 30
check "live panel: the agents with a display state" \
	screen_re ' 10[0-9]{2}@lab\.e… .*(Available|Logged out|Not ready|On call|Ringing|Wrap-up|On hold) +[0-9]+:[0-9]{2}$' 30
check "live panel: Hélène Dubois among the agents" screen_re '^Hélène Dubois +1008@lab\.e… ' 30
snap > /dev/null
keys F10
check "the console exits 0" test "$(wait_exit 30)" = 0
check "no error output" test ! -s "$TMP/exit.stderr"
check "the password never appeared on a checked screen" bash -c '! grep -qF -- "$1" "$2"' _ "$SECRET" "$SCREENS"
check "nor in the lab's or the console's output" bash -c '! grep -qF -- "$1" "$2" "$3" 2>/dev/null' _ "$SECRET" "$TMP/exit.stderr" "$TMP/lab.err"
stop_lab
finish
