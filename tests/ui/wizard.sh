#!/usr/bin/env bash
# The creation wizard driven end to end in a real tmux (docs/architecture.md, Testing notes):
# the real binary, a real SQLite file, what is on screen and what is stored.
#   wizard.sh PROVDESK [CASE...]
#   cases: flow errors back esc hup crash kill country resize template race discover
set -u
PROG=$(readlink -f "$1")
shift
CASES=${*:-flow errors back esc hup crash kill country resize template race discover}
source "$(dirname "$0")/lib.sh" # tests/lib: counting, temp dir, clock, tmux
LAB_PID=
stop_wizard_lab() { if [[ -n $LAB_PID ]]; then kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; fi; }
pd_on_exit stop_wizard_lab

# a new database for a case: the monitor the last console started (it holds
# the old one open) is stopped first
reset_db() { pd_stop_daemons; rm -f "$DB"*; }
# the names this script has always used for the shared helpers
show() { screen 2>/dev/null; }
nok() { not_ok "$@"; }
text() { type_text "$1"; }
app_pid() { console_pid; }
on_screen_re() { show | grep -q -- "$1"; }
expect_screen() { # expect_screen DESCRIPTION TEXT [SECONDS]
	if wait_for "$2" "${3:-$UI_WAIT}"; then ok "$1"; else nok "$1 (wanted: $2)"; fi
}

start() { # start [W H]: the console at 80x24 unless told, sanitizer reports in $TMP/san*
	start_console "${1:-80}" "${2:-24}" tmux-256color "PROVDESK_DATADIR=${PROVDESK_DATADIR:-}" \
		"ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}log_path=$TMP/san" \
		"UBSAN_OPTIONS=${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}log_path=$TMP/san"
	wait_for "F10" 30 || nok "console started"
}
quit() { # F10 from anywhere in the wizard: the console ends cleanly (exit 0)
	keys F10
	if wait_exit >/dev/null; then eq "${1:-quit}: exit code" "$(cat "$TMP/exit")" 0; else nok "${1:-quit}: console quit"; fi
}
open_wizard() {
	keys n
	wait_for "Create New Customer" || nok "wizard opened"
}
cursor_row() { T display -p -t t '#{cursor_y}'; }
row_of() { show | grep -nF -- "$1" | head -1 | cut -d: -f1 | awk '{print $1 - 1}'; }
cursor_on() { [[ "$(cursor_row)" == "$(row_of "$1")" ]]; }

# ---- filling the steps (each ends on the step's buttons) ----
step1() { # step1 NAME
	wait_for "1 Customer details"
	text "$1"
	keys Tab
	text "allem"
	keys Tab
	wait_for "Allemagne / Germany (DE)"
	wait_for "Europe/Berlin" # Germany has two zones: the choice appears, with the cursor
	wait_for "de_DE (default)" # the country's locale, then the product type list
	keys Tab Tab Enter
	wait_for "Type to filter"
	text "Analytics Pro"
	keys Enter
	wait_for "Trial" # the product allows trials: the toggle appears
	keys Tab
	text "REF-001"
	keys Tab
	text "first line"
	keys Enter
	text "second line"
	keys Tab Space # trial on
	wait_for "Trial ends"
	keys Tab Tab # keep the default end date, then the buttons
}
step2() {
	wait_for "2 Primary user"
	text "Hélène Dupré"
	keys Tab
	text "helene@example.de"
	keys Tab
	text "1001"
	keys Tab
}
step3() { # asterisk, created disabled, auto-provision on
	wait_for "3 PBX details"
	keys Tab Tab Enter # Connect a PBX now -> Template -> Platform list
	wait_for "Type to filter"
	text "Asterisk"
	keys Enter
	wait_for "AMI secret"
	keys Tab
	text "pbx.example.de"
	keys Tab Tab Tab # port (default), TLS
	text "provdesk"
	keys Tab
	text "s3cret-AMI"
	keys Tab Tab Tab Tab # verify TLS, CA file, wrap-up time (defaults)
	keys Space Tab Tab Tab Space Tab # disabled on, sync, monitor, auto-provision on
}
step4() {
	wait_for "4 Role assignment"
	keys F7
	wait_for "User 1 name"
	text "Paul Agent"
	keys Tab
	text "paul@example.de"
	keys Tab Tab Enter # extension empty, role list
	wait_for "Type to filter"
	text "Supervisor"
	keys Enter
	wait_for "Supervisor"
}

