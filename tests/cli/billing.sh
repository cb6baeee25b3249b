#!/usr/bin/env bash
# Billing follows what was in force each day (issue 11): changes are made on
# different days (PROVDESK_TODAY per command), and a past month bills the
# same before and after the changes made "today" (2026-11-10, lib.sh).
source "$(dirname "$0")/lib.sh"

on() { # on DAY ARGS...: run on that day
	local d=$1
	shift
	PROVDESK_TODAY=$d run "$@"
}
new() { # new DAY NAME PRODUCT [OPTIONS...]
	local d=$1 n=$2 p=$3
	shift 3
	on "$d" customer create --name "$n" --product-type "$p" --country FR \
		--admin-name "Admin $n" --admin-email "admin@$(printf %s "$n" | tr -dc a-z).example" "$@"
	expect "create $n on $d" 0
}
# line PERIOD-FILE PRODUCT-REGEX: the CSV line(s) of a customer in an export
csv_line() { grep -- "$2" "$1" | tr -d '\r'; }

# ---- history made over three months ----
new 2026-09-05 alpha analytics-essentials
new 2026-09-01 charlie contact-centre --reference CH-1
new 2026-09-01 delta analytics-pro --reference DE-1
new 2026-10-01 bravo analytics-pro --reference BR-1 --trial=45 # trial to 2026-11-14
on 2026-10-10 customer delete delta --confirm delta
expect "delete delta on 2026-10-10" 0
on 2026-10-16 customer trial convert bravo
expect "convert bravo's trial on 2026-10-16" 0
on 2026-10-16 customer update charlie --internal
expect "charlie internal from 2026-10-16" 0
on 2026-10-20 customer update alpha --product-type analytics-pro --yes
expect "alpha to analytics-pro on 2026-10-20" 0
# licensed users (a role, not a linked PBX user) change on past days too
on 2026-10-12 user add alpha --name "Al Agent" --email al@alpha.example --role agent
expect "alpha: a second user from 2026-10-12" 0
on 2026-09-20 user add charlie --name "Cy Sup" --email cy@charlie.example --role supervisor
expect "charlie: a supervisor from 2026-09-20" 0
on 2026-10-25 user add charlie --name "No Role" --email nr@charlie.example
expect "charlie: a user without a role (not licensed)" 0
run customer show alpha --json
ALPHA=$(jv 'd["tenant_id"]')

export_to() { # export_to PERIOD FILE [--json]
	run billing export --period "$1" "${@:3}"
	expect "export $1 ${*:3}" 0
	printf '%s\n' "$OUT" >"$2"
}
export_to 2026-09 "$TMP/sep-before.csv"
export_to 2026-10 "$TMP/oct-before.csv"
export_to 2026-10 "$TMP/oct-before.json" --json

# ---- September: full month or from creation ----
check "header: new columns after the old ones" grep -q \
	"^period,billing_id,customer_name,product_type,licensed_users,active_days,period_days,unit_price,amount,currency,flags,first_day,last_day,billed_days" \
	"$TMP/sep-before.csv"
L=$(csv_line "$TMP/sep-before.csv" ",alpha,")
check "no reference: the tenant id is the billing id; pro rata from creation" \
	test "$L" = "2026-09,$ALPHA,alpha,analytics-essentials,1,26,30,9.00,7.80,EUR,,2026-09-05,2026-09-30,26"
L=$(csv_line "$TMP/sep-before.csv" ",charlie,")
check "a user added on the 20th: a line per licensed-user count" test "$L" = \
	"2026-09,CH-1,charlie,contact-centre,1,19,30,39.00,24.70,EUR,,2026-09-01,2026-09-19,19
2026-09,CH-1,charlie,contact-centre,2,11,30,39.00,28.60,EUR,,2026-09-20,2026-09-30,11"
check "a customer created in October has no September line" \
	test "$(grep -c ",bravo," "$TMP/sep-before.csv")" = 0

# ---- October: one line per product type, converted trial, internal, deletion ----
L=$(csv_line "$TMP/oct-before.csv" ",alpha,")
check "a user added on the 12th, product type changed on the 20th: a line for each" test "$L" = \
	"2026-10,$ALPHA,alpha,analytics-essentials,1,11,31,9.00,3.19,EUR,,2026-10-01,2026-10-11,11
2026-10,$ALPHA,alpha,analytics-essentials,2,8,31,9.00,4.65,EUR,,2026-10-12,2026-10-19,8
2026-10,$ALPHA,alpha,analytics-pro,2,12,31,19.00,14.71,EUR,,2026-10-20,2026-10-31,12"
L=$(csv_line "$TMP/oct-before.csv" ",bravo,")
check "trial converted on the 16th: billed from the 16th, trial days zero-rated" test "$L" = \
	"2026-10,BR-1,bravo,analytics-pro,1,31,31,19.00,9.81,EUR,trial 2026-10-01 to 2026-10-15,2026-10-01,2026-10-31,16"
