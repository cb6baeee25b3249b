#!/usr/bin/env bash
# "PBX links and consoles keep working under 1,000 connections" (issue 18):
# `provdesk serve` monitors three lab PBX links placing calls and serves the
# API; ab (apache2-utils) opens 1,000 concurrent HTTP connections to it, and
# meanwhile `pbx status` (a client attached to the daemon, as a console is)
# answers within 5 s with the link monitoring, an event stream keeps
# receiving the links' events, the daemon's RSS stays bounded, and the API
# answers afterwards. The figures are printed (# lines). About 40 s.
source "$(dirname "$0")/lib.sh"
CONF=$TMP/provdesk.conf
pdc() { "$PROVDESK" --db "$DB" --config "$CONF" "$@"; }
if ! command -v ab >/dev/null; then
	skip "ab (apache2-utils) is not installed"
fi
if (($(ulimit -n) < 2200)); then
	ulimit -n 4096 2>/dev/null || skip "the open-file limit ($(ulimit -n)) is below 2,200"
fi
printf 'lab-secret' >"$TMP/secret"
chmod 600 "$TMP/secret"
"$PROVDESK" lab-pbx --json --listen 127.0.0.1:0 --secret-file "$TMP/secret" --users 10 \
	--call-rate 120 --talk 3 --ring 1 >"$TMP/lab.json" 2>"$TMP/lab.err" &
pd_on_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
wait_until 10 grep -q '"port"' "$TMP/lab.json" || exit 1
LAB_PORT=$(grep -oE '"port": [0-9]+' "$TMP/lab.json" | grep -oE '[0-9]+')
printf '[api]\nlisten = 127.0.0.1:0\nallow_plain = yes\n' >"$CONF"
for n in Acme Bravo Charlie; do
	pdc customer create --name "$n" --product-type contact-centre --country FR \
		--admin-name Admin --admin-email "admin@${n,,}.example" >/dev/null
	pdc pbx add "$n" --platform asterisk-ami --host 127.0.0.1 --port "$LAB_PORT" \
		--username admin --secret-file "$TMP/secret" >/dev/null
done
TR=$(pdc --json api-token create --name wallboard --scope read | jq -r .token)
LOG=$TMP/serve.log
"$PROVDESK" --db "$DB" --config "$CONF" serve 2>"$LOG" &
DPID=$!
wait_until "$UI_WAIT" grep -q 'HTTP API on' "$LOG" || exit 1
U="http://127.0.0.1:$(grep -oE '\(port [0-9]+\)' "$LOG" | grep -oE '[0-9]+')"
state() { timeout 5 "$PROVDESK" --db "$DB" --config "$CONF" pbx status "$1" --json 2>/dev/null | jq -r .state; }
for n in Acme Bravo Charlie; do
	eventually "$n's link monitoring" eval '[[ $(state '"$n"') == monitoring ]]'
done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DPID/status"; }
rss0=$(rss)

curl -s -N --max-time 120 -H "Authorization: Bearer $TR" "$U/v1/events" >"$TMP/ev" &
EV=$!
pd_on_exit "kill $EV 2>/dev/null"
eventually "an event stream open" test -s "$TMP/ev"

# the load: 1,000 connections at once (each request a new connection; a
# request without a token, answered 401 before the database)
ab -q -c 1000 -n 40000 -s 30 -r "$U/v1/customers" >"$TMP/ab.out" 2>&1 &
AB=$!
pd_on_exit "kill $AB 2>/dev/null"
# while it runs: the attached clients' answers, the events, the RSS
peak=$rss0 slow=0 asked=0 bad=0 conns=0
ev0=$(grep -c '^data: ' "$TMP/ev")
t0=$SECONDS
while kill -0 "$AB" 2>/dev/null && ((SECONDS - t0 < 50)); do
	s=$SECONDS
	st=$(state Acme)
	asked=$((asked + 1))
	[[ $st == monitoring ]] || bad=$((bad + 1))
	((SECONDS - s <= 5)) || slow=$((slow + 1))
	r=$(rss)
	((r > peak)) && peak=$r
	c=$(ss -Htn state established "( sport = :${U##*:} )" | wc -l)
	((c > conns)) && conns=$c
	sleep 0.5
done
wait "$AB"
abrc=$?
ev1=$(grep -c '^data: ' "$TMP/ev")
echo "# ab: $(grep -E '^(Complete|Failed) requests|^Requests per second' "$TMP/ab.out" | tr -s ' ' | paste -sd ';')"
echo "# most connections seen at once: $conns; daemon RSS ${rss0} kB before, ${peak} kB at most"
echo "# pbx status asked $asked times during the load: $slow slower than 5 s, $bad not monitoring; events: $((ev1 - ev0))"
eq "ab ran to the end" "$abrc" 0
check "… every request answered" grep -qE '^Failed requests: +0$' "$TMP/ab.out"
check "… hundreds of connections at once (${conns})" test "$conns" -ge 500
check "pbx status asked during the load" test "$asked" -ge 3
eq "… answered within 5 s each time" "$slow" 0
eq "… the link monitoring each time" "$bad" 0
check "the links kept publishing (events during the load)" test "$ev1" -gt "$ev0"
if instrumented "$PROVDESK"; then # ASan's shadow and quarantine are not the daemon's
	ok "the daemon's RSS (not measured under a sanitizer or valgrind: ${rss0} → ${peak} kB)"
else
	check "the daemon's RSS stayed bounded (${rss0} → ${peak} kB, under +150 MB)" \
		test "$peak" -lt $((rss0 + 150000))
fi
for n in Acme Bravo Charlie; do
	check "$n's link monitoring after the load" eval '[[ $(state '"$n"') == monitoring ]]'
done
eq "the API answers after the load" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TR" "$U/v1/customers")" 200
kill -TERM "$DPID"
wait "$DPID"
eq "the daemon stops cleanly" "$?" 0
finish
