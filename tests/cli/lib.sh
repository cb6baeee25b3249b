# Shared helpers for the CLI tests: sourced by each test script with the
# provdesk binary as $1. Each script gets its own temp dir, database and
# config; nothing outside it is touched.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
PROVDESK=${1:?usage: $0 PATH/TO/provdesk}
pd_tmpdir pdcli-test
CONF="$TMP/provdesk.conf"
: >"$CONF"
# The program's clock (src/core/clock.c): every command of a test runs on the
# same fixed day (tests/lib/common.sh); a script that needs another day sets
# PROVDESK_TODAY (or PROVDESK_NOW) for that command.
pd_pin_clock
OUT="" ERR="" RC=0

pd() { "$PROVDESK" --db "$DB" --config "$CONF" "$@"; }

# run ARGS...: runs provdesk on the test database, captures OUT, ERR, RC.
run() {
	pd "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}
# run_raw ARGS...: the binary without --db/--config.
run_raw() {
	"$PROVDESK" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# a failed check shows the last command's exit code and output
on_fail() { printf '     rc=%s\n     stdout: %s\n     stderr: %s\n' "$RC" "${OUT:0:600}" "${ERR:0:600}"; }

# expect NAME RC [stdout-substring] [stderr-substring]
expect() {
	local name=$1 rc=$2 o=${3-} e=${4-}
	if [[ $RC != "$rc" ]]; then
		not_ok "$name" "exit code $RC, expected $rc"
		return 1
	fi
	if [[ -n $o && $OUT != *"$o"* ]]; then
		not_ok "$name" "stdout lacks: $o"
		return 1
	fi
	if [[ -n $e && $ERR != *"$e"* ]]; then
		not_ok "$name" "stderr lacks: $e"
		return 1
	fi
	ok "$name"
}

# jv EXPR: evaluates a Python expression on the JSON in $OUT (bound to d).
jv() {
	printf '%s' "$OUT" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v)
' "$1"
}

# jeq NAME EXPR VALUE: the JSON value equals VALUE (strings compared bare).
jeq() {
	local got
	got=$(jv "$2" 2>&1)
	if [[ $got == "$3" ]]; then ok "$1"; else not_ok "$1" "$2 = $got, expected $3"; fi
}
