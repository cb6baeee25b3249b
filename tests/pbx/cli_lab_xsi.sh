#!/usr/bin/env bash
# `provdesk lab-pbx --platform broadworks` (and broadworks-xsi) through the
# real binary over real TCP: it starts, says where it listens (text and
# --json), answers an Xsi-Actions directory page with the --secret-file's
# password (401 with another, and without any), serves HTTPS with
# --tls-cert/--tls-key, accepts its own fault names and refuses bad options
# with the usage exit code; the password never appears in any output.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "${1:-}" pd-cli-lab-xsi
ko() { not_ok "$1"; }

SECRET='Xsp-Lab-S3cret!'
printf '%s\n' "$SECRET" >"$TMP/secret"
# start_lab OUTFILE ARGS...: the lab in the background; waits for its first line
start_lab() {
	local out=$1
	shift
	lab_start "$out" --listen 127.0.0.1:0 --secret-file "$TMP/secret" --users 5 --sites 2 \
		--call-rate 0 "$@"
}
# get URL PASSWORD [CAFILE]: prints "STATUS" then the body into $TMP/out
get() {
	/usr/bin/python3 - "$1" "$2" "${3:-}" >"$TMP/out" 2>&1 <<'PY'
import base64, ssl, sys, urllib.request, urllib.error
url, pw, ca = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url)
if pw:
    req.add_header("Authorization", "Basic " + base64.b64encode(("admin:" + pw).encode()).decode())
ctx = ssl.create_default_context(cafile=ca) if ca else None
try:
    r = urllib.request.urlopen(req, timeout=10, context=ctx)
    print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
PY
}
DIR=/com.broadsoft.xsi-actions/v2.0/enterprise/lab-ent/directories/Enterprise

start_lab "$TMP/lab.txt" --platform broadworks
cp "$TMP/lab.txt" "$TMP/out"
has "text line names BroadWorks" "BroadWorks Xsi over HTTP"
has "text line names the enterprise" "enterprise lab-ent"
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$TMP/lab.txt")
[[ $PORT =~ ^[0-9]+$ ]] && ok "lab started on port $PORT" || ko "lab-pbx --platform broadworks did not start"
get "http://127.0.0.1:$PORT$DIR?start=1&results=500" "$SECRET"
[[ $(head -1 "$TMP/out") == 200 ]] && ok "directory answered 200" || ko "directory: $(head -1 "$TMP/out")"
has "directory total: 5 users and 2 call centers" "<totalAvailableRecords>7</totalAvailableRecords>"
has "a user with an accent-free id and a group" "<userId>1002@lab.example</userId>"
has "call center listed" "<userId>support@lab.example</userId>"
get "http://127.0.0.1:$PORT$DIR" "wrong-password"
[[ $(head -1 "$TMP/out") == 401 ]] && ok "wrong password: 401" || ko "wrong password: $(head -1 "$TMP/out")"
has "401 body is an ErrorInfo" "<ErrorInfo"
get "http://127.0.0.1:$PORT$DIR" ""
[[ $(head -1 "$TMP/out") == 401 ]] && ok "no password: 401" || ko "no password: $(head -1 "$TMP/out")"
get "http://127.0.0.1:$PORT/com.broadsoft.xsi-actions/v2.0/group/group-2/directories/Group?enterpriseId=lab-ent" "$SECRET"
has "group page" "<totalAvailableRecords>3</totalAvailableRecords>"
stop_lab
cp "$TMP/lab.txt" "$TMP/out"
has "lab says it stopped" "lab PBX stopped"

start_lab "$TMP/lab.json" --platform broadworks-xsi --json --faults heartbeat-404,channel-end,sub-end,garbage --ack-timeout 5
cp "$TMP/lab.json" "$TMP/out"
for _ in $(seq 100); do grep -q '}' "$TMP/lab.json" && break; sleep 0.05; done
cp "$TMP/lab.json" "$TMP/out"
has "json platform" '"platform": "broadworks-xsi"'
has "json enterprise" '"enterprise_id": "lab-ent"'
stop_lab

# HTTPS with a self-signed certificate
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=provdesk-lab -addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/lab.key" \
	-out "$TMP/lab.pem" 2>"$TMP/openssl.err"; then
	start_lab "$TMP/lab.txt" --platform broadworks --tls-cert "$TMP/lab.pem" --tls-key "$TMP/lab.key"
	cp "$TMP/lab.txt" "$TMP/out"
	has "text line says HTTPS" "over HTTPS"
	PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$TMP/lab.txt")
	get "https://127.0.0.1:$PORT$DIR" "$SECRET" "$TMP/lab.pem"
	[[ $(head -1 "$TMP/out") == 200 ]] && ok "HTTPS directory answered 200" || ko "HTTPS: $(head -1 "$TMP/out")"
	stop_lab
else
	ko "openssl req failed"
fi

