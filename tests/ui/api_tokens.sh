#!/usr/bin/env bash
# The API tokens screen (T on the grid; issue 18) at 80x24: the tokens
# `provdesk api-token` made are listed (name, scope, created, by whom; never
# a secret); creating one asks a name (a bad one refused naming the rule)
# and a scope, shows the secret once in a dialog with the warning, and the
# CLI sees the token and the secret works against the store; the secret is
# on no screen after the dialog closes; revoking asks first, and the CLI
# sees it revoked. The help and the palette list the screen.
PROG=$1
source "$(dirname "$0")/lib.sh"

seed "Acme Telecom" contact-centre DE
cli api-token create --name billing-run --scope billing >/dev/null
start_console 80 24
wait_for "Acme Telecom"

# ---- the help lists it
keys F1
wait_for "keys (rebind"
for _ in $(seq 12); do
	screen | grep -q "api-tokens" && break
	keys NPage
	sleep 0.2
done
check "the grid's help lists the tokens screen" screen_re '^  T +api-tokens +API tokens of the HTTP API'
keys Escape
wait_gone "keys (rebind"

# ---- the list
keys T
check "T opens the API tokens screen" wait_for "API tokens — the client systems"
check "the CLI's token is listed with its scope" screen_re '^billing-run +billing +2026-'
check "… created by the OS user" screen_re "^billing-run +billing +[0-9 :-]+ +$(id -un)"

# ---- create: a bad name, then crm with scope provision
keys a
check "a asks the name" wait_for "Name of the client system"
type_text "bad name!"
keys Enter
check "a bad name is refused naming the rule" wait_for "name"
screen >"$TMP/bad.txt"
check "… with the allowed characters" grep -qiE 'letters|characters|A-Za-z' "$TMP/bad.txt"
check "… on the tokens screen still" wait_for "API tokens — the client systems"
keys a
wait_for "Name of the client system"
type_text "crm"
keys Enter
check "then the scope" wait_for "Scope of the new token"
type_text "provision"
keys Enter
check "the secret is shown once, in a dialog" wait_for "shown once"
check "… with the warning" wait_for "it will not be"
SECRET=$(screen | grep -oE 'pdk_[0-9a-f]+' | head -1)
# the dialog may wrap the secret: take the whole token from the screen's text
if [[ ${#SECRET} -lt 68 ]]; then
	SECRET=$(screen | tr -d '\n│ ' | grep -oE 'pdk_[0-9a-f]{64}' | head -1)
fi
check "… the whole secret (pdk_ and 64 hex digits)" eval '[[ ${#SECRET} == 68 ]]'
keys Enter
wait_gone "shown once"
check "crm is listed, scope provision" wait_for "crm"
check "… its line" screen_re '^crm +provision +2026-'
check "the secret is on no screen once the dialog closed" eval '! screen | grep -q pdk_'
cli --json api-token list >"$TMP/list.json"
check "the CLI lists crm with scope provision" \
	jq -e '.[] | select(.name == "crm" and .scope == "provision")' "$TMP/list.json"
check "… no secret in its list either" eval '! grep -q "${SECRET:-pdk_}" "$TMP/list.json"'
check "the store knows the secret's hash (the secret is the token's)" \
	q_is "select count(*) from api_tokens where name = 'crm' and revoked_at is null and hash = '$(printf %s "$SECRET" | sha256sum | cut -d' ' -f1)'" 1

# ---- revoke: asks first; No keeps it
keys Home
wait_for "billing-run"
# the last line: crm or billing-run, whichever the store lists last
keys End
keys d
check "d asks before revoking" wait_for "Revoke the API token"
confirm_name=$(screen | grep -oE "Revoke the API token '[^']+'" | head -1 | sed "s/.*'\(.*\)'/\1/")
keys n
wait_gone "Revoke the API token"
check "No: $confirm_name is kept" screen_re "^$confirm_name "
keys d
wait_for "Revoke the API token '$confirm_name'"
keys y
gone_line() { ! screen | grep -qE "^$1 "; }
eventually "Yes: $confirm_name leaves the list" gone_line "$confirm_name"
cli --json api-token list >"$TMP/list2.json"
check "the CLI no longer lists $confirm_name as live" \
	eval "! jq -e '.[] | select(.name == \"$confirm_name\" and (.revoked_at // null) == null)' '$TMP/list2.json' >/dev/null"
check "the audit log has the revocation by the console's user" \
	q_is "select count(*) from audit where object = 'api_token' and action = 'revoke'" 1

# ---- the palette reaches it from the grid
keys Escape
wait_for "Acme Telecom"
keys :
type_text "api-tokens"
check "the palette offers the tokens screen" wait_for "api-tokens"
keys Escape
keys F10
check "the console quits" test "$(wait_exit)" = 0
finish
