#!/usr/bin/env bash
# The Users tab of the customer view in a real tmux: console and synced users
# with their source/link and role columns; editing a console user (the core
# checks, the error beside the field, a duplicate email, a stale version);
# removing one (asks first; the primary user and synced users stay). Each
# step is checked on screen and in the database.
#   console_users.sh PROVDESK SYNC_FIXTURE
PROG=$1
SYNC=$2
source "$(dirname "$0")/lib.sh"

# select the Users-tab row holding TEXT: Home, then Down as many rows as it is
# below the header
select_row() {
	local hdr row
	hdr=$(screen | grep -nF "Source / link" | head -1 | cut -d: -f1)
	row=$(screen | grep -nF -- "$1" | head -1 | cut -d: -f1)
	[[ -n $hdr && -n $row ]] || { echo "--- no row: $1" >&2; return 1; }
	keys Home
	for ((i = hdr + 1; i < row; i++)); do keys Down; done
}

seed "Acme Telecom" contact-centre DE --admin-extension 1001
cli user add "Acme Telecom" --name "Paul Agent" --email paul@example.com --extension 1002 \
	--role agent >/dev/null
# Two rounds against an SMTP server that is down: each tries the earliest due
# invitation (the admin's, then Paul's), which then waits for a retry.
DEAD_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[smtp]\nurl = smtp://127.0.0.1:%s\nstarttls = off\n' "$DEAD_PORT" >"$TMP/dead-smtp.conf"
for _ in 1 2; do
	"$PROG" --db "$DB" --config "$TMP/dead-smtp.conf" outbox send >/dev/null 2>&1
done
check "both invitations wait for a retry" test "$(q "select count(*) from outbox where attempts = 1 and state = 1")" = 2
cli user add "Acme Telecom" --name "Zoé Support" --email zoe@example.com --role supervisor >/dev/null
# the PBX's side: the store's own sync (what the monitor calls); two link by email
check "synced users written by the store's sync" "$SYNC" "$DB" "Acme Telecom" \
	"1001|Admin Desk Phone|ADMIN@example.com" "1002|Paul PBX|paul@example.com" "1099|Lobby Phone|"

start_console 100 30
wait_for "Acme Telecom"
keys Enter
wait_for "Customer: Acme Telecom"
keys 2
check "the Users tab shows the source / link column" wait_for "Source / link"
check "the primary user is marked" screen_re 'Admin ★ +admin@example\.com +1001 +Customer Administrator'
check "a console user linked to a synced one says so" screen_re 'Admin ★.*console ↔ PBX 1001'
check "a synced user linked by email (case folded) names its console user" \
	screen_re 'Admin Desk Phone +ADMIN@example\.com +1001 +\(no access\) +PBX ↔ Admin'
check "synced Paul links to console Paul" screen_re 'Paul PBX .*PBX ↔ Paul Agent'
check "a synced user without email is PBX only" screen_re 'Lobby Phone +1099 .*PBX only'
check "roles column" screen_re 'Zoé Support +zoe@example\.com +Supervisor +console'
check "invitation state column" screen_re 'Zoé Support .*queued'
check "an invitation waiting for a retry says so" screen_re 'Paul Agent .* retry$'

# ---- edit a console user: checks beside the fields
select_row "Paul Agent"
keys e
check "e opens the edit form of the selected user" wait_for "Edit user Paul Agent"
check "the form has the stored values" wait_for "paul@example.com"
keys Tab C-u # Display name -> Email
type_text "paul-at-example"
keys Tab # -> Extension: the email is checked as it is left
check "a bad email is refused beside the field" wait_for "is not an email address"
check "the email error is on the Email line" bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep 'Email  ' | grep -q '✗ .paul-at-example. is not an email'"
keys C-u
type_text "12a"
keys BTab # -> Email
check "the status line has the whole error of the field under the cursor" \
	wait_for "Email: 'paul-at-example' is not an email address: it has no @ (expected name@example.com)"