# --self-signed DIR: the lab makes its certificate, a client trusting DIR/lab.pem verifies it
start_lab "$TMP/lab.txt" --platform broadworks --self-signed "$TMP/certs"
cp "$TMP/lab.txt" "$TMP/out"
has "self-signed: HTTPS" "over HTTPS"
has "self-signed: the certificate's path" "$TMP/certs/lab.pem"
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$TMP/lab.txt")
get "https://127.0.0.1:$PORT$DIR" "$SECRET" "$TMP/certs/lab.pem"
[[ $(head -1 "$TMP/out") == 200 ]] && ok "self-signed certificate verified" || ko "self-signed: $(head -1 "$TMP/out")"
[[ $(stat -c %a "$TMP/certs/lab.key") == 600 ]] && ok "the key is 0600" || ko "key mode $(stat -c %a "$TMP/certs/lab.key")"
stop_lab
"$PROG" lab-pbx --platform broadworks --self-signed "$TMP/certs" --tls-cert "$TMP/certs/lab.pem" >"$TMP/out" 2>&1
[[ $? == 64 ]] && ok "--self-signed with --tls-cert: usage" || ko "--self-signed with --tls-cert accepted"
"$PROG" lab-pbx --platform broadworks --listen 127.0.0.1:0 --self-signed /proc/nope/certs >"$TMP/out" 2>&1
[[ $? == 73 ]] && ok "--self-signed in an impossible place: cannot create" || ko "--self-signed /proc/nope: $?"

# a group administrator: 403 on the enterprise directory
start_lab "$TMP/lab.txt" --platform broadworks --group-admin group-2
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$TMP/lab.txt")
get "http://127.0.0.1:$PORT$DIR" "$SECRET"
[[ $(head -1 "$TMP/out") == 403 ]] && ok "group admin: enterprise directory 403" || ko "group admin: $(head -1 "$TMP/out")"
stop_lab
"$PROG" lab-pbx --platform broadworks --group-admin group-3 --listen 127.0.0.1:0 >"$TMP/out" 2>&1
[[ $? == 64 ]] && ok "--group-admin of a group the lab lacks: usage" || ko "--group-admin group-3 accepted"
"$PROG" lab-pbx --group-admin group-1 >"$TMP/out" 2>&1
[[ $? == 64 ]] && ok "--group-admin on Asterisk: usage" || ko "--group-admin accepted on Asterisk"

# --grant-expires: a subscription asking an hour is granted 2 s
start_lab "$TMP/lab.txt" --platform broadworks --grant-expires 2
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$TMP/lab.txt")
/usr/bin/python3 - "http://127.0.0.1:$PORT/com.broadsoft.xsi-events/v2.0/enterprise/lab-ent" \
	"$SECRET" >"$TMP/out" 2>&1 <<'PY'
import base64, sys, urllib.request, urllib.error
body = (b'<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Advanced Call</event>'
        b'<expires>3600</expires><channelSetId>cli-set</channelSetId>'
        b'<applicationId>provdesk</applicationId></Subscription>')
req = urllib.request.Request(sys.argv[1], data=body, method="POST")
req.add_header("Authorization", "Basic " + base64.b64encode(("admin:" + sys.argv[2]).encode()).decode())
req.add_header("Content-Type", "application/xml; charset=UTF-8")
try:
    r = urllib.request.urlopen(req, timeout=10)
    print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
PY
[[ $(head -1 "$TMP/out") == 200 ]] && ok "--grant-expires: subscription answered 200" || ko "--grant-expires subscription: $(head -1 "$TMP/out")"
has "--grant-expires 2: 2 s granted for the hour asked" "<expires>2</expires>"
stop_lab
for bad in 0 x 86401; do
	"$PROG" lab-pbx --platform broadworks --grant-expires "$bad" >"$TMP/out" 2>&1
	[[ $? == 64 ]] && ok "bad --grant-expires $bad: usage" || ko "--grant-expires $bad accepted"
done
"$PROG" lab-pbx --grant-expires 5 >"$TMP/out" 2>&1
[[ $? == 64 ]] && ok "--grant-expires on Asterisk: usage" || ko "--grant-expires accepted on Asterisk"

# bad options
"$PROG" lab-pbx --platform broadworks --faults nope >"$TMP/out" 2>&1
[[ $? == 64 ]] && ok "unknown fault: usage" || ko "unknown fault not refused"
has "fault list names the Xsi faults" "heartbeat-404"
"$PROG" lab-pbx --platform broadworks --legacy-sip --listen 127.0.0.1:0 >"$TMP/out" 2>&1
[[ $? == 64 ]] && ok "--legacy-sip refused on BroadWorks" || ko "--legacy-sip accepted on BroadWorks"
"$PROG" lab-pbx --platform broadworks --ack-timeout x >"$TMP/out" 2>&1
[[ $? == 64 ]] && ok "bad --ack-timeout: usage" || ko "bad --ack-timeout accepted"
"$PROG" lab-pbx --platform cisco >"$TMP/out" 2>&1
[[ $? == 64 ]] && ok "unknown platform: usage" || ko "unknown platform accepted"
has "platforms listed" "broadworks-xsi (broadworks)"
"$PROG" lab-pbx --help >"$TMP/out" 2>&1
has "help names the platform" "--platform broadworks-xsi"

if grep -rqF -- "$SECRET" "$TMP"/lab.* "$TMP/lab.err" 2>/dev/null; then ko "the secret appears in the lab's output"; else ok "the secret never printed"; fi
finish
