# What the live-panel tests share (tests/ui/live.sh, live_freeswitch.sh,
# live_broadworks.sh), sourced after lib.sh: a lab PBX process, every screen
# captured also logged (to check afterwards that none showed the password),
# waits on the screen with deadlines. The test sets SECRET-bearing files
# and calls lab_process with its lab-pbx options.
SCREENS=$TMP/screens.log
LAB_PID=
LAB_PORT=

live_cleanup() {
	if [[ -n $LAB_PID ]]; then kill "$LAB_PID" 2>/dev/null || true; wait "$LAB_PID" 2>/dev/null || true; fi
	# a failed run keeps what the screens showed
	if [[ $FAIL -gt 0 && -s $SCREENS ]]; then tail -60 "$SCREENS" >&2; fi
}
pd_on_exit live_cleanup

# every capture is also logged
snap() { local s; s=$(screen); printf '%s\n----\n' "$s" >> "$SCREENS"; printf '%s\n' "$s"; }
wait_re() { # wait_re REGEX [SECONDS]
	local d=$((SECONDS + ${2:-$UI_WAIT}))
	until snap | grep -qE -- "$1"; do
		if ((SECONDS >= d)); then echo "--- timed out waiting for /$1/" >&2; screen >&2; return 1; fi
		sleep 0.1
	done
}

# lab_process [lab-pbx options]: the lab PBX as its own process (--json), in
# the background; LAB_PID and LAB_PORT set once it listens.
lab_process() {
	rm -f "$TMP/lab.json"
	"$PROG" lab-pbx --json "$@" > "$TMP/lab.json" 2> "$TMP/lab.err" &
	LAB_PID=$!
	local d=$((SECONDS + 10))
	until grep -q '"port"' "$TMP/lab.json" 2>/dev/null; do
		((SECONDS < d)) || { echo "lab PBX did not start" >&2; cat "$TMP/lab.err" >&2; return 1; }
		sleep 0.05
	done
	LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json")
}
stop_lab() { kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; LAB_PID=; }

duration_of() { # duration_of TEXT: seconds shown at the end of the first line holding TEXT
	snap | grep -F -- "$1" | head -1 | grep -oE '[0-9]+:[0-9]{2}$' |
		awk -F: '{ print $1 * 60 + $2 }'
}
no_sanitizer_report() { ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/exit.stderr" 2>/dev/null; }

# The database but what the monitoring daemon may write while a read-only
# NOC is attached: the link-state rows, and the device state (with the row
# version) of synced users, which its sync on reconnection records.
# db_dump > FILE, then db_unchanged FILE, which prints what changed.
db_dump() {
	local c="$TMP/db.dump.sqlite"
	rm -f "$c"
	sqlite3 "file:$DB?mode=ro" ".backup '$c'" &&
		sqlite3 "$c" "DELETE FROM pbx_status; UPDATE users SET device_state = NULL, version = 0
			WHERE synced = 1" && sqlite3 "$c" .dump
	rm -f "$c"
}
db_unchanged() { diff "$1" <(db_dump) | head -20 >&2; test "${PIPESTATUS[0]}" = 0; }
