#!/usr/bin/env bash
# Live UI with a Cisco BroadWorks XSP end to end (issue 16; tests/ui/live.sh
# does Asterisk, live_freeswitch.sh FreeSWITCH): a real lab XSP process (Xsi
# over HTTP, its call generator, two groups) on a free port, one customer
# linked to it at enterprise level, one with a wrong password, one without
# PBX; the real console in a private tmux. The grid shows the link monitoring
# with users synced and calls/agents counted; the customer view's live panel
# shows queue calls (caller, call center, agent, a duration that ticks) and
# agents in the display states of the other platforms, an agent set
# Unavailable mid-call with its code as Not ready (Lunch); the users with
# their group; the NOC lists the customer. No screen shows the password.
# Waits have deadlines only.
PROG=$1
source "$(dirname "$0")/lib.sh"

SECRET='Xsi-L1ve-S3cret!'
printf '%s' "$SECRET" > "$TMP/secret"
printf '%s' 'wrong-password' > "$TMP/bad"
chmod 600 "$TMP/secret" "$TMP/bad"
source "$(dirname "$0")/live_lib.sh"

start_lab() {
	lab_process --platform broadworks --listen 127.0.0.1:0 --username admin \
		--secret-file "$TMP/secret" --call-rate 40 --users 12 --queues 2 --sites 2 --seed 7 \
		--pause-in-call 1003:Lunch
}


check "BroadWorks lab XSP starts on a free port" start_lab
seed "Acme Télécom" analytics-pro FR
seed "Bravo SARL" analytics-pro FR
seed "Zulu Sans PBX" analytics-pro BE
check "pbx add BroadWorks (good password)" cli pbx add "Acme Télécom" --platform broadworks-xsi \
	--host 127.0.0.1 --port "$LAB_PORT" --no-tls --username admin --secret-file "$TMP/secret" \
	--enterprise-id lab-ent --auto-provision-sub-accounts >/dev/null
check "pbx add BroadWorks (wrong password)" cli pbx add "Bravo SARL" --platform broadworks-xsi \
	--host 127.0.0.1 --port "$LAB_PORT" --no-tls --username admin --secret-file "$TMP/bad" \
	--enterprise-id lab-ent >/dev/null

# ---------------------------------------------------------------- grid
start_console 120 30
check "grid: the BroadWorks link reaches monitoring" wait_re '^Acme Télécom .* monitoring +[0-9]+ +[0-9]+ +[0-9]+/[0-9]+ *$' 30
check "grid: the wrong password shows auth failed" wait_re '^Bravo SARL .* auth failed ' 30
check "grid: no PBX shows a dash" wait_re '^Zulu Sans PBX .* — +[0-9]+ +— +— *$'
# the directory lists the call centres too (their own user ids)
check "grid: users synced (12, 2 call centres, the admin)" wait_re '^Acme Télécom .* monitoring +15 ' 30
check "grid: live calls and agents counted" wait_re '^Acme Télécom .* monitoring +15 +[1-9][0-9]* +[0-9]+/[1-9][0-9]* *$' 30
check "status line: PBX health" wait_re 'PBX: 1 auth failed · 1 monitoring'
eq "the groups became sub-accounts (auto-provisioning)" \
	"$(q "select name from sub_accounts where customer_id = (select id from customers where name = 'Acme Télécom') order by name" | tr '\n' ' ')" \
	"group-1 group-2 "

