#!/usr/bin/env bash
# Live UI with a FreeSWITCH PBX end to end (issue 13; tests/ui/live.sh does
# Asterisk): a real FreeSWITCH lab PBX process (event socket, mod_callcenter,
# its call generator, two domains) on a free port, one customer linked to it,
# one with a wrong password, one without PBX; the real console in a private
# tmux. The grid shows the link monitoring with calls/agents counts; the
# customer view's live panel shows calls (caller, queue, agent, duration that
# ticks) and agents in the display states Asterisk uses, an agent set
# "On Break" through the event socket as Not ready (On Break), Logged Out as
# Logged off; the users with their domain and device state (Unavailable when
# not registered); the NOC lists the customer with its totals. No screen shows the password. Waits have deadlines only.
PROG=$1
source "$(dirname "$0")/lib.sh"

SECRET='Fs-L1ve-S3cret!'
printf '%s' "$SECRET" > "$TMP/secret"
printf '%s' 'wrong-password' > "$TMP/bad"
chmod 600 "$TMP/secret" "$TMP/bad"
source "$(dirname "$0")/live_lib.sh"

start_lab() {
	lab_process --platform freeswitch --listen 127.0.0.1:0 --secret-file "$TMP/secret" \
		--call-rate 40 --users 12 --queues 2 --sites 2 --seed 7
}

# A command through the event socket, as a supervisor's tool would.
esl_api() { # esl_api COMMAND...
	/usr/bin/python3 - "$LAB_PORT" "$TMP/secret" "$*" <<'PY'
import socket, sys
port, secret, cmd = int(sys.argv[1]), open(sys.argv[2]).read(), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
f = s.makefile("rb")
def msg():
    h = {}
    while True:
        l = f.readline().decode().rstrip("\n")
        if not l:
            if h: break
            continue
        k, _, v = l.partition(": ")
        h[k] = v
    body = f.read(int(h["Content-Length"])).decode() if "Content-Length" in h else ""
    return h, body
h, _ = msg()
assert h.get("Content-Type") == "auth/request", h
s.sendall(f"auth {secret}\n\n".encode())
h, _ = msg()
assert h.get("Reply-Text") == "+OK accepted", h
s.sendall(f"api {cmd}\n\n".encode())
while True:
    h, body = msg()
    if h.get("Content-Type") == "api/response": break
assert body.startswith("+OK"), body
s.sendall(b"exit\n\n")
PY
}


check "FreeSWITCH lab PBX starts on a free port" start_lab
seed "Acme Télécom" analytics-pro FR
seed "Bravo SARL" analytics-pro FR
seed "Zulu Sans PBX" analytics-pro BE
check "pbx add FreeSWITCH (good password)" cli pbx add "Acme Télécom" --platform freeswitch-esl \
	--host 127.0.0.1 --port "$LAB_PORT" --secret-file "$TMP/secret" >/dev/null
check "pbx add FreeSWITCH (wrong password)" cli pbx add "Bravo SARL" --platform freeswitch-esl \
	--host 127.0.0.1 --port "$LAB_PORT" --secret-file "$TMP/bad" >/dev/null

# ---------------------------------------------------------------- grid
start_console 120 30
check "grid: the FreeSWITCH link reaches monitoring" wait_re '^Acme Télécom .* monitoring +[0-9]+ +[0-9]+ +[0-9]+/[0-9]+ *$' 30
check "grid: the wrong password shows auth failed" wait_re '^Bravo SARL .* auth failed ' 30
check "grid: no PBX shows a dash" wait_re '^Zulu Sans PBX .* — +[0-9]+ +— +— *$'
check "grid: users synced (12 + the admin)" wait_re '^Acme Télécom .* monitoring +13 ' 30
check "grid: live calls and agents counted" wait_re '^Acme Télécom .* monitoring +13 +[1-9][0-9]* +[0-9]+/[1-9][0-9]* *$' 20
check "status line: PBX health" wait_re 'PBX: 1 auth failed · 1 monitoring'

