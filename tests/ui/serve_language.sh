#!/usr/bin/env bash
# A link's last error is shown in the language of whoever reads it: a
# `provdesk serve` running in English (a service often has no LANG), a
# console attached to it in French. The daemon's log says why the PBX is
# down in English; the console's live panel and `pbx status` say the same
# failure in French, the system's reason ("Connexion refusée") included.
#   serve_language.sh PROVDESK
PROG=$1
source "$(dirname "$0")/lib.sh"

locale -a 2>/dev/null | grep -qix 'fr_FR\.utf-\?8' ||
	skip "the fr_FR.UTF-8 locale is not generated (.ci/deps --test generates it)"
pd_on_exit 'cli serve --stop >/dev/null 2>&1; true'

# a port nothing listens on
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '%s' 'babel-secret' >"$TMP/secret"
chmod 600 "$TMP/secret"
seed "Babel SARL" analytics-pro FR
cli pbx add "Babel SARL" --platform asterisk-ami --host 127.0.0.1 --port "$PORT" \
	--username admin --secret-file "$TMP/secret" >/dev/null

check "the daemon starts in English" env LANG=C.UTF-8 LC_ALL=C.UTF-8 LANGUAGE= "$PROG" --db "$DB" serve --detach
check "its log says why in English" \
	wait_until 30 grep -q "TCP connect to 127.0.0.1:$PORT: Connection refused" "$DB.serve.log"

FR=(LANG=fr_FR.UTF-8 LC_ALL=fr_FR.UTF-8 LANGUAGE=)
start_console 100 30 tmux-256color "${FR[@]}"
check "the French console lists the customer" wait_for "Babel SARL"
keys Enter
check "the customer view opens in French" wait_for "Fuseau horaire"
keys l
check "the live panel says the daemon's error in French" \
	wait_for "Dernière erreur : connexion TCP à 127.0.0.1:$PORT : Connexion refusée" 30
check "no English is left of it" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -qE 'TCP connect|Connection refused'"
keys Escape Escape
wait_for "Babel SARL"
keys F10
check "the console exits 0" test "$(wait_exit)" = 0

out=$(env "${FR[@]}" "$PROG" --db "$DB" pbx status "Babel SARL" 2>&1)
check "pbx status in French says it in French" \
	grep -q "connexion TCP à 127.0.0.1:$PORT : Connexion refusée" <<<"$out"
out=$(env LANG=C.UTF-8 LC_ALL=C.UTF-8 LANGUAGE= "$PROG" --db "$DB" pbx status "Babel SARL" 2>&1)
check "and in English in English, from the same bytes" \
	grep -q "TCP connect to 127.0.0.1:$PORT: Connection refused" <<<"$out"
check "serve --stop" cli serve --stop
finish
