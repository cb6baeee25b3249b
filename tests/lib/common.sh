# Shared shell helpers of every test script (CLI, console, PBX): sourced
# first by the suite's own lib.sh. What it gives:
#   pd_tmpdir PREFIX       a private temp dir in $TMP, removed on exit
#                          (KEEP_TMP=1 keeps it); more clean-up: pd_on_exit CMD;
#                          the monitor daemons of its databases are stopped
#                          (pd_stop_daemons)
#   pd_pin_clock           the program's clock (src/core/clock.c) pinned
#   ok / not_ok / check / eq / eventually / finish   counting, "ok - NAME"
#   wait_until SECONDS CMD...   poll CMD until it succeeds or the deadline
#   q SQL / q_is SQL WANT  queries on $DB
# A suite may define on_fail NAME to print what helps after a failure.
set -u
export LANG=C.UTF-8 LC_ALL=C.UTF-8
PASS=0 FAIL=0
# deadline of every wait (s): long, since it only costs time when a check
# fails, and a loaded CI machine under ASan can take seconds to answer;
# PD_TEST_SLOW (the valgrind setup) scales it
UI_WAIT=${PD_UI_WAIT:-$((20 * ${PD_TEST_SLOW:-1}))}

_PD_EXIT_HOOKS=()
pd_on_exit() { _PD_EXIT_HOOKS+=("$1"); }
# pd_stop_daemons: every `provdesk serve` of a database under $TMP (a console
# or a command of the test started it, detached: it would outlive the test)
# is stopped by the pid in its lock file, TERM then KILL after 10 s.
pd_stop_daemons() {
	[[ -n ${TMP:-} && -d $TMP ]] || return 0
	local f pid d
	while IFS= read -r f; do
		pid=$(tr -dc 0-9 < "$f" 2>/dev/null | head -c 10)
		[[ -n $pid ]] || continue
		grep -qa serve "/proc/$pid/cmdline" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null || continue
		d=$((SECONDS + 10))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < d)); do sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null || true
	done < <(find "$TMP" -name '*.serve.lock' 2>/dev/null)
}
_pd_exit() {
	local h
	for h in "${_PD_EXIT_HOOKS[@]}"; do eval "$h" || true; done
	pd_stop_daemons
	if [[ -n ${TMP:-} ]]; then
		if [[ -n ${KEEP_TMP:-} ]]; then echo "# kept $TMP" >&2; else rm -rf "$TMP"; fi
	fi
}
trap _pd_exit EXIT

# pd_tmpdir PREFIX: TMP, HOME and the XDG dirs inside it; DB is its database
pd_tmpdir() {
	TMP=$(mktemp -d "/tmp/${1:-pd-test}.XXXXXX")
	export HOME=$TMP XDG_CONFIG_HOME=$TMP/cfg XDG_DATA_HOME=$TMP/data
	DB=$TMP/provdesk.db
}

# Every command of a test runs on the same day, whatever day the suite runs
# (billing periods, trial days and expiry give the same answers on any date);
# a test that needs another day sets PROVDESK_TODAY or PROVDESK_NOW for that
# command. All commands read the same running clock (not one started anew at
# noon by each process), so what one command queues is due for the next.
pd_pin_clock() {
	unset PROVDESK_NOW
	export PROVDESK_TODAY=${1:-2026-11-10}
	export PROVDESK_CLOCK_START=@$(date +%s)
}

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
# not_ok NAME [DETAIL]
not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $1${2:+: $2}"
	if declare -F on_fail >/dev/null; then on_fail "$1"; fi
}
# check NAME COMMAND...: passes when the command succeeds
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# eq NAME GOT WANT
eq() { if [[ $2 == "$3" ]]; then ok "$1"; else not_ok "$1" "got [$2], want [$3]"; fi; }
# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds; 1 at the deadline
wait_until() {
	local d=$((SECONDS + $1))
	shift
	until "$@" 2>/dev/null; do
		((SECONDS < d)) || return 1
		sleep 0.05
	done
}
# eventually NAME COMMAND...: check, polled until the deadline
eventually() { local name=$1; shift; if wait_until "$UI_WAIT" "$@"; then ok "$name"; else not_ok "$name"; fi; }
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }
q_is() { [[ "$(q "$1")" == "$2" ]]; } # q_is SQL WANT (runs the query each poll)
finish() {
	echo "$PASS passed, $FAIL failed"
	((FAIL == 0))
}
# skip REASON: the whole script is skipped (meson counts exit 77 as SKIP)
skip() {
	echo "ok - skipped: $1 # SKIP"
	exit 77
}
# instrumented PROG: an AddressSanitizer build, or valgrind's shim script (the
# valgrind setup: PD_TEST_SLOW), whose memory use and speed are not the program's
instrumented() {
	nm "$1" 2>/dev/null | grep -q '__asan_init' || [[ $(head -c 2 "$1") == '#!' || ${PD_TEST_SLOW:-1} != 1 ]]
}