L=$(csv_line "$TMP/oct-before.csv" ",charlie,")
check "internal from the 16th: zero-rated from then, billed before" test "$L" = \
	"2026-10,CH-1,charlie,contact-centre,2,31,31,39.00,37.74,EUR,internal / zero-rated 2026-10-16 to 2026-10-31,2026-10-01,2026-10-31,15"
L=$(csv_line "$TMP/oct-before.csv" ",delta,")
check "deleted on the 10th: billed up to that day" test "$L" = \
	"2026-10,DE-1,delta,analytics-pro,1,10,31,19.00,6.13,EUR,deleted 2026-10-10,2026-10-01,2026-10-10,10"
OUT=$(cat "$TMP/oct-before.json")
jeq "json: the same lines with dates and billed days" \
	'[(l["customer_name"], l["product_type"], l["first_day"], l["last_day"], l["billed_days"], l["amount"]) for l in d["lines"] if l["customer_name"] == "alpha"]' \
	'[["alpha", "analytics-essentials", "2026-10-01", "2026-10-11", 11, "3.19"], ["alpha", "analytics-essentials", "2026-10-12", "2026-10-19", 8, "4.65"], ["alpha", "analytics-pro", "2026-10-20", "2026-10-31", 12, "14.71"]]'
jeq "json: flags as an array" '[l["flags"] for l in d["lines"] if l["customer_name"] == "charlie"]' \
	'[["internal / zero-rated 2026-10-16 to 2026-10-31"]]'
jeq "json: totals" 'd["totals"]' '{"EUR": "76.23"}'

# ---- today's changes do not touch past months ----
run customer update alpha --product-type contact-centre --yes
expect "today: alpha to contact-centre" 0
run customer update charlie --no-internal
expect "today: charlie no longer internal" 0
run customer delete bravo --confirm bravo
expect "today: bravo deleted" 0
run customer restore delta
expect "today: delta restored" 0
run customer update delta --disable
expect "today: delta disabled" 0
run user add alpha --name "New Today" --email new@alpha.example --role agent
expect "today: a user added to alpha" 0
run role assign charlie cy@charlie.example ""
expect "today: charlie's supervisor loses the role" 0
run user remove alpha al@alpha.example
expect "today: alpha's second user removed" 0
run user add charlie --name "Lic Today" --email lic@charlie.example --role agent
expect "today: a licensed user added to charlie" 0
run user remove charlie lic@charlie.example
expect "today: and removed again" 0
# today's catalogue (a file in the config directory replaces the installed
# one): contact-centre from 39.00 to 45.00, loaded at the next start
mkdir -p "$TMP/price"
cp "$CONF" "$TMP/price/provdesk.conf"
python3 - "$(dirname "$0")/../../data/catalogue.json" "$TMP/price/catalogue.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for t in c["product_types"]:
    if t["key"] == "contact-centre":
        t["price_cents"] = 4500
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
CONF_SHIPPED=$CONF
CONF=$TMP/price/provdesk.conf
run catalogue --json
expect "today: the new catalogue is loaded" 0 "4500"
export_to 2026-09 "$TMP/sep-after.csv"
export_to 2026-10 "$TMP/oct-after.csv"
export_to 2026-10 "$TMP/oct-after.json" --json
check "September bills the same after today's changes" cmp -s "$TMP/sep-before.csv" "$TMP/sep-after.csv"
check "October bills the same after today's changes (CSV)" cmp -s "$TMP/oct-before.csv" "$TMP/oct-after.csv"
check "October bills the same after today's changes (JSON)" cmp -s "$TMP/oct-before.json" "$TMP/oct-after.json"

# ---- November: today's changes apply from today ----
export_to 2026-11 "$TMP/nov.csv"
L=$(csv_line "$TMP/nov.csv" ",alpha,")
check "alpha: pro up to yesterday, contact-centre at today's price and users from today" test "$L" = \
	"2026-11,$ALPHA,alpha,analytics-pro,2,9,30,19.00,11.40,EUR,,2026-11-01,2026-11-09,9
2026-11,$ALPHA,alpha,contact-centre,2,21,30,45.00,63.00,EUR,,2026-11-10,2026-11-30,21"
L=$(csv_line "$TMP/nov.csv" ",bravo,")
check "bravo: billed up to today's deletion" test "$L" = \
	"2026-11,BR-1,bravo,analytics-pro,1,10,30,19.00,6.33,EUR,deleted 2026-11-10,2026-11-01,2026-11-10,10"
