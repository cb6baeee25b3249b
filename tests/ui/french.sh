#!/usr/bin/env bash
# The console in French (issue 20): LANG=fr_FR.UTF-8 at 80x24 shows the
# grid (its reload's status word too), the help, the key bar, the wizard's
# steps 1-4 (a French validation error included), a customer view (its help
# notes reflowed), the live panel and the NOC in French, and nothing is cut
# at 80 columns (the key bar's labels whole, the table titles whole). The
# same console under C.UTF-8 stays English.
#   french.sh PROVDESK
PROG=$1
source "$(dirname "$0")/lib.sh"

locale -a 2>/dev/null | grep -qix 'fr_FR\.utf-\?8' ||
	skip "the fr_FR.UTF-8 locale is not generated (.ci/deps --test generates it)"

printf '%s' 'french-secret' >"$TMP/secret"
chmod 600 "$TMP/secret"
LAB_PID=
pd_on_exit '[[ -n $LAB_PID ]] && { kill "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; }; true'
"$PROG" lab-pbx --listen 127.0.0.1:0 --secret-file "$TMP/secret" --users 4 --queues 1 \
	--call-rate 0 --seed 7 --json >"$TMP/lab.json" 2>"$TMP/lab.err" &
LAB_PID=$!
check "lab PBX starts" wait_until 10 grep -q '"port"' "$TMP/lab.json"
LAB_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$TMP/lab.json")
seed "Acme Télécom" contact-centre FR
seed "Bravo SARL" analytics-pro DE --reference REF-B-001
cli pbx add "Acme Télécom" --platform asterisk-ami --host 127.0.0.1 --port "$LAB_PORT" \
	--username admin --secret-file "$TMP/secret" >/dev/null

FR=(LANG=fr_FR.UTF-8 LC_ALL=fr_FR.UTF-8 LANGUAGE=)
last_line() { screen | tail -1; }
# every line of the screen fits 80 cells (tmux cuts nothing itself: a line
# wider than the pane wraps, and a wrapped key bar would push lines up)
lines_fit() {
	screen | /usr/bin/python3 -c 'import sys
sys.exit(any(len(l.rstrip("\n")) > 80 for l in sys.stdin.read().split("\n")))'
}
# the key bar (the last line) holds each KEY+LABEL whole, in order
bar_has() { # bar_has "F1Aide" "F10Quitter" ...
	local re="" p
	for p in "$@"; do re+="${re:+ +}$p"; done
	last_line | grep -qE -- "^$re *\$" ||
		{ echo "--- key bar: [$(last_line)] wanted /$re/" >&2; return 1; }
}
# no header line (the line under the title) is cut with an ellipsis
header_whole() { ! screen | sed -n "${1:-2}p" | grep -q '…'; }

# ---- the grid
start_console 80 24 tmux-256color "${FR[@]}"
check "the grid's title is French" wait_for "provdesk — Clients"
check "the grid's column titles are French and whole" \
	screen_re "^Nom▲ +Produit +Référence +Pays +Statut +PBX +Util\. +Appels +Agents *$"
check "the grid's header is not cut" header_whole 2
check "the position is French" screen_re "1 sur 2 *$"
check "a status is French" wait_for "actif"
check "the PBX column's word is French and whole at 80 columns" \
	wait_until 20 screen_re "^Acme Télécom .* (suivi|surveillance) "
check "the key bar is French, each label whole" \
	bar_has F1Aide F3Filtrer F5Modèles F6Tri F7Nouveau F8Catal\\. F9Effacés F10Quitter
check "the grid's lines fit 80 columns" lines_fit
keys r
check "the reload's status word is French (a single word, marked too)" wait_for "rechargé"

# ---- the help
keys F1
check "the help is French" wait_for "Aide — Esc ou q ferme"
check "the help's context titles are French" wait_for "== Grille des clients =="
check "the actions' help is French" wait_for "Filtrer à la frappe"
check "the help's key bar is French" bar_has EscFermer F10Quitter
check "the help's lines fit 80 columns" lines_fit
keys Escape
wait_gone "Aide — Esc"

