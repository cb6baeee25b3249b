#!/usr/bin/env bash
# The HTTP API inside `provdesk serve` (issue 18; docs/architecture.md "The
# API inside the daemon"), against the real daemon and lab PBXs over TCP:
# GET /v1/customers through the daemon; POST …/pbx/resync performed by the
# daemon's monitor (the users appear, the counts those of `pbx resync`);
# POST …/pbx/test with its steps and the status of a reachable lab, a
# closed port (69 → 503) and a wrong secret (77 → 403), as `pbx test`;
# GET …/pbx/status (the last error in the asker's language); GET /v1/events as Server-Sent Events (a call, a link
# down and up); bad input (Last-Event-ID, paths, scope); an event stream
# that never reads is dropped while the links keep publishing; every JSON
# answer checked against data/openapi.json.
source "$(dirname "$0")/lib.sh"
CONF=$TMP/provdesk.conf
pdc() { "$PROVDESK" --db "$DB" --config "$CONF" "$@"; }
printf 'lab-secret' >"$TMP/secret"
printf 'not-the-secret' >"$TMP/bad"
chmod 600 "$TMP/secret" "$TMP/bad"
on_fail() {
	printf '     status=%s body: %s\n' "$ST" "${BODY:0:600}"
	[[ -n ${DAEMON_LOG:-} ]] && tail -5 "$DAEMON_LOG" | sed 's/^/     serve: /'
}

