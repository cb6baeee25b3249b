#!/usr/bin/env bash
# Issue 11, "the command line keeps its contract" (docs/provdesk.1): --json errors
# wherever --json is, customers found by reference, every command in --help,
# ISO 8601 times, the internal-system warning.
source "$(dirname "$0")/lib.sh"
DOCS="$(dirname "$0")/../../docs"

# jerr NAME RC CODE [FIELD]: exit code RC, stderr is one JSON error document
# with that code (and field), and stdout carries the same document.
jerr() {
	local name=$1 rc=$2 code=$3 field=${4-}
	if [[ $RC != "$rc" ]]; then
		not_ok "$name" "exit code $RC, expected $rc"
		return
	fi
	local got
	got=$(printf '%s' "$ERR" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
e = d["error"]
assert set(e) >= {"code", "field", "message"}, e
print(e["code"], e["field"] or "")
' 2>&1)
	if [[ $got != "$code ${field}" && $got != "$code $field" ]]; then
		not_ok "$name" "stderr JSON: $got, expected $code $field"
		return
	fi
	if ! printf '%s' "$OUT" | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)["error"]["code"]' 2>/dev/null; then
		not_ok "$name" "stdout is not the JSON error"
		return
	fi
	ok "$name"
}

# ---- --json anywhere: every failure is a JSON error on stderr ----
run --bogus customer list --json
jerr "unknown global option before --json" 64 usage
run --db
jerr_plain_rc=$RC
[[ $jerr_plain_rc == 64 && $ERR != *'"error"'* ]] && ok "without --json the error stays text" || not_ok "without --json the error stays text" "$ERR"
run_raw --db "$DB" --config "$CONF" --json --db
jerr "missing global option value" 64 usage
run customer --json
jerr "group without a sub-command" 64 usage
run customer frobnicate --json
jerr "unknown sub-command" 64 usage
run customer show --bogus --json
jerr "unknown option before --json" 64 usage
run customer show --json
jerr "missing argument" 64 usage
run customer show a b --json
jerr "extra argument" 64 usage
run customer create --name X --json
jerr "missing required option" 64 usage product_type
run customer create --name X --password=p --json
jerr "secret on the command line" 64 usage secret
run --json frobnicate
jerr "unknown command" 64 usage
run --json --noc customer list
jerr "--noc with a command" 64 usage
run --json
jerr "--json without a command (not the console)" 64 usage
run customer show Nobody --json
jerr "not found" 66 notfound customer
PROVDESK_TODAY=2026-13-01 run customer list --json
jerr "bad PROVDESK_TODAY" 78 config PROVDESK_TODAY
printf '[ui]\ntheme = \n[nosuch]\nx = 1\n' >"$TMP/bad.conf"
run_raw --db "$DB" --config "$TMP/bad.conf" customer list --json
jerr "bad configuration" 78 config ui.theme
run customer list --sort nope --json
jerr "bad option value" 64 usage sort
run customer show -- --json
expect "--json after -- is an argument" 66 "" "--json"

# ---- --help lists every command of the dispatcher ----
run --help
expect "--help" 0 "outbox list|retry|cancel|send"
help_out=$OUT
# the man page's command lines without font changes and with plain dashes
sed 's/\\f[BIRP]//g; s/\\-/-/g' "$DOCS/provdesk.1" >"$TMP/man.txt"
# every "group sub|sub" line of the help runs as a command with --help
while read -r cmd subs _; do
	[[ $cmd == help ]] && continue
	if [[ $subs == *"|"* || $subs =~ ^[a-z]+$ && $cmd != catalogue && $cmd != audit && $cmd != import && $cmd != lab-pbx ]]; then
		IFS='|' read -r -a list <<<"$subs"
		for s in "${list[@]}"; do
			run "$cmd" "$s" --help
			if [[ $RC == 0 && -n $OUT ]]; then ok "help: $cmd $s"; else not_ok "help: $cmd $s" "no help"; fi
			grep -E "^\.B $cmd " "$TMP/man.txt" | grep -qw -- "$s" &&
				ok "man page: $cmd $s" || not_ok "man page: $cmd $s" "missing in docs/provdesk.1"
			grep -E "^provdesk $cmd " "$DOCS/user-guide.md" | grep -qw -- "$s" &&
				ok "user guide: $cmd $s" || not_ok "user guide: $cmd $s" "missing in docs/user-guide.md"
		done
	else
		run "$cmd" --help
		if [[ $RC == 0 && -n $OUT ]]; then ok "help: $cmd"; else not_ok "help: $cmd" "no help"; fi
		grep -qE "^\.B $cmd( |$)" "$TMP/man.txt" && ok "man page: $cmd" || not_ok "man page: $cmd" "missing in docs/provdesk.1"
		grep -qE "^provdesk $cmd( |$)" "$DOCS/user-guide.md" && ok "user guide: $cmd" || not_ok "user guide: $cmd" "missing in docs/user-guide.md"
	fi
