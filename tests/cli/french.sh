#!/usr/bin/env bash
# The command line in French (issue 20): with LANG=fr_FR.UTF-8 the help,
# usage errors, the rules' errors and customer show's labels are French;
# --json keeps its keys, codes, fields and data exactly as in English (only
# an error's message is translated). English stays the fallback.
source "$(dirname "$0")/lib.sh"

# fr_FR.UTF-8 as the system has it, else generated into the test's own
# folder (localedef + LOCPATH: no root needed), else skipped.
if locale -a 2>/dev/null | grep -qix 'fr_FR.utf-\?8'; then
	:
elif command -v localedef >/dev/null &&
	mkdir -p "$TMP/locales" &&
	localedef -i fr_FR -f UTF-8 "$TMP/locales/fr_FR.UTF-8" >/dev/null 2>&1; then
	export LOCPATH=$TMP/locales
else
	skip "the fr_FR.UTF-8 locale is not generated (Debian: the locales package)"
fi
fr() { LANG=fr_FR.UTF-8 LC_ALL= LANGUAGE= run "$@"; }
en() { LANG=C.UTF-8 LC_ALL= LANGUAGE= run "$@"; }

# ---- help ----
fr --help
expect "--help in French" 0 "Sans commande, ouvre la console. Commandes :"
expect "the dispatcher table's summaries" 0 "gérer les clients"
expect "the global options" 0 "Options globales (avant la commande) :"
check "command names stay as typed" grep -q "  customer list|show|create" "$TMP/out"
fr customer create --help
expect "a command's help" 0 "Crée un client et son utilisateur principal"
en --help
expect "C.UTF-8: English" 0 "Without a command, opens the console. Commands:"
LANG=de_DE.UTF-8 LC_ALL= run --help
expect "a language without a catalogue: English" 0 "Without a command, opens the console."

# ---- usage errors, naming the field ----
fr customer create --name X --product-type analytics-pro --country FR --admin-name A
expect "missing option: exit 64, in French" 64 "" "customer create : --admin-email manquant (voir --help)"
fr customer create --name X --product-type analytics-pro --country FR --admin-name A --json
jeq "--json usage error: the code stays" 'd["error"]["code"]' usage
jeq "--json usage error: the field stays" 'd["error"]["field"]' admin_email
jeq "--json usage error: the message is French" 'd["error"]["message"]' "customer create : --admin-email manquant (voir --help)"
fr customer list --bogus
expect "unknown option in French" 64 "" "customer list : option inconnue « --bogus »"
fr frobnicate
expect "unknown command in French" 64 "" "commande inconnue « frobnicate »"

# ---- a rule of core, in French ----
fr customer create --name X --product-type analytics-pro --country FR --admin-name A \
	--admin-email 'a b@x.example'
expect "invalid email: exit 65, in French" 65 "" "l'adresse e-mail ne doit pas contenir d'espaces"
fr customer create --name X --product-type analytics-pro --country Atlantide --admin-name A \
	--admin-email a@x.example --json
jeq "core error: field stays" 'd["error"]["field"]' country
jeq "core error: code stays" 'd["error"]["code"]' invalid
check "core error: message in French" grep -q "pays inconnu « Atlantide »" "$TMP/out"
fr customer create --name X --product-type analytics-pro --country FR --admin-name A \
	--admin-email a@x.example --locale xx_YY
expect "a bad locale, in French" 65 "" "xx_YY n'est pas une locale prise en charge"

# ---- customer show in French; --json identical to English ----
fr customer create --name "Société Dupont" --product-type analytics-pro --country FR \
	--admin-name "Hélène" --admin-email helene@dupont.example
expect "create: the confirmation in French" 0 "Client créé : Société Dupont (tenant"
expect "create: the invitation line in French" 0 "Invitation pour helene@dupont.example mise dans la boîte d'envoi."
fr customer show "Société Dupont"
expect "show: labels in French" 0 "Nom :             Société Dupont"
for label in "Type de produit : analytics-pro" "Pays :            FR" "Locale :          fr_FR" \
	"Statut :          actif" "Utilisateurs (1) :" "NOM" "E-MAIL"; do
	check "show: '$label'" grep -qF "$label" "$TMP/out"
