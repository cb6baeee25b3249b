#!/usr/bin/env bash
# A database provdesk creates is its owner's alone (0600) whatever the folder
# and the umask: a setgid (group-shared) folder and umask 002 do not widen it,
# nor its key, WAL and lock files. An existing database keeps the mode its
# admin gave it, and a key made later follows it (docs/user-guide.md, "Sharing
# a database").
source "$(dirname "$0")/lib.sh"

mode() { stat -c %a "$1"; }
export PD_TEST_SECRET=mode-test-secret

TEAM="$TMP/team"
mkdir "$TEAM"
chmod 2770 "$TEAM"
eq "the folder is setgid and group-writable" "$(mode "$TEAM")" 2770
SDB="$TEAM/shared.db"
sdb() { (umask 002 && "$PROVDESK" --db "$SDB" --config "$CONF" "$@") >"$TMP/out" 2>"$TMP/err"; RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err"); }

sdb customer create --name "Mode Un" --product-type analytics-pro --country FR \
	--admin-name A --admin-email a@mode.example
expect "created in a setgid folder under umask 002" 0
eq "the new database is 0600" "$(mode "$SDB")" 600
sdb pbx add "Mode Un" --platform asterisk-ami --host 127.0.0.1 --port 5038 --username admin \
	--secret-env PD_TEST_SECRET --disabled
expect "a PBX secret makes the key" 0
eq "its key is 0600 too" "$(mode "$SDB.key")" 600
for f in "$SDB-wal" "$SDB-shm" "$SDB"-*.lock; do
	[[ -e $f ]] && eq "$(basename "$f") has no group or other bits" "$(( 8#$(mode "$f") & 8#077 ))" 0
done

# plain folder, umask 000: still 0600
PDB="$TMP/plain/open.db"
(umask 000 && "$PROVDESK" --db "$PDB" --config "$CONF" customer list >/dev/null 2>&1)
eq "umask 000 does not widen a new database" "$(mode "$PDB")" 600

# the admin shares an existing database: its mode is kept, the key follows it
chmod 660 "$SDB"
rm -f "$SDB.key"
sdb customer create --name "Mode Deux" --product-type analytics-pro --country FR \
	--admin-name B --admin-email b@mode.example
expect "a shared database opens" 0
eq "an existing database keeps its mode" "$(mode "$SDB")" 660
sdb pbx add "Mode Deux" --platform asterisk-ami --host 127.0.0.1 --port 5038 --username admin \
	--secret-env PD_TEST_SECRET --disabled
expect "a secret on the shared database" 0
eq "a key made then follows the database's mode" "$(mode "$SDB.key")" 660

finish
