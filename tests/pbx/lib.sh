# What the PBX suite's command-line tests share (cli_pbx.sh, cli_pbx_esl.sh,
# cli_pbx_xsi.sh, cli_lab_xsi.sh), on tests/lib/common.sh: the program and
# a database in a private temp dir, the clock pinned, run/has/eqj on the last
# command's output (every output is also kept in $TMP/all, so that a test can
# check no password ever appeared), and lab PBX processes.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" PATH/TO/provdesk TMP-PREFIX
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
PROG=$(realpath "${1:?usage: $0 PATH/TO/provdesk}")
pd_tmpdir "${2:-pd-cli-pbx}"
DB=$TMP/db.sqlite
pd_pin_clock
# a failed check shows the last command's output
on_fail() { [[ -f $TMP/out ]] && sed 's/^/    /' "$TMP/out"; }
# run EXPECTED_RC NAME -- args...: output in $TMP/out (and appended to $TMP/all)
run() {
	local want=$1 name=$2
	shift 3
	"$PROG" --db "$DB" "$@" >"$TMP/out" 2>&1
	local rc=$?
	cat "$TMP/out" >>"$TMP/all"
	if [[ $rc == "$want" ]]; then ok "$name (exit $rc)"; else not_ok "$name" "exit $rc, wanted $want"; fi
}
has() { if grep -qF -- "$2" "$TMP/out"; then ok "$1"; else not_ok "$1" "no '$2'"; fi; }
# eqj NAME EXPR WANT: a Python expression on the JSON in $TMP/out (bound to d)
eqj() {
	local got
	got=$(/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(eval(sys.argv[2]), ensure_ascii=False))" "$TMP/out" "$2" 2>&1)
	eq "$1" "$got" "$3"
}
# stop_bg VAR: kills and reaps the background process whose pid VAR holds
stop_bg() {
	local pid=${!1}
	[[ -n $pid ]] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	printf -v "$1" '%s' ''
}
LAB_PID=
stop_lab() { stop_bg LAB_PID; }
pd_on_exit stop_lab
# lab_start OUT ARGS...: `provdesk lab-pbx ARGS` in the background (LAB_PID),
# its standard output in OUT, its errors in $TMP/lab.err; waits until OUT
# holds its first line (with --json, the whole document)
lab_start() {
	local out=$1
	shift
	rm -f "$out"
	"$PROG" lab-pbx "$@" >"$out" 2>"$TMP/lab.err" &
	LAB_PID=$!
	wait_until "$UI_WAIT" lab_started "$out"
}
lab_started() { [[ -s $1 ]] && { [[ $(head -c 1 "$1") != '{' ]] || grep -q '}' "$1"; }; }
# json_port FILE: the port of a lab's --json document
json_port() { /usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['port'])" "$1" 2>/dev/null; }
