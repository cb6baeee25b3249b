#!/usr/bin/env bash
# Platform fields on the command line from the catalogue (issue 13, part 1,
# item 5): --param KEY=VALUE and the long options named after the fields,
# for pbx add/update and template add/update; checked and stored typed by the
# core; every bad input a usage error (64) or a rule (65) naming the field;
# a secret never taken nor echoed; --help lists each platform's fields.
source "$(dirname "$0")/lib.sh"

run customer create --name "Xsi Corp" --product-type analytics-pro --country FR \
	--admin-name "Xavier Admin" --admin-email xavier@xsi.example
expect "customer for BroadWorks" 0
run customer create --name "Switch SA" --product-type analytics-pro --country FR \
	--admin-name "Sara Admin" --admin-email sara@switch.example
expect "customer for FreeSWITCH" 0
run customer create --name "Astérix SARL" --product-type analytics-pro --country FR \
	--admin-name "Alix Admin" --admin-email alix@asterix.example
expect "customer for Asterisk" 0
printf 'S3cret-Param-42\n' >"$TMP/secret"
params_of() { q "SELECT params_json FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = '$1')"; }
version_of() { q "SELECT version FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = '$1')"; }

# ---- help: every platform's fields, from the catalogue ----
for cmd in "pbx add" "pbx update" "template add" "template update"; do
	run $cmd --help
	expect "$cmd --help" 0 "--param KEY=VALUE"
	check "$cmd --help lists BroadWorks' enterprise id" grep -qF -- "--enterprise-id TEXT" "$TMP/out"
	check "$cmd --help lists an AMI bool field" grep -qF -- "--tls-verify[=BOOL] | --no-tls-verify" "$TMP/out"
	check "$cmd --help lists a bounded int field" grep -qF -- "--wrapup-time N (0-3600)" "$TMP/out"
	check "$cmd --help lists FreeSWITCH" grep -qF -- "freeswitch-esl (FreeSWITCH (event socket))" "$TMP/out"
done
# a field added to the catalogue appears in the help with no code change
/usr/bin/python3 - "$(dirname "$0")/../../data/catalogue.json" "$TMP/catalogue.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for p in c["platforms"]:
    if p["key"] == "freeswitch-esl":
        p["fields"].append({"key": "event_profile", "label": "Event profile", "required": False})
json.dump(c, open(sys.argv[2], "w"))
PY
run pbx add --help
expect "a field from the catalogue file" 0 "--event-profile TEXT"
rm -f "$TMP/catalogue.json"

# ---- BroadWorks: --enterprise-id completes the connection ----
run pbx add "Xsi Corp" --platform broadworks-xsi --host xsi.example.net --username admin \
	--enterprise-id ENT-1 --param group_id=GRP-7 --disabled
expect "pbx add broadworks-xsi with --enterprise-id and --param group_id" 0 "enterprise_id:    ENT-1"
check "pbx add shows group_id" grep -qF "group_id:         GRP-7" "$TMP/out"
check "stored in params_json" q_is "SELECT params_json FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = 'Xsi Corp')" '{"enterprise_id":"ENT-1","group_id":"GRP-7"}'
run pbx show "Xsi Corp" --json
expect "pbx show --json" 0
jeq "--json lists the platform's fields" '[f["key"] for f in d["fields"]]' '["host", "port", "tls", "username", "secret", "enterprise_id", "group_id", "xsp_hosts", "tls_verify", "tls_ca_file"]'
jeq "--json field values" '{f["key"]: f.get("value") for f in d["fields"] if not f.get("secret")}' \
	'{"host": "xsi.example.net", "port": 443, "tls": true, "username": "admin", "enterprise_id": "ENT-1", "group_id": "GRP-7", "xsp_hosts": null, "tls_verify": null, "tls_ca_file": null}'
jeq "--json secret field says only whether one is set" '[f for f in d["fields"] if f["key"] == "secret"][0]' \
	'{"key": "secret", "label": "Password", "type": "text", "required": true, "secret": true, "set": false}'
jeq "--json field type, required and default" '[f for f in d["fields"] if f["key"] == "port"][0]' \
	'{"key": "port", "label": "Port", "type": "int", "required": true, "value": 443, "default": 443}'
run pbx show "Xsi Corp"
expect "pbx show text lists the fields" 0 "enterprise_id:    ENT-1"
run pbx update "Xsi Corp" --param enterprise_id=ENT-2 --group-id '' --json
expect "pbx update with the stored platform's fields" 0
jeq "updated; '' removed group_id" 'd["params"]' '{"enterprise_id": "ENT-2"}'
run pbx update "Xsi Corp" --param group-id=GRP-8 --json
expect "--param KEY with - for _" 0
jeq "group_id set" 'd["params"]["group_id"]' "GRP-8"
run pbx update "Xsi Corp" --param tls=yes --param port=8443 --param host=xsi2.example.net --param username=root --json
expect "the connection's own fields as --param" 0
jeq "host, port, tls and username set" '[d["host"], d["port"], d["tls"], d["username"]]' '["xsi2.example.net", 8443, true, "root"]'
# refused: a required field missing (enabled or not)
run pbx add "Switch SA" --platform broadworks-xsi --host xsi.example.net --username a \
	--secret-file "$TMP/secret" --json
