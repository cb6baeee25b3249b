#!/usr/bin/env bash
# Every bad input of issue 2 reachable from the command line answers with a
# message naming the field (or option, file and line), the right exit code,
# and loses nothing. CSV import cases are in import.sh.
source "$(dirname "$0")/lib.sh"

create() { # create NAME [extra options...]
	local name=$1
	shift
	run customer create --name "$name" --product-type analytics-pro --country FR \
		--admin-name "Admin" --admin-email "admin@x$(printf %s "$name" | md5sum | cut -c1-8).example" "$@"
}

# ---- names ----
create ""
expect "empty name" 65 "" "name:"
create "   "
expect "whitespace-only name" 65 "" "name:"
create "$(printf 'é%.0s' {1..101})"
expect "101-character name" 65 "" "name:"
create "$(printf 'é%.0s' {1..100})"
expect "100-character accented name is fine" 0
create "Société Générale"
expect "first customer" 0
create "SOCIETE GENERALE"
expect "duplicate differing in case and accents" 65 "" "name:"
create "  société générale  "
expect "duplicate after trimming" 65 "" "already exists"
run customer list --json
jeq "nothing half-created" 'len(d)' 2
run customer list --filter "$(printf 'a%.0s' {1..201})"
expect "201-byte filter is a usage error" 64 "" "--filter: at most 200 bytes (this one has 201)"
run customer list --filter "$(printf 'x%.0s' {1..50001})"
expect "50,001-byte filter is a usage error, not a query" 64 "" "at most 200 bytes"
run customer list --filter "$(printf 'é%.0s' {1..100})"
expect "200-byte filter is a query" 0
run customer list --filter $'Soci\xe9t\xe9'
expect "a filter of invalid UTF-8 is a usage error, not a search that finds nothing" 64 "" "--filter: not valid UTF-8 text"

# ---- other fields ----
run customer create --name Foo --product-type platinum --country FR --admin-name A --admin-email a@foo.example
expect "unknown product type" 65 "" "product_type:"
# a long accented value is quoted cut to 60 bytes, which fall inside a
# character: the cut keeps whole characters (no half one shown as \xc3),
# and the --json error keeps its message
LONG_TYPE="a$(printf 'é%.0s' {1..40})"
run customer create --name Foo --product-type "$LONG_TYPE" --country FR --admin-name A --admin-email a@foo.example
expect "unknown long accented product type" 65 "" "unknown product type 'a$(printf 'é%.0s' {1..29})' (known:"
run customer create --name Foo --product-type "$LONG_TYPE" --country FR --admin-name A --admin-email a@foo.example --json
expect "unknown long accented product type, --json" 65
jeq "the JSON error keeps its message" "d['error']['message'][:61]" "unknown product type 'a$(printf 'é%.0s' {1..29})' (known:"
run customer show $'Caf\xe9'
expect "a name of invalid UTF-8 is quoted escaped" 66 "" "'Caf\xe9'"
run customer show $'Caf\xe9' --json
jeq "... and so is the JSON error's message" "d['error']['message'][-9:]" "'Caf\xe9'"
run customer create --name Foo --product-type analytics-pro --country Atlantis --admin-name A --admin-email a@foo.example
expect "unknown country" 65 "" "country:"
run customer create --name Foo --product-type analytics-pro --country XX --admin-name A --admin-email a@foo.example
expect "unknown country code" 65 "" "country:"
run customer create --name Foo --product-type analytics-pro --country Guin --admin-name A --admin-email a@foo.example
expect "ambiguous country name" 65 "" "several countries"
# the one country rule (core's pd_country_from_text), as the wizard and the
# edit form read it: the picker's "French / English (CODE)" form is a country
run customer create --name "Pays Picker" --product-type analytics-pro \
	--country " Allemagne / Germany (DE) " --admin-name A --admin-email a@picker.example --json
expect "the wizard picker's country form" 0
jeq "read as the code it names" 'd["country"]' DE
run customer delete "Pays Picker" --confirm "Pays Picker"
expect "removed again" 0
for bad in "plainaddress" "a@" "@foo.example" "a b@foo.example" "a@foo" "a@@foo.example"; do
	run customer create --name Foo --product-type analytics-pro --country FR --admin-name A --admin-email "$bad"
	expect "invalid email '$bad'" 65 "" "admin_email:"