case_flow() {
	reset_db
	start
	open_wizard
	expect_screen "80x24 shows the step indicator" "1 Customer details › 2 User › 3 PBX › 4 Roles › Summary"
	step1 "Société Démo Wizard"
	expect_screen "the name is checked as it is typed" "✓ available"
	keys Enter
	step2
	expect_screen "step 2 says the invitation goes out on creation" "invitation email goes out"
	expect_screen "step 2 says to use the PBX email" "same email as this user has on the PBX"
	# at 80 columns the notes wrap under their bullet rather than being cut
	expect_screen "step 2's notes wrap, whole" "    created."
	if show | grep -E '^  • ' | grep -q '…'; then nok "no note is cut"; else ok "no note is cut"; fi
	keys Enter
	step3
	expect_screen "auto-provision says it can only be chosen now" "can only be chosen now, not later"
	check "the secret is masked" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q s3cret"
	keys Enter
	step4
	keys F6
	expect_screen "summary shown" "summary: check, then create"
	expect_screen "summary lists the extra user" "Paul Agent <paul@example.de>  Supervisor"
	eq "nothing is stored before the confirmation" "$(q 'select count(*) from customers')" 0
	keys Enter
	expect_screen "the grid selects the new customer" "Société Démo Wizard"
	wait_gone "Create New Customer" || nok "wizard closed"
	eq "customer row" "$(q "select name, product_type, reference, country, time_zone, notes, trial, trial_end - trial_start + 1 from customers")" \
		"Société Démo Wizard|analytics-pro|REF-001|DE|Europe/Berlin|first line
second line|1|30"
	eq "users and roles" "$(q "select display_name, email, coalesce(extension,''), role, is_primary from users order by id")" \
		"Hélène Dupré|helene@example.de|1001|customer-admin|1
Paul Agent|paul@example.de||supervisor|0"
	eq "pbx row" "$(q "select platform, host, port, tls, username, enabled, sync_users, monitor, auto_provision, substr(secret, 1, 5) = 'enc1:' and instr(secret, 's3cret') = 0 from pbx")" \
		"asterisk-ami|pbx.example.de|5038|0|provdesk|0|1|1|1|1"
	eq "invitation queued for the primary user" "$(q "select count(*) from outbox where to_addr = 'helene@example.de' and state = 1")" 1
	eq "audit rows for the creation" "$(q "select count(*) > 0 from audit where customer_id = (select id from customers) and action = 'create'")" 1
	eq "the secret is not in the audit log" "$(q "select count(*) from audit where detail like '%s3cret%'")" 0
	eq "no draft left" "$(q 'select count(*) from drafts')" 0
	quit flow
}

case_errors() {
	reset_db
	start
	open_wizard
	keys F6
	expect_screen "Next refuses an empty step" "fields to fix before going on"
	expect_screen "name error beside the field" "✗ "
	eventually "error on Name" on_screen_re "Name .*✗"
	eventually "error on Country" on_screen_re "Country .*✗"
	eventually "error on Product type" on_screen_re "Product type .*✗"
	text "Dup"
	eventually "Next put the cursor on the first error: typing goes to the name" on_screen_re "Name  *Dup"
	keys Tab
	text "zzzzqq"
	keys Tab
	expect_screen "unknown country" "no country matches"
	keys BTab C-u
	text "Belgique"
	keys Tab
	expect_screen "French name resolves" "Belgique / Belgium (BE)"
	expect_screen "the country's default locale" "fr_BE (default)"
	keys Tab Tab
	text "$(printf 'R%.0s' {1..70})"
	keys Tab
	eventually "reference too long" on_screen_re "Reference .*✗"
	keys BTab C-u
	text "OK-REF"
	keys BTab Enter
	wait_for "Type to filter"
	text "Compliance"
	keys Enter
	keys F6
	expect_screen "step 2 reached" "2 Primary user"
	text "X"
	keys Tab
	text "not-an-email"
	keys Tab
	text "12a"
	keys Tab
	eventually "email error beside the field" on_screen_re "Email .*✗"
	eventually "extension error beside the field" on_screen_re "Extension .*✗"
	keys F6
	eventually "Next refuses step 2" on_screen_re "fields to fix before going on"
	keys C-u
	text "x@example.be"
	eventually "the cursor was put on the email: typing goes there" on_screen_re "Email  *x@example.be"
	keys Tab C-u Tab
	keys F6
	expect_screen "step 3 reached" "3 PBX details"
	keys Tab Tab Enter
	wait_for "Type to filter"
	text "Asterisk"
	keys Enter
	wait_for "AMI secret"
	keys Tab
	text "bad host!"
	keys Tab C-u
	text "99999"
	keys Tab
	eventually "host error" on_screen_re "Host .*✗"
	eventually "port error" on_screen_re "Port .*✗"
	keys F6
	eventually "missing secret refused" on_screen_re "AMI secret .*✗"
	# a name another customer has, seen while typing (debounced, no Tab)
	cli customer create --name "Déjà Là" --product-type analytics-pro --country FR \
		--admin-name "Other Admin" --admin-email other@example.fr >/dev/null
	keys F5 F5
	expect_screen "back to step 1" "1 Customer details"
	keys C-u # the cursor starts on the name
	text "DEJA LA"
	expect_screen "uniqueness checked while typing" "✗ \"Déjà Là\" already"
	keys Escape
	wait_for "Leave the wizard?"
	keys d
	wait_gone "Create New Customer"
	quit
}

