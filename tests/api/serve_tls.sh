#!/usr/bin/env bash
# The API inside `provdesk serve` over HTTPS (issue 18): SIGHUP to the daemon
# reloads the certificate and key ([api] cert/key) without a restart (the
# served certificate's fingerprint, read with openssl s_client, changes);
# a certificate that cannot be used keeps the one in force; a misconfigured
# [api] stops the daemon at start with an error naming the key.
source "$(dirname "$0")/lib.sh"
CONF=$TMP/provdesk.conf
pdc() { "$PROVDESK" --db "$DB" --config "$CONF" "$@"; }

# cert NAME: a self-signed certificate for 127.0.0.1 ($TMP/NAME.pem,
# $TMP/NAME.key, mode 600)
cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/$1.key" -out "$TMP/$1.pem" 2>/dev/null
	chmod 600 "$TMP/$1.key"
}
fp_file() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
# served: the fingerprint of the certificate the API serves now
served() {
	openssl s_client -connect "127.0.0.1:$PORT" -servername 127.0.0.1 </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}

cert one
cert two
mkdir "$TMP/tls"
cp "$TMP/one.pem" "$TMP/tls/api.pem"
cp "$TMP/one.key" "$TMP/tls/api.key"
chmod 600 "$TMP/tls/api.key"
printf '[api]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\n' "$TMP/tls/api.pem" "$TMP/tls/api.key" >"$CONF"
pdc customer create --name Acme --product-type contact-centre --country FR \
	--admin-name Admin --admin-email admin@acme.example >/dev/null
TR=$(pdc --json api-token create --name wallboard --scope read | jq -r .token)

LOG=$TMP/serve.log
"$PROVDESK" --db "$DB" --config "$CONF" serve 2>"$LOG" &
DPID=$!
eventually "the daemon serves HTTPS" grep -q 'HTTP API on' "$LOG"
PORT=$(grep -oE '\(port [0-9]+\)' "$LOG" | grep -oE '[0-9]+')
eq "the first certificate is served" "$(served)" "$(fp_file "$TMP/one.pem")"
ST=$(curl -s -o "$TMP/last" -w '%{http_code}' --cacert "$TMP/one.pem" \
	-H "Authorization: Bearer $TR" "https://127.0.0.1:$PORT/v1/customers")
eq "GET /v1/customers over HTTPS" "$ST" 200
eq "plain HTTP on the HTTPS port is not served" \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/v1/openapi.json")" 000

# ---- SIGHUP: the new files are served
cp "$TMP/two.pem" "$TMP/tls/api.pem.new"
cp "$TMP/two.key" "$TMP/tls/api.key.new"
chmod 600 "$TMP/tls/api.key.new"
mv "$TMP/tls/api.pem.new" "$TMP/tls/api.pem"
mv "$TMP/tls/api.key.new" "$TMP/tls/api.key"
eq "… not before the signal" "$(served)" "$(fp_file "$TMP/one.pem")"
kill -HUP "$DPID"
two=$(fp_file "$TMP/two.pem")
eventually "SIGHUP: the new certificate is served" eval '[[ $(served) == "$two" ]]'
ST=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TMP/two.pem" \
	-H "Authorization: Bearer $TR" "https://127.0.0.1:$PORT/v1/customers")
eq "… on the same port, requests answered" "$ST" 200
check "… the daemon still runs" kill -0 "$DPID"

# ---- a certificate that cannot be used keeps the one in force
printf 'not a certificate\n' >"$TMP/tls/api.pem"
kill -HUP "$DPID"
eventually "a broken certificate: the log says it was not reloaded" \
	grep -q 'API certificate not reloaded' "$LOG"
check "… naming the key" grep -q 'api.cert' "$LOG"
eq "… the certificate in force stays" "$(served)" "$two"
kill -TERM "$DPID"
wait "$DPID"
eq "the daemon stops cleanly" "$?" 0
check "… with no sanitizer report" eval '! grep -qE "Sanitizer|runtime error" "$LOG"'

# ---- a misconfigured [api]: the daemon does not start, naming the key
# bad_conf NAME BODY KEY: `serve` with [api] BODY fails (78) naming KEY
bad_conf() {
	printf '[api]\n%b' "$2" >"$TMP/bad.conf"
	timeout 30 "$PROVDESK" --db "$DB" --config "$TMP/bad.conf" serve >/dev/null 2>"$TMP/bad.err"
	local rc=$?
	eq "$1: exit 78" "$rc" 78
	check "… naming $3" grep -q "$3" "$TMP/bad.err"
}
cp "$TMP/one.pem" "$TMP/tls/api.pem"
bad_conf "a certificate without its key" "listen = 127.0.0.1:0\ncert = $TMP/tls/api.pem\n" api.key
bad_conf "a key without its certificate" "listen = 127.0.0.1:0\nkey = $TMP/tls/api.key\n" api.cert
bad_conf "a certificate file that is not there" \
	"listen = 127.0.0.1:0\ncert = $TMP/none.pem\nkey = $TMP/tls/api.key\n" api.cert
bad_conf "no TLS and plain HTTP not allowed" "listen = 127.0.0.1:0\n" api.cert
bad_conf "plain HTTP off loopback" "listen = 0.0.0.0:0\nallow_plain = yes\n" api.allow_plain
bad_conf "a listen that is not ADDR:PORT" "listen = localhost\nallow_plain = yes\n" api.listen
check "no daemon left running" eval '! pdc serve --status >/dev/null 2>&1'
finish
