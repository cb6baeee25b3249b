#!/usr/bin/env bash
# The import stores exactly what it stored before its speed-up (issue 19):
# a varied file (accents, quoting, several scripts, trials, internal systems,
# extensions, countries by name) and then --on-duplicate skip and update are
# imported, and every row the import writes (customers and their search
# text, users, audit, outbox, the billing histories, the trigram index) is
# dumped and compared with tests/fixtures/import/exact-store.txt, made by the
# import as it was before (schema 11). A file with every kind of error is
# reported exactly as tests/fixtures/import/exact-errors.txt says and writes
# nothing. Timestamps are printed as "now" when they are within the test's
# day, tenant ids as T1, T2... in order of appearance, the actor as ME.
# UPDATE_FIXTURES=1 rewrites the fixtures (only when the old behaviour is
# the one wanted).
source "$(dirname "$0")/lib.sh"
FIX=$(cd "$(dirname "$0")/../fixtures/import" && pwd)
H='name,product_type,country,reference,notes,time_zone,trial_days,internal,admin_name,admin_email,admin_extension'
printf '[customers]\ninternal_systems_limit = 2\n' >"$CONF"

# the day's bounds (PROVDESK_TODAY, pinned by lib.sh), in unix seconds
DAY0=$(date -u -d "$PROVDESK_TODAY" +%s)
DAY1=$((DAY0 + 86400))
T() { echo "CASE WHEN $1 BETWEEN $DAY0 AND $DAY1 THEN 'now' ELSE $1 END"; }

# every row the import writes, in a fixed form (explicit columns: a column
# added later by another change does not disturb the comparison)
dump() {
	sqlite3 -batch -header -list "$DB" <<SQL
.print == customers
SELECT id, tenant_id, name, name_key, product_type, reference, country, time_zone, notes,
 trial, trial_start, trial_end, trial_converted, internal_system, disabled, deleted_at,
 $(T created_at) AS created_at, $(T updated_at) AS updated_at, version, search, status_key,
 n_users, pbx_key FROM customers ORDER BY id;
.print == users
SELECT id, customer_id, display_name, email, email_key, extension, role, is_primary, synced,
 endpoint, sub_account, device_state, linked_user_id, version, $(T created_at) AS created_at,
 invite_token_hash, invite_token_expires FROM users ORDER BY id;
.print == audit
SELECT id, $(T at) AS at, actor, client, customer_id, customer_version, object, action, detail
 FROM audit ORDER BY id;
.print == outbox
SELECT id, customer_id, user_id, to_addr, subject, body, state, attempts,
 $(T next_attempt_at) AS next_attempt_at, $(T created_at) AS created_at, sent_at, last_error,
 invited_by FROM outbox ORDER BY id;
.print == customer_history
SELECT id, customer_id, $(T at) AS at, product_type, trial, trial_start, trial_end,
 trial_converted, internal_system, disabled, deleted FROM customer_history ORDER BY id;
.print == licensed_users_history
SELECT id, customer_id, $(T at) AS at, users FROM licensed_users_history ORDER BY id;
.print == trigram index (rows found by their own search text)
SELECT c.id, (SELECT count(*) FROM customers_fts f WHERE f.customers_fts MATCH
 '"' || replace(substr(c.search, 1, 12), '"', '""') || '"' AND f.rowid = c.id)
 FROM customers c ORDER BY c.id;
.print == meta
SELECT key FROM meta WHERE key LIKE 'fts%' ORDER BY key;
SQL
	sqlite3 "$DB" "INSERT INTO customers_fts(customers_fts) VALUES ('integrity-check')" &&
		echo "fts integrity-check ok"
}
# tenant ids as T1, T2… in order of appearance; the user running the test as ME
mask() {
	local me
	me=$(id -un)
	/usr/bin/python3 -c '
import re, sys
me = sys.argv[1]
seen = {}
def tid(m):
    return seen.setdefault(m.group(0), "T%d" % (len(seen) + 1))
for line in sys.stdin:
    line = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", tid, line)
    line = re.sub(r"(^|\|)" + re.escape(me) + r"(\||$)", lambda m: m.group(1) + "ME" + m.group(2), line)
    line = line.replace("by " + me, "by ME")
    if re.match(re.escape(me) + r", (of your|de l.\S+quipe)", line):  # the invitation, English or French
        line = "ME" + line[len(me):]
    sys.stdout.write(line)
' "$me"
}
# compare NAME FIXTURE GOT_FILE
compare() {
	if [[ -n ${UPDATE_FIXTURES:-} ]]; then
		cp "$3" "$FIX/$2"
		ok "$1 (fixture $2 rewritten)"
	elif diff -u "$FIX/$2" "$3" >"$TMP/diff"; then
		ok "$1"
	else
		not_ok "$1" "differs from tests/fixtures/import/$2:
$(head -60 "$TMP/diff")"
	fi
}

