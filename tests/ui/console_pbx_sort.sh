#!/usr/bin/env bash
# The grid sorted and filtered by PBX state (issue 17): a lab PBX process, one
# customer with the right secret (monitoring), one with a wrong one (auth
# failed), one with its connection disabled, one without a PBX. Sorted by PBX
# the failing customer comes first; "pbx:STATE" in the filter keeps the
# customers in that state; a word that is no state says what it takes.
PROG=$1
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"

printf '%s' 'S0rt-S3cr3t-9' > "$TMP/secret"
printf '%s' 'not-the-secret' > "$TMP/wrong"
chmod 600 "$TMP/secret" "$TMP/wrong"
check "lab PBX starts" lab_process --listen 127.0.0.1:0 --secret-file "$TMP/secret" \
	--call-rate 0 --users 4 --queues 1 --seed 5
seed "Alpha Veille" contact-centre FR
seed "Bravo Faux" contact-centre FR
seed "Charlie Sans" contact-centre BE
seed "Delta Coupé" contact-centre DE
add() { # add NAME SECRET-FILE [--disabled]
	cli pbx add "$1" --platform asterisk-ami --host 127.0.0.1 --port "$LAB_PORT" \
		--username admin --secret-file "$2" ${3-} >/dev/null
}
check "pbx add (right secret)" add "Alpha Veille" "$TMP/secret"
check "pbx add (wrong secret)" add "Bravo Faux" "$TMP/wrong"
check "pbx add (disabled)" add "Delta Coupé" "$TMP/secret" --disabled

row() { screen | sed -n "$((2 + $1))p"; } # row N: the Nth data row
row_is() { row "$1" | grep -qE -- "^$2"; }

start_console 120 30
check "grid: Alpha monitoring" screen_re '^Alpha Veille .* monitoring' 30
check "grid: Bravo auth failed" screen_re '^Bravo Faux .* auth failed' 30
check "by name first" row_is 1 "Alpha Veille"
# the sort menu (F6) names it
keys F6
check "sort menu" wait_for "Type to filter"
type_text "pbx"
keys Enter
check "sorted by PBX" screen_re 'PBX▲'
check "the failing customer first" wait_until 10 row_is 1 "Bravo Faux"
check "then monitoring" wait_until 10 row_is 2 "Alpha Veille"
check "then disabled" row_is 3 "Delta Coupé"
check "no PBX last" row_is 4 "Charlie Sans"
keys I
check "inverted" screen_re 'PBX▼'
check "inverted: no PBX first" wait_until 10 row_is 1 "Charlie Sans"
check "inverted: failing last" row_is 4 "Bravo Faux"
keys I
check "back to worst first" wait_until 10 row_is 1 "Bravo Faux"

# > and < reach it: after PBX comes Users (Calls and Agents are not sortable)
keys '>'
check "> : Users" screen_re 'Use[^ ]*▲'
keys '<'
check "< : PBX again" screen_re 'PBX▲'
check "  worst first" wait_until 10 row_is 1 "Bravo Faux"

# ---- the filter's pbx: word
filter() { keys /; type_text "$1"; keys Enter; }
filter "pbx:failing"
check "pbx:failing: one customer" screen_re '1 of 1 *$' 10
check "pbx:failing: Bravo" row_is 1 "Bravo Faux"
keys Escape
check "Esc clears it" screen_re '1 of 4 *$' 10
filter "pbx:none"
check "pbx:none: Charlie only" screen_re '1 of 1 *$' 10
check "pbx:none: the row" row_is 1 "Charlie Sans"
keys Escape
filter "pbx:down,disabled"
check "pbx:down,disabled: two" screen_re '1 of 2 *$' 10
check "  Bravo then Delta" row_is 1 "Bravo Faux"
check "  Delta second" row_is 2 "Delta Coupé"
keys Escape
filter "alpha pbx:up"
check "text and pbx: together" screen_re '1 of 1 *$' 10
check "  Alpha" row_is 1 "Alpha Veille"
keys Escape
filter "pbx:zz"
check "a word that is no state says what it takes" \
	wait_for "(pbx: down, up, failing, none or a state)"
# all four rows; which one is selected (Alpha stays selected: it still
# matches) is not the point here
check "  and filters nothing" screen_re '[0-9] of 4 *$' 10
keys Escape
check "hint gone" wait_gone "(pbx: down, up"

# ---- the help says it
keys F1
check "help: the pbx: filter" wait_for "pbx:STATE in the filter"
keys Escape
keys q
check "console exits 0" test "$(wait_exit 30)" = 0
check "no sanitizer report" no_sanitizer_report
finish
