#!/usr/bin/env bash
# Locale per customer (docs/user-guide.md, "Language and locale"): the
# country's default, chosen from the system's supported locales, shown,
# changed, imported, refused naming the field; billing amounts by locale only
# with --locale-format (the CSV stays machine-readable without it).
source "$(dirname "$0")/lib.sh"

# the system's list, fixed for the test: en_GB missing, so GB falls back
cat >"$TMP/SUPPORTED" <<'LIST'
de_CH.UTF-8 UTF-8
de_DE.UTF-8 UTF-8
en_US.UTF-8 UTF-8
fr_BE.UTF-8 UTF-8
fr_CH.UTF-8 UTF-8
fr_FR.UTF-8 UTF-8
fr_FR ISO-8859-1
fr_FR@euro ISO-8859-15
nl_BE.UTF-8 UTF-8
pt_BR.UTF-8 UTF-8
LIST
export PROVDESK_SUPPORTED_LOCALES=$TMP/SUPPORTED

new() { # new NAME COUNTRY [OPTIONS...]
	local n=$1 cc=$2
	shift 2
	run customer create --name "$n" --product-type analytics-pro --country "$cc" \
		--admin-name "Admin" --admin-email "admin@$(printf %s "$n" | tr -dc a-z).example" "$@"
}

# ---- the country's default ----
new "Boulangerie" FR
expect "create a French customer" 0
run customer show Boulangerie
expect "show: the locale" 0 "Locale:           fr_FR"
new "Gaufres" Belgique --json
jeq "json: Belgium's usual locale, not the first (de_BE)" 'd["locale"]' fr_BE
new "Fromages" CH --json
jeq "json: Switzerland" 'd["locale"]' de_CH
new "Samba" BR --json
jeq "json: a country without an entry gets its first supported locale" 'd["locale"]' pt_BR
new "Tea Shop" GB --json
jeq "json: en_GB unsupported here: en_US" 'd["locale"]' en_US
eq "stored" "$(q "select group_concat(locale, ' ') from (select locale from customers order by id)")" \
	"fr_FR fr_BE de_CH pt_BR en_US"

# ---- chosen, refused naming the field ----
new "Chocolat" CH --locale fr-ch.utf8 --json
jeq "--locale in any usual spelling" 'd["locale"]' fr_CH
for bad in xx_YY fr en_GB 'fr_FR@euro' '../../etc/passwd' $'fr_FR\tX'; do
	new "Bad" FR --locale "$bad"
	expect "create --locale '$bad' refused (65)" 65 "" "locale:"
done
new "Bad" FR --locale xx_YY --json
jeq "json error: code" 'd["error"]["code"]' invalid
jeq "json error: field" 'd["error"]["field"]' locale
eq "nothing created" "$(q "select count(*) from customers where name = 'Bad'")" 0

# ---- changed ----
run customer update Boulangerie --locale nl_BE
expect "update --locale" 0
run customer show Boulangerie --json
jeq "the locale changed" 'd["locale"]' nl_BE
run customer update Boulangerie --locale klingon
expect "update with a bad locale: 65" 65 "" "locale:"
run customer update Gaufres --country FR --json
jeq "a new country moves its default locale" 'd["locale"]' fr_FR
run customer update Boulangerie --country DE --json
jeq "a locale chosen by hand stays" 'd["locale"]' nl_BE
run audit --json
check "the change is audited" grep -q 'locale: \\"fr_FR\\" → \\"nl_BE\\"' "$TMP/out"

# ---- imported ----
cat >"$TMP/in.csv" <<'CSV'
name,product_type,country,admin_name,admin_email,locale
Import Un,analytics-pro,FR,A,a@un.example,
Import Deux,analytics-pro,CH,B,b@deux.example,fr_CH
CSV
run import "$TMP/in.csv" --json
expect "import with a locale column" 0
eq "empty: the country's default; given: kept" \
	"$(q "select group_concat(locale, ' ') from (select locale from customers where name like 'Import%' order by name)")" \
	"fr_CH fr_FR"
cat >"$TMP/bad.csv" <<'CSV'
name,product_type,country,admin_name,admin_email,locale
Import Trois,analytics-pro,FR,C,c@trois.example,fr_XX
CSV
run import "$TMP/bad.csv" --json
expect "import: an unsupported locale refuses the file" 65
jeq "the row's error names the field" '[x["field"] for r in d["results"] for x in r.get("errors", [])]' '["locale"]'
cat >"$TMP/upd.csv" <<'CSV'
name,product_type,country,admin_name,admin_email,locale
Import Deux,analytics-pro,CH,B,b@deux.example,de_CH
CSV
run import "$TMP/upd.csv" --on-duplicate update
expect "import --on-duplicate update" 0
eq "the locale is updated" "$(q "select locale from customers where name = 'Import Deux'")" de_CH

# ---- billing amounts by locale, only where asked ----
run user add Chocolat --name "Agent A" --email aa@chocolat.example --role agent
run user add Fromages --name "Agent B" --email ab@fromages.example --role agent
PROVDESK_TODAY=2026-12-02 run billing export --period 2026-11
expect "billing export" 0
check "CSV default: 1234.50 for every customer" bash -c "grep -q '^2026-11,[^,]*,Chocolat,analytics-pro,2,[0-9]*,30,19.00,[0-9]*\.[0-9][0-9],EUR' '$TMP/out'"
check "no locale-formatted amount by default" bash -c "! grep -q '\"19,00\"' '$TMP/out'"
PROVDESK_TODAY=2026-12-02 run billing export --period 2026-11 --locale-format
expect "billing export --locale-format" 0
check "fr_CH: 19.00, no change but Swiss grouping" bash -c "grep -q ',Chocolat,analytics-pro,2,[0-9]*,30,19.00,' '$TMP/out'"
check "nl_BE: a decimal comma, quoted" bash -c "grep -q ',Boulangerie,analytics-pro,1,[0-9]*,30,\"19,00\",' '$TMP/out'"
check "the header stays English" bash -c "head -1 '$TMP/out' | grep -q '^period,billing_id'"
PROVDESK_TODAY=2026-12-02 run billing export --period 2026-11 --locale-format --json
expect "--locale-format with JSON: usage error naming the field" 64 '"field": "locale_format"'
finish
