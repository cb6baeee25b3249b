#!/usr/bin/env bash
# The mouse (issue 14): a click selects a grid row, switches a tab of the
# customer view, runs a key-bar label; [ui] mouse = off and --no-mouse turn
# it off (for selecting text with the mouse over SSH). The clicks are the
# xterm SGR sequences a terminal sends (TERM=xterm-256color decodes them).
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Acme Telecom" analytics-pro DE
seed "Bravo SARL" analytics-pro DE
seed "Zulu GmbH" analytics-pro DE
# click X Y: button 1 pressed and released at column X, row Y (1-based)
# the pane asked for mouse reports (tmux knows what the program turned on)
mouse_on() { [[ $(T display -p -t t '#{mouse_standard_flag}#{mouse_button_flag}#{mouse_any_flag}') == *1* ]]; }
mouse_off() { [[ $(T display -p -t t '#{mouse_standard_flag}#{mouse_button_flag}#{mouse_any_flag}') != *1* ]]; }
click() { type_text $'\e[<0;'"$1;$2M"; type_text $'\e[<0;'"$1;$2m"; }

start_console 80 24 xterm-256color
wait_for "Zulu GmbH"
check "the console asks the terminal for clicks" mouse_on
check "the first row is selected at start" screen_re "^ provdesk — Customers +1 of 3"
# the third row (screen line 5: title, header, rows); the press acts, and the
# release comes apart, as from a hand on a real mouse
type_text $'\e[<0;3;5M'
check "a click on a row selects it" screen_re "^ provdesk — Customers +3 of 3"
# after the release, alone, the console still follows the database by itself
# (no key pressed): ncurses used to wait, blocking, for the next byte
type_text $'\e[<0;3;5m'
seed "Yankee Ltd" analytics-pro DE
check "after a click the console keeps updating without a key" wait_for "4 customers"
check "the clicked row stays selected" screen_re "^ provdesk — Customers +4 of 4"
# a right-button press and a wheel turn do nothing, and freeze nothing either
type_text $'\e[<2;3;5M'
seed "Xray AG" analytics-pro DE
check "after a right-button press the console keeps updating" wait_for "5 customers"
type_text $'\e[<2;3;5m'
type_text $'\e[<65;3;5M'
seed "Whiskey BV" analytics-pro DE
check "after a wheel turn the console keeps updating" wait_for "6 customers"
check "neither moved the selection" screen_re "^ provdesk — Customers +6 of 6"
keys Enter
check "Enter opens the clicked row's customer" wait_for "Customer: Zulu GmbH"
click 25 2 # " 3 PBX " on the tab line
check "a click on a tab switches to it" wait_for "No PBX connection"
click 3 2 # " 1 Details "
check "a click on another tab" wait_for "Tenant id"
keys Escape
wait_for "Acme Telecom"
click 12 24 # "F3Filter" in the key bar (F1Help takes columns 1-9)
check "a click on a key-bar label runs it (F3: filter)" wait_for "Filter: "
keys Escape
wait_gone "Filter: "
keys F10
check "the console exits 0" test "$(wait_exit)" = 0

# --no-mouse: a click does nothing
start_console 80 24 xterm-256color -- --no-mouse
wait_for "Zulu GmbH"
check "--no-mouse: the terminal is not asked for clicks (text selection works)" mouse_off
keys F10
wait_exit >/dev/null

# [ui] mouse = off in provdesk.conf
mkdir -p "$XDG_CONFIG_HOME/provdesk"
printf '[ui]\nmouse = off\n' > "$XDG_CONFIG_HOME/provdesk/provdesk.conf"
start_console 80 24 xterm-256color
wait_for "Zulu GmbH"
check "[ui] mouse = off: the terminal is not asked for clicks" mouse_off
keys F10
wait_exit >/dev/null
printf '[ui]\nmouse = sometimes\n' > "$XDG_CONFIG_HOME/provdesk/provdesk.conf"
check "a bad [ui] mouse value is refused, naming the key" bash -c "'$PROG' --db '$DB' customer list 2>&1 >/dev/null | grep -q 'mouse'"
rm "$XDG_CONFIG_HOME/provdesk/provdesk.conf"
finish
