#!/usr/bin/env bash
# A BroadWorks (Xsi) connection from the command line (issue 16), no XSP
# needed: pbx add --platform broadworks-xsi with the catalogue's fields as
# options (--enterprise-id, --group-id, --xsp-hosts) stores a complete
# connection (Xsi host, port 443 and TLS by default, administrator, secret
# encrypted, params_json with enterprise_id/group_id/xsp_hosts); each bad
# input refused naming its field, nothing written; the secret never shown.
# Whether an enabled link is accepted follows the build ("supported means
# registered"): refused naming "enabled" until the Xsi driver is registered.
source "$(dirname "$0")/lib.sh"

SECRET='Xsi-Adm1n-S3cret!'
printf '%s\n' "$SECRET" >"$TMP/secret"
run customer create --name "Xsi Corp" --product-type contact-centre --country FR \
	--admin-name "Xavier Admin" --admin-email xavier@xsi.example
expect "customer for BroadWorks" 0
pbx_count() { q "SELECT count(*) FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = 'Xsi Corp')"; }

# ---- help: the fields come from the catalogue ----
run pbx add --help
expect "pbx add --help" 0 "broadworks-xsi (Cisco BroadWorks (Xsi))"
for opt in "--enterprise-id TEXT" "--group-id TEXT" "--xsp-hosts TEXT"; do
	check "--help lists $opt" grep -qF -- "$opt" "$TMP/out"
done

# ---- bad input: each refused naming its field, nothing written ----
base=(pbx add "Xsi Corp" --platform broadworks-xsi --username admin@lab-ent --secret-file "$TMP/secret" --disabled)
run "${base[@]}" --host xsp1.example.net --group-id group-1 --json
expect "no --enterprise-id" 65
jeq "names enterprise_id" 'd["error"]["field"]' "enterprise_id"
jeq "and says it is required" 'd["error"]["message"]' "Enterprise id is required for platform broadworks-xsi"
run "${base[@]}" --host xsp1.example.net --enterprise-id ''
expect "an empty --enterprise-id is none" 65 "" "Enterprise id is required"
run "${base[@]}" --host '' --enterprise-id lab-ent --json
expect "an empty --host" 65
jeq "names host" 'd["error"]["field"]' "host"
run "${base[@]}" --enterprise-id lab-ent --json
expect "no --host" 65
jeq "names host (none)" 'd["error"]["field"]' "host"
run "${base[@]}" --host 'https://xsp1.example.net' --enterprise-id lab-ent --json
expect "a URL as --host" 65
jeq "names host (URL)" 'd["error"]["field"]' "host"
run pbx add "Xsi Corp" --platform broadworks-xsi --host xsp1.example.net --secret-file "$TMP/secret" \
	--enterprise-id lab-ent --disabled --json
expect "no --username (the administrator)" 65
jeq "names username" 'd["error"]["field"]' "username"
bad_xsp() { # bad_xsp VALUE WORDS
	run "${base[@]}" --host xsp1.example.net --enterprise-id lab-ent --xsp-hosts "$1" --json
	expect "--xsp-hosts '$1'" 65
	jeq "'$1': names xsp_hosts" 'd["error"]["field"]' "xsp_hosts"
	check "'$1': says why ($2)" grep -qF -- "$2" "$TMP/err"
}
bad_xsp "xsp2.example.net:99999" "must be a whole number from 1 to 65535"
bad_xsp "xsp2.example.net,,xsp3.example.net" "an empty entry"
bad_xsp "https://xsp2.example.net" "is a URL"
bad_xsp "xsp2 example net" "contains ' '"
bad_xsp "[2001:db8::1" "brackets"
bad_xsp $'xsp2.example.net\e[2J' "must not contain control characters"
check "the control character is not echoed" test "$(LC_ALL=C grep -c $'\e' "$TMP/err")" = 0
run "${base[@]}" --host xsp1.example.net --enterprise-id lab-ent --wrapup-time 5
expect "a field broadworks-xsi lacks (its agents report their own wrap-up)" 64 "" "--wrapup-time: platform broadworks-xsi has no field 'wrapup_time' (fields: host, port, tls, username, secret, enterprise_id, group_id, xsp_hosts, tls_verify, tls_ca_file)"
run "${base[@]}" --host xsp1.example.net --enterprise-id lab-ent --param secret=x
expect "a secret on the command line" 64 "" "a secret is never taken on the command line"
check "nothing written by the refusals" test "$(pbx_count)" = 0