# ---------------------------------------------------------- live panel
keys Enter
check "customer view opens" wait_for "Tenant id"
keys l
check "live panel opens" wait_for "Live — Acme Télécom"
check "live panel: link status" wait_for "PBX: monitoring"
# an inbound queue call, read from one capture: caller, queue, agent, duration
live_call() {
	local line
	line=$(snap | grep -E '^\+33155501[0-9]{3} .* inbound +(Ringing|Connected|Held) +(support|sales)@default +[^ ].* [0-9]+:[0-9]{2}$' | head -1)
	CALL=$(grep -oE '^\+33155501[0-9]{3}' <<<"$line")
	d1=$(grep -oE '[0-9]+:[0-9]{2}$' <<<"$line" | awk -F: '{ print $1 * 60 + $2 }')
	[[ -n $CALL && -n $d1 ]]
}
CALL='' d1=''
check "live panel: a queue call with caller, queue, agent and duration" wait_until 30 live_call
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
check "a connected call names its agent" wait_re '^\+33155501[0-9]{3} .* Connected +(support|sales)@default +[A-Z][^ ]+ [^ ]+ .* [0-9]+:[0-9]{2}$' 30
check "an outbound call from a user" wait_re '^10[0-9]{2} [^ ].* \+[0-9]+ +outbound ' 60
check "agents panel" wait_re '^Agents \([0-9]+/[1-9][0-9]*\)'
check "agents with the display states" wait_re ' 10[0-9]{2}@(default|site-2) .*(Available|On call|Ringing|Wrap-up|On hold) +[0-9]+:[0-9]{2}$'
check "an agent on call" wait_re ' 10[0-9]{2}@(default|site-2) .* On call +[0-9]+:[0-9]{2}$' 30
check "ESL: 1003 goes On Break" esl_api callcenter_config agent set status 1003@default "'On Break'"
# 1003 may be on a call when the break is set: it shows Not ready once that
# call ends (the lab's calls last under a minute).
check "agent shows Not ready (On Break)" wait_re ' 1003@default .*Not ready \(On Break\) +[0-9]+:[0-9]{2}$' 90
in_state_ticks() { # the In state column of 1003 grows while the screen runs on its own
	local s0 d=$((SECONDS + UI_WAIT)) now
	s0=$(duration_of ' 1003@default ')
	while ((SECONDS < d)); do
		now=$(duration_of ' 1003@default ')
		((${now:-0} > ${s0:-0})) && return 0
		sleep 0.1
	done
	return 1
}
check "time in state ticks" in_state_ticks
check "ESL: 1005 logs out" esl_api callcenter_config agent set status 1005@default "'Logged Out'"
check "agent shows Logged off" wait_re ' 1005@default .*Logged off +[0-9]+:[0-9]{2}$' 10
# An ended call lingers a few seconds, then leaves the list: either shows that
# the call was seen to end (a slow machine may miss the linger).
first_call_ended() { snap | grep -qE "^\\$CALL .* Ended " || ! snap | grep -qF -- "$CALL "; }
check "the first call seen ends ($CALL ... Ended, or gone)" wait_until 120 first_call_ended
keys Tab Tab
check "users panel: user@domain, name, domain, device state" \
	wait_re '^1001@defa… +Alice Martin +default +(Not in use|In use|Ringing|On hold|Busy) *$'
check "users panel: a phone not registered is Unavailable" wait_re '^1010@site… +Jonas Weber +site-2 +Unavailable *$'
keys Tab
keys s
check "the resync key shows the result" wait_re 'resync: 0 new, 0 updated, 0 removed, 0 linked, 12 unchanged' 30
keys Escape Escape
check "back to the grid" wait_re '^Acme Télécom .* monitoring'
keys q
check "console exits 0 on q" test "$(wait_exit 30)" = 0
check "no sanitizer report (grid/live run)" no_sanitizer_report

# ----------------------------------------------------------------- NOC
db_dump > "$TMP/db.before"
start_console 120 30 tmux-256color PROVDESK_NOC_ROTATE=2 -- --noc
check "NOC: title" wait_for "provdesk NOC (read-only)" 30
check "NOC: the auth-failed FreeSWITCH customer first" bash -c '
	d=$((SECONDS + 15)); while ((SECONDS < d)); do
		tmux -S "$1" capture-pane -p -t t | sed -n 3p | grep -qE "^Bravo SARL +auth failed" && exit 0; sleep 0.1; done; exit 1' _ "$TMP/tmux.sock"
check "NOC: the FreeSWITCH customer with its totals" wait_re '^Acme Télécom +monitoring +[1-9][0-9]* ' 30
check "NOC: customers without PBX not listed" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -q "Zulu Sans PBX"' _ "$TMP/tmux.sock"
check "NOC: status line health" wait_re 'PBX: 1 auth failed · 1 monitoring'
check "NOC: rotates to the FreeSWITCH customer" wait_re '▶ Acme Télécom — monitoring' 15
check "NOC: agents by state" wait_re '^ (Available|On call|Not ready) \([0-9]+\): ' 10
check "NOC: the break reason in agents by state" wait_re 'Not ready \([0-9]+\): .*\(On Break\)' 10
keys q
check "NOC exits 0" test "$(wait_exit 30)" = 0
check "NOC: no sanitizer report" no_sanitizer_report
check "NOC wrote nothing to the database (nor did the monitor, but link states)" \
	db_unchanged "$TMP/db.before"

# -------------------------------------------------------------- secrets
check "the password never appeared on any screen" bash -c '! grep -qF -- "$1" "$2"' _ "$SECRET" "$SCREENS"
check "nor on the console's stderr" bash -c '! grep -qF -- "$1" "$2" 2>/dev/null' _ "$SECRET" "$TMP/exit.stderr"
finish