L=$(csv_line "$TMP/nov.csv" ",delta,")
check "delta: billed again from its restore, disabled flag" test "$L" = \
	"2026-11,DE-1,delta,analytics-pro,1,21,30,19.00,13.30,EUR,disabled,2026-11-10,2026-11-30,21"
L=$(csv_line "$TMP/nov.csv" ",charlie,")
check "charlie: internal up to yesterday (2 users, 39.00), then 1 user at 45.00" test "$L" = \
	"2026-11,CH-1,charlie,contact-centre,2,9,30,39.00,0.00,EUR,internal / zero-rated,2026-11-01,2026-11-09,0
2026-11,CH-1,charlie,contact-centre,1,21,30,45.00,31.50,EUR,,2026-11-10,2026-11-30,21"
# back to the shipped catalogue: its price from today too, past months kept
CONF=$CONF_SHIPPED
export_to 2026-10 "$TMP/oct-shipped.csv"
check "October still bills the same" cmp -s "$TMP/oct-before.csv" "$TMP/oct-shipped.csv"

# ---- formula injection: CSV cells neutralised, JSON exact ----
for n in '=HYPERLINK("http://evil.example","x")' '+cmd' '-2+3' '@SUM(A1)'; do
	run customer create --name "$n" --product-type analytics-pro --country FR \
		--admin-name "Admin" --admin-email "a@x.example"
	expect "create a customer named $n" 0
done
run billing export --period 2026-11
check "= cell gets a leading apostrophe (quoted)" grep -qF ',"'"'"'=HYPERLINK(""http://evil.example"",""x"")",' "$TMP/out"
check "+ cell neutralised" grep -qF ",'+cmd," "$TMP/out"
check "- cell neutralised" grep -qF ",'-2+3," "$TMP/out"
check "@ cell neutralised" grep -qF ",'@SUM(A1)," "$TMP/out"
check "no cell starts with a formula character" \
	bash -c '! tr -d "\r" <"$1" | grep -qE "(^|,)\"?[=+@-]"' _ "$TMP/out"
run billing export --period 2026-11 --json
jeq "JSON keeps the name exact" \
	'sorted(l["customer_name"] for l in d["lines"] if l["customer_name"][0] in "=+-@")' \
	'["+cmd", "-2+3", "=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(A1)"]'
# the SSH client address is an audit column: a forged one must not become a formula
SSH_CONNECTION='=2+5*cmd|x 40000 192.0.2.1 22' run customer update alpha --notes "via ssh"
expect "change over a (forged) SSH connection" 0
run audit alpha --format csv
expect "audit csv export" 0
check "audit CSV: the client cell is neutralised" grep -qF ",'=2+5*cmd|x," "$TMP/out"
run audit alpha --format json
jeq "audit JSON keeps the client exact" 'd[0]["client"]' '=2+5*cmd|x'
run audit --format csv
check "audit CSV: no cell starts with a formula character" \
	bash -c '! tr -d "\r" <"$1" | grep -qE "(^|,)\"?[=+@-]"' _ "$TMP/out"

# ---- the tenant id where there is no reference ----
run customer show alpha
expect "show: tenant id" 0 "Tenant id:        $ALPHA"
expect "show: billing id falls back to the tenant id" 0 "Billing id:       $ALPHA"
run customer show alpha --json
jeq "json: billing_id is the tenant id" 'd["billing_id"] == d["tenant_id"]' true

# ---- a catalogue without a product type in use is refused at start ----
mkdir -p "$TMP/cat"
: >"$TMP/cat/provdesk.conf"
sed 's/"key": "analytics-pro"/"key": "analytics-pro-2"/' \
	"$(dirname "$0")/../../data/catalogue.json" >"$TMP/cat/catalogue.json"
run_raw --db "$DB" --config "$TMP/cat/provdesk.conf" customer list
expect "catalogue dropping a used product type -> 78" 78 "" '"analytics-pro" (used by 5 customers)'
expect "the error names the catalogue file" 78 "" "$TMP/cat/catalogue.json"
run_raw --db "$DB" --config "$TMP/cat/provdesk.conf" billing export --period 2026-10 --json
expect "json error names the field" 78 '"field": "product_type"'
if command -v script >/dev/null; then
	# the console (on a pseudo-terminal) refuses it the same way, before curses
	# (a console that did start would wait for keys: the timeout ends it)
	timeout -k 5 $((20 * ${PD_TEST_SLOW:-1})) script -qec "$PROVDESK --db $DB --config $TMP/cat/provdesk.conf" /dev/null \
		</dev/null \
		>"$TMP/out" 2>&1
	RC=$? OUT=$(cat "$TMP/out") ERR=""
	expect "console refuses it at start -> 78" 78 '"analytics-pro" (used by 5 customers)'
fi
run customer list --json
expect "the database still opens with the shipped catalogue" 0
jeq "nothing was changed" 'len(d)' 7

finish