check "a bad extension is refused beside the field" wait_for "extension '12a' may contain only digits, * and #"
check "the extension error is on the Extension line" bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep 'Extension' | grep -q 'only digits'"
keys C-u
type_text "zoe@example.com" # well formed, but Zoé's: the store says so on save
keys Tab C-u
type_text "2002"
keys F2
check "a duplicate email is refused beside the field" wait_until "$UI_WAIT" bash -c "tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep 'Email  ' | grep -q '✗ email zoe@example.com is already'"
check "the whole duplicate error in the status line" wait_for 'Email: email zoe@example.com is already used by user "Zoé Support" of this customer'
check "nothing saved after refusals" test "$(q "select email||'|'||extension from users where display_name='Paul Agent'")" = "paul@example.com|1002"
keys BTab C-u # the refused Email has the cursor -> Display name
type_text "Paul Agent-Smith"
keys Tab C-u
type_text "paul.smith@example.com"
keys F2
check "saved: back on the Users tab" wait_for "user Paul Agent-Smith saved"
check "stored: name, email, extension" test "$(q "select display_name||'|'||email||'|'||extension||'|'||role from users where synced=0 and email like 'paul%'")" = "Paul Agent-Smith|paul.smith@example.com|2002|agent"
check "the audit has the change" test "$(q "select count(*) from audit where object='user' and action='update' and detail like '%paul.smith@example.com%'")" = 1
check "the new email no longer links the synced Paul" wait_for "Paul PBX"
check "synced Paul is PBX only now" screen_re 'Paul PBX .*PBX only'

# ---- a stale edit: another console changed the user meanwhile
select_row "Zoé Support"
keys e
wait_for "Edit user Zoé Support"
cli user update "Acme Telecom" zoe@example.com --name "Zoé Elsewhere" >/dev/null
keys C-u
type_text "Zoé Here"
keys F2
check "a stale version is refused, naming the change" wait_for "was changed by someone else"
check "the other console's change stays" test "$(q "select display_name from users where email='zoe@example.com'")" = "Zoé Elsewhere"
keys Escape
wait_for "Discard" && keys y
wait_for "Source / link"

# ---- remove: asks; No keeps; Yes removes
select_row "Zoé Elsewhere"
keys d
check "d asks before removing" wait_for "Remove Zoé Elsewhere <zoe@example.com> from this customer?"
keys n
wait_gone "from this customer?"
check "No keeps the user" test "$(q "select count(*) from users where email='zoe@example.com'")" = 1
keys d
wait_for "from this customer?"
keys y
check "removed: status line" wait_for "user Zoé Elsewhere removed"
check "removed from the database" test "$(q "select count(*) from users where email='zoe@example.com'")" = 0
check "the removal is audited" test "$(q "select count(*) from audit where object='user' and action='delete'")" = 1
check "the list no longer shows it" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'Zoé Elsewhere  *zoe@'"

# ---- the primary user and synced users cannot be removed (the store's rule)
select_row "Admin ★"
keys d
check "the primary user cannot be removed" wait_for "is the primary user (Customer Administrator) and cannot be removed"
check "the primary user is still stored" test "$(q "select count(*) from users where is_primary=1")" = 1
select_row "Lobby Phone"
keys d
check "a synced user is removed on the PBX, not here" wait_for "is synced from the PBX; remove it on the PBX"
check "the synced user is still stored" test "$(q "select count(*) from users where endpoint='1099'")" = 1
select_row "Lobby Phone"
keys e
check "a synced user is not edited here" wait_for "is synced from the PBX: change it on the PBX"
check "no edit form opened" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -q 'Edit user Lobby'"

# ---- the primary user's email edited: the link follows the email, then
# the extension (the phone's endpoint 1001 is the admin's extension)
select_row "Admin ★"
keys e
wait_for "Edit user Admin"
keys Tab C-u
type_text "boss@example.com"
keys F2
check "primary user saved" wait_for "user Admin saved"
check "the primary keeps its role" test "$(q "select role||'|'||email from users where is_primary=1")" = "customer-admin|boss@example.com"
check "the synced phone stays linked by the extension" screen_re 'Admin Desk Phone .*PBX ↔ Admin'
select_row "Admin ★"
keys e
wait_for "Edit user Admin"
keys Tab Tab C-u
keys F2
check "extension cleared: the synced phone is no longer linked" screen_re 'Admin Desk Phone .*PBX only'
check "the extension is gone" test "$(q "select coalesce(extension, '-') from users where is_primary=1")" = "-"

# ---- help lists the new keys from the table
keys F1
check "help lists remove-user" screen_re 'd, Del, F8 +remove-user'
keys Escape
wait_gone "== Customer view"
# ---- 80x24: the columns still fit
T resize-window -t t -x 80 -y 24
check "80x24: name and link columns shown" wait_for "Source / link"
check "80x24: rows still show their role" screen_re 'Admin ★ .*Customer Admi'

keys F10
check "quits cleanly" test "$(wait_exit)" = 0
finish
