#!/usr/bin/env bash
# A terminal without F-keys (TERM=vt100: PF1-PF4 only, and tmux's F-key
# sequences are not vt100's): every F-key action also runs from Esc and a
# digit (Esc 1..9, 0 = F1..F10), and the key bar names the letter that does
# the same on that screen, else the Esc-digit (issue 14).
PROG=$1
source "$(dirname "$0")/lib.sh"
seed "Acme Telecom" analytics-pro DE

start_console 80 24 vt100
wait_for "Acme Telecom"
check "the grid's bar names the letters (? / t n c D q)" screen_re '^\?Help +/Filter +tTempl +Esc6SortBy ?nNew +cCatalog ?DDeleted ?qQuit'
check "no F-key is named in the bar" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | tail -1 | grep -qE 'F[0-9]'"
keys Escape 6
check "Esc 6 runs F6 (sort menu)" wait_for "Sort by"
keys Escape
wait_gone "Sort by"
keys Escape 5
check "Esc 5 runs F5 (templates)" wait_for "PBX templates"
keys Escape
wait_gone "PBX templates"
keys Escape 1
check "Esc 1 runs F1 (help)" wait_for "provdesk grid — keys"
keys Escape
wait_gone "provdesk grid — keys"
# the wizard's F5..F9 have no letter: the bar says Esc and the digit
keys n
wait_for "1 Customer details"
check "the wizard's bar names Esc6 for Next" screen_re 'Esc6Next'
keys Escape 6
check "Esc 6 in the wizard is Next (checks step 1)" wait_for "fields to fix"
keys Escape 0
check "Esc 0 is F10: the console quits (the wizard keeps its draft)" test "$(wait_exit)" = 0
finish