case_back() {
	reset_db
	start
	open_wizard
	step1 "Retour Client"
	keys Enter
	step2
	keys F5
	expect_screen "Back shows step 1" "1 Customer details"
	expect_screen "Back keeps the name" "Retour Client"
	expect_screen "Back keeps the country" "Allemagne / Germany (DE)"
	expect_screen "Back keeps the reference" "REF-001"
	keys F6
	expect_screen "forward again keeps step 2" "helene@example.de"
	quit
}

case_esc() {
	reset_db
	start
	open_wizard
	text "Esc Client"
	keys Escape
	expect_screen "Esc asks" "Leave the wizard?"
	keys d
	wait_gone "Create New Customer" || nok "discard closes"
	eq "discard leaves no draft" "$(q 'select count(*) from drafts')" 0
	eq "discard creates nothing" "$(q 'select count(*) from customers')" 0
	open_wizard
	text "Kept Client"
	keys Tab
	text "allem"
	keys Escape
	wait_for "Leave the wizard?"
	keys k
	wait_gone "Create New Customer" || nok "keep closes"
	eq "keep leaves a draft" "$(q "select json_extract(json, '\$.customer.name') from drafts")" "Kept Client"
	open_wizard
	expect_screen "reopening offers to resume" "Resume the draft?"
	keys r
	expect_screen "resumed values shown" "Kept Client"
	keys Escape
	wait_for "Leave the wizard?"
	keys c
	wait_gone "Leave the wizard?"
	expect_screen "Continue goes back to the form" "Kept Client"
	quit
}

# SIGHUP (dropped SSH link) at each step, then resume with the values
case_hup() {
	local step
	for step in 1 2 3 4; do
		reset_db
		start
		open_wizard
		case $step in
		1) text "Hup Un"; wait_for "Hup Un" ;;
		2) step1 "Hup Deux"; keys Enter; wait_for "2 Primary user"; text "Half Typed"; wait_for "Half Typed" ;;
		3) step1 "Hup Trois"; keys Enter; step2; keys Enter; step3 ;;
		4) step1 "Hup Quatre"; keys Enter; step2; keys Enter; step3; keys Enter; step4 ;;
		esac
		kill -HUP "$(app_pid)"
		wait_exit >/dev/null || nok "step $step: SIGHUP ends the console"
		eq "step $step: SIGHUP exit code" "$(cat "$TMP/exit")" 129
		eq "step $step: draft saved at the step" "$(q "select json_extract(json, '\$.step') from drafts")" \
			"$(echo customer user pbx roles | cut -d' ' -f$step)"
		eq "step $step: no customer" "$(q 'select count(*) from customers')" 0
		eq "step $step: the secret is not in the draft" "$(q "select count(*) from drafts where json like '%s3cret%'")" 0
		start
		open_wizard
		expect_screen "step $step: offered to resume" "Resume the draft?"
		keys r
		case $step in
		1) expect_screen "step 1: the name typed is back" "Hup Un" ;;
		2) expect_screen "step 2: the half-typed field is back" "Half Typed" ;;
		3) expect_screen "step 3: the host is back" "pbx.example.de"
		   expect_screen "step 3: asks for the secret again" "type it again" ;;
		4) expect_screen "step 4: the added user is back" "Paul Agent" ;;
		esac
		quit "step $step"
	done
}