# ---- 1. a varied good file ----
{
	echo "$H"
	echo '"Dupont, Fils & Cie",analytics-pro,FR,R-1,"Notes with ""quotes"", commas'
	echo 'and a second line",,14,0,Marie Dupont,marie@dupont.example,1001'
	echo 'Müller GmbH,analytics-essentials,Allemagne,R-2,,,,,Hans Müller,hans@mueller.example,'
	echo 'Café Crème,contact-centre,BE,,,Europe/Brussels,,yes,Zoé,Zoe@Cafe.example,2002'
	echo '  Espaces Autour  ,analytics-pro,fr,  R-3  ,,,0,no,  Anne  ,anne@espaces.example,*12#'
	echo 'STRASSE Straße AG,analytics-essentials,Germany,,,Europe/Berlin,30,,Jürgen,j@strasse.example,'
	echo 'Ελληνική Εταιρεία,analytics-pro,GR,ΕΛ-1,σημείωση,,,,Νίκος,nikos@ellada.example,'
	echo 'Øresund ÅB,contact-centre,Suède,,,,7,false,Åsa,asa@oresund.example,42'
	echo 'Compliance Rec,compliance-recording,CH,,,Europe/Zurich,,,Rec Admin,rec@compliance.example,'
	echo 'Plus Centre,contact-centre-plus,US,REF/5,"tab-free, note",America/New_York,,1,Pat,pat@plus.example,5'
	echo 'ÉCOLE santé,analytics-pro,Belgique,,,,,,Émile,emile@ecole.example,'
	echo 'Ünïcödé İstanbul,analytics-essentials,TR,,,,,,Ayşe,ayse@istanbul.example,'
	echo '日本 Kabushiki,analytics-pro,JP,,,Asia/Tokyo,365,,Taro,taro@nihon.example,'
} >"$TMP/good.csv"
run import "$TMP/good.csv" --verbose
expect "the varied file imports" 0 "12 rows: 12 created"
grep -v '^line' <<<"$OUT" >/dev/null
sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/TENANT/' "$TMP/out" >"$TMP/report1"

# ---- 2. duplicates: skip, then update (a product change needs --yes) ----
{
	echo "$H"
	echo '"DUPONT, fils & CIE",analytics-pro,FR,R-1b,,,,,Other,other@dupont.example,'
	echo 'New After Skip,analytics-pro,FR,,,,,,New,new@skip.example,'
} >"$TMP/skip.csv"
run import "$TMP/skip.csv" --on-duplicate skip
expect "--on-duplicate skip" 0 "2 rows: 1 created, 0 updated, 1 skipped"
cat "$TMP/out" >>"$TMP/report1"
{
	echo "$H"
	echo 'muller gmbh,analytics-pro,DE,R-2-new,updated notes,Europe/Berlin,,,Ignored,ignored@x.example,'
	echo 'cafe creme,contact-centre,BE,,,,,no,Ignored,ignored2@x.example,'
	echo 'Fresh Row,analytics-essentials,IT,,,,,,Fresh,fresh@row.example,'
} >"$TMP/update.csv"
run import "$TMP/update.csv" --on-duplicate update --yes
expect "--on-duplicate update" 0 "3 rows: 1 created, 2 updated, 0 skipped"
cat "$TMP/out" >>"$TMP/report1"
dump 2>&1 | mask >"$TMP/store.txt"
sed "s#$TMP#TMP#g" "$TMP/report1" >>"$TMP/store.txt"
compare "rows, audit, outbox and histories exactly as before" exact-store.txt "$TMP/store.txt"

