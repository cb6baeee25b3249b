# The real console in a private tmux server: -S socket in $TMP, an sh -c
# wrapper writing the exit code to $TMP/exit (stderr to $TMP/exit.stderr),
# polling waits with deadlines (never fixed sleeps), send-keys -l for UTF-8
# text. Needs common.sh (TMP, DB, UI_WAIT) and PROG, the provdesk binary.
# Each helper names the console's session exactly ("=t:"): a bare "t" is
# first looked up as a window of the current session, and a test's second
# session (t2) becomes the current one (the likely way wizard_lock.sh's F10 once reached the second console).
T() { tmux -S "$TMP/tmux.sock" "$@"; }
pd_on_exit 'T kill-server 2>/dev/null'

# start_console [WIDTH HEIGHT [TERM [extra env...]]] -- [provdesk args]
# (TERM is also set inside the pane: tmux overrides -e TERM with its own).
# Sanitizer reports go to $TMP/san.* as well as to stderr.
start_console() {
	local w=${1:-100} h=${2:-30} term=${3:-tmux-256color}
	shift 3 || shift $#
	local envs=()
	while (($#)) && [[ $1 != -- ]]; do envs+=(-e "$1"); shift; done
	[[ ${1:-} == -- ]] && shift
	rm -f "$TMP/exit" "$TMP/exit.stderr"
	T kill-server 2>/dev/null || true
	rm -f "$TMP/tmux.sock"
	local args=""
	for a in --db "$DB" "$@"; do args+=" '$a'"; done
	T -f /dev/null new-session -d -s t -x "$w" -y "$h" -e TERM="$term" -e LANG=C.UTF-8 \
		-e LC_ALL=C.UTF-8 -e ESCDELAY=25 -e HOME="$HOME" -e XDG_CONFIG_HOME="$XDG_CONFIG_HOME" \
		-e XDG_DATA_HOME="$XDG_DATA_HOME" "${envs[@]}" \
		"exec env TERM='$term' sh -c '\"\$0\" $args 2> \"\$1.stderr\"; echo \$? > \"\$1\"' '$PROG' '$TMP/exit'"
}
screen() { T capture-pane -p -t '=t:'; }
# wait_for TEXT [SECONDS]: poll the screen until TEXT shows
wait_for() {
	local d=$((SECONDS + ${2:-$UI_WAIT}))
	until screen 2>/dev/null | grep -qF -- "$1"; do
		if ((SECONDS >= d)); then echo "--- timed out waiting for: $1" >&2; screen >&2; return 1; fi
		sleep 0.05
	done
}
# wait_gone TEXT [SECONDS]
wait_gone() {
	local d=$((SECONDS + ${2:-$UI_WAIT}))
	while screen 2>/dev/null | grep -qF -- "$1"; do
		if ((SECONDS >= d)); then echo "--- still shown: $1" >&2; screen >&2; return 1; fi
		sleep 0.05
	done
}
# screen_re RE [SECONDS]: poll the screen until a line matches the extended regex RE
screen_re() {
	local d=$((SECONDS + ${2:-$UI_WAIT}))
	until screen 2>/dev/null | grep -qE -- "$1"; do
		if ((SECONDS >= d)); then echo "--- timed out waiting for /$1/" >&2; screen >&2; return 1; fi
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
keys() { T send-keys -t '=t:' "$@"; }
type_text() { T send-keys -t '=t:' -l "$1"; }
# the line of the screen containing TEXT
line_with() { screen | grep -F -- "$1" | head -1; }
# the console's process (the pane runs sh, the console is its child)
console_pid() { pgrep -P "$(T display -p -t '=t:' '#{pane_pid}')" | head -1; }
