#!/usr/bin/env bash
# The grid's filter off the UI thread (issue 19): keys typed faster than the
# queries answer (a burst of edits, several tmux sends without a wait) end
# with the rows and the count of the last filter, never those of an earlier
# one answered late; Enter right after typing acts on the last filter's rows.
# 3,000 customers, so a one-letter filter matches most of them.
PROG=$1
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 - "$TMP/c.csv" <<'PY'
import sys
w1 = ["Société", "Hélène", "Acme", "Dupont", "Zèbre", "Orange", "Bleu", "Nord"]
w2 = ["Télécom", "Services", "Conseil", "Santé", "Énergie", "Logistique"]
with open(sys.argv[1], "w") as f:
    f.write("name,product_type,country,reference,notes,time_zone,trial_days,internal,"
            "admin_name,admin_email,admin_extension\n")
    for i in range(3000):
        ref = "R-%04d" % (i * 7 % 5000) if i % 2 else ""
        f.write('"%s %s %d",analytics-pro,FR,%s,,,,,Admin,admin%d@example.com,\n'
                % (w1[i % 8], w2[i * 5 % 6], i, ref, i))
PY
check "3,000 customers imported" cli import "$TMP/c.csv" >/dev/null

# what the command line (the same store query) lists for a filter
cli_names() { cli customer list --filter "$1" --limit "$2" --json |
	/usr/bin/python3 -c 'import json,sys; [print(c["name"]) for c in json.load(sys.stdin)]'; }
cli_count() { cli customer list --filter "$1" --json |
	/usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# the names on the grid's data rows (the name column is the widest at 160)
grid_names() { screen | sed -n '3,30p' | grep -v '^ *$' | sed -E 's/  .*//' | head -n "$1"; }
shows() { # shows FILTER: the title, the count and the rows are the filter's
	local f=$1 n want
	n=$(cli_count "$f")
	want=$(cli_names "$f" 10)
	screen | grep -qF "Filter: $f▏" || return 1
	screen | grep -qE "1 of $n *\$" || return 1
	[[ $(grid_names "$(printf '%s\n' "$want" | wc -l)") == "$want" ]]
}

start_console 160 32
wait_for "Acme Conseil"
keys /
# a burst: wide filters first (the slow ones), edits, the narrow one last
type_text "s"; type_text "o"; keys BSpace; type_text "e"; keys C-u
type_text "a"; type_text "c"; keys BSpace BSpace; type_text "hél"; keys BSpace
type_text "lène santé 1"
eventually "the last filter's count and rows after a burst of edits" shows "hélène santé 1"
check "no query left running: not searching" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'searching'"

# each key on its own, as fast as tmux sends them, ending on few matches
keys C-u
for c in z è b r e " " é n e r g i e " " 4; do type_text "$c"; done
eventually "typed key by key: the last filter wins" shows "zèbre énergie 4"

# wider again at the end: backspaces answered late must not win either
keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace
eventually "back to a wider filter: its count and rows" shows "zèbre "

# Esc right after typing: the answer for the typed filter, arriving after
# the grid went back to every customer, is stale and never painted
keys C-u; type_text "a"; keys BSpace; type_text "zèbre santé 9"; keys Escape
check "Esc at once: back to every customer" screen_re '1 of 3000 *$'
check "  no filter in the title" wait_gone "Filter:"
keys Down
check "  and it stays so (a late answer is dropped)" screen_re '2 of 3000 *$'
check "  the first rows are every customer's" test "$(grid_names 3)" = "$(cli_names "" 3)"
keys Home /

# Enter at once after typing: the rows of the last filter, not the old ones
keys C-u; type_text "dupont santé 11"; keys Enter Enter
first=$(cli_names "dupont santé 11" 1)
check "Enter right after typing opens the last filter's first row" wait_for "Customer: $first"
keys Escape
check "back on the grid, the filter kept" wait_for "Filter: dupont santé 11"
keys q
check "q quits with status 0" test "$(wait_exit)" = 0
finish