expect "an enabled BroadWorks link without enterprise_id" 65
jeq "names enterprise_id" 'd["error"]["field"]' "enterprise_id"
run pbx add "Switch SA" --platform broadworks-xsi --host xsi.example.net --username a --disabled --json
expect "enterprise_id required" 65
jeq "names enterprise_id" 'd["error"]["field"]' "enterprise_id"

# ---- FreeSWITCH: host, port, secret only ----
run pbx add "Switch SA" --platform freeswitch-esl --host fs.example.net --param nosuch=1 --disabled
expect "unknown key for the platform" 64 "" "--param nosuch: platform freeswitch-esl has no field 'nosuch' (fields: host, port, secret)"
run pbx add "Switch SA" --platform freeswitch-esl --host fs.example.net --enterprise-id E --disabled --json
expect "another platform's long option" 64
jeq "names the option and the field" 'd["error"]["message"]' "--enterprise-id: platform freeswitch-esl has no field 'enterprise_id' (fields: host, port, secret)"
jeq "field is enterprise_id" 'd["error"]["field"]' "enterprise_id"
run pbx add "Switch SA" --platform freeswitch-esl --host fs.example.net --username u --disabled
expect "--username where the platform has none" 64 "" "--username: platform freeswitch-esl has no field 'username'"
run pbx add "Switch SA" --platform freeswitch-esl --host fs.example.net --tls --disabled
expect "--tls where the platform has none" 64 "" "platform freeswitch-esl has no field 'tls'"
check "nothing added" q_is "SELECT count(*) FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = 'Switch SA')" 0
run pbx add "Switch SA" --platform freeswitch-esl --param host=fs.example.net --param port=8022 --disabled --json
expect "FreeSWITCH with --param host/port" 0
jeq "host and port" '[d["host"], d["port"]]' '["fs.example.net", 8022]'

# ---- Asterisk: today's options and --param, the same typed values ----
run pbx add "Astérix SARL" --platform asterisk-ami --host pbx.asterix.example --port 5038 --username admin \
	--secret-file "$TMP/secret" --disabled --param tls_verify=no --param wrapup_time=7 --json
expect "AMI with --param" 0
check "stored typed" q_is "SELECT params_json FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = 'Astérix SARL')" \
	'{"tls_verify":false,"wrapup_time":7}'
(cd "$TMP" && pd pbx update "Astérix SARL" --param tls_ca_file=ca.pem --json >"$TMP/out" 2>"$TMP/err")
RC=$? OUT=$(cat "$TMP/out")
expect "--param with a relative path" 0
jeq "stored absolute" 'd["params"]["tls_ca_file"]' "$TMP/ca.pem"
run pbx update "Astérix SARL" --tls-verify --json
expect "bare bool option" 0
jeq "true" 'd["params"]["tls_verify"]' "true"

