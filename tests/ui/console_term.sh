#!/usr/bin/env bash
# The terminal side: resize and the too-small screen, monochrome (NO_COLOR),
# a corrupt theme file, vt100, signals restoring the terminal, and a
# database that turns unreadable under a running console.
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Société Générale" analytics-pro FR
seed "Acme Telecom" contact-centre DE --trial=3

# resize to 60x20: "terminal too small"; back: everything re-laid out
start_console 100 30
wait_for "Société Générale"
keys Enter; wait_for "Tenant id"; keys e; wait_for "Edit customer"
keys Tab Tab; type_text "KEEP-ME"
T resize-window -t t -x 60 -y 20
check "below 80x24 the too-small screen shows" wait_for "Terminal too small: 60x20"
T resize-window -t t -x 80 -y 24
check "back at 80x24 the form is laid out again" wait_for "Edit customer: Acme Telecom"
check "values typed before the resize are kept" wait_for "KEEP-ME"
check "the function-key bar is at the bottom" bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | tail -1 | grep -q '^F1Help'"
T resize-window -t t -x 120 -y 40
check "growing re-lays out the form" wait_for "KEEP-ME"
keys F2; check "save after resizes works" wait_for "saved (version 2)"
check "value stored" test "$(json_field "Acme Telecom" reference)" = "KEEP-ME"
keys F10; wait_exit >/dev/null

# colours by default; NO_COLOR: attributes only, the selection still visible
start_console 100 30 tmux-256color
wait_for "Société Générale"
check "the default theme uses colours" bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -e -t t | grep -qE $'\e\\\\[[0-9;]*(3[0-7]|4[0-7]|38;5)[;m]'"
keys q; wait_exit >/dev/null
start_console 100 30 tmux-256color NO_COLOR=1 --
wait_for "Société Générale"
esc=$(T capture-pane -p -e -t t)
check "NO_COLOR: no colour sequences" bash -c "! grep -qE $'\e\\\\[[0-9;]*(3[0-7]|4[0-7]|38;5|48;5)[;m]' <<<\"\$1\"" _ "$esc"
check "NO_COLOR: the selection is in reverse video" bash -c "grep -qE $'\e\\\\[[0-9;]*7[;m]' <<<\"\$1\"" _ "$esc"
keys q; wait_exit >/dev/null

# a corrupt theme file: message naming file and line, built-in default used
mkdir -p "$XDG_CONFIG_HOME/provdesk/themes"
printf 'normal = default default\n# comment\ngrid.header = chartreuse black\n' >"$XDG_CONFIG_HOME/provdesk/themes/broken.theme"
start_console 100 30 tmux-256color -- --theme broken
check "the grid still opens" wait_for "Société Générale"
check "status line names the theme file and line" wait_for "broken.theme:3: bad colour 'chartreuse'"
keys q
check "exits 0" test "$(wait_exit)" = 0
check "the message is repeated on stderr after exit" grep -q "broken.theme:3: bad colour 'chartreuse'.*built-in default" "$TMP/exit.stderr"
start_console 100 30 tmux-256color -- --theme noc-dark
check "noc-dark theme opens" wait_for "Société Générale"
check "noc-dark gives no theme error" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'theme'"
keys q; wait_exit >/dev/null

# vt100: no colours, box drawing falls back, still usable
start_console 80 24 vt100
check "vt100: grid shows" wait_for "Société Gén"
keys Enter; check "vt100: view opens" wait_for "Tenant id"
keys F1; check "vt100: help opens" wait_for "Help"
keys Escape Escape; wait_for "Customers"
keys q; check "vt100: quits cleanly" test "$(wait_exit)" = 0

# the terminals support staff reach us from: xterm and screen
for term in xterm-256color screen-256color; do
	start_console 80 24 "$term"
	check "$term: grid shows" wait_for "Société Gén"
	keys Enter; check "$term: view opens" wait_for "Tenant id"
	keys Escape; wait_for "Customers"
	keys q; check "$term: quits cleanly" test "$(wait_exit)" = 0
done

# SIGTERM and SIGHUP: the loop ends, the terminal is restored
for sig in TERM HUP; do
	start_console 100 30
	wait_for "Société Générale"
	pid=$(pgrep -n -f "^$PROG --db $DB")
	kill -$sig "$pid"
	code=$(wait_exit)
	check "SIG$sig ends the console (status $code)" test "$code" -ge 128
	check "SIG$sig: the shell is back on the normal screen" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t 2>/dev/null | grep -q 'F10Quit'"
done

# a name with an ESC sequence, a C1 control and a direction override in the
# database (an older version or a hand edit): the grid shows spaces and U+FFFD,
# and the rest of the line is drawn in order
sqlite3 "$DB" "UPDATE customers SET name = 'Ev' || char(27) || '[2Jil' || char(8238) ||
  'gpj.exe' || char(133) || 'x' WHERE name = 'Acme Telecom'"
start_console 100 30
check "a name's controls and override are drawn as spaces and U+FFFD" wait_for "Ev [2Jil�gpj.exe�x"
keys F10; wait_exit >/dev/null
sqlite3 "$DB" "UPDATE customers SET name = 'Acme Telecom' WHERE name LIKE 'Ev%'"

# the database becomes unreadable while the console runs: a clear message,
# no crash, the edit in progress is not lost
start_console 100 30
wait_for "Société Générale"
keys Enter; wait_for "Tenant id"; keys e; wait_for "Edit customer"
keys Tab Tab C-u; type_text "UNSAVED-EDIT"
cp "$DB" "$TMP/backup.db"
head -c 65536 /dev/urandom >"$TMP/garbage"
for f in "$DB" "$DB-wal" "$DB-shm"; do [[ -e $f ]] && cat "$TMP/garbage" >"$f"; done
keys F2
check "saving reports a clear database error" wait_for "database"
check "the error says what is wrong with it" screen_re "corrupt|not a database"
check "the console is still running" test ! -s "$TMP/exit"
check "the edit in progress is still on screen" wait_for "UNSAVED-EDIT"
keys Escape; wait_for "Discard changes?"; keys n
keys F10 # unsaved changes: the quit asks too
check "F10 asks before dropping the edit" wait_for "Discard changes and quit"
keys Down Down Enter
code=$(wait_exit)
check "exits without crashing (status $code)" test "$code" -lt 128
finish
