#!/usr/bin/env bash
# The API against hostile or careless clients and configurations: the rate
# limit per token (429 + Retry-After), slow headers (slowloris) closed after
# the time limit while others are served, 1,000 concurrent connections (ab),
# HTTPS with a certificate, plain HTTP refused off loopback, the [api] keys
# and the api-token command's bad inputs.
source "$(dirname "$0")/lib.sh"
CONF=$TMP/provdesk.conf

# ---- api-token bad inputs ----
run() { "$PROVDESK" --db "$DB" "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; }
run api-token create --scope read
eq "api-token create without --name: 64" "$RC" 64
run api-token create --name x --scope admin
eq "unknown scope: 64" "$RC" 64
run api-token create --name "a b" --scope read
eq "a name with a space: 65" "$RC" 65
check "the message names the field" grep -q "name" "$TMP/err"
run api-token create --name crm --scope read
eq "create" "$RC" 0
check "the secret is printed once" grep -qE '^pdk_[0-9a-f]{64}$' "$TMP/out"
run api-token create --name crm --scope read
eq "a live name twice: 65" "$RC" 65
run --json api-token list
check "list shows no secret or hash" bash -c "! grep -qE 'pdk_|hash' '$TMP/out' && grep -q '\"scope\": \"read\"' '$TMP/out'"
run api-token revoke nobody
eq "revoke an unknown token: 66" "$RC" 66
run api-token revoke crm
eq "revoke" "$RC" 0
eq "revocation is audited" "$(q "select count(*) from audit where object = 'api_token'")" 2

# ---- [api] keys ----
printf '[api]\nlisten = nonsense\n' >"$CONF"
"$PROVDESK" --db "$DB" --config "$CONF" customer list >/dev/null 2>"$TMP/err"
eq "[api] listen without a port: 78" "$?" 78
check "naming api.listen" grep -q "api.listen" "$TMP/err"
printf '[api]\nlisten = 127.0.0.1:8443\ncert = c.pem\nkey = k.pem\nallow_plain = maybe\n' >"$CONF"
"$PROVDESK" --db "$DB" --config "$CONF" customer list >/dev/null 2>"$TMP/err"
eq "[api] allow_plain not yes/no: 78" "$?" 78
printf '[api]\nlisten = 127.0.0.1:8443\nallow_plain = yes\n' >"$CONF"
"$PROVDESK" --db "$DB" --config "$CONF" customer list >/dev/null 2>&1
eq "a good [api] section" "$?" 0

# ---- the plain-HTTP rule and bad addresses ----
"$API_SERVE" --db "$DB" --listen 0.0.0.0:0 --allow-plain >/dev/null 2>"$TMP/err"
eq "plain HTTP off loopback is refused: 78" "$?" 78
check "naming api.allow_plain" grep -q "api.allow_plain" "$TMP/err"
"$API_SERVE" --db "$DB" --listen 127.0.0.1:0 >/dev/null 2>"$TMP/err"
eq "no certificate and no allow_plain: 78" "$?" 78
check "naming api.cert" grep -q "api.cert" "$TMP/err"
"$API_SERVE" --db "$DB" --listen 'localhost:80' --allow-plain >/dev/null 2>"$TMP/err"
eq "a host name, not an address: 78" "$?" 78
# libmicrohttpd is opened on first use: a broken one on the library path
# leaves the other commands working, and the server says which library failed
mkdir -p "$TMP/badlib"
: >"$TMP/badlib/libmicrohttpd.so.12"
printf '[api]\nlisten = 127.0.0.1:0\nallow_plain = yes\n' >"$CONF"
LD_LIBRARY_PATH="$TMP/badlib" "$PROVDESK" --db "$DB" --config "$CONF" customer list >/dev/null 2>&1
eq "a broken libmicrohttpd: customer list still works" "$?" 0
LD_LIBRARY_PATH="$TMP/badlib" "$API_SERVE" --db "$DB" --listen 127.0.0.1:0 --allow-plain >/dev/null 2>"$TMP/err"
eq "a broken libmicrohttpd: the server is unavailable, 69" "$?" 69
check "naming the library" grep -q "libmicrohttpd.so.12 could not be loaded" "$TMP/err"

# ---- rate limit ----
TOK=$(token erp read)
A=(-H "Authorization: Bearer $TOK")
serve U --allow-plain --rate 60 --burst 3 || exit 1
for i in 1 2 3; do call GET /v1/customers "${A[@]}"; done
expect "within the burst" 200
call GET /v1/customers "${A[@]}"
expect "past it: 429" 429 .error.code rate_limited
check "Retry-After given" test "$(hdr Retry-After)" -ge 1
TOK2=$(token crm2 read)
call GET /v1/customers -H "Authorization: Bearer $TOK2"
expect "another token has its own budget" 200

# ---- slow headers ----
serve U --allow-plain --timeout 2 --rate 600000 --burst 100000 || exit 1
port=${U##*:}
slow=()
for i in $(seq 20); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET /v1/customers HTTP/1.1\r\nHost: x\r\nX-Slow: ' >&"$fd"
	slow+=("$fd")
done
call GET /v1/customers "${A[@]}"
expect "served beside 20 slowloris connections" 200
check "a slow connection is closed after the time limit" timeout $((15 * ${PD_TEST_SLOW:-1})) cat <&"${slow[0]}"
for fd in "${slow[@]}"; do exec {fd}>&-; done

# ---- 1,000 concurrent connections ----
if instrumented "$API_SERVE"; then
	echo "ok - 1,000 connections: skipped under ASan/valgrind # SKIP"
else
	ulimit -n 4096 2>/dev/null
	ab -q -r -s 60 -n 3000 -c 1000 "${A[@]}" "$U/v1/customers?limit=5" >"$TMP/ab" 2>&1
	check "ab: 3,000 requests, 1,000 at a time, all complete" grep -qE '^Complete requests: +3000' "$TMP/ab"
	check "ab: every answer a 200" bash -c "! grep -q 'Non-2xx' '$TMP/ab'"
fi
call GET /v1/customers "${A[@]}"
expect "still serving after the load" 200

# ---- HTTPS ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
chmod 600 "$TMP/key.pem"
serve UT --cert "$TMP/cert.pem" --key "$TMP/key.pem" || exit 1
U=${UT/http:/https:}
call GET /v1/customers "${A[@]}" --cacert "$TMP/cert.pem"
expect "HTTPS with the configured certificate" 200
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$UT/v1/customers" "${A[@]}")
check "plain HTTP to the HTTPS port gets no answer" test "$st" != 200

# ---- certificate reload on SIGHUP ----
cp "$TMP/cert.pem" "$TMP/old.pem"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key2.pem" -out "$TMP/cert2.pem" -days 2 \
	-subj /CN=renewed -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
chmod 600 "$TMP/key2.pem"
https_ok() { curl -s -o /dev/null --max-time 10 --cacert "$1" "$U/v1/customers" "${A[@]}"; }
printf 'not a certificate\n' >"$TMP/cert.pem"
kill -HUP "$SERVE_PID"
eventually "a bad certificate file is refused on SIGHUP" grep -q "api.cert" "$SERVE_ERR"
check "and the old certificate keeps serving" https_ok "$TMP/old.pem"
cp "$TMP/cert2.pem" "$TMP/cert.pem"
cp "$TMP/key2.pem" "$TMP/key.pem"
kill -HUP "$SERVE_PID"
eventually "SIGHUP: the renewed certificate is served" https_ok "$TMP/cert2.pem"
check "the old one no longer" bash -c "! curl -s -o /dev/null --max-time 10 --cacert '$TMP/old.pem' '$U/v1/customers'"
stop_servers
finish