done
run customer create --name Foo --product-type analytics-pro --country FR --admin-name A \
	--admin-email a@foo.example --admin-extension 12ab
expect "invalid extension" 65 "" "admin_extension"
run customer create --name Foo --product-type analytics-pro --country FR --admin-name "" \
	--admin-email a@foo.example
expect "empty admin name" 65 "" "admin_name"
run customer create --name Foo --product-type analytics-pro --country FR --admin-name A \
	--admin-email a@foo.example --reference "$(printf 'r%.0s' {1..65})"
expect "over-long reference" 65 "" "reference"
run customer create --name Foo --product-type analytics-pro --country FR --admin-name A \
	--admin-email a@foo.example --notes "$(printf 'n%.0s' {1..4001})"
expect "over-long notes" 65 "" "notes"
run customer create --name Foo --product-type analytics-pro --country FR --admin-name A \
	--admin-email a@foo.example --time-zone Mars/Olympus_Mons
expect "unknown time zone" 65 "" "time_zone"
run customer create --name Foo --product-type compliance-recording --country US --admin-name A \
	--admin-email a@foo.example
expect "product type not sold in the country" 65 "" "product_type"

# ---- trials ----
run customer create --name Foo --product-type contact-centre-plus --country FR --admin-name A \
	--admin-email a@foo.example --trial
expect "trial on a product type that forbids it" 65 "" "trial"
run customer create --name Foo --product-type analytics-pro --country FR --admin-name A \
	--admin-email a@foo.example --trial=abc
expect "trial days not a number -> 64" 64 "" "--trial"
create "Essai" --trial=10
expect "trial customer" 0
run customer update Essai --trial-end 2001-01-01
expect "trial ending before it starts" 65 "" "trial"
run customer update Essai --trial-end 2026-02-30
expect "impossible trial end date -> 64" 64 "" "--trial-end"
run customer trial extend Essai --days -3
expect "negative extension -> 64" 64 "" "--days"
run customer trial convert "Société Générale"
expect "trial action without a trial" 65

# ---- locked product type ----
run customer create --name Verrou --product-type contact-centre-plus --country FR --admin-name A \
	--admin-email a@verrou.example
expect "locked type customer" 0
run customer update Verrou --product-type contact-centre --yes
expect "changing a locked product type" 65 "" "product_type"
run customer show Verrou --json
jeq "locked type unchanged" 'd["product_type"]' contact-centre-plus

# ---- internal systems limit ----
create "Interne Un" --internal
expect "first internal system" 0
create "Interne Deux" --internal
expect "internal system beyond the limit" 65 "" "internal"
printf '[customers]\ninternal_systems_limit = 2\n' >"$CONF"
create "Interne Deux" --internal
expect "limit from the config" 0
: >"$CONF"

# ---- duplicate primary email within a customer ----
run customer show "Société Générale" --json
PRIMARY=$(jv 'd["users"][0]["email"]')
run user add "Société Générale" --name Other --email "${PRIMARY^^}"
expect "duplicate of the primary email" 65 "" "email"

# ---- stale version ----
run customer show Verrou --json
V=$(jv 'd["version"]')
run customer update Verrou --notes "first" --expect-version "$V"
expect "update at current version" 0
run customer update Verrou --notes "second" --expect-version "$V"
expect "update based on a stale version" 75 "" "notes"
run customer show Verrou --json
jeq "stale update did not overwrite" 'd["notes"]' first
run customer delete Verrou --confirm Verrou --expect-version "$V"
expect "delete based on a stale version" 75

# ---- secrets on the command line ----
for opt in "--secret hunter2" "--secret=hunter2" "--password hunter2" "--password=hunter2"; do
	# shellcheck disable=SC2086
	run pbx add "Société Générale" --platform asterisk-ami --host h --port 5038 --username u $opt
	expect "refused: pbx add $opt" 64 "" "--secret-file"
	check "the refused secret is not echoed ($opt)" bash -c "! grep -q hunter2 '$TMP/err' '$TMP/out'"
done
run_raw --db "$DB" --secret=hunter2 customer list
expect "refused as a global option" 64 "" "never taken on the command line"
run pbx update "Société Générale" --secret hunter2
expect "refused on pbx update" 64 "" "--secret-env"
run pbx add "Société Générale" --platform asterisk-ami --host h --port 5038 --username u \
	--secret-env PD_NOT_SET_ANYWHERE