# A crash (kill -9: no handler runs) loses at most the field being typed:
# the draft was written when each field was left.
case_crash() {
	reset_db
	start
	open_wizard
	step1 "Crash Client"
	keys Enter
	wait_for "2 Primary user"
	text "Left Field"
	keys Tab
	text "being-typ"
	eventually "the draft has the field that was left" \
		q_is "select json_extract(json, '\$.admin.display_name') from drafts" "Left Field"
	kill -9 "$(app_pid)"
	wait_exit >/dev/null
	eq "no customer after the crash" "$(q 'select count(*) from customers')" 0
	start
	open_wizard
	expect_screen "offered to resume after the crash" "Resume the draft?"
	keys r
	expect_screen "the field left before the crash is back" "Left Field"
	expect_screen "resumed at step 2" "2 Primary user"
	keys F5
	expect_screen "step 1 values survived the crash" "Crash Client"
	quit
}

# kill -9 during the final commit: the whole customer or nothing
case_kill() {
	reset_db
	start
	open_wizard
	step1 "Atomique"
	keys Enter
	step2
	keys Enter
	wait_for "3 PBX details"
	keys Space # Connect a PBX now: unchecked
	keys F6
	step4
	keys F6
	wait_for "summary: check, then create"
	quit "draft at the summary"
	# the monitor the console started may hold the database: the WAL too
	sqlite3 "$DB" ".backup '$TMP/base.db'"
	local i whole=0 nothing=0 bad=0
	for i in $(seq 1 "${KILL_LOOPS:-30}"); do
		reset_db
		cp "$TMP/base.db" "$DB"
		start
		open_wizard
		wait_for "Resume the draft?" || { bad=$((bad + 1)); continue; }
		keys r
		wait_for "summary: check, then create" || { bad=$((bad + 1)); continue; }
		local pid
		pid=$(app_pid)
		keys Enter
		# from "before the key is read" to "after the commit": 0..15 ms
		(( i % 4 )) && sleep "0.0$(printf %02d $((RANDOM % 16)))"
		kill -9 "$pid"
		wait_exit >/dev/null
		local c u o a ic
		c=$(q 'select count(*) from customers')
		u=$(q 'select count(*) from users')
		o=$(q 'select count(*) from outbox')
		a=$(q "select count(*) from audit where customer_id > 0")
		ic=$(q 'pragma integrity_check')
		if [[ $ic != ok ]]; then bad=$((bad + 1))
		elif [[ $c == 1 && $u == 2 && $o -ge 1 && $a -ge 1 ]]; then whole=$((whole + 1))
		elif [[ $c == 0 && $u == 0 && $o == 0 && $a == 0 ]]; then nothing=$((nothing + 1))
		else
			bad=$((bad + 1))
			echo "# loop $i: customers=$c users=$u outbox=$o audit=$a"
		fi
	done
	echo "# kill -9 during commit: $whole whole, $nothing nothing, $bad partial/bad"
	eq "kill -9 during the commit never leaves a partial customer" "$bad" 0
}

case_country() {
	reset_db
	start
	open_wizard
	keys Tab
	text "allem"
	expect_screen "type-ahead suggests from the French name" "→ Allemagne / Germany (DE)"
	keys Tab
	expect_screen "leaving picks it" "Allemagne / Germany (DE)"
	expect_screen "Germany has several zones: the choice appears" "Europe/Berlin"
	keys BTab C-u # the time zone field got the cursor; back to the country
	text "royaume"
	keys Enter
	expect_screen "the list searches French names" "Royaume-Uni / United Kingdom (GB)"
	keys Enter
	wait_gone "Type to filter"
	expect_screen "picked from the list" "Country        Royaume-Uni / United Kingdom"
	quit
}

