#!/usr/bin/env bash
# provdesk --demo (docs/user-guide.md, Getting started): the console starts
# three lab PBXs in-process, an Asterisk (AMI) one, a FreeSWITCH (event socket)
# one with two domains and a BroadWorks (Xsi) XSP with two groups, and seeds a
# demo database whose customers are linked to them. Every platform reaches
# "monitoring" with live calls; the FreeSWITCH and BroadWorks customers get
# their users synced (domains or groups as sub-accounts, the admin linked by
# email) and their calls and agents shown live. A second run re-points the
# links at the new ports and adds nothing.
PROG=$1
source "$(dirname "$0")/lib.sh"

FS='Démo FreeSWITCH'
XSI='Démo BroadWorks'
# the customers' rows in the grid
grid_row() { # grid_row NAME: monitoring with calls > 0 and agents N/M
	screen_re "^$1 .* monitoring +[0-9]+ +[1-9][0-9]* +[0-9]+/[0-9]+ *$" 30
}
cid() { q "select id from customers where name = '$1'"; }

start_console 120 30 tmux-256color -- --demo
check "grid: the Asterisk customer monitors, with live calls" grid_row 'Démo Lab PBX'
check "grid: a FreeSWITCH customer monitors, with live calls" grid_row "$FS"
check "grid: a second FreeSWITCH customer monitors, with live calls" grid_row 'Müller & Söhne GmbH'
check "grid: the BroadWorks customer monitors, with live calls" grid_row "$XSI"
check "status line: four links monitoring" wait_for "PBX: 4 monitoring"
eq "the PBX rows: one Asterisk, two FreeSWITCH, one BroadWorks" \
	"$(q "select c.name || ':' || p.platform from pbx p join customers c on c.id = p.customer_id order by c.name" | tr '\n' ' ')" \
	"Démo BroadWorks:broadworks-xsi Démo FreeSWITCH:freeswitch-esl Démo Lab PBX:asterisk-ami Müller & Söhne GmbH:freeswitch-esl "
eq "the FreeSWITCH links have no user name (ESL has none)" \
	"$(q "select count(*) from pbx where platform = 'freeswitch-esl' and username is null")" 2
eventually "FreeSWITCH users synced (20 lab users)" \
	q_is "select count(*) from users where synced = 1 and customer_id = $(cid "$FS")" 20
eq "endpoints are user@domain" "$(q "select endpoint from users where synced = 1 and customer_id = $(cid "$FS") order by endpoint limit 2" | tr '\n' ' ')" \
	"1001@default 1002@site-2 "
eq "the domains are its sub-accounts" "$(q "select name from sub_accounts where customer_id = $(cid "$FS") order by name" | tr '\n' ' ')" \
	"default site-2 "
eq "the admin is linked to their FreeSWITCH user by email" \
	"$(q "select s.endpoint from users s join users a on a.id = s.linked_user_id where a.email = 'alice.martin@lab.example' and s.customer_id = $(cid "$FS")")" \
	"1001@default"
eventually "BroadWorks users synced (20 lab users and its 2 call centres)" \
	q_is "select count(*) from users where synced = 1 and customer_id = $(cid "$XSI")" 22
eq "the BroadWorks groups are its sub-accounts" "$(q "select name from sub_accounts where customer_id = $(cid "$XSI") order by name" | tr '\n' ' ')" \
	"group-1 group-2 "
eq "the admin is linked to their BroadWorks user by email" \
	"$(q "select s.endpoint from users s join users a on a.id = s.linked_user_id where a.email = 'bob.dupont@lab.example' and s.customer_id = $(cid "$XSI")")" \
	"1002@lab.example"

# the FreeSWITCH customer's live panel
keys Home Down
check "grid: the FreeSWITCH customer second (after Démo BroadWorks)" screen_re "^$FS "
keys Enter
check "customer view opens" wait_for "Tenant id"
keys l
check "live panel opens" wait_for "Live — $FS"
check "live panel: link monitoring" wait_for "PBX: monitoring"
check "live panel: a queue call with its agent" \
	screen_re '^\+33155501[0-9]{3} .* inbound +(Connected|Held) +(support|sales)@default .* [0-9]+:[0-9]{2}$' 30
check "live panel: agents with display states" \
	screen_re '^[^ ].* 10[0-9]{2}@(default|site-2) .* (Available|On call|Ringing|Wrap-up) +[0-9]+:[0-9]{2}$' 10
keys q
check "the demo console exits 0" test "$(wait_exit 30)" = 0
check "no error output" test ! -s "$TMP/exit.stderr"

# a second run: the same database, the labs on new ports
ports1=$(q "select group_concat(port) from pbx order by id")
start_console 120 30 tmux-256color -- --demo
check "second run: FreeSWITCH monitoring again" grid_row "$FS"
check "second run: Asterisk monitoring again" grid_row 'Démo Lab PBX'
check "second run: BroadWorks monitoring again" grid_row "$XSI"
eq "second run: no customer or PBX added" "$(q 'select count(*) from customers') $(q 'select count(*) from pbx')" "5 4"
check "second run: the links point at the new ports" test "$(q "select group_concat(port) from pbx order by id")" != "$ports1"
keys q
check "second run exits 0" test "$(wait_exit 30)" = 0
finish
