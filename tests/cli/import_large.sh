#!/usr/bin/env bash
# A large import streams (#15): 200,000 generated rows are read, checked and
# written one at a time in one transaction, so the peak memory stays far
# below what holding the file and its rows took (about 210 MB for a dry run
# and 280 MB for the import before; about 45 MB and 120 MB now, the 64 MB
# page cache of a batch included). The report is unchanged: the error of a
# bad row is given by its line number, and nothing is written.
source "$(dirname "$0")/lib.sh"

# peak RSS (kB) of one provdesk command, its output in $TMP/out and $TMP/err
peak_kb() {
	/usr/bin/python3 - "$TMP" "$PROVDESK" --db "$DB" --config "$CONF" "$@" <<'PY'
import resource, subprocess, sys
tmp = sys.argv[1]
with open(tmp + "/out", "w") as o, open(tmp + "/err", "w") as e:
    rc = subprocess.run(sys.argv[2:], stdout=o, stderr=e).returncode
with open(tmp + "/rc", "w") as f:
    f.write(str(rc))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
# AddressSanitizer's shadow memory and quarantine, or valgrind (the provdesk
# given is then its shim script, and the run is slowed: PD_TEST_SLOW), make
# the peak meaningless and 200,000 rows far too slow.
instrumented "$PROVDESK" && skip "a sanitizer or valgrind run (its memory use is not the program's)"

ROWS=200000
awk -v n=$ROWS 'BEGIN {
	print "name,product_type,country,admin_name,admin_email"
	for (i = 1; i <= n; i++)
		printf "Large Customer %06d,analytics-pro,FR,Admin %d,admin%06d@large.example\n", i, i, i
}' >"$TMP/large.csv"
printf '[customers]\nimport_max_mb = 64\n' >"$CONF"
check "the file is large (over 12 MB)" test "$(stat -c %s "$TMP/large.csv")" -gt 12000000

KB=$(peak_kb import "$TMP/large.csv" --dry-run)
RC=$(cat "$TMP/rc") OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect "dry run of $ROWS rows" 0 "$ROWS rows: $ROWS to create"
check "dry run peak memory under 110 MB (was 210 MB): ${KB} kB" test "$KB" -lt 110000

# a bad row: reported by its line, the rows before it rolled back (after an
# error the rest is only checked, not written)
sed '12s/,FR,/,XX,/' "$TMP/large.csv" >"$TMP/bad.csv"
KB=$(peak_kb import "$TMP/bad.csv")
RC=$(cat "$TMP/rc") OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect "a bad row is reported by its line" 65 "" "line 12: country"
check "nothing written" test "$(q 'SELECT count(*) FROM customers')" = 0
check "the rolled-back import used little memory too: ${KB} kB" test "$KB" -lt 200000

KB=$(peak_kb import "$TMP/large.csv")
RC=$(cat "$TMP/rc") OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect "import of $ROWS rows" 0 "$ROWS rows: $ROWS created"
eq "every row written" "$(q 'SELECT count(*) FROM customers')" $ROWS
check "import peak memory under 200 MB (was 280 MB): ${KB} kB" test "$KB" -lt 200000

finish
