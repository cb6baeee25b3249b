#!/usr/bin/env bash
# The wizard's keys go through the shared key table (context "wizard"): the
# help screen lists them from the table, the function-key bar names the keys
# bound now, and a keys.conf moves them (the old key then does nothing).
#   wizard_keys.sh PROVDESK
PROG=$1
source "$(dirname "$0")/lib.sh"

# TEXT on the screen once wrapped lines are joined (the help wraps its notes)
joined_has() { screen | tr '\n' ' ' | grep -qF -- "$1"; }


# ---- built-in bindings
start_console 100 30
wait_for "F10"
keys n
check "the wizard opens" wait_for "Create New Customer"
# Backspace at the start of the first field stays there (it used to move the
# cursor to the last field, Notes, where the text typed next then went)
keys BSpace
type_text "Zeta"
check "Backspace at the start of a field: the text stays in it" screen_re '^ Name +Zeta'
check "Backspace at the start of a field: nothing typed into Notes" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -qE '^ Notes +Zeta'"
keys C-u
wait_gone "Zeta"
check "the bar names F6 Next" screen_re 'F4Choices ?F6Next'
# F5, F7, F8, F9 do nothing on step 1: the bar leaves them out (wizard_bar.sh)
check "the bar leaves out the keys of step 4" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -qE 'F5Back|F7Add user|F9Discover'"
keys F1
check "F1 in a field opens the help" wait_for "== Creation wizard (then Forms) =="
check "help lists wizard-back on F5" screen_re '^  F5 +wizard-back +Previous step'
check "help lists wizard-next on F6" screen_re '^  F6 +wizard-next +Next step'
check "help lists wizard-add-user on F7" screen_re '^  F7 +wizard-add-user +Step 4: add a user'
check "help lists wizard-remove-user on F8" screen_re '^  F8 +wizard-remove-user +Step 4: remove'
check "help lists wizard-discover on F9" screen_re '^  F9 +wizard-discover +Step 4: list the users'
check "the screen's notes name the keys bound now" joined_has "F6 or F2, ^S: next step (on the summary: create the customer)"
check "the notes are wrapped, not cut" joined_has "Nothing is written until \"Create customer\" on the summary."
check "help lists the form keys too" wait_for "== Forms (editing) =="
check "help does not list grid keys" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'new-customer'"
keys Escape
check "Esc closes the help, back in the wizard" wait_gone "== Creation wizard"
# '?' types into a text field, but opens the help from the buttons
keys BTab
wait_for "[ Cancel ]"
type_text "?"
check "? on the buttons opens the help" wait_for "== Creation wizard (then Forms) =="
keys q
wait_gone "== Creation wizard"
# F6 on an empty step 1 checks it (the action ran)
keys F6
check "F6 checks the step before going on" wait_for "fields to fix before going on"
keys F10
check "F10 quits from the wizard" test "$(wait_exit)" = 0

# ---- keys.conf moves Next to F11 and ^N, Back to F12; F6 and F5 unbound
mkdir -p "$XDG_CONFIG_HOME/provdesk"
cat > "$XDG_CONFIG_HOME/provdesk/keys.conf" <<'EOF'
# the wizard's step keys moved
unbind wizard F6 F5
bind wizard F11 ^N wizard-next
bind wizard F12 wizard-back
EOF
q "delete from drafts" # the first run's draft: no resume question
start_console 100 30
wait_for "F10"
keys n
wait_for "Create New Customer"
check "the bar names the rebound Next" screen_re 'F11Next'
check "the bar no longer names F6" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'F6Next'"
wizard_step1 "Rebound Keys GmbH"
# a key that does nothing: a marker action after it (F1, the help) shows
# the console has handled F6, then nothing else may have changed
keys F6 F1
check "F6 unbound: the marker after it ran (help)" wait_for "== Creation wizard (then Forms) =="
keys Escape
check "F6 unbound: help closed" wait_gone "== Creation wizard"
check "F6 unbound: still on step 1" wait_for "New customer — Customer details"
check "F6 unbound: no step check ran" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'fields to fix'"
keys F11
check "F11 goes to step 2" wait_for "New customer — Primary user"
check "the bar names the rebound keys" screen_re 'F12Back +F11Next'
keys F12
check "F12 goes back to step 1" wait_for "New customer — Customer details"
check "Back kept the name" wait_for "Rebound Keys GmbH"
keys C-n
check "^N also goes on" wait_for "New customer — Primary user"
keys F1
check "help shows the rebound wizard-next" screen_re '^  F11, \^N +wizard-next'
check "help shows the rebound wizard-back" screen_re '^  F12 +wizard-back'
check "the notes name the rebound keys" joined_has "F11, ^N or F2, ^S: next step"
keys Escape
wait_gone "== Creation wizard"
keys F10
check "F10 quits" test "$(wait_exit)" = 0
check "nothing was created" test "$(q 'select count(*) from customers')" = 0

# a bad line in keys.conf is named with the file and the line
printf 'bind wizard F11 wizard-nowhere\n' > "$XDG_CONFIG_HOME/provdesk/keys.conf"
start_console 100 30
check "a bad keys.conf line is reported with its line" wait_for "keys.conf:1: unknown action 'wizard-nowhere'"
keys F10
wait_exit >/dev/null
finish