# ---- a complete connection ----
run pbx add "Xsi Corp" --platform broadworks-xsi --host xsp1.example.net --username admin@lab-ent \
	--secret-file "$TMP/secret" --enterprise-id lab-ent --group-id group-1 \
	--xsp-hosts " xsp2.example.net:8443 , [2001:db8::7]:443" --disabled --json
expect "pbx add broadworks-xsi" 0
jeq "host, port 443 and TLS by default, the administrator" '[d["platform"], d["host"], d["port"], d["tls"], d["username"]]' \
	'["broadworks-xsi", "xsp1.example.net", 443, true, "admin@lab-ent"]'
jeq "enterprise, group and other XSP hosts (blanks dropped)" 'd["params"]' \
	'{"enterprise_id": "lab-ent", "group_id": "group-1", "xsp_hosts": "xsp2.example.net:8443,[2001:db8::7]:443"}'
check "params_json stored" q_is "SELECT params_json FROM pbx WHERE customer_id = (SELECT id FROM customers WHERE name = 'Xsi Corp')" \
	'{"enterprise_id":"lab-ent","group_id":"group-1","xsp_hosts":"xsp2.example.net:8443,[2001:db8::7]:443"}'
check "the secret stored encrypted" q_is "SELECT substr(secret, 1, 5) = 'enc1:' AND instr(secret, '$SECRET') = 0 FROM pbx" 1
check "the secret not in the output" test "$(grep -c -- "$SECRET" "$TMP/out" "$TMP/err" | grep -vc ':0$')" = 0
run pbx show "Xsi Corp"
expect "pbx show" 0 "xsp_hosts:        xsp2.example.net:8443,[2001:db8::7]:443"
check "pbx show: the enterprise" grep -qF "enterprise_id:    lab-ent" "$TMP/out"
check "pbx show: TLS" grep -qF "TLS:              yes" "$TMP/out"
check "pbx show: the secret only as set" grep -qF "Secret:           (set; never shown)" "$TMP/out"
run pbx show "Xsi Corp" --json
jeq "--json: the field's label" '[f["label"] for f in d["fields"] if f["key"] == "xsp_hosts"]' '["Other XSP hosts"]'
run customer show "Xsi Corp"
expect "customer show lists the BroadWorks PBX" 0 "broadworks-xsi xsp1.example.net:443 (TLS) user admin@lab-ent"
# update: another list, then none; a bad one leaves it as it was
run pbx update "Xsi Corp" --xsp-hosts 'xsp3.example.net' --json
expect "pbx update --xsp-hosts" 0
jeq "replaced" 'd["params"]["xsp_hosts"]' "xsp3.example.net"
V=$(q "SELECT version FROM pbx")
run pbx update "Xsi Corp" --xsp-hosts 'xsp3.example.net:0'
expect "a bad list on update" 65 "" "xsp_hosts"
check "the refused update changed nothing" q_is "SELECT version FROM pbx" "$V"
run pbx update "Xsi Corp" --xsp-hosts '' --group-id '' --no-tls --port 8443 --json
expect "'' removes the list and the group" 0
jeq "enterprise level, plain HTTP on 8443" '[d["params"], d["tls"], d["port"]]' '[{"enterprise_id": "lab-ent"}, false, 8443]'
run audit --json
check "the secret is not in the audit" test "$(grep -c -- "$SECRET" "$TMP/out")" = 0

# ---- enabled: follows whether the Xsi driver is registered ----
run pbx remove "Xsi Corp"
expect "pbx remove" 0
supported=$(pd catalogue platforms --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(str([p["supported"] for p in json.load(sys.stdin)["platforms"] if p["key"] == "broadworks-xsi"][0]).lower())')
check "the catalogue says whether it is supported ($supported)" test "$supported" = true -o "$supported" = false
run pbx add "Xsi Corp" --platform broadworks-xsi --host xsp1.example.net --username admin@lab-ent \
	--secret-file "$TMP/secret" --enterprise-id lab-ent --no-monitor --json
if [[ $supported == true ]]; then
	expect "enabled: the driver is registered" 0
	jeq "enabled" 'd["enabled"]' "true"
else
	expect "enabled refused while no driver is registered" 65
	jeq "names enabled" 'd["error"]["field"]' "enabled"
	check "nothing written" test "$(pbx_count)" = 0
fi

finish
