#!/usr/bin/env bash
# No core dumps by default (a core would hold the SMTP and PBX secrets):
# a running provdesk has RLIMIT_CORE 0 (soft and hard) whatever its shell
# allowed, and --core-dumps leaves the limit as it was.
source "$(dirname "$0")/lib.sh"

ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)"
want_before=$(ulimit -c)
[[ $want_before == unlimited ]] && want_before=unlimited

# core_limit PID: "SOFT HARD" of the process's core file size
core_limit() { awk '/^Max core file size/ {print $5, $6}' "/proc/$1/limits"; }

# start_lab [global options]: a long-running provdesk (the lab PBX); LAB_PID
start_lab() {
	: >"$TMP/lab.out"
	"$PROVDESK" --db "$DB" --config "$CONF" "$@" lab-pbx --listen 127.0.0.1:0 \
		>"$TMP/lab.out" 2>&1 &
	LAB_PID=$!
	wait_until "$UI_WAIT" grep -q "listening on" "$TMP/lab.out"
}
stop_lab() { kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null || true; }
pd_on_exit stop_lab

start_lab
eq "default: no core file (soft and hard limit 0)" "$(core_limit "$LAB_PID")" "0 0"
if ((EUID != 0)); then
	# a non-dumpable process's /proc files belong to root
	eq "default: not dumpable" "$(stat -c %u "/proc/$LAB_PID/environ")" 0
fi
stop_lab

# (AddressSanitizer turns core dumps off by itself unless told not to)
ASAN_OPTIONS="${ASAN_OPTIONS:-}:disable_coredump=0" start_lab --core-dumps
lim=$(core_limit "$LAB_PID")
eq "--core-dumps: the limit is left as it was" "${lim%% *}" "$want_before"
stop_lab

run --core-dumps=yes customer list
expect "--core-dumps takes no value" 64 "" "takes no value"
finish