expect "secret env var not set" 66 "" "PD_NOT_SET_ANYWHERE"
run pbx add "Société Générale" --platform asterisk-ami --host h --port 70000 --username u
expect "port out of range -> 64" 64 "" "--port"
export PD_SECRET=x
run pbx add "Société Générale" --platform pigeon-post --host h --port 5038 --username u --secret-env PD_SECRET
expect "unknown platform" 65 "" "platform"

# ---- periods ----
for p in 2026-00 2026-13 26-11 2026/11 2026-1 "" 2026-11-01 abcd-ef; do
	run billing export --period "$p"
	expect "invalid period '$p'" 64 "" "--period"
done

# ---- configuration ----
printf '[trial]\ndefault_days = abc\n' >"$TMP/bad.conf"
run_raw --db "$DB" --config "$TMP/bad.conf" customer list
expect "bad config value -> 78 with file:line" 78 "" "bad.conf:2"
printf '[trial]\nfrobnicate = 1\n' >"$TMP/bad2.conf"
run_raw --db "$DB" --config "$TMP/bad2.conf" customer list
expect "unknown config key -> 78 with file:line" 78 "" "bad2.conf:2"
run_raw --db "$DB" --config "$TMP/none.conf" customer list
expect "missing --config file -> 66" 66 "" "none.conf"
run_raw --db "$DB" --config "$TMP/bad.conf" customer list --help
expect "--help works even with a bad config" 0 "Usage: provdesk customer list"
mkdir -p "$TMP/confdir"
printf '{"version": 1, "product_types": [ {"key": 12} ]}\n' >"$TMP/confdir/catalogue.json"
: >"$TMP/confdir/provdesk.conf"
run_raw --db "$DB" --config "$TMP/confdir/provdesk.conf" customer list
expect "invalid catalogue override -> 78 naming the file" 78 "" "catalogue.json"

# ---- database files ----
head -c 8192 /dev/urandom >"$TMP/corrupt.db"
SUM=$(sha256sum <"$TMP/corrupt.db")
run_raw --db "$TMP/corrupt.db" --config "$CONF" customer list
check "corrupt database refused" test "$RC" -ne 0 -a "$RC" -ne 139 -a "$RC" -ne 134
check "corrupt database error names the file" grep -q "corrupt.db" "$TMP/err"
check "corrupt database untouched" test "$SUM" = "$(sha256sum <"$TMP/corrupt.db")"
printf 'SQLite format 3\0but then nonsense' >"$TMP/trunc.db"
run_raw --db "$TMP/trunc.db" --config "$CONF" customer list
check "truncated database refused" test "$RC" -ne 0
check "truncated database error names the file" grep -q "trunc.db" "$TMP/err"
mkdir "$TMP/adir.db"
run_raw --db "$TMP/adir.db" --config "$CONF" customer list
check "a directory as database refused" test "$RC" -ne 0 -a "$RC" -lt 128
check "directory error names it" grep -q "adir.db" "$TMP/err"
cp "$DB" "$TMP/newer.db"
rm -f "$TMP/newer.db-wal" "$TMP/newer.db-shm"
sqlite3 "$TMP/newer.db" "PRAGMA journal_mode=DELETE; PRAGMA user_version = 999;" >/dev/null
SUM=$(sha256sum <"$TMP/newer.db")
run_raw --db "$TMP/newer.db" --config "$CONF" customer list
expect "database from a newer schema refused -> 78" 78 "" "newer"
check "newer database untouched" test "$SUM" = "$(sha256sum <"$TMP/newer.db")"
run_raw --db "$TMP/newer.db" --config "$CONF" customer create --name Z --product-type analytics-pro \
	--country FR --admin-name A --admin-email a@z.example
expect "newer database refused for writes too" 78
check "newer database still untouched" test "$SUM" = "$(sha256sum <"$TMP/newer.db")"
if [[ $(id -u) != 0 ]]; then
	cp "$DB" "$TMP/locked.db"
	chmod 000 "$TMP/locked.db"
	run_raw --db "$TMP/locked.db" --config "$CONF" customer list
	check "unreadable database refused" test "$RC" -ne 0 -a "$RC" -lt 128
	chmod 600 "$TMP/locked.db"
fi

finish