case_resize() {
	reset_db
	start
	open_wizard
	step1 "Redim Client"
	keys Enter
	step2
	keys Enter
	step3
	T resize-window -t t -x 100 -y 30
	expect_screen "wider: full step titles" "1 Customer details › 2 Primary user › 3 PBX details"
	expect_screen "wider: values kept" "pbx.example.de"
	T resize-window -t t -x 80 -y 24
	expect_screen "back to 80x24: values kept" "pbx.example.de"
	T resize-window -t t -x 80 -y 16
	expect_screen "too small screen" "Terminal too small"
	T resize-window -t t -x 80 -y 24
	wait_gone "Terminal too small"
	expect_screen "80x24 again: values kept" "pbx.example.de"
	keys F5 F5
	expect_screen "step 1 values kept across resizes" "Redim Client"
	# step 4 taller than 80x24: shown a page at a time, Tab goes on to the next page
	keys F6 F6 F6
	wait_for "4 Role assignment"
	local u
	for u in 1 2 3 4; do
		keys F7
		wait_for "User $u name"
		text "Page User $u"
		keys Tab
		text "page$u@example.de"
	done
	expect_screen "a step taller than the screen is paged" "page 2/2"
	expect_screen "the last user added is shown" "Page User 4"
	keys F5
	wait_for "3 PBX details"
	keys F6
	wait_for "4 Role assignment"
	expect_screen "page 1 first" "page 1/2"
	for u in 1 2 3 4 5 6 7 8 9 10 11 12 13; do keys Tab; done
	expect_screen "Tab reaches the users on page 2" "Page User 4"
	eventually "and page 2 is shown" on_screen_re "page 2/2"
	quit
}

# A PBX template fills step 3; only the secret is left to type.
case_template() {
	reset_db
	start
	cli template add "Lab Asterisk" --platform asterisk-ami --host 10.1.2.3 --port 5039 \
		--username labuser >/dev/null || nok "template created with the CLI"
	open_wizard
	step1 "Gabarit Client"
	keys Enter
	step2
	keys Enter
	wait_for "3 PBX details"
	keys Tab Enter
	wait_for "Type to filter"
	text "Lab"
	keys Enter
	expect_screen "the template fills the host" "10.1.2.3"
	expect_screen "the template fills the port" "5039"
	expect_screen "the template fills the user" "labuser"
	expect_screen "the template's platform is chosen" "Asterisk (AMI)"
	keys F6
	expect_screen "the secret is still asked" "AMI secret"
	eventually "secret error beside its field" on_screen_re "AMI secret .*✗"
	text "tmpl-secret"
	keys F6
	expect_screen "step 4 reached" "4 Role assignment"
	keys F6
	wait_for "summary: check, then create"
	keys Enter
	wait_gone "Create New Customer" || nok "created"
	eq "pbx from the template" "$(q "select template_name, host, port, username, enabled from pbx")" \
		"Lab Asterisk|10.1.2.3|5039|labuser|1"
	quit
}

# Another console takes the name while this one is at the summary: the
# store refuses, the wizard goes back to the name with the reason, nothing
# half-made is stored, and a new name then goes through.
case_race() {
	reset_db
	start
	open_wizard
	step1 "Course Client"
	keys Enter
	step2
	keys Enter
	wait_for "3 PBX details"
	keys Space F6
	wait_for "4 Role assignment"
	keys F6
	wait_for "summary: check, then create"
	cli customer create --name "COURSE CLIENT" --product-type analytics-pro --country FR \
		--admin-name "Other Admin" --admin-email other@example.fr >/dev/null
	keys Enter
	expect_screen "back on step 1" "1 Customer details"
	expect_screen "the name error is shown beside it" "✗ \"COURSE CLIENT\" already"
	eq "only the other console's customer exists" "$(q 'select count(*) from customers')" 1
	eq "only the other customer's user exists" "$(q 'select count(*) from users')" 1
	keys C-u
	text "Course Client 2"
	keys F6
	wait_for "2 Primary user"
	keys F6
	wait_for "3 PBX details"
	keys F6
	wait_for "4 Role assignment"
	keys F6
	wait_for "summary: check, then create"
	keys Enter
	wait_gone "Create New Customer" || nok "created after renaming"
	eq "both customers now" "$(q "select count(*) from customers where name in ('COURSE CLIENT', 'Course Client 2')")" 2
	eq "the draft is gone" "$(q 'select count(*) from drafts')" 0
	# the grid selected the new customer (it sorts after the other one, so
	# the first row is not it): Enter opens the selected row
	keys Enter
	if wait_for "Details" && show | grep -qF "Course Client 2" && ! show | grep -qF "COURSE CLIENT"; then
		ok "the grid selected the new customer"
	else
		nok "the grid selected the new customer"
	fi
	quit
}

