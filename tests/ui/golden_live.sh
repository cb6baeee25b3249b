#!/usr/bin/env bash
# Golden screens of the live views at 80x24 (issue 14): the customer view's
# PBX tab, the live panel (calls & agents, users) and the NOC, against the
# lab PBX with a seed and no calls (--call-rate 0), so what shows is fixed;
# what runs (the lab's port, the seconds in a state, the NOC's clock) is
# masked. tests/lib/golden.sh says how to update them.
#   golden_live.sh PROVDESK
PROG=$1
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../lib/golden.sh"
GOLDEN_DIR=$(cd "$(dirname "$0")" && pwd)/golden

printf '%s' 'golden-secret' >"$TMP/secret"
chmod 600 "$TMP/secret"
LAB_PID=
pd_on_exit '[[ -n $LAB_PID ]] && { kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; }; true'
"$PROG" lab-pbx --listen 127.0.0.1:0 --secret-file "$TMP/secret" --users 4 --queues 1 \
	--call-rate 0 --seed 7 --json >"$TMP/lab.json" 2>"$TMP/lab.err" &
LAB_PID=$!
check "lab PBX starts" wait_until 10 grep -q '"port"' "$TMP/lab.json"
LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json")
seed "Acme Télécom" contact-centre FR
seed "Bravo SARL" analytics-pro DE --reference REF-B-001
cli pbx add "Acme Télécom" --platform asterisk-ami --host 127.0.0.1 --port "$LAB_PORT" \
	--username admin --secret-file "$TMP/secret" >/dev/null
# the port keeps its width (5 digits: the kernel's ephemeral range), the
# time in a state and the clock their shape
GOLDEN_MASK+=";s/127\.0\.0\.1:$LAB_PORT/127.0.0.1:PPPPP/g"
GOLDEN_MASK+=';s/ +(1\/1 · next in )[0-9]+s/ \1Ns/;s/ [0-9]+:[0-9]{2}( *)$/ m:ss\1/;s/[0-9]{2}:[0-9]{2}:[0-9]{2}/hh:mm:ss/g;s/[0-9]{2}:[0-9]{2}/hh:mm/g'

start_console 80 24
wait_for "Acme Télécom"
check "the link reaches monitoring" wait_for "monitoring" 30
keys Enter; wait_for "Customer: Acme Télécom"
keys 3; wait_for "Secret"
check_golden customer-pbx
keys l
check "the live panel lists the agents" wait_for "David Cohen"
check_golden live-agents
# Tab goes calls → agents → users (calls and agents share a page at 24 rows)
for ((i = 0; i < 3; i++)); do
	keys Tab
	wait_for "Device state" 2 2>/dev/null && break
done
check_golden live-users
keys F10
check "the console exits 0" test "$(wait_exit)" = 0

start_console 80 24 tmux-256color -- --noc
check "the NOC shows the customer monitored" wait_for "Acme Télécom"
wait_for "monitoring" 30
check_golden noc
keys q
wait_exit >/dev/null
finish