# ---- bad input: each named, nothing changed ----
V=$(version_of "Astérix SARL")
P=$(params_of "Astérix SARL")
bad() { # bad RC NAME STDERR-SUBSTRING -- ARGS...
	local rc=$1 name=$2 want=$3
	shift 4
	run pbx update "Astérix SARL" "$@"
	expect "$name" "$rc" "" "$want"
}
bad 64 "missing =" "--param wrapup_time: expected KEY=VALUE" -- --param wrapup_time
bad 64 "empty key" "the KEY of KEY=VALUE is empty" -- --param =5
bad 64 "key with bad characters" "KEY must be lower-case letters" -- --param $'wr\eap=5'
check "a bad key is not echoed raw" test "$(LC_ALL=C grep -c $'\e' "$TMP/err")" = 0
bad 64 "--param without a value" "option '--param' needs KEY=VALUE" -- --param
bad 64 "unknown key for asterisk-ami" "--param group_id: platform asterisk-ami has no field 'group_id' (fields: host, port, tls, username, secret, tls_verify, tls_ca_file, wrapup_time)" -- --param group_id=G
bad 65 "int field: not a number" "wrapup_time must be a whole number from 0 to 3600, not 'soon'" -- --param wrapup_time=soon
bad 65 "int field: above max" "from 0 to 3600" -- --param wrapup_time=3601
bad 65 "int field: below min" "from 0 to 3600" -- --wrapup-time=-1
bad 65 "bool field: not a boolean" "tls_verify must be true or false" -- --param tls_verify=maybe
bad 65 "path field: blank" "tls_ca_file" -- --param 'tls_ca_file= '
bad 65 "bool column: not a boolean" "tls must be true or false" -- --param tls=maybe
bad 64 "port column: out of range" "--param port: expected a whole number from 1 to 65535" -- --param port=70000
bad 64 "field given twice (--param)" "wrapup_time: given twice (--param wrapup_time, then --param wrapup_time)" -- --param wrapup_time=1 --param wrapup_time=2
bad 64 "field given twice (option and --param)" "wrapup_time: given twice (--wrapup-time, then --param wrapup_time)" -- --wrapup-time 1 --param wrapup_time=2
bad 64 "column given twice" "host: given twice (--host, then --param host)" -- --host a.example --param host=b.example
bad 64 "bool field and its --no-" "--tls-verify and --no-tls-verify conflict" -- --param tls_verify=yes --no-tls-verify
bad 64 "--no- form takes no value" "option '--no-tls-verify' takes no value" -- --no-tls-verify=yes
bad 64 "--no- of a non-bool field" "unknown option '--no-wrapup-time'" -- --no-wrapup-time
bad 64 "a value option without its value" "option '--wrapup-time' needs a value" -- --wrapup-time
bad 64 "underscore spelling is not an option" "unknown option '--wrapup_time'" -- --wrapup_time 5
bad 64 "a name no platform has" "unknown option '--teleport'" -- --teleport 5
bad 65 "control character in a text value" "must not contain control characters" -- --param 'tls_ca_file=/a'$'\e''[2J'
check "the control character is not echoed" test "$(LC_ALL=C grep -c $'\e' "$TMP/err")" = 0
# a secret: never taken on the command line, never echoed
bad 64 "--param secret refused" "--param secret: a secret is never taken on the command line" -- --param secret=Hunter2-On-Cli
check "the refused secret is not echoed" test "$(grep -c Hunter2 "$TMP/out" "$TMP/err" | grep -vc ':0$')" = 0
run pbx update "Astérix SARL" --param secret=Hunter2-On-Cli --json
expect "--param secret --json" 64
jeq "names secret" 'd["error"]["field"]' "secret"
check "nor echoed in --json" test "$(grep -c Hunter2 "$TMP/out" "$TMP/err" | grep -vc ':0$')" = 0
check "nothing changed by the refusals (version)" q_is "SELECT version FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = 'Astérix SARL')" "$V"
check "nothing changed by the refusals (params)" q_is "SELECT params_json FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = 'Astérix SARL')" "$P"
run audit --json
check "the secret is not in the audit" test "$(grep -c -e Hunter2 -e S3cret-Param "$TMP/out")" = 0

# ---- templates: the same fields, for the template's platform ----
run template add "Xsi ENT" --platform broadworks-xsi --host xsi.example.net --enterprise-id ENT-9 --json
expect "template add with a BroadWorks field" 0
jeq "template params" 'd["params"]' '{"enterprise_id": "ENT-9"}'
jeq "template --json lists the fields" '[f["key"] for f in d["fields"]]' '["host", "port", "tls", "username", "secret", "enterprise_id", "group_id", "xsp_hosts", "tls_verify", "tls_ca_file"]'
run template update "Xsi ENT" --param group_id=G1 --no-tls --json
expect "template update with --param and a derived --no- of a column" 0
jeq "template updated" '[d["params"], d["tls"]]' '[{"enterprise_id": "ENT-9", "group_id": "G1"}, false]'
run template add "FS" --platform freeswitch-esl --group-id G1
expect "template: another platform's field" 64 "" "--group-id: platform freeswitch-esl has no field 'group_id'"
run template update "Xsi ENT" --param wrapup_time=5
expect "template update: a field of another platform" 64 "" "platform broadworks-xsi has no field 'wrapup_time'"
run template update "Xsi ENT" --param secret=x
expect "template: no secret" 64 "" "a secret is never taken on the command line"
run template add "Bad Key" --platform asterisk-ami --param =1
expect "template: empty key" 64 "" "the KEY of KEY=VALUE is empty"
run template add "Bad Int" --platform asterisk-ami --wrapup-time 99999
expect "template: a value out of range" 65 "" "wrapup_time"
run template list --json
jeq "refused templates not saved" '[t["name"] for t in d]' '["Xsi ENT"]'
# pbx add from the template: the template's fields, overridden on the command line
run customer create --name "Modèle Xsi" --product-type analytics-pro --country FR \
	--admin-name "Mo Admin" --admin-email mo@xsi.example
run pbx add "Modèle Xsi" --template "Xsi ENT" --username admin --group-id G2 --disabled --json
expect "pbx add --template with a field of the template's platform" 0
jeq "template's enterprise_id, own group_id" 'd["params"]' '{"enterprise_id": "ENT-9", "group_id": "G2"}'
run customer create --name "Modèle Mauvais" --product-type analytics-pro --country FR \
	--admin-name "Mu Admin" --admin-email mu@xsi.example
run pbx add "Modèle Mauvais" --template "Xsi ENT" --username admin --wrapup-time 3 --disabled
expect "pbx add --template: a field the template's platform lacks" 64 "" "--wrapup-time: platform broadworks-xsi has no field 'wrapup_time'"

finish
