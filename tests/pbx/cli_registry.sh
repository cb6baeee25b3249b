#!/usr/bin/env bash
# A platform is supported when a driver is registered (src/pbx/registry.c),
# whatever a catalogue file says: a catalogue in the config directory that
# marks asterisk-ami unsupported and a platform without a driver supported changes
# nothing in what the program offers and allows.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
PROG=${1:?usage: $0 PATH/TO/provdesk}
pd_tmpdir pd-registry
pd_on_exit "rm -rf '$TMP'"
pd_pin_clock
mkdir -p "$XDG_CONFIG_HOME/provdesk"
/usr/bin/python3 - "${PROVDESK_DATADIR:-data}/catalogue.json" "$XDG_CONFIG_HOME/provdesk/catalogue.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for p in c["platforms"]:
    p["supported"] = p["key"] != "asterisk-ami"
c["platforms"].append({"key": "example-pbx", "name": "Example PBX", "supported": True,
                       "fields": [{"key": "host", "label": "Host", "required": True}]})
json.dump(c, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
PY
check "the file says the opposite" grep -q '"supported": false' "$XDG_CONFIG_HOME/provdesk/catalogue.json"
pd() { "$PROG" --db "$DB" "$@"; }
pdq() { pd "$@" >"$TMP/out" 2>&1; }
# asterisk-ami has a driver, example-pbx has none (the file says the
# opposite of both)
supported() {
	pd catalogue platforms --json | /usr/bin/python3 -c "
import json, sys
d = {p['key']: p['supported'] for p in json.load(sys.stdin)['platforms']}
print(str(d['asterisk-ami']).lower(), str(d['example-pbx']).lower())"
}
eq "supported comes from the registry" "$(supported)" "true false"
pd customer create --name "Registre SA" --product-type analytics-pro --country FR \
	--admin-name "Rémi Admin" --admin-email remi@example.fr >/dev/null 2>&1
eq "and is what the database keeps" \
	"$(q "SELECT group_concat(key || '=' || supported, ' ') FROM platforms
	      WHERE key IN ('asterisk-ami', 'example-pbx') ORDER BY key")" \
	"asterisk-ami=1 example-pbx=0"
printf 'S3cret-Reg\n' >"$TMP/secret"
check "an Asterisk connection can be enabled" pdq pbx add "Registre SA" --platform asterisk-ami \
	--host 127.0.0.1 --port 1 --username admin --secret-file "$TMP/secret"
finish