# ---- 3. every kind of error: reported, nothing written ----
BEFORE=$(dump 2>&1 | md5sum)
{
	echo "$H"
	echo 'Too Few,analytics-pro,FR'                                              # 2 field count
	echo 'Bad Trial,analytics-pro,FR,,,,abc,,A,a1@err.example,'                   # 3 trial_days
	echo 'Long Trial,analytics-pro,FR,,,,3651,,A,a2@err.example,'                 # 4 trial_days
	echo 'Bad Internal,analytics-pro,FR,,,,,maybe,A,a3@err.example,'              # 5 internal
	echo ',analytics-pro,FR,,,,,,A,a4@err.example,'                               # 6 name empty
	echo 'Dup In File,analytics-pro,FR,,,,,,A,a5@err.example,'                    # 7
	echo 'DUP in file,analytics-pro,FR,,,,,,A,a6@err.example,'                    # 8 same name
	echo 'dupont fils cie,analytics-pro,FR,,,,,,A,a7@err.example,'                # 9 (other key)
	echo 'Dupont  Fils & Cie,analytics-pro,FR,,,,,,A,a8@err.example,'             # 10
	echo '"Dupont, Fils & Cie",analytics-pro,FR,,,,,,A,a9@err.example,'           # 11 taken
	echo 'Bad Country,analytics-pro,Atlantis,,,,,,A,b1@err.example,'              # 12
	echo 'Ambiguous Country,analytics-pro,Guinea,,,,,,A,b2@err.example,'          # 13
	echo 'Bad Product,analytics-ultra,FR,,,,,,A,b3@err.example,'                  # 14
	echo 'Product Country,compliance-recording,US,,,,,,A,b4@err.example,'         # 15
	printf 'Bad Ref,analytics-pro,FR,"a\tb",,,,,A,b5@err.example,\n'              # 16
	echo "Long Notes,analytics-pro,FR,,$(printf 'n%.0s' {1..5000}),,,,A,b6@err.example,"  # 17
	echo 'Bad Zone,analytics-pro,FR,,,Mars/Olympus,,,A,b7@err.example,'           # 18
	echo 'Zone Country,analytics-pro,FR,,,America/New_York,,,A,b8@err.example,'   # 19
	echo 'Bad Admin,analytics-pro,FR,,,,,,,b9@err.example,'                       # 20 admin_name
	echo 'Bad Email,analytics-pro,FR,,,,,,A,not-an-email,'                        # 21
	echo 'Bad Ext,analytics-pro,FR,,,,,,A,c1@err.example,12a'                     # 22
	echo 'No Trial Type,contact-centre-plus,FR,,,,10,,A,c2@err.example,'          # 23
	echo 'Trial Too Long,analytics-pro,FR,,,,3650,,A,c9@err.example,'            # 24
	echo 'Email One,analytics-pro,FR,,,,,,A,same@err.example,'                    # 24
	echo 'Email Two,analytics-pro,FR,,,,,,A,SAME@err.example,'                    # 25 email twice
	echo 'Internal One,analytics-pro,FR,,,,,1,A,c3@err.example,'                  # 26
	echo 'Internal Two,analytics-pro,FR,,,,,1,A,c4@err.example,'                  # 27 over limit
	echo 'Bad"Quote,analytics-pro,FR,,,,,,B,c5@err.example,'                      # 28 csv
	printf 'Bad \xff UTF8,analytics-pro,FR,,,,,,U,c6@err.example,\n'              # 29 utf-8
	printf 'Ctl\x01Name,analytics-pro,FR,,,,,,U,c7@err.example,\n'                # 30 control
	echo "$(printf 'L%.0s' {1..300}),analytics-pro,FR,,,,,,A,c8@err.example,"     # 31 name long
	echo 'Many Errors,nope,Atlantis,,,,x,y,,bad,abc'                              # 32 all at once
	echo 'Good Last,analytics-pro,FR,,,,,,G,g@err.example,'                       # 33
} >"$TMP/errors.csv"
run import "$TMP/errors.csv"
expect "a file with every kind of error" 65 ""
{
	echo "== exit $RC"
	echo "== stdout"
	cat "$TMP/out"
	echo "== stderr"
	cat "$TMP/err"
} >"$TMP/errors.txt"
run import "$TMP/errors.csv" --json
{
	echo "== --json exit $RC"
	cat "$TMP/out"
	echo "== --json stderr"
	cat "$TMP/err"
} >>"$TMP/errors.txt"
run import "$TMP/errors.csv" --on-duplicate update --dry-run
{
	echo "== update --dry-run exit $RC"
	cat "$TMP/out" "$TMP/err"
} >>"$TMP/errors.txt"
sed -i "s#$TMP#TMP#g" "$TMP/errors.txt"
compare "every error reported exactly as before" exact-errors.txt "$TMP/errors.txt"
eq "a file with errors writes nothing" "$(dump 2>&1 | md5sum)" "$BEFORE"

finish
