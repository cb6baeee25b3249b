# Shared helpers for the console screen tests: the real binary in a private
# tmux server (docs/architecture.md, Testing notes): -S socket, sh -c exit-code wrapper,
# polling waits (no fixed sleeps), send-keys -l for UTF-8 text.
# Usage: source lib.sh; PROG=path/to/provdesk set by the caller.
set -u
export LANG=C.UTF-8 LC_ALL=C.UTF-8
TMP=$(mktemp -d /tmp/pdui-test.XXXXXX)
export HOME=$TMP XDG_CONFIG_HOME=$TMP/cfg XDG_DATA_HOME=$TMP/data
unset NO_COLOR
# every console and command of a test runs on the same day, whatever day the
# suite runs (the program's clock: src/core/clock.c)
unset PROVDESK_NOW
export PROVDESK_TODAY=2026-11-10
# ... and every command reads the same running clock (not one started anew
# at noon by each process), so what one command queues is due for the next
export PROVDESK_CLOCK_START=@$(date +%s)
DB=$TMP/provdesk.db
PASS=0 FAIL=0
# deadline of every wait (s): long, since it only costs time when a check fails,
# and a loaded CI machine under ASan can take seconds to repaint
UI_WAIT=${PD_UI_WAIT:-20}
T() { tmux -S "$TMP/tmux.sock" "$@"; }
cleanup() { T kill-server 2>/dev/null || true; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"; }
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

# start_console [WIDTH HEIGHT [TERM [extra env...]]] -- [provdesk args]
# (TERM is also set inside the pane: tmux overrides -e TERM with its own)
start_console() {
	local w=${1:-100} h=${2:-30} term=${3:-tmux-256color}
	shift 3 || shift $#
	local envs=()
	while (($#)) && [[ $1 != -- ]]; do envs+=(-e "$1"); shift; done
	[[ ${1:-} == -- ]] && shift
	rm -f "$TMP/exit" "$TMP/stderr"
	T kill-server 2>/dev/null || true
	rm -f "$TMP/tmux.sock"
	local args=""
	for a in --db "$DB" "$@"; do args+=" '$a'"; done
	T -f /dev/null new-session -d -s t -x "$w" -y "$h" -e TERM="$term" -e LANG=C.UTF-8 \
		-e LC_ALL=C.UTF-8 -e ESCDELAY=25 -e HOME="$HOME" -e XDG_CONFIG_HOME="$XDG_CONFIG_HOME" \
		-e XDG_DATA_HOME="$XDG_DATA_HOME" "${envs[@]}" \
		"exec env TERM='$term' sh -c '\"\$0\" $args 2> \"\$1.stderr\"; echo \$? > \"\$1\"' '$PROG' '$TMP/exit'"
}
screen() { T capture-pane -p -t t; }
# wait_for TEXT [SECONDS]: poll the screen until TEXT shows
wait_for() {
	local d=$((SECONDS + ${2:-$UI_WAIT}))
	until screen | grep -qF -- "$1"; do
		if ((SECONDS >= d)); then echo "--- timed out waiting for: $1" >&2; screen >&2; return 1; fi
		sleep 0.05
	done
}
# wait_gone TEXT [SECONDS]
wait_gone() {
	local d=$((SECONDS + ${2:-$UI_WAIT}))
	while screen | grep -qF -- "$1"; do
		if ((SECONDS >= d)); then echo "--- still shown: $1" >&2; screen >&2; return 1; fi
		sleep 0.05
	done
}
# wait_exit [SECONDS]: the console ended; prints its exit code
wait_exit() {
	local d=$((SECONDS + ${1:-$UI_WAIT}))
	until [[ -s $TMP/exit ]]; do
		if ((SECONDS >= d)); then echo "--- console did not exit" >&2; screen >&2; return 1; fi
		sleep 0.05
	done
	cat "$TMP/exit"
}
keys() { T send-keys -t t "$@"; }
type_text() { T send-keys -t t -l "$1"; }
# the line of the screen containing TEXT
line_with() { screen | grep -F -- "$1" | head -1; }
cli() { "$PROG" --db "$DB" "$@"; }
seed() { # seed NAME PRODUCT COUNTRY [extra create options]
	local name=$1 pt=$2 cc=$3; shift 3
	cli customer create --name "$name" --product-type "$pt" --country "$cc" \
		--admin-name "Admin" --admin-email "admin@example.com" "$@" >/dev/null
}
json_field() { # json_field ID FIELD
	cli customer show "$1" --json | /usr/bin/python3 -c "import json,sys; v=json.load(sys.stdin)['$2']; print('' if v is None else v)"
}
finish() {
	echo "$PASS passed, $FAIL failed"
	((FAIL == 0))
}
# screen_re RE: poll the screen until a line matches the extended regex RE
# wizard_step1 NAME: a valid step 1 of the wizard (Germany, Analytics Pro),
# from its first screen; the cursor is left in the form
wizard_step1() {
	wait_for "1 Customer details"
	type_text "$1"
	keys Tab
	type_text "allem"
	keys Tab
	wait_for "Allemagne / Germany (DE)"
	wait_for "Europe/Berlin"
	keys Tab Enter
	wait_for "Type to filter"
	type_text "Analytics Pro"
	keys Enter
	wait_for "Trial"
}
screen_re() {
	local d=$((SECONDS + UI_WAIT))
	until screen | grep -qE -- "$1"; do
		if ((SECONDS >= d)); then echo "--- timed out waiting for /$1/" >&2; screen >&2; return 1; fi
		sleep 0.05
	done
}