done < <(printf '%s\n' "$help_out" | sed -n '/^Without a command/,/^$/p' | grep '^  [a-z]')
run help outbox send
expect "help outbox send" 0 "outbox send"

# ---- timestamps in --json are ISO 8601 UTC ----
# jiso NAME: every "at"/"*_at" key of the JSON in $OUT is null or
# YYYY-MM-DDTHH:MM:SSZ, and there is at least one.
jiso() {
	local got
	got=$(printf '%s' "$OUT" | /usr/bin/python3 -c '
import json, re, sys
n = 0
bad = []
def walk(v):
    global n
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "at" or k.endswith("_at"):
                n += 1
                if x is not None and not (isinstance(x, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", x)):
                    bad.append("%s=%r" % (k, x))
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(json.load(sys.stdin))
print("none" if n == 0 else ("ok" if not bad else " ".join(bad)))
' 2>&1)
	if [[ $got == ok ]]; then ok "$1"; else not_ok "$1" "timestamps: $got"; fi
}
run customer create --name "Horloge SA" --product-type analytics-pro --country FR \
	--reference R-1234 --admin-name "Ana" --admin-email ana@horloge.example --json
expect "create for the timestamps" 0
jiso "customer create --json times"
# the test clock starts at noon and runs (slowly under valgrind): the minute
jeq "created_at on the test clock's day, in UTC" 'd["created_at"][:14] + d["created_at"][-1]' "2026-11-10T12:Z"
jeq "updated_at is ISO, not epoch" 'd["updated_at"][:14] + d["updated_at"][-1]' "2026-11-10T12:Z"
run customer list --json
jiso "customer list --json times"
run audit --json
jiso "audit --json times"
run outbox list --json
jiso "outbox list --json times"
export PD_TEST_SECRET=s3cret
run pbx add "Horloge SA" --platform asterisk-ami --host 127.0.0.1 --port 5038 \
	--username u --secret-env PD_TEST_SECRET --disabled
expect "pbx add for the status" 0
# the monitor's row, as a console's monitor would have written it
/usr/bin/python3 - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cid = db.execute("SELECT id FROM customers WHERE name = 'Horloge SA'").fetchone()[0]
db.execute("INSERT OR REPLACE INTO pbx_status(customer_id, state, updated_at) VALUES (?, 'up', 1794312000)", (cid,))
db.commit()
PY
run pbx status "Horloge SA" --json
expect "pbx status --json" 0
jiso "pbx status --json times"
jeq "pbx status updated_at" 'd["updated_at"]' "2026-11-10T12:00:00Z"

# pbx test --json: the steps on stdout, the failure as JSON on stderr
run pbx update "Horloge SA" --port 1
expect "pbx on a closed port" 0
run pbx test "Horloge SA" --json
if [[ $RC != 0 ]]; then
	jout=$OUT
	OUT=$ERR
	jeq "pbx test --json: stderr is the JSON error" 'd["error"]["field"]' pbx
	OUT=$jout
	jeq "pbx test --json: stdout has the steps" 'd["ok"]' false
else
	not_ok "pbx test on a closed port fails" "exit 0"
fi

# ---- a reference (and a tenant id) wherever a customer is named ----
run customer create --name "Aaa R-1234 Holding" --product-type analytics-pro --country FR \
	--reference R-12345 --admin-name "Bo" --admin-email bo@aaa.example
expect "a customer whose name contains the reference" 0
run customer show R-1234 --json
expect "customer show REFERENCE" 0
jeq "show by reference finds the customer" 'd["name"]' "Horloge SA"
TENANT=$(jv 'd["tenant_id"]')
run customer show r-1234 --json
jeq "reference in another case" 'd["name"]' "Horloge SA"
run customer show "$TENANT" --json
jeq "customer show TENANT_ID" 'd["name"]' "Horloge SA"
run customer update R-1234 --notes "found by reference" --json
jeq "customer update REFERENCE" 'd["notes"]' "found by reference"
run user add R-1234 --name "Cy" --email cy@horloge.example
expect "user add REFERENCE" 0
run user list R-1234 --json
jeq "user list REFERENCE" 'len(d)' 2
run role assign R-1234 cy@horloge.example agent
expect "role assign REFERENCE" 0
run user list "$TENANT" --json
jeq "user list TENANT_ID" '[u["role"] for u in d if u["email"] == "cy@horloge.example"]' '["agent"]'
run pbx show R-1234 --json
expect "pbx show REFERENCE" 0 '"host"'
run pbx status R-1234 --json
expect "pbx status REFERENCE" 0
run pbx disable "$TENANT"
expect "pbx disable TENANT_ID" 0
run audit R-1234 --json
jeq "audit REFERENCE" 'len(d) > 0' true
run outbox list R-1234 --json
jeq "outbox list REFERENCE" 'len(d)' 2
run customer trial extend R-1234 --days 5
expect "customer trial REFERENCE (found: it has no trial)" 65 "" 'customer "Horloge SA" has no trial'
run customer delete R-1234 --confirm "Horloge SA"
expect "customer delete REFERENCE" 0
run customer restore R-1234 --json
jeq "customer restore REFERENCE (a deleted customer)" '[d["name"], d["status"]]' '["Horloge SA", "active"]'
run customer show R-9999
expect "unknown reference" 66 "" "no customer with tenant id, name or reference 'R-9999'"
run customer create --name "Twin" --product-type analytics-pro --country FR \
	--reference R-1234 --admin-name "Tw" --admin-email tw@twin.example
run customer show R-1234
expect "a reference two customers share is refused" 64 "" "several customers"
run customer update Twin --reference R-7777
expect "twin gets its own reference" 0
# ---- the exact reference sorts first in the filter ----
run customer list --filter R-1234 --json
jeq "filter: the exact reference first" '[c["name"] for c in d]' '["Horloge SA", "Aaa R-1234 Holding"]'
run customer list --filter r-1234 --sort name --desc --json
jeq "filter: first whatever the sort" 'd[0]["name"]' "Horloge SA"
run customer list --filter R-1234
expect "filter table" 0
check "table: the exact reference on the first row" bash -c "sed -n 2p '$TMP/out' | grep -q 'Horloge SA'"

# ---- marking a customer internal warns: not billed, how many are left ----
printf '[customers]\ninternal_systems_limit = 2\n' >"$TMP/int.conf"
pdi() { run_raw --db "$DB" --config "$TMP/int.conf" "$@"; }
pdi customer create --name "Labo Interne" --product-type analytics-pro --country FR \
	--internal --admin-name "Li" --admin-email li@labo.example
expect "create --internal warns on stderr" 0 "Created customer Labo Interne" \
	'warning: "Labo Interne" is an internal system: for the reseller'"'"'s internal use only, it will not be billed. 1 of 2 internal systems left'
check "create --internal: stdout has no warning" bash -c "! grep -q warning '$TMP/out'"
pdi customer create --name "Externe" --product-type analytics-pro --country FR \
	--admin-name "Ex" --admin-email ex@externe.example --json
jeq "no warning for a customer not internal" 'd["warnings"]' '[]'
check "nothing on stderr for a customer not internal" test -z "$ERR"
pdi customer update Externe --internal --json
expect "update --internal --json" 0
jeq "update --internal: warnings in the JSON" 'len(d["warnings"])' 1
jeq "update --internal: the warning says none left" '"0 of 2 internal systems left" in d["warnings"][0] and "will not be billed" in d["warnings"][0]' true
check "update --internal --json: stderr stays empty" test -z "$ERR"
pdi customer update Externe --internal --notes "again"
check "no warning when it already was internal" bash -c "! grep -q warning '$TMP/err'"
pdi customer update Externe --no-internal
check "no warning when the flag is cleared" bash -c "! grep -q warning '$TMP/err'"

# ---- provdesk.conf: a theme that does not exist, bad [smtp] values ----
conf_refused() { # NAME CONTENT WORDS
	printf '%b' "$2" >"$TMP/c.conf"
	run_raw --db "$DB" --config "$TMP/c.conf" customer list
	expect "$1" 78 "" "$3"
}
conf_refused "unknown theme refused at start" '[ui]\ntheme = neon\n' "c.conf:2: ui.theme: no theme 'neon'"
conf_refused "smtp url not smtp(s)" '[smtp]\nurl = http://mail.example\n' "c.conf:2: smtp.url"
conf_refused "smtp bad port" '[smtp]\n\nurl = smtp://mail.example:70000\n' "c.conf:3: smtp.url: bad port"
conf_refused "smtp bad TLS mode" '[smtp]\nstarttls = sometimes\n' "c.conf:2: smtp.starttls"
printf 'pw\n' >"$TMP/smtp.pw"
chmod 0644 "$TMP/smtp.pw"
conf_refused "password file readable by others" "[smtp]\\npassword_file = $TMP/smtp.pw\\n" "mode 0644, must not be readable by others"
chmod 0600 "$TMP/smtp.pw"
printf '[smtp]\npassword_file = %s\n[ui]\ntheme = noc-dark\n' "$TMP/smtp.pw" >"$TMP/c.conf"
run_raw --db "$DB" --config "$TMP/c.conf" customer list --json
expect "a 0600 password file and a shipped theme are fine" 0

# ---- import: every error of every row, row by row, by default ----
H='name,product_type,country,reference,notes,time_zone,trial_days,internal,admin_name,admin_email,admin_extension'
{
	echo "$H"
	echo ',analytics-pro,Atlantis,,,,,,A,not-an-email,12ab'             # line 2
	echo 'Fine Import,analytics-pro,FR,,,,,,F,fine@import.example,'      # line 3
	echo 'Multi,platinum,FR,,,Mars/Base,x,maybe,M,m@multi.example,'     # line 4
	echo 'Long Trial,analytics-pro,FR,,,,400,,,bad@,'                   # line 5
} >"$TMP/multi.csv"
run import "$TMP/multi.csv"
expect "rows with several errors refused" 65 "" "nothing imported"
for want in "line 2: name:" "line 2: country:" "line 2: admin_email:" "line 2: admin_extension:" \
	"line 4: product_type:" "line 4: time_zone:" "line 4: trial_days:" "line 4: internal:" \
	"line 5: trial_days:" "line 5: admin_name:" "line 5: admin_email:"; do
	check "import reports '$want'" grep -q "$want" "$TMP/err"
done
check "import: the good row has no error" bash -c "! grep -q 'line 3:' '$TMP/err'"
check "import: errors in line order" bash -c "grep -o 'line [0-9]*' '$TMP/err' | sort -s -k2n -c"
run import "$TMP/multi.csv" --json
expect "import --json with several errors" 65
jeq "json: every error of line 2" '[x["field"] for x in d["results"][0]["errors"]]' '["name", "country", "admin_email", "admin_extension"]'
jeq "json: every error of line 4" 'sorted(x["field"] for x in d["results"][2]["errors"])' '["internal", "product_type", "time_zone", "trial_days"]'
jeq "json: first error kept as field/message" 'd["results"][0]["field"]' name
run import "$TMP/multi.csv" --json
jerr_out=$OUT
OUT=$ERR
jeq "import --json: the error on stderr is JSON" 'd["error"]["code"]' invalid
jeq "import --json: the error names the first line" 'd["error"]["line"]' 2
OUT=$jerr_out
run import "$TMP/multi.csv" --verbose
expect "--verbose still accepted" 65 "" "line 4: internal:"

finish