# ---- the wizard, steps 1 to 4 and the summary
keys n
check "the wizard's title is French" wait_for "Nouveau client — étape 1 sur 4"
check "the steps are French" wait_for "1 Détails du client › 2 Utilisateur › 3 PBX › 4 Rôles › Récapitulatif"
check "the wizard's buttons are French" wait_for "[ Suivant > ] [ Annuler ]"
check "the wizard's key bar is French" bar_has F1Aide F4Choix F6Suivant EscAnnuler
keys F6
check "a French validation error on an empty country" wait_for "✗ tapez une partie de son"
check "a French validation error on an empty product type" wait_for "✗ choisissez un type de"
check "the count of fields to fix is French" wait_for "3 champs à corriger avant de continuer"
check "the wizard's lines fit 80 columns" lines_fit
type_text "Société Démo"
keys Tab
type_text "allem"
keys Tab
wait_for "Allemagne / Germany (DE)"
wait_for "Europe/Berlin"
check "the locale's choice is French" wait_for "de_DE (par défaut)"
keys Tab Tab Enter
check "the pick list's prompt is French" wait_for "Tapez pour filtrer, Entrée pour choisir"
type_text "Analytics Pro"
keys Enter
check "the trial toggle's label is French" wait_for "Essai"
keys F6
check "step 2 is French" wait_for "Nouveau client — étape 2 sur 4"
check "step 2's note is French" wait_for "Un e-mail d'invitation part vers cet utilisateur"
type_text "Hélène Dupré"
keys Tab
type_text "helene@example.de"
keys F6
check "step 3 is French" wait_for "Nouveau client — étape 3 sur 4"
check "step 3's fields are French" wait_for "Connecter un PBX"
check "the step bar shows step 3 in French" wait_for "3 Détails du PBX"
# no PBX now: the toggle off, then on
keys Space
keys F6
check "step 4 is French" wait_for "Nouveau client — étape 4 sur 4"
check "step 4's title is French" wait_for "4 Attribution des rôles"
check "step 4's key bar has the users' keys in French" \
	bar_has F1Aide F4Choix F5Retour F6Suivant F7Ajout F8Retrait EscAnnuler
check "step 4's lines fit 80 columns" lines_fit
keys F6
check "the summary is French" wait_for "Nouveau client — récapitulatif"
check "the summary's labels are French" wait_for "Type de produit Analytics Pro"
check "the create button is French" wait_for "Créer le client"
keys Escape
check "leaving asks in French" wait_for "Quitter l'assistant ?"
keys d
wait_for "provdesk — Clients"

# ---- a customer view
keys Enter
check "the customer view is French" wait_for "Client : Acme Télécom"
check "the tabs are French" wait_for "1 Détails   2 Utilisateurs   3 PBX   4 Rôles   5 Activité"
check "the details' labels are French" wait_for "Fuseau horaire"
check "the customer view's key bar is French" \
	bar_has F1Aide F2Actions F4Modifier F7Ajouter EscRetour F10Quitter
keys 2
check "the users' column titles are French" screen_re "^Nom +E-mail +Poste +Rôle +Source / lien"
check "the customer view's lines fit 80 columns" lines_fit
check "the users' roles are the catalogue's, in French" wait_for "Administrat"
keys 3
check "the PBX tab's catalogue labels are French" wait_for "Vérif. cert. TLS"
check "the PBX tab's yes and no are French" screen_re "^ *Activée +oui"
check "the PBX tab's lines fit 80 columns" lines_fit
keys F1
check "the customer view's help notes are French" wait_for "Un client. Tab/Maj-Tab"
# the notes are reflowed to the width: the translation's own line breaks
# (before "; " or ": " in French typography) never start a line
check "the help's notes start no line with punctuation" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -qE '^[;:/]'"
check "the help's notes keep a label and its colon together" wait_for "Utilisateurs : + ajoute"
check "the help's lines fit 80 columns" lines_fit
keys Escape
wait_gone "Un client. Tab/Maj-Tab"

# ---- the live panel
keys l
check "the live panel is French" wait_for "Direct — Acme Télécom"
check "the live panel shows the lab's agents" wait_for "David Cohen" 30
check "the agents' states are French" wait_for "Disponible"
check "the agents' column titles are French and whole" screen_re "^Agents \\([0-9/]+\\) +Interface +Files +État +Depuis *$"
check "the calls' column titles are French" screen_re "^Appels \\([0-9]+\\) +Dest\\. +Sens +État +File +Agent +Durée *$"
check "the panels' tabs are French and whole" screen_re "^  Appels et agents +Utilisateurs *$"
check "the live panel's key bar is French" bar_has F1Aide TabPanneau sResynchro EscRetour F10Quitter
check "the live panel's lines fit 80 columns" lines_fit
keys Tab Tab # calls, agents, users
check "the phones' device states are French" wait_for "Libre"
check "no device state is left in English" bash -c "! tmux -S '$TMP/tmux.sock' capture-pane -p -t t | grep -qE 'Not in use|Unavailable'"
keys F10
check "the console exits 0" test "$(wait_exit)" = 0

# ---- the NOC
start_console 80 24 tmux-256color "${FR[@]}" -- --noc
check "the NOC is French" wait_for "provdesk NOC (lecture seule)"
check "the NOC's column titles are French and whole" \
	screen_re "^Client +État PBX +Appels +Att\. +Disp\. +Occ\. +Post +Indisp +Déco +Erreur"
check "the NOC's header is not cut" header_whole 4
check "the NOC's key bar is French" bar_has F1Aide pPause nSuiv\\. NPréc\\. EnterDirect F10Quitter
check "the NOC's lines fit 80 columns" lines_fit
keys q
wait_exit >/dev/null

# ---- the same console under C.UTF-8 stays English
start_console 80 24
check "C.UTF-8: the grid is English" wait_for "provdesk — Customers"
check "C.UTF-8: the key bar is English" \
	bar_has F1Help F3Filter F5Templ F6SortBy F7New F8Catalog F9Deleted F10Quit
keys F10
wait_exit >/dev/null
finish