# F9 in step 4 lists the users of the PBX typed in step 3 (the lab PBX),
# and says so when the secret is wrong; nothing is written by it.
case_discover() {
	reset_db
	local port=$((20000 + RANDOM % 20000))
	"$PROG" lab-pbx --listen "127.0.0.1:$port" --users 3 --call-rate 0 >"$TMP/lab.log" 2>&1 &
	LAB_PID=$!
	local d=$((SECONDS + UI_WAIT))
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		((SECONDS < d)) || { nok "lab PBX listening"; return; }
		sleep 0.05
	done
	start
	open_wizard
	step1 "Découverte"
	keys Enter
	step2
	keys Enter
	wait_for "3 PBX details"
	keys Tab Tab Enter
	wait_for "Type to filter"
	text "Asterisk"
	keys Enter
	wait_for "AMI secret"
	keys Tab
	text "127.0.0.1"
	keys Tab C-u
	text "$port"
	keys Tab Tab
	text "admin"
	keys Tab
	text "wrong-secret"
	keys F6
	wait_for "4 Role assignment"
	keys F9
	expect_screen "a wrong secret is reported" "refused the user name or secret" 15
	keys F5
	wait_for "3 PBX details"
	wait_for "AMI secret"
	keys Tab Tab Tab Tab Tab Tab Tab C-u # Connect a PBX, Template, Platform, Host, Port, TLS, user -> secret
	text "lab-secret"
	keys F6
	wait_for "4 Role assignment"
	keys F9
	expect_screen "the PBX users are listed" "1001 Alice Martin" 15
	expect_screen "with their count" "3 users found on the PBX"
	eq "nothing written by a discovery" "$(q 'select count(*) from customers') $(q 'select count(*) from users')" "0 0"
	# roles for the users found, before the customer exists
	eventually "the cursor is on the first PBX user's role" cursor_on "1001 Alice Martin"
	keys Tab
	eventually "Tab goes to the next PBX user" cursor_on "1002 "
	keys Enter
	wait_for "Type to filter"
	text "superv"
	keys Enter
	eventually "the role is shown beside the PBX user" on_screen_re "1002 .*Supervisor"
	# a dropped SSH link here: the list and its roles are in the draft
	eventually "the draft has the role given" q_is "select json_extract(json, '\$.found[1].role') from drafts" supervisor
	kill -HUP "$(app_pid)"
	wait_exit >/dev/null || nok "SIGHUP in step 4 ends the console"
	start
	open_wizard
	expect_screen "offered to resume" "Resume the draft?"
	keys r
	expect_screen "the PBX users are back with their roles" "Supervisor"
	eventually "the role is back beside its PBX user" on_screen_re "1002 .*Supervisor"
	keys F5
	wait_for "AMI secret"
	eventually "the cursor is on the secret to type again" cursor_on "AMI secret"
	text "lab-secret"
	keys F6
	wait_for "4 Role assignment"
	eventually "the list is still there after step 3 (same PBX)" on_screen_re "1002 .*Supervisor"
	keys F6
	expect_screen "the summary counts the PBX users" "Users found on the PBX: 3 (synced; 1 with a role"
	expect_screen "and lists the one with a role" "1002"
	keys Enter
	eventually "the customer was created" q_is "select count(*) from customers where name = 'Découverte'" 1
	eq "the PBX users were created with it, synced" "$(q 'select count(*) from users where synced = 1')" 3
	eq "with the role given in step 4" "$(q "select coalesce(role, '-') from users where synced = 1 order by endpoint" | tr '\n' ' ')" "- supervisor - "
	# the console's monitor connects to the lab PBX and syncs: the role stays
	eventually "the first sync ran (device states filled)" \
		q_is 'select count(*) from users where synced = 1 and device_state is not null' 3
	eq "the first sync kept the role and the rows" "$(q "select endpoint || ':' || coalesce(role, '-') from users where synced = 1 order by endpoint" | tr '\n' ' ')" "1001:- 1002:supervisor 1003:- "
	quit
	kill "$LAB_PID" 2>/dev/null
	wait "$LAB_PID" 2>/dev/null
	LAB_PID=
}

for c in $CASES; do
	echo "# case $c"
	"case_$c"
done
# sanitizer builds: any report from any run of the console fails the test
if compgen -G "$TMP/san*" >/dev/null; then
	FAIL=$((FAIL + 1))
	echo "not ok - sanitizer reports:"
	cat "$TMP"/san* | head -60
else
	ok "no sanitizer report"
fi
finish
