#!/usr/bin/env bash
# A resync from the console (issue 14): its progress shows in place (the
# customer view's PBX tab, the live panel) with "Esc cancels"; Esc cancels
# it and nothing of it is written (a sync is one transaction: the users stay
# as they were), then a resync not cancelled writes. The lab PBX sits behind
# a small TCP relay the test can hold, so the resync is caught mid-way for
# sure.
#   console_resync.sh PROVDESK SYNC_FIXTURE
PROG=$1
SYNC=$2
source "$(dirname "$0")/lib.sh"

printf '%s' 'resync-secret' >"$TMP/secret"
chmod 600 "$TMP/secret"
LAB_PID= RELAY_PID=
cleanup() {
	for p in $LAB_PID $RELAY_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	true
}
pd_on_exit cleanup
"$PROG" lab-pbx --listen 127.0.0.1:0 --secret-file "$TMP/secret" --users 12 --queues 1 \
	--call-rate 0 --seed 7 --json >"$TMP/lab.json" 2>"$TMP/lab.err" &
LAB_PID=$!
check "lab PBX starts" wait_until 10 grep -q '"port"' "$TMP/lab.json"
LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json")
# the relay: PBX -> console bytes wait while $TMP/hold exists
/usr/bin/python3 - "$LAB_PORT" "$TMP/hold" >"$TMP/relay.port" <<'PY' &
import os, select, socket, sys
up, hold = int(sys.argv[1]), sys.argv[2]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(8)
print(ls.getsockname()[1], flush=True)
pairs, pending = {}, {}
while True:
    r, _, _ = select.select([ls] + list(pairs), [], [], 0.05)
    for s in r:
        if s is ls:
            c, _ = ls.accept(); u = socket.create_connection(("127.0.0.1", up))
            pairs[c], pairs[u] = u, c; pending[c] = b""
            continue
        if s not in pairs:
            continue
        data = s.recv(65536)
        peer = pairs[s]
        if not data:
            for x in (s, peer):
                pairs.pop(x, None); pending.pop(x, None); x.close()
            continue
        if peer in pending:   # towards the console: may be held
            pending[peer] += data
        else:
            peer.sendall(data)
    if not os.path.exists(hold):
        for c, buf in list(pending.items()):
            if buf:
                c.sendall(buf); pending[c] = b""
PY
RELAY_PID=$!
check "relay starts" wait_until 10 test -s "$TMP/relay.port"
RELAY_PORT=$(head -1 "$TMP/relay.port")

seed "Acme Telecom" contact-centre DE
cli pbx add "Acme Telecom" --platform asterisk-ami --host 127.0.0.1 --port "$RELAY_PORT" \
	--username admin --secret-file "$TMP/secret" >/dev/null
synced() { q "select count(*) from users where synced"; }
link() { q "select link from pbx_status"; }

start_console 100 30
check "the link reaches monitoring" wait_for "monitoring" 30
check "the first sync stored the lab's 12 users" wait_until "$UI_WAIT" q_is "select count(*) from users where synced" 12
# the store now has one synced user: a resync would add 11
check "store sync to one user" "$SYNC" "$DB" "Acme Telecom" "1001|Alice Martin|" >/dev/null
eq "one synced user left" "$(synced)" 1

keys Enter; wait_for "Customer: Acme Telecom"
keys 3; wait_for "Secret"
audits=$(q "select count(*) from audit")
touch "$TMP/hold"
keys s
check "the resync's progress shows in place, done/total" screen_re '^ Resync +resync: syncing [0-9]+/[0-9]+ · Esc cancels'
check "the link is discovering" wait_until "$UI_WAIT" q_is "select link from pbx_status" discovering
keys Escape
check "Esc cancels the resync (the view stays)" wait_for "resync cancelled: nothing written"
check "the customer view is still open" wait_for "Customer: Acme Telecom"
rm -f "$TMP/hold"
check "the discovery ends (link monitoring again)" wait_until "$UI_WAIT" q_is "select link from pbx_status" monitoring
eq "nothing of the cancelled resync was written" "$(synced)" 1
eq "no audit row from it" "$(q "select count(*) from audit")" "$audits"

# not cancelled, the same resync writes
keys s
check "a resync not cancelled writes, and says so" wait_for "resync: 11 new"
eq "the lab's 12 users are back" "$(synced)" 12

# the live panel: the same progress line, Esc cancels there too
keys l; wait_for "Calls & agents"
touch "$TMP/hold"
keys s
check "live panel: progress with Esc cancels" screen_re 'resync: syncing [0-9]+/[0-9]+ · Esc cancels'
keys Escape
check "live panel: Esc cancels first" wait_for "resync cancelled: nothing written"
check "live panel still open" wait_for "Calls & agents"
rm -f "$TMP/hold"
wait_until "$UI_WAIT" q_is "select link from pbx_status" monitoring
keys Escape
check "then Esc leaves the panel" wait_gone "Calls & agents"
keys F10
check "the console quits" test "$(wait_exit)" = 0
finish
