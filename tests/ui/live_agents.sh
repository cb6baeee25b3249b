#!/usr/bin/env bash
# Live panels that tell the truth about agents and calls (issue 14), against
# lab PBX processes replaying the recorded Asterisk 22 behaviour: calls
# already up when the console connects show their queue, agent and caller
# (CoreShowChannels + QueueStatus); the customer view's PBX tab lists the
# sub-accounts with their users and live counts, and the link's live state
# with its running retry countdown; after a queue call an agent shows
# Wrap-up with a countdown for the connection's wrap-up time (Asterisk
# sends none), then leaves it; an agent paused during a call shows
# "On call (paused: Lunch)"; a direct call (not through a queue) keeps the
# agent Ringing until answered; an ended call still shows its caller.
PROG=$1
source "$(dirname "$0")/lib.sh"

printf '%s' 'La-S3cr3t-9' > "$TMP/secret"
chmod 600 "$TMP/secret"
declare -A LAB_PID LAB_PORT
la_cleanup() {
	local k
	for k in "${!LAB_PID[@]}"; do
		kill "${LAB_PID[$k]}" 2>/dev/null || true
		wait "${LAB_PID[$k]}" 2>/dev/null || true
	done
}
pd_on_exit la_cleanup

start_lab() { # start_lab NAME PORT [lab-pbx options]
	local name=$1 port=$2; shift 2
	rm -f "$TMP/lab-$name.json"
	"$PROG" lab-pbx --listen "127.0.0.1:$port" --secret-file "$TMP/secret" "$@" --json \
		> "$TMP/lab-$name.json" 2> "$TMP/lab-$name.err" &
	LAB_PID[$name]=$!
	local d=$((SECONDS + 10))
	until grep -q '"port"' "$TMP/lab-$name.json" 2>/dev/null; do
		((SECONDS < d)) || { cat "$TMP/lab-$name.err" >&2; return 1; }
		sleep 0.05
	done
	LAB_PORT[$name]=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab-$name.json")
}
stop_lab() { kill "${LAB_PID[$1]}" 2>/dev/null; wait "${LAB_PID[$1]}" 2>/dev/null; unset "LAB_PID[$1]"; }

# lines_re RE N [SECONDS]: at least N lines of the screen match RE
lines_re() {
	local d=$((SECONDS + ${3:-$UI_WAIT}))
	until (($(screen | grep -cE -- "$1") >= $2)); do
		((SECONDS < d)) || { echo "--- fewer than $2 lines match /$1/" >&2; screen >&2; return 1; }
		sleep 0.1
	done
}
# open_live ROW: the live panel of the grid's ROW-th customer (1-based)
open_live() {
	keys Home
	local i
	for ((i = 1; i < $1; i++)); do keys Down; done
	keys Enter; wait_for "Tenant id" && keys l && wait_for "Live — "
}

# Alpha: two calls answered before anyone connects, three users in two
# dialplan contexts (site-1: 1001 1003, site-2: 1002)
check "lab Alpha: calls up at start" start_lab alpha 0 --users 3 --sites 2 --queues 1 \
	--call-rate 0 --calls-up 2 --talk 600 --seed 7
# Bravo: one agent taking queue calls; the queue wraps up for 5 s
check "lab Bravo: queue calls" start_lab bravo 0 --users 1 --queues 1 --call-rate 30 \
	--ring 1 --talk 3 --wrapup 5 --seed 5
# Delta: calls dialled straight to the agent's phone, ringing 8 s
check "lab Delta: direct calls" start_lab delta 0 --users 1 --queues 1 --call-rate 30 \
	--direct-pct 100 --ring 8 --talk 2 --seed 11
# Charlie: the agent is paused (Lunch) as it answers its first call
check "lab Charlie: paused in call" start_lab charlie 0 --users 1 --queues 1 --call-rate 30 \
	--ring 1 --talk 600 --pause-in-call 1001:Lunch --seed 9
seed "Alpha Télécom" contact-centre FR
seed "Bravo SARL" contact-centre FR
seed "Charlie SA" contact-centre BE
seed "Delta GmbH" contact-centre DE
check "pbx add Alpha (sub-accounts)" cli pbx add "Alpha Télécom" --platform asterisk-ami \
	--host 127.0.0.1 --port "${LAB_PORT[alpha]}" --username admin --secret-file "$TMP/secret" \
	--auto-provision-sub-accounts