done
check "show: no English label left" bash -c "! grep -qE '^(Name|Product type|Country|Status|Time zone):' '$TMP/out'"
check "show: the users table's words" grep -qE "^#1 +Hélène +helene@dupont.example +Administrateur client +en file +principal *$" "$TMP/out"
check "show: no PBX, in French" grep -qxF "  aucun" "$TMP/out"
# the country's name in the language of the messages, from iso-codes
fr customer create --name "Müller GmbH" --product-type analytics-pro --country DE \
	--admin-name "Jörg" --admin-email joerg@mueller.example
fr customer show "Müller GmbH"
expect "show: a country's French name" 0 "Pays :            DE (Allemagne)"
en customer show "Müller GmbH"
expect "show: its English name in English" 0 "Country:          DE (Germany)"
fr customer list
expect "list: French headers" 0 "TYPE DE PRODUIT"
for cmd in "customer show Société\ Dupont" "customer list" "catalogue countries"; do
	eval "fr $cmd --json"
	cp "$TMP/out" "$TMP/fr.json"
	eval "en $cmd --json"
	check "--json '$cmd' byte-identical in French and English" cmp -s "$TMP/fr.json" "$TMP/out"
done
fr customer show "Société Dupont" --json
jeq "json: status is data, not translated" 'd["status"]' active
en customer show "Société Dupont"
expect "English again without LANG" 0 "Name:             Société Dupont"
# ---- pbx: a usage error, show's labels and status in French (issue 20) ----
fr pbx add "Société Dupont"
expect "pbx add without a platform: exit 64, in French" 64 "" \
	"pbx add : donnez --template NOM, ou --platform CLÉ --host HÔTE --port PORT --username LOGIN"
printf 'not-a-real-secret\n' >"$TMP/pbx-secret"
fr pbx add "Société Dupont" --platform asterisk-ami --host 127.0.0.1 --port 5038 \
	--username admin --secret-file "$TMP/pbx-secret" --disabled
expect "pbx add: the confirmation in French" 0 "Connexion PBX ajoutée."
for label in "Plateforme :      asterisk-ami" "Hôte :            127.0.0.1" "Login :           admin" \
	"Secret :          (défini ; jamais affiché)" "Activée :         non" "Statut :          désactivé"; do
	check "pbx add: '$label'" grep -qF "$label" "$TMP/out"
done
check "pbx add: the secret never shown" bash -c "! grep -q not-a-real-secret '$TMP/out'"
fr pbx add "Société Dupont" --platform asterisk-ami --host 127.0.0.1 --port 5038 \
	--username admin --secret-file "$TMP/pbx-secret" --disabled
expect "a store rule in French: one PBX per customer" 65 "" \
	"ce client a déjà une connexion PBX (une par client)"
fr pbx update "Société Dupont" --host 'bad host!'
expect "a core rule in French: the host name" 65 "" "l'hôte « bad host! » contient"
fr pbx status "Société Dupont"
expect "pbx status: labels in French" 0 "Client :      Société Dupont"
check "pbx status: the PBX line" grep -qF "PBX :         127.0.0.1:5038 (désactivé)" "$TMP/out"
en pbx status "Société Dupont"
expect "pbx status: English without LANG" 0 "Customer:     Société Dupont"
fr pbx status "Société Dupont" --json
cp "$TMP/out" "$TMP/fr.json"
en pbx status "Société Dupont" --json
check "--json 'pbx status' byte-identical in French and English" cmp -s "$TMP/fr.json" "$TMP/out"
# ---- provdesk serve: the daemon's messages in French ----
fr serve --stop
expect "serve --stop without a daemon: exit 69, in French" 69 "" \
	"aucun provdesk serve ne tourne pour"
en serve --stop
expect "serve --stop: English without LANG" 69 "" "no provdesk serve runs for"

# ---- pbx test: the driver's step names and its failure in French ----
fr pbx update "Société Dupont" --port 1
fr pbx test "Société Dupont"
expect "pbx test on a closed port: exit 69, the driver's steps in French" 69 \
	"ok   résolution nom" "échec de connexion TCP : 127.0.0.1:1: "
# the details line up: step names are padded by display width, not bytes
# ("ok   " or "FAIL ", 16 columns of name, a space: the detail at column 22)
check "pbx test: the steps' details start in one column in French" python3 -c '
import sys
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l[:4] in ("ok  ", "FAIL")]
sys.exit(len(lines) < 2 or any(l[21] != " " or l[22] == " " for l in lines))' "$TMP/out"
fr pbx test "Société Dupont" --json
jeq "pbx test --json: the step's name stays as the driver names it" 'd["failed_step"]' "TCP connect"
finish