# lab NAME ARGS...: a lab PBX on 127.0.0.1 (NAME_PORT, NAME_PID), stopped
# at the end
lab() {
	local name=$1 port
	shift
	"$PROVDESK" lab-pbx --json --secret-file "$TMP/secret" "$@" >"$TMP/$name.json" \
		2>"$TMP/$name.err" &
	printf -v "${name}_PID" %s $!
	pd_on_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
	wait_until 10 grep -q '"port"' "$TMP/$name.json" || return 1
	port=$(grep -oE '"port": [0-9]+' "$TMP/$name.json" | head -1 | grep -oE '[0-9]+')
	printf -v "${name}_PORT" %s "$port"
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# daemon DB CONF: `provdesk serve` in the foreground (DAEMON_PID, DAEMON_LOG);
# U: its API's base URL (http or https as CONF says)
daemon() {
	local scheme=http
	grep -q '^cert' "$2" && scheme=https
	DAEMON_LOG=$TMP/serve.$RANDOM.log
	"$PROVDESK" --db "$1" --config "$2" serve 2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	if ! wait_until "$UI_WAIT" grep -q 'HTTP API on' "$DAEMON_LOG"; then
		echo "# the daemon did not serve the API: $(head -c 600 "$DAEMON_LOG")" >&2
		return 1
	fi
	U="$scheme://127.0.0.1:$(grep -oE '\(port [0-9]+\)' "$DAEMON_LOG" | grep -oE '[0-9]+')"
}
jqe() { jq -e "$@" >/dev/null; }
state_of() { pdc pbx status "$1" --json 2>/dev/null | jq -r .state; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# sse FILE: its events, one line each: NAME<TAB>ID<TAB>DATA
sse() {
	awk 'BEGIN {n = ""; i = ""; d = ""}
		/^event: / {n = substr($0, 8)}
		/^id: / {i = substr($0, 5)}
		/^data: / {d = substr($0, 7)}
		/^$/ {if (d != "") print n "\t" i "\t" d; n = ""; i = ""; d = ""}' "$1"
}
# sse_has FILE NAME JQ: an event NAME whose data matches JQ (a boolean)
sse_has() {
	sse "$1" | awk -F'\t' -v n="$2" '$1 == n {print $3}' | jq -e "select($3)" >/dev/null 2>&1
}

# ---- three PBXs: a lab placing calls, a closed port, the lab with a wrong secret
lab LA --listen 127.0.0.1:0 --users 6 --call-rate 120 --talk 3 --ring 1 || exit 1
CLOSED=$(free_port)
printf '[api]\nlisten = 127.0.0.1:0\nallow_plain = yes\n' >"$CONF"
for n in Acme Bravo Charlie Delta; do
	pdc customer create --name "$n" --product-type contact-centre --country FR \
		--admin-name Admin --admin-email "admin@${n,,}.example" >/dev/null
done
pdc pbx add Acme --platform asterisk-ami --host 127.0.0.1 --port "$LA_PORT" --username admin \
	--secret-file "$TMP/secret" >/dev/null
pdc pbx add Bravo --platform asterisk-ami --host 127.0.0.1 --port "$CLOSED" --username admin \
	--secret-file "$TMP/secret" >/dev/null
pdc pbx add Charlie --platform asterisk-ami --host 127.0.0.1 --port "$LA_PORT" --username admin \
	--secret-file "$TMP/bad" >/dev/null
TP=$(pdc --json api-token create --name crm --scope provision | jq -r .token)
TR=$(pdc --json api-token create --name wallboard --scope read | jq -r .token)
AP=(-H "Authorization: Bearer $TP")
AR=(-H "Authorization: Bearer $TR")
ACME=$(pdc customer show Acme --json | jq -r .id)

daemon "$DB" "$CONF" || exit 1
check "the daemon serves the API on its loopback port" test -n "$U"
call GET /v1/customers "${AR[@]}"
expect "GET /v1/customers through the daemon" 200 '.customers | length' 4
eventually "Acme's link monitoring" eval '[[ $(state_of Acme) == monitoring ]]'
eventually "Charlie's link: auth failed" eval '[[ $(state_of Charlie) == auth-failed ]]'

# ---- pbx/test: the steps and the status of `pbx test`
call POST /v1/customers/Acme/pbx/test "${AP[@]}"
expect "pbx test of a reachable lab: 200" 200 .ok true
check "… with its steps" jqe '.steps | length >= 1 and all(.ok)' "$TMP/last"
call POST /v1/customers/Bravo/pbx/test "${AP[@]}"
expect "pbx test of a closed port: 503 (69)" 503 .error.code unavailable
eq "… the failed step" "$(jl .failed_step)" "TCP connect"
check "… its steps beside the error" jqe '.steps[-1].ok == false and .ok == false' "$TMP/last"
pdc pbx test Bravo >/dev/null 2>&1
eq "… the CLI's exit code for it: 69" "$?" 69
call POST /v1/customers/Charlie/pbx/test "${AP[@]}"
expect "pbx test with a wrong secret: 403 (77)" 403 .error.code auth
eq "… the failed step" "$(jl .failed_step)" authentication
check "… the secret is nowhere in the answer" eval '! grep -q -e not-the-secret -e lab-secret "$TMP/last"'
pdc pbx test Charlie >/dev/null 2>&1
eq "… the CLI's exit code for it: 77" "$?" 77
call POST /v1/customers/Acme/pbx/test "${AR[@]}"
expect "pbx test with a read token: 403 forbidden" 403 .error.code forbidden

# ---- pbx/status: the live state the daemon stored (written at its
# transitions, coalesced: it follows within moments)
api_state() { curl -s "${AR[@]}" "$U/v1/customers/$1/pbx/status" | jq -r .state; }
eventually "pbx status follows the link" eval '[[ $(api_state Acme) == monitoring ]]'
call GET /v1/customers/Acme/pbx/status "${AR[@]}"
expect "pbx status: monitoring" 200 .state monitoring
eq "… monitored by the daemon" "$(jl .monitored)" true
call GET /v1/customers/Bravo/pbx/status "${AR[@]}"
expect "pbx status of the closed port: not monitoring" 200 '.state != "monitoring"' true
# its last error in the asker's language: the daemon keeps it untranslated
api_error() { curl -s "${AR[@]}" "$U/v1/customers/Bravo/pbx/status" | jq -r .last_error; }
eventually "the closed port's last error is stored" eval '[[ $(api_error) == *refused* ]]'
call GET /v1/customers/Bravo/pbx/status "${AR[@]}"
expect "pbx status: the last error in English" 200 .last_error \
	"TCP connect to 127.0.0.1:$CLOSED: Connection refused"
if locale -a 2>/dev/null | grep -qix 'fr_FR.utf-\?8'; then
	call GET /v1/customers/Bravo/pbx/status "${AR[@]}" -H 'Accept-Language: fr'
	expect "… and in French, libc's reason too, for Accept-Language: fr" 200 .last_error \
		"connexion TCP à 127.0.0.1:$CLOSED : Connexion refusée"
else
	ok "the last error in French: skipped, fr_FR.UTF-8 is not generated # SKIP"
fi

# ---- pbx/resync performed by the daemon's monitor
synced() { grep -c 'customer '"$ACME"': users synced' "$DAEMON_LOG"; }
before=$(synced)
call POST /v1/customers/Acme/pbx/resync "${AP[@]}"
expect "pbx resync through the daemon: 200" 200 .customer Acme
api_counts=$(jq -c '[.added, .updated, .removed, .linked, .unchanged]' "$TMP/last")
check "… the daemon synced once more" test "$(synced)" -gt "$before"
cli_counts=$(pdc pbx resync Acme --json | jq -c '[.added, .updated, .removed, .linked, .unchanged]')
eq "… the counts of pbx resync" "$api_counts" "$cli_counts"
eq "… 6 users, unchanged" "$api_counts" "[0,0,0,0,6]"
lab LD --listen 127.0.0.1:0 --users 4 --call-rate 0 || exit 1
pdc pbx add Delta --platform asterisk-ami --host 127.0.0.1 --port "$LD_PORT" --username admin \
	--secret-file "$TMP/secret" >/dev/null
call POST /v1/customers/Delta/pbx/resync "${AP[@]}"
expect "pbx resync of a PBX just added: 200" 200 '.added + .unchanged' 4
check "… its users are stored" test "$(pdc user list Delta --json | jq '[.[] | select(.synced)] | length')" -ge 4
call POST /v1/customers/Nobody/pbx/resync "${AP[@]}"
expect "pbx resync of an unknown customer: 404" 404
pdc customer create --name Echo --product-type contact-centre --country FR \
	--admin-name Admin --admin-email admin@echo.example >/dev/null
call POST /v1/customers/Echo/pbx/resync "${AP[@]}"
expect "pbx resync without a PBX: 404 naming pbx" 404 .error.field pbx
call POST /v1/customers/Echo/pbx/test "${AP[@]}"
expect "pbx test without a PBX: 404 naming pbx" 404 .error.field pbx

# ---- GET /v1/events: a call, a link down and up
curl -s -N --max-time 120 "${AR[@]}" "$U/v1/events" -D "$TMP/ev.hdr" >"$TMP/ev" &
EV_PID=$!
pd_on_exit "kill $EV_PID 2>/dev/null"
printf 'GET\t/v1/events\t200\ttext/event-stream\t%s\n' "$TMP/ev" >>"$TMP/records.tsv"
eventually "an event stream (text/event-stream)" grep -qi 'content-type: text/event-stream' "$TMP/ev.hdr"
eventually "… Acme's state first (live)" sse_has "$TMP/ev" live ".customer == $ACME"
eventually "… a call the lab places (calls ≥ 1)" sse_has "$TMP/ev" live ".customer == $ACME and .calls >= 1"
kill "$LA_PID"
wait "$LA_PID" 2>/dev/null
eventually "… the link down: a link event" \
	sse_has "$TMP/ev" link ".customer == $ACME and .state != \"monitoring\""
lab LA --listen "127.0.0.1:$LA_PORT" --users 6 --call-rate 120 --talk 3 --ring 1 || exit 1
eventually "… and up again: a link event, monitoring" \
	eval 'sse "$TMP/ev" | awk -F"\t" '"'"'$1 == "link" {print $3}'"'"' |
		jq -se "map(select(.customer == $ACME)) | (map(.state != \"monitoring\") | index(true)) as \$d |
			\$d != null and (.[\$d:] | any(.state == \"monitoring\"))" >/dev/null'
ids=$(sse "$TMP/ev" | cut -f2)
check "… ids are numbers, never going back" eval '! grep -qvE "^[0-9]+$" <<<"$ids" && [[ $ids == "$(sort -n <<<"$ids")" ]]'
check "… only live and link events" eval '! sse "$TMP/ev" | cut -f1 | grep -qvx -e live -e link'
if python3 -c 'import jsonschema' 2>/dev/null; then
	sse "$TMP/ev" | cut -f3 >"$TMP/ev.data"
	check "… each event's data matches LiveEvent in data/openapi.json" python3 -c '
import json, sys, jsonschema
doc = json.load(open(sys.argv[1]))
s = doc["components"]["schemas"]["LiveEvent"]
n = 0
for line in open(sys.argv[2]):
    jsonschema.Draft202012Validator(s).validate(json.loads(line)); n += 1
sys.exit(0 if n else 1)' "$PROVDESK_SOURCE_ROOT/data/openapi.json" "$TMP/ev.data"
fi
check "the document names the events" jqe \
	'.paths["/v1/events"].get.responses["200"].content["text/event-stream"]["x-events"] | has("live") and has("link")' \
	"$PROVDESK_SOURCE_ROOT/data/openapi.json"

# ---- bad input
call GET /v1/events "${AR[@]}" -H 'Last-Event-ID: abc'
expect "Last-Event-ID not a number: 400 naming it" 400 .error.field last_event_id
call GET /v1/events "${AR[@]}" -H "Last-Event-ID: $(printf '9%.0s' {1..40})"
expect "Last-Event-ID too long: 400" 400 .error.field last_event_id
# (once Acme's link is up again: a stream opened while it reconnects starts
# with its link state, and its live state comes when monitoring)
eventually "Acme's link monitoring again" eval '[[ $(state_of Acme) == monitoring ]]'
curl -s -N --max-time 3 "${AR[@]}" -H 'Last-Event-ID: 12' "$U/v1/events" >"$TMP/ev2"
check "a valid Last-Event-ID: the current state again" sse_has "$TMP/ev2" live ".customer == $ACME"
call GET /v1/events/extra "${AR[@]}"
expect "a path below /v1/events: 404" 404
call DELETE /v1/events "${AP[@]}"
expect "DELETE /v1/events: 405" 405
call GET /v1/events
expect "events without a token: 401" 401
call POST /v1/customers/Nobody/pbx/test "${AP[@]}"
expect "pbx test of an unknown customer: 404" 404
eq "a path with bytes that are not UTF-8: 400" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST "${AP[@]}" "$U/v1/customers/Acme/pbx/test/%FF")" 400

# ---- an event stream that never reads: dropped, while the links publish
# (six more links to a busy lab: events enough to fill its socket)
lab LB --listen 127.0.0.1:0 --users 20 --call-rate 600 --talk 2 --ring 1 || exit 1
for i in 1 2 3 4 5 6; do
	pdc customer create --name "Golf $i" --product-type contact-centre --country FR \
		--admin-name Admin --admin-email "admin@golf$i.example" >/dev/null
	pdc pbx add "Golf $i" --platform asterisk-ami --host 127.0.0.1 --port "$LB_PORT" \
		--username admin --secret-file "$TMP/secret" >/dev/null
done
eventually "six more links monitoring" eval '[[ $(state_of "Golf 6") == monitoring ]]'
python3 - "$U" "$TR" >"$TMP/stuck.out" 2>&1 <<'EOF' &
import socket, sys, time
host, port = sys.argv[1].split("//")[1].split(":")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
s.connect((host, int(port)))
s.sendall(("GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % sys.argv[2]).encode())
print(s.getsockname()[1], flush=True)
time.sleep(90)  # never reads
EOF
STUCK_PID=$!
pd_on_exit "kill $STUCK_PID 2>/dev/null"
wait_until 10 test -s "$TMP/stuck.out"
SPORT=$(head -1 "$TMP/stuck.out")
# the daemon's own end of the stuck client's connection (gone once dropped)
held() { ss -Htnp "( dport = :$SPORT )" | grep -q "pid=$DAEMON_PID,"; }
check "the stuck client is connected" held
rss0=$(rss_kb "$DAEMON_PID")
n0=$(sse "$TMP/ev" | wc -l)
t0=$SECONDS
ok_status=1
while held && ((SECONDS - t0 < 60)); do
	s=$SECONDS
	[[ $(timeout 10 "$PROVDESK" --db "$DB" --config "$CONF" pbx status Acme --json | jq -r .state) == monitoring ]] ||
		ok_status=0
	((SECONDS - s <= 5)) || ok_status=0
	sleep 1
done
check "… dropped by the daemon within a minute" eval '! held'
eq "… pbx status answered within 5 s all along" "$ok_status" 1
check "… the other stream kept receiving events" test "$(sse "$TMP/ev" | wc -l)" -gt "$n0"
rss1=$(rss_kb "$DAEMON_PID")
if instrumented "$PROVDESK"; then # ASan's shadow and quarantine are not the daemon's
	ok "… the daemon's RSS (not measured under a sanitizer or valgrind: ${rss0} → ${rss1} kB)"
else
	check "… the daemon's RSS stayed bounded (${rss0} → ${rss1} kB)" test "$rss1" -lt $((rss0 + 20000))
fi
check "… Acme's link still monitoring" eval '[[ $(state_of Acme) == monitoring ]]'

# ---- the contract
if python3 -c 'import jsonschema' 2>/dev/null; then
	check "every answer of this script matches data/openapi.json" \
		python3 "$(dirname "$0")/validate.py" "$PROVDESK_SOURCE_ROOT/data/openapi.json" "$TMP/records.tsv"
else
	not_ok "python3-jsonschema is needed for the contract check (.ci/deps --test)"
fi
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
eq "the daemon stops cleanly on SIGTERM" "$?" 0
check "… with no sanitizer report" eval '! grep -qE "Sanitizer|runtime error" "$DAEMON_LOG"'

# ---- serve --listen ADDR:PORT: the API where the command line says, with
# no [api] listen in the configuration; a bad address is named as --listen
CONF2=$TMP/listen.conf
printf '[api]\nallow_plain = yes\n' >"$CONF2"
L_LOG=$TMP/serve-listen.log
"$PROVDESK" --db "$DB" --config "$CONF2" serve --listen 127.0.0.1:0 2>"$L_LOG" &
L_PID=$!
check "serve --listen: the API starts with no [api] listen" wait_until "$UI_WAIT" grep -q 'HTTP API on 127.0.0.1:0' "$L_LOG"
LU="http://127.0.0.1:$(grep -oE '\(port [0-9]+\)' "$L_LOG" | grep -oE '[0-9]+')"
check "… and answers there" eval 'curl -sf "$LU/v1/openapi.json" | jq -e .openapi >/dev/null'
kill -TERM "$L_PID"
wait "$L_PID"
eq "… and stops cleanly" "$?" 0
out=$("$PROVDESK" --db "$DB" --config "$CONF2" serve --listen nowhere 2>&1)
eq "serve --listen without a port: exit 78" "$?" 78
check "… names --listen" grep -q 'listen' <<<"$out"
out=$("$PROVDESK" --db "$DB" --config "$CONF2" serve --listen 192.0.2.1:8443 2>&1)
eq "serve --listen on a public address without TLS: exit 78" "$?" 78
check "… says plain HTTP is for loopback only" grep -q 'only a loopback address' <<<"$out"
"$PROVDESK" --db "$DB" serve --stop --listen 127.0.0.1:0 >/dev/null 2>&1
eq "serve --stop takes no --listen: exit 64" "$?" 64
finish