check "pbx add Bravo (wrap-up 5 s)" cli pbx add "Bravo SARL" --platform asterisk-ami \
	--host 127.0.0.1 --port "${LAB_PORT[bravo]}" --username admin --secret-file "$TMP/secret" \
	--wrapup-time 5
check "pbx add Charlie" cli pbx add "Charlie SA" --platform asterisk-ami \
	--host 127.0.0.1 --port "${LAB_PORT[charlie]}" --username admin --secret-file "$TMP/secret"
check "pbx add Delta" cli pbx add "Delta GmbH" --platform asterisk-ami --wrapup-time 5 \
	--host 127.0.0.1 --port "${LAB_PORT[delta]}" --username admin --secret-file "$TMP/secret"

start_console 120 32
check "grid: Alpha monitoring" screen_re '^Alpha Télécom .* monitoring ' 30

# ------------------------------------------------ calls up at connect
open_live 1
check "live: two calls found up, each with its caller, queue and agent" \
	lines_re '^\+331555[0-9]+ Customer [0-9]+ +[^ ]+ +inbound +Connected +support +[A-Z][a-zé]+ ' 2 30
check "live: their agents are on call" lines_re ' PJSIP/100[12] .* On call ' 2 10
check "live: no call without an agent" bash -c '! tmux -S "$1" capture-pane -p -t t | grep -E "Connected +support +[0-9]+:[0-9]{2}"' _ "$TMP/tmux.sock"
keys Escape
# back in the customer view before the digit: Esc and a digit read together
# are an F-key (F1..F10 on terminals without them)
wait_for "Tenant id"

# ------------------------------------------------- the PBX tab
keys 3
check "PBX tab: live totals" \
	screen_re 'Sub-accounts \(2\) · live: 2 calls \(0 waiting\) · 1 agent available' 30
check "PBX tab: site-1 with its users and counts" \
	screen_re '^  site-1 · 2 users · 1 call · 1 available' 10
check "PBX tab: site-1's users by name and extension" screen_re '^    .+ 1001, .+ 1003' 10
check "PBX tab: site-2" screen_re '^  site-2 · 1 user · 1 call · 0 available' 10
check "PBX tab: the link's live state" screen_re '^ Status +monitoring' 10
stop_lab alpha
check "PBX tab: down since HH:MM, retrying in N s" \
	screen_re '^ Status +down since [0-9]{2}:[0-9]{2}, retrying in [0-9]+ s' 30
check "PBX tab: the countdown runs without a key" countdown_runs 'retrying in [0-9]+ s'
check "PBX tab: the last known counts stay, marked stale" screen_re 'Sub-accounts \(2\) · live: .* · stale' 10
keys Escape Escape

# ------------------------------------------------------------ wrap-up
check "grid: Bravo monitoring" screen_re '^Bravo SARL .* monitoring ' 30
open_live 2
check "live: Bravo's panel" wait_for "Live — Bravo SARL"
check "live: after a queue call the agent wraps up with a countdown" \
	screen_re ' PJSIP/1001 .* Wrap-up \([0-9] s\) ' 60
check "live: the wrap-up countdown runs" countdown_runs 'Wrap-up \([0-9]+ s\)'
check "live: then the agent leaves Wrap-up" wait_gone "Wrap-up (" 10
check "live: an ended call still shows its caller" \
	screen_re '^\+331555[0-9]+ Customer [0-9]+ .* Ended ' 60
keys Escape Escape

# ------------------------------------------------- paused during a call
check "grid: Charlie monitoring" screen_re '^Charlie SA .* monitoring ' 30
open_live 3
check "live: Charlie's panel" wait_for "Live — Charlie SA"
check "live: paused on a call keeps the reason" \
	screen_re ' PJSIP/1001 .* On call \(paused: Lunch\) ' 60
check "live: the call is shown connected" screen_re ' Connected +support ' 10
keys Escape Escape

# ------------------------------------------- a direct call rings and holds
check "grid: Delta monitoring" screen_re '^Delta GmbH .* monitoring ' 30
open_live 4
check "live: Delta's panel" wait_for "Live — Delta GmbH"
check "live: a direct call rings the agent" screen_re ' PJSIP/1001 .* Ringing +0:0[0-9]$' 60
check "live: and it keeps ringing (3 s and more in the state)" \
	screen_re ' PJSIP/1001 .* Ringing +0:0[3-9]$' 10
check "live: the ringing call goes to the extension, not a queue" \
	screen_re '^\+331555[0-9]+ Customer [0-9]+ +1001 +inbound +Ringing ' 10
keys q
check "console exits 0" test "$(wait_exit 30)" = 0
finish
