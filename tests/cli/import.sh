#!/usr/bin/env bash
# provdesk import FILE.csv: RFC 4180 parsing, BOM/CRLF, the same rules as
# `customer create`, reports by physical line and field, all-or-nothing.
source "$(dirname "$0")/lib.sh"

count() { pd customer list --all --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
H='name,product_type,country,reference,notes,time_zone,trial_days,internal,admin_name,admin_email,admin_extension'

# ---- a good file: quoting, commas, doubled quotes, newlines inside quotes ----
cat >"$TMP/good.csv" <<EOF
$H
"Dupont, Fils & Cie",analytics-pro,FR,R-1,"Notes with ""quotes"", commas
and a second line",,14,0,Marie Dupont,marie@dupont.example,1001
Müller GmbH,analytics-essentials,Allemagne,R-2,,,,,Hans Müller,hans@mueller.example,
Café Crème,contact-centre,BE,,,Europe/Brussels,,yes,Zoé,zoe@cafe.example,2002
EOF
run import "$TMP/good.csv"
expect "good file imports" 0 "3 rows: 3 created"
run customer show "dupont, fils & cie" --json
jeq "comma inside quotes kept" 'd["name"]' "Dupont, Fils & Cie"
jeq "doubled quotes and newline kept" 'd["notes"]' $'Notes with "quotes", commas\nand a second line'
jeq "trial_days column" 'd["trial"]["days_left"]' 13
jeq "admin extension" 'd["users"][0]["extension"]' 1001
run customer show "Müller GmbH" --json
jeq "country by French name in CSV" 'd["country"]' DE
run customer show "Café Crème" --json
jeq "internal column" 'd["internal_system"]' true
run outbox list --json
jeq "invitations queued for imported admins" 'len(d)' 3

# ---- BOM + CRLF, free column order, optional columns absent ----
printf '\xef\xbb\xbfadmin_email,name,country,product_type,admin_name\r\nbom@one.example,BOM Un,FR,analytics-pro,Un\r\n"bom@two.example","BOM ""Deux""",FR,analytics-pro,"Deux"\r\n' >"$TMP/bom.csv"
run import "$TMP/bom.csv"
expect "BOM and CRLF import" 0 "2 created"
run customer show 'BOM "Deux"' --json
jeq "CRLF not left in the last field" 'd["users"][0]["display_name"]' Deux
jeq "BOM not part of the first column" 'd["users"][0]["email"]' bom@two.example
printf 'name,product_type,country,admin_name,admin_email\nLF Only,analytics-pro,FR,L,l@lf.example' >"$TMP/noeol.csv"
run import "$TMP/noeol.csv"
expect "no newline at end of file" 0 "1 created"
printf 'name,product_type,country,admin_name,admin_email\nStdin Co,analytics-pro,FR,S,s@stdin.example\n' |
	pd import - >"$TMP/out" 2>"$TMP/err"
RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
expect "import from stdin" 0 "1 created"
printf 'name,product_type,country,admin_name,admin_email\nVerbeux,analytics-pro,FR,V,v@verbeux.example\n' >"$TMP/verbose.csv"
run import "$TMP/verbose.csv" --dry-run --verbose
expect "--verbose reports every row" 0 'line 2: would create "Verbeux"'
BEFORE=$(count)

# ---- header problems: nothing imported ----
printf 'name,product_type,country,admin_name,admin_email,colour\nX,analytics-pro,FR,A,a@x.example,red\n' >"$TMP/unknown.csv"
run import "$TMP/unknown.csv"
expect "unknown column named" 65 "" 'unknown column "colour"'
printf 'name,product_type,admin_name,admin_email\nX,analytics-pro,A,a@x.example\n' >"$TMP/missing.csv"
run import "$TMP/missing.csv"
expect "missing required column named" 65 "" 'missing required column "country"'
printf 'name,name,product_type,country,admin_name,admin_email\n' >"$TMP/twice.csv"
run import "$TMP/twice.csv"
expect "column twice" 65 "" "twice"
: >"$TMP/empty.csv"
run import "$TMP/empty.csv"
expect "empty file" 65 "" "header"
run import "$TMP/does-not-exist.csv"
expect "missing file -> 66" 66 "" "does-not-exist.csv"
check "header errors import nothing" test "$(count)" = "$BEFORE"

# ---- malformed rows: every one reported by physical line, nothing imported ----
{
	echo "$H"
	echo 'Good One,analytics-pro,FR,,"multi'                         # line 2
	echo 'line notes",,,,G,g1@good.example,'                         # line 3 (same record)
	echo 'Bad"Quote,analytics-pro,FR,,,,,,B,b@bad.example,'          # line 4: quote in unquoted field
	echo '"Closed"x,analytics-pro,FR,,,,,,B,b2@bad.example,'         # line 5: text after closing quote
	echo 'Too Few,analytics-pro,FR'                                  # line 6: wrong field count
	printf 'Bad \xff UTF8,analytics-pro,FR,,,,,,U,u@bad.example,\n'  # line 7: invalid UTF-8
	echo 'Good Two,analytics-pro,FR,,,,,,G,g2@good.example,'         # line 8
	echo '"Never closed,analytics-pro,FR,,,,,,N,n@bad.example,'      # line 9: unterminated
	echo 'Trailing,analytics-pro,FR,,,,,,T,t@bad.example,'           # line 10 (inside the open quote)
} >"$TMP/malformed.csv"
run import "$TMP/malformed.csv"
expect "malformed file refused" 65 "" "nothing imported"
check "quote in unquoted field: line 4" grep -q "line 4: .*quote in an unquoted field" "$TMP/err"
check "character after closing quote: line 5" grep -q "line 5: .*after a closing quote" "$TMP/err"
check "wrong field count: line 6" grep -q "line 6: .*expected 11 fields" "$TMP/err"
check "invalid UTF-8: line 7" grep -q "line 7: .*invalid UTF-8" "$TMP/err"
check "unterminated quote: line 9" grep -q "line 9: .*unterminated quoted field" "$TMP/err"
check "good rows not reported as errors" bash -c "! grep -qe 'line 2:' -e 'line 8:' '$TMP/err'"
check "malformed file imported nothing" test "$(count)" = "$BEFORE"
run import "$TMP/malformed.csv" --json
expect "malformed report as JSON" 65
jeq "json report lines" '[r["line"] for r in d["results"] if r["action"] == "error"]' '[4, 5, 6, 7, 9]'
jeq "json report not imported" 'd["imported"]' false
jeq "json report good rows" '[r["line"] for r in d["results"] if r["action"] == "create"]' '[2, 8]'

# ---- rule errors: the same rules as customer create ----
cat >"$TMP/rules.csv" <<EOF
$H
Fine Co,analytics-pro,FR,,,,,,F,f@fine.example,
,analytics-pro,FR,,,,,,E,e@empty.example,
Bad Mail,analytics-pro,FR,,,,,,M,not-an-email,
Bad Type,premium,FR,,,,,,T,t@type.example,
Bad Land,analytics-pro,Atlantis,,,,,,L,l@land.example,
FINE CO,analytics-pro,FR,,,,,,F2,f2@fine.example,
Same Mail,analytics-pro,FR,,,,,,S,F@FINE.example,
No Trial,contact-centre-plus,FR,,,,30,,N,n@trial.example,
Bad Days,analytics-pro,FR,,,,soon,,D,d@days.example,
Too Internal,analytics-pro,FR,,,,,1,I,i@int.example,
Bad Zone,analytics-pro,FR,,,Mars/Base,,,Z,z@zone.example,
Bad Bool,analytics-pro,FR,,,,,maybe,B,b@bool.example,
EOF
run import "$TMP/rules.csv"
expect "rule errors refuse the file" 65
check "empty name: line 3" grep -q "line 3: name:" "$TMP/err"
check "invalid email: line 4" grep -q "line 4: admin_email:" "$TMP/err"
check "unknown product type: line 5" grep -q "line 5: product_type:" "$TMP/err"
check "unknown country: line 6" grep -q "line 6: country:" "$TMP/err"
check "duplicate name in the file (case): line 7 cites line 2" grep -q "line 7: name: .*line 2" "$TMP/err"
check "duplicate primary email in the file: line 8 cites line 2" grep -q "line 8: admin_email: .*line 2" "$TMP/err"
check "trial on a forbidding type: line 9" grep -q "line 9: trial" "$TMP/err"
check "bad trial_days: line 10" grep -q "line 10: trial_days:" "$TMP/err"
check "internal beyond the limit (one exists): line 11" grep -q "line 11: internal" "$TMP/err"
check "bad time zone: line 12" grep -q "line 12: time_zone:" "$TMP/err"
check "bad boolean: line 13" grep -q "line 13: internal:" "$TMP/err"
check "rule errors imported nothing" test "$(count)" = "$BEFORE"

# ---- duplicates with the database ----
cat >"$TMP/dup.csv" <<EOF
$H
MÜLLER GMBH,analytics-essentials,DE,R-2-NEW,,,,,Hans,hans2@mueller.example,
New Customer,analytics-pro,FR,,,,,,N,n@new.example,
EOF
run import "$TMP/dup.csv"
expect "existing name fails by default" 65 "" "--on-duplicate"
check "default fail imported nothing" test "$(count)" = "$BEFORE"
run import "$TMP/dup.csv" --dry-run
expect "dry run reports the same errors" 65
run import "$TMP/dup.csv" --on-duplicate skip --dry-run
expect "dry run with skip" 0 "dry run: nothing written"
check "dry run wrote nothing" test "$(count)" = "$BEFORE"
run import "$TMP/dup.csv" --on-duplicate skip
expect "skip duplicates" 0 "1 created, 0 updated, 1 skipped"
check "skip imported the new one" test "$(count)" = "$((BEFORE + 1))"
run customer show "Müller GmbH" --json
jeq "skip left the existing customer alone" 'd["reference"]' R-2
sed -i 's/^New Customer.*$//' "$TMP/dup.csv"
run import "$TMP/dup.csv" --on-duplicate update --json
expect "update duplicates" 0
jeq "update reported" 'd["updated"]' 1
run customer show "Müller GmbH" --json
jeq "update changed the reference" 'd["reference"]' R-2-NEW
jeq "update bumped the version" 'd["version"]' 2
run import "$TMP/dup.csv" --on-duplicate sometimes
expect "bad --on-duplicate -> 64" 64 "" "--on-duplicate"

# A file over [customers] import_max_mb is refused before it is read, from a
# file or a pipe, and nothing is written.
BEFORE=$(count)
printf '[customers]\nimport_max_mb = 1\n' >"$CONF"
{
	echo "name,product_type,country,admin_name,admin_email"
	for i in $(seq 30000); do echo "Big Customer $i,analytics-pro,FR,Admin $i,admin$i@big.example"; done
} >"$TMP/big.csv"
run import "$TMP/big.csv"
expect "a 1.9 MiB file over import_max_mb = 1 -> 65 naming the key" 65 "" "over the 1 MiB an import takes ([customers] import_max_mb)"
pd import - <"$TMP/big.csv" >"$TMP/out" 2>"$TMP/err"
RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect "the same from a pipe -> 65" 65 "" "import_max_mb"
check "nothing imported" test "$(count)" = "$BEFORE"
: >"$CONF"

finish
