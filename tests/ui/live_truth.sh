#!/usr/bin/env bash
# Live panels that tell the truth about links (issue 14): a link that is down
# says since when and counts down to its retry on its own (grid, live panel,
# NOC), and the console writes nothing to the terminal once nothing counts;
# the panels keep the last known agents/calls, dimmed and marked "as of",
# until the re-snapshot; the NOC shows the wall's totals (calls, waiting,
# agents available) with failed links first; a deleted customer's link stops
# showing "monitoring"; the status line counts customers right after
# deletions. A real lab PBX process, the real console in a private tmux.
PROG=$1
source "$(dirname "$0")/lib.sh"

printf '%s' 'Lt-S3cr3t-7' > "$TMP/secret"
chmod 600 "$TMP/secret"
LAB_PID=
LAB_PORT=
lt_cleanup() {
	if [[ -n $LAB_PID ]]; then kill "$LAB_PID" 2>/dev/null || true; wait "$LAB_PID" 2>/dev/null || true; fi
}
pd_on_exit lt_cleanup

start_lab() { # start_lab [PORT]
	rm -f "$TMP/lab.json"
	"$PROG" lab-pbx --listen "127.0.0.1:${1:-0}" --secret-file "$TMP/secret" --call-rate 40 \
		--users 8 --queues 1 --seed 3 --json > "$TMP/lab.json" 2> "$TMP/lab.err" &
	LAB_PID=$!
	local d=$((SECONDS + 10))
	until grep -q '"port"' "$TMP/lab.json" 2>/dev/null; do
		((SECONDS < d)) || { cat "$TMP/lab.err" >&2; return 1; }
		sleep 0.05
	done
	LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json")
}
stop_lab() { kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; LAB_PID=; }

# bytes the console wrote to its terminal (tmux pipe-pane into a file)
out_bytes() { stat -c %s "$TMP/pane.out" 2>/dev/null || echo 0; }
# quiet_for SECONDS: the console writes nothing for that long (an absence
# can only be watched for a while)
quiet_for() {
	local b0 d=$((SECONDS + $1))
	b0=$(out_bytes)
	while ((SECONDS < d)); do
		(($(out_bytes) == b0)) || return 1
		sleep 0.2
	done
}
# writes_on: the console keeps writing, one second after another
writes_on() {
	local b0 i
	for i in 1 2 3; do
		b0=$(out_bytes)
		wait_until 5 bash -c '(( $(stat -c %s "$1") > $2 ))' _ "$TMP/pane.out" "$b0" || return 1
	done
}

check "lab PBX starts" start_lab 0
seed "Acme Télécom" contact-centre FR
seed "Bravo SARL" contact-centre FR
seed "Charlie SA" contact-centre BE
seed "Delta GmbH" contact-centre DE
check "pbx add" cli pbx add "Acme Télécom" --platform asterisk-ami --host 127.0.0.1 \
	--port "$LAB_PORT" --username admin --secret-file "$TMP/secret"

# ------------------------------------------- status line count (deletions)
start_console 200 30
check "grid: monitoring" screen_re '^Acme Télécom .* monitoring ' 30
check "status line: 4 customers" screen_re '^ 4 customers · '
check "delete Charlie (CLI)" cli customer delete "Charlie SA" --confirm "Charlie SA"
check "delete Delta (CLI)" cli customer delete "Delta GmbH" --confirm "Delta GmbH"
check "status line: 2 customers after two deletions (not 0)" screen_re '^ 2 customers · .* 2 deleted' 10

# --------------------------------------------- live panel of a lost link
keys Enter; wait_for "Tenant id"; keys l
check "live panel opens" wait_for "Live — Acme Télécom"
check "live panel: agents known" screen_re '^Agents \([0-9]+/[1-9][0-9]*\) ' 30
check "live panel: fresh data is not marked" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -q "as of"' _ "$TMP/tmux.sock"
stop_lab
check "live panel: down since HH:MM, retrying in N s" \
	screen_re 'PBX: down since [0-9]{2}:[0-9]{2}, retrying in [0-9]+ s' 30
check "live panel: the countdown runs without a key" \
	countdown_runs 'retrying in [0-9]+ s'
check "live panel: the agents stay, marked as of HH:MM" \
	screen_re '^Agents \([0-9]+/[1-9][0-9]*\) as of [0-9]{2}:[0-9]{2}' 10
check "live panel: says the data is the last known" \
	screen_re 'Last known state as of [0-9]{2}:[0-9]{2} \(stale\)' 10
check "live panel: the reason is shown" screen_re 'Last error: .+' 10
check "live panel: and in the title" screen_re 'PBX: down since [0-9]{2}:[0-9]{2}, retrying in [0-9]+ s \(.+\)' 10
keys Escape Escape
check "grid: down since HH:MM, retrying in N s" \
	screen_re '^Acme Télécom .* down since [0-9]{2}:[0-9]{2}, retrying in [0-9]+ s' 30
