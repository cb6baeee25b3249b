#!/usr/bin/env bash
# The wizard says what it does (issue 14): the key bar shows F5/F7/F8/F9
# only on the steps where they do something (F9 only with a PBX to ask),
# and step 3 asks "Connect a PBX now [x]" (checked by default) instead of the
# double negative "No PBX yet [ ]"; drafts keep their stored "no_pbx" key,
# so a draft written before the change resumes with the right answer.
PROG=$1
source "$(dirname "$0")/lib.sh"
not_on_screen() { ! screen | grep -qF -- "$1"; }

start_console 80 24
wait_for "F10"
keys n
wizard_step1 "Bar Client"
check "step 1: no F7/F8/F9 in the key bar" screen_re "^F1Help +F4Choices ?F6Next +EscCancel"
check "step 1: no Back (there is no step before)" not_on_screen "F5Back"
check "step 1: no Discover" not_on_screen "Discover"
keys F6
wait_for "2 Primary user"
type_text "Hélène Dupré"; keys Tab
type_text "helene@example.de"; keys Tab
check "step 2: Back shows" wait_for "F5Back"
check "step 2: no Add user" not_on_screen "Add user"
keys F6
wait_for "3 PBX details"
check "step 3 asks 'Connect a PBX now', checked by default" screen_re "Connect a PBX now +\[x\]"
check "the double negative is gone" not_on_screen "No PBX yet"
check "step 3: no F7/F8/F9" not_on_screen "Del user"
check "checked: the PBX fields show" wait_for "Platform"
keys Space
check "unchecked: the PBX fields go" wait_gone "Platform"
check "unchecked shows [ ]" screen_re "Connect a PBX now +\[ \]"
keys F6
wait_for "4 Role assignment"
check "step 4: Add user and Del user show" screen_re "F7Add user ?F8Del user"
check "step 4 without a PBX: no Discover (nothing to ask)" not_on_screen "Discover"
keys F5
wait_for "3 PBX details"
check "back on step 3 the bar loses the users' keys" wait_gone "Add user"
# with a PBX: step 4 offers Discover
keys Space
wait_for "Platform"
keys Tab Tab Enter # Connect a PBX now -> Template -> Platform list
wait_for "Type to filter"
type_text "Asterisk"; keys Enter
wait_for "AMI secret"
keys Tab; type_text "pbx.example.de"
keys Tab Tab Tab; type_text "provdesk"
keys Tab; type_text "s3cret-AMI"; keys Tab
keys F6
wait_for "4 Role assignment"
check "step 4 with a PBX: F9 Discover shows" wait_for "F9Discover"
# back to step 3, no PBX, then quit: the draft keeps "no_pbx"
keys F5
wait_for "3 PBX details"
keys Space
screen_re "Connect a PBX now +\[ \]"
keys F10
check "the console exits 0" test "$(wait_exit)" = 0
check "the draft stores the answer under its old key (no_pbx = true)" \
	test "$(q "select json_extract(json, '\$.pbx.no_pbx') from drafts")" = 1
start_console 80 24
wait_for "F10"
keys n
wait_for "Resume the draft?"
keys r
wait_for "3 PBX details"
check "the resumed draft: Connect a PBX now [ ]" screen_re "Connect a PBX now +\[ \]"
keys F10
wait_exit >/dev/null
# a draft stored before the change (no_pbx false) resumes as checked
q "update drafts set json = json_set(json, '\$.pbx.no_pbx', json('false'))"
start_console 80 24
wait_for "F10"
keys n
wait_for "Resume the draft?"
keys r
wait_for "3 PBX details"
check "a stored no_pbx=false resumes as Connect a PBX now [x]" screen_re "Connect a PBX now +\[x\]"
keys F10
check "the console exits 0" test "$(wait_exit)" = 0
finish