# ---------------------------------------------------------- live panel
keys Enter
check "customer view opens" wait_for "Tenant id"
keys l
check "live panel opens" wait_for "Live — Acme Télécom"
check "live panel: link status" wait_for "PBX: monitoring"
# a queue call, read from one capture: caller, call center, agent, duration
live_call() {
	local line
	line=$(snap | grep -E '^\+33155501[0-9]{3} .* inbound +(Queued|Ringing|Connected|Held) +(Support|Sales) .* [0-9]+:[0-9]{2}$' | head -1)
	CALL=$(grep -oE '^\+33155501[0-9]{3}' <<<"$line")
	d1=$(grep -oE '[0-9]+:[0-9]{2}$' <<<"$line" | awk -F: '{ print $1 * 60 + $2 }')
	[[ -n $CALL && -n $d1 ]]
}
CALL='' d1=''
check "live panel: a queue call with caller, call center and duration" wait_until 30 live_call
duration_ticks() { # duration_ticks CALL SECONDS-SHOWN-BEFORE
	local d=$((SECONDS + UI_WAIT)) now
	while ((SECONDS < d)); do
		now=$(duration_of "$1")
		((${now:-0} > ${2:-0})) && return 0
		sleep 0.1
	done
	return 1
}
check "call duration ticks ($CALL: from ${d1}s)" duration_ticks "$CALL" "$d1"
check "a connected call names its agent" wait_re '^\+33155501[0-9]{3} .* Connected +(Support|Sales) +[A-Z][^ ]+ [^ ]+ .* [0-9]+:[0-9]{2}$' 30
check "agents panel" wait_re '^Agents \([0-9]+/[1-9][0-9]*\)'
check "agents with the display states" wait_re ' 10[0-9]{2}@lab\.example .*(Available|On call|Ringing|Wrap-up|On hold) +[0-9]+:[0-9]{2}$'
check "an agent on call" wait_re ' 10[0-9]{2}@lab\.example .* On call +[0-9]+:[0-9]{2}$' 30
# the agents' states are read over several connections and arrive in any
# order; the panel lists them by name (the lab's names follow the user ids)
agents_by_name() {
	local ids
	ids=$(snap | grep -oE '^[A-Z][^ ]* [^ ]+ +10[0-9]{2}@lab\.example ' | grep -oE '10[0-9]{2}@')
	[[ $(wc -l <<<"$ids") -ge 10 && $ids == "$(sort <<<"$ids")" ]]
}
check "agents listed by name, whatever order their states came in" wait_until 10 agents_by_name
# 1003 is set Unavailable (code Lunch) as soon as it answers a queue call: on
# the call it shows On call (paused), after it Not ready (Lunch).
check "agent 1003 shows Not ready (Lunch)" wait_re ' 1003@lab\.example .*(Not ready \(Lunch\)|paused: Lunch)' 120
keys Tab Tab
check "users panel: user id, name, group, device state" \
	wait_re '^1001@lab\.… +Alice Martin +group-1 +(Not in use|In use|Ringing|On hold|Busy) *$'
keys Tab
keys s
check "the resync key shows the result" wait_re 'resync: 0 new, 0 updated, 0 removed, 0 linked, 14 unchanged' 30
keys Escape Escape
check "back to the grid" wait_re '^Acme Télécom .* monitoring'
keys q
check "console exits 0 on q" test "$(wait_exit 30)" = 0
check "no sanitizer report (grid/live run)" no_sanitizer_report

# ----------------------------------------------------------------- NOC
start_console 120 30 tmux-256color PROVDESK_NOC_ROTATE=2 -- --noc
check "NOC: title" wait_for "provdesk NOC (read-only)" 30
check "NOC: the BroadWorks customer with its totals" wait_re '^Acme Télécom +monitoring +[1-9][0-9]* ' 30
check "NOC: rotates to the BroadWorks customer" wait_re '▶ Acme Télécom — monitoring' 15
keys q
check "NOC exits 0" test "$(wait_exit 30)" = 0
check "NOC: no sanitizer report" no_sanitizer_report

# -------------------------------------------------------------- secrets
check "the password never appeared on any screen" bash -c '! grep -qF -- "$1" "$2"' _ "$SECRET" "$SCREENS"
check "nor on the console's stderr" bash -c '! grep -qF -- "$1" "$2" 2>/dev/null' _ "$SECRET" "$TMP/exit.stderr"
finish