check "grid: the countdown runs without a key" countdown_runs 'Acme Télécom .* retrying in [0-9]+ s'
# the PBX column is as wide as its text allows (widths from the content):
# the long form at 120 columns, the middle one at 100, the short one at 80
T resize-window -t t -x 120 -y 30
check "grid 120 columns: the long form fits" screen_re '^Acme Télécom .* down since [0-9]{2}:[0-9]{2}, retrying in [0-9]+ s' 10
T resize-window -t t -x 100 -y 30
# at 100 the long form fits while the countdown has one digit, the middle one
# with two (the width follows the content)
check "grid 100 columns: the middle form, or the long one while it fits" \
	screen_re '^Acme Télécom .* down( since)? [0-9]{2}:[0-9]{2}, (retrying in [0-9]+ s|[0-9]+s) ' 10
check "grid 100 columns: its countdown runs" \
	countdown_runs 'Acme Télécom .* down( since)? [0-9]{2}:[0-9]{2}, (retrying in [0-9]+ s|[0-9]+s)'
T resize-window -t t -x 80 -y 24
check "grid 80x24: the short countdown" screen_re '^Acme Télé.* ↻ [0-9]+s ' 10
check "grid 80x24: the short countdown runs" countdown_runs 'Acme Télé.* ↻ [0-9]+s'
T resize-window -t t -x 200 -y 30

# back: the re-snapshot replaces the stale data
check "lab PBX back on its port" start_lab "$LAB_PORT"
check "grid: monitoring again" screen_re '^Acme Télécom .* monitoring ' 60
keys Enter; wait_for "Tenant id"; keys l
check "live panel: monitoring" wait_for "PBX: monitoring" 30
check "live panel: fresh data, no longer marked" bash -c '
	d=$((SECONDS + 30)); while ((SECONDS < d)); do
		s=$(tmux -S "$1" capture-pane -p -t t)
		grep -qE "^Agents \([0-9]+/[1-9]" <<<"$s" && ! grep -q "as of" <<<"$s" && exit 0
		sleep 0.1; done; exit 1' _ "$TMP/tmux.sock"
keys q
check "console exits 0" test "$(wait_exit 30)" = 0

# ------------------------------------------------------------------ NOC
stop_lab
start_console 100 30 tmux-256color PROVDESK_NOC_ROTATE=60 -- --noc
check "NOC: title" wait_for "provdesk NOC (read-only)" 30
check "NOC: wait column" screen_re '^Customer +PBX status +Calls +Wait +Avail ' 10
check "NOC: the failed link says since when" screen_re '^Acme Télécom +down since [0-9]{2}:[0-9]{2} ' 30
check "NOC: its countdown and reason" screen_re 'retry [0-9]+s · .+' 10
check "NOC: the countdown runs" countdown_runs 'Acme Télécom .*retry [0-9]+s'
check "NOC: the wall's totals" screen_re '^ CALLS [0-9]+   WAITING [0-9]+   AGENTS AVAILABLE [0-9]+' 10
check "lab PBX back" start_lab "$LAB_PORT"
check "NOC: monitoring again, with totals" screen_re '^Acme Télécom +monitoring +[0-9]+ +[0-9]+ +[0-9]+ ' 60
keys q
check "NOC exits 0" test "$(wait_exit 30)" = 0

# ------------------- redraws: every second while counting, none otherwise
stop_lab
start_console 100 30
check "grid shows the countdown" screen_re '^Acme Télécom .* down [0-9]{2}:[0-9]{2}, [0-9]+s ' 30
T pipe-pane -t t -o "cat >> '$TMP/pane.out'"
check "the console redraws each second while a countdown shows" writes_on
check "connection disabled (CLI)" cli pbx disable "Acme Télécom"
check "grid: disabled" screen_re '^Acme Télécom .* disabled ' 30
# the change itself is drawn (row, counts) first: then silence
check "then writes nothing while nothing counts (3 s)" wait_until 20 quiet_for 3
T pipe-pane -t t
check "connection enabled again (CLI)" cli pbx enable "Acme Télécom"

# --------------------------------------- deleted customer: no "monitoring"
check "lab PBX back" start_lab "$LAB_PORT"
check "grid: monitoring" screen_re '^Acme Télécom .* monitoring ' 60
check "delete Acme (CLI)" cli customer delete "Acme Télécom" --confirm "Acme Télécom"
check "stored status says disabled" wait_until 30 bash -c \
	'"$1" --db "$2" pbx status --json 2>/dev/null | grep -q "\"disabled\"" ||
	 sqlite3 "file:$2?mode=ro" "SELECT link FROM pbx_status" | grep -qx disabled' _ "$PROG" "$DB"
check "stored status no longer monitoring" bash -c '! sqlite3 "file:$1?mode=ro" "SELECT link FROM pbx_status" | grep -qx monitoring' _ "$DB"
keys F9
check "the deleted customer's row does not say monitoring" screen_re '^Acme Télécom .* disabled ' 10
check "status line: no link monitored" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -q "1 monitoring"' _ "$TMP/tmux.sock"
keys q
check "console exits 0 (last)" test "$(wait_exit 30)" = 0
finish
