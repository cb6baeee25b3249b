#!/usr/bin/env bash
# No byte from outside reaches a terminal raw: a name with ESC sequences and a
# direction override (here written straight into the database, as an older
# version or a hand edit could) is shown with visible escapes on a terminal
# (a pty from script(1)), and an argument echoed in an error is escaped on
# standard error; --json and a pipe keep the exact text.
source "$(dirname "$0")/lib.sh"

run customer create --name "Acme" --product-type analytics-pro --country FR \
	--admin-name Admin --admin-email admin@acme.example
expect "customer created" 0
q "UPDATE customers SET name = 'Ev' || char(27) || '[2Jil' || char(8238) || 'gpj.exe'
   || char(7) || char(133) WHERE name = 'Acme'"

# tty ARGS...: provdesk on a pseudo-terminal; what the terminal received in TTY
tty() {
	local cmd
	printf -v cmd '%q ' "$PROVDESK" --db "$DB" --config "$CONF" "$@"
	# script(1) runs "$SHELL -c": printf %q may write bash's $'...' quoting,
	# which /bin/sh (CI's $SHELL) would read as literal text.
	SHELL=/bin/bash script -qec "$cmd" /dev/null >"$TMP/tty" 2>&1 </dev/null
	TTY=$(cat "$TMP/tty")
}
has_raw() { LC_ALL=C grep -q $'[\x1b\x07]\|\xe2\x80\xae\|\xc2\x85' "$1"; }

tty customer list
check "tty: the name is shown with visible escapes" \
	grep -qF 'Ev\x1b[2Jil\u202egpj.exe\x07\x85' "$TMP/tty"
check "tty: no raw ESC, BEL, C1 or override reached the terminal" eval '! has_raw "$TMP/tty"'

tenant=$(q "SELECT tenant_id FROM customers")
tty customer show "$tenant"
check "tty: customer show escapes the name line" \
	grep -qF 'Name:             Ev\x1b[2Jil\u202egpj.exe\x07\x85' "$TMP/tty"
check "tty: customer show sends nothing raw" eval '! has_raw "$TMP/tty"'
run customer show "$tenant"
check "pipe: customer show keeps the exact bytes" \
	grep -qF "Name:             Ev"$'\e[2Jil\xe2\x80\xae'"gpj.exe"$'\a\xc2\x85' "$TMP/out"
tty customer show $'Nope\e]0;owned\a'
check "tty: an echoed argument is escaped in the error" \
	grep -qF 'Nope\x1b]0;owned\x07' "$TMP/tty"
check "tty: the error carries no raw escape" eval '! has_raw "$TMP/tty"'

run customer show $'Nope\e]0;owned\a'
expect "stderr to a pipe is escaped too (it is for people)" 66 "" 'Nope\x1b]0;owned\x07'

run customer list --json
check "--json keeps the exact name (JSON escapes)" \
	grep -qF '"Ev\u001B[2Jil'$'\xe2\x80\xae''gpj.exe\u0007'$'\xc2\x85''"' "$TMP/out"
run customer list
check "a table piped to a file has visible escapes too (it is read later)" \
	grep -qF 'Ev\x1b[2Jil\u202egpj.exe\x07\x85' "$TMP/out"
tty customer list --json
check "--json on a terminal: JSON's own escapes" \
	grep -qF '"Ev\u001B[2Jil' "$TMP/tty"
# Progress on a terminal's standard error: import and billing export draw a
# line with done/total that the end clears; never when stderr is a pipe.
{
	echo "name,product_type,country,admin_name,admin_email"
	for i in $(seq 3000); do echo "Progress Co $i,analytics-pro,FR,Admin $i,admin$i@progress.example"; done
} >"$TMP/progress.csv"
tty import "$TMP/progress.csv" --dry-run
check "import --dry-run on a tty: the rows checked" \
	grep -qF "import: checking 3,000/3,000 rows  100%" "$TMP/tty"
tty import "$TMP/progress.csv"
check "import on a tty: the rows imported (read, checked and written as they come)" \
	grep -qF "import: importing 3,000/3,000 rows  100%" "$TMP/tty"
check "the progress line's carriage return reaches the terminal (not \\x0d)" \
	eval '! grep -qF "\\x0d" "$TMP/tty"'
check "the import reported its result" grep -qF "3000 created" "$TMP/tty"
sed -i 's/Progress Co/Progress Two/; s/@progress/@progress2/' "$TMP/progress.csv"
run import "$TMP/progress.csv"
expect "import to a pipe" 0
check "no progress line when stderr is a pipe" eval '! grep -q "import:" "$TMP/err"'
tty billing export --period 2026-11 --output "$TMP/bill.csv"
check "billing export to a file on a tty: progress in lines" grep -qF "billing export: " "$TMP/tty"
run billing export --period 2026-11 --output "$TMP/bill2.csv"
check "billing export with stderr a pipe: no progress" eval '! grep -q "billing export:" "$TMP/err"'
finish
