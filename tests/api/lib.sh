# Shared helpers of the API tests: sourced with the provdesk binary as $1 and
# the standalone API (tests/api/api_serve.c) as $2. Each script gets its own
# temp dir and database; the API listens on a loopback port the kernel picks.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
PROVDESK=${1:?usage: $0 PATH/TO/provdesk PATH/TO/api_serve}
API_SERVE=${2:?usage: $0 PATH/TO/provdesk PATH/TO/api_serve}
pd_tmpdir pdapi-test
pd_pin_clock
: >"$TMP/records.tsv"
N=0 ST="" BODY="" U=""
SERVERS=()

pd() { "$PROVDESK" --db "$DB" "$@"; }

# token NAME SCOPE: prints a new token's secret
token() { pd --json api-token create --name "$1" --scope "$2" | jq -r .token; }

# serve VAR [api_serve options...]: starts the API on 127.0.0.1:0 and sets
# VAR to its base URL (SERVE_PID, SERVE_ERR: its pid and stderr); it is
# stopped when the script ends
serve() {
	local var=$1 out="$TMP/serve.$RANDOM"
	shift
	"$API_SERVE" --db "$DB" --listen 127.0.0.1:0 "$@" >"$out" 2>"$out.err" &
	local pid=$!
	SERVE_PID=$pid SERVE_ERR=$out.err
	SERVERS+=("$pid:$out.err")
	pd_on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	if ! wait_until "$UI_WAIT" grep -q '^port ' "$out"; then
		echo "# api_serve did not start: $(cat "$out.err")" >&2
		return 1
	fi
	printf -v "$var" 'http://127.0.0.1:%s' "$(awk '{print $2}' "$out")"
}

# call METHOD PATH [curl options...]: ST (HTTP status), BODY, $TMP/hdr; the
# answer is recorded for the contract check (validate.py)
call() {
	local m=$1 p=$2
	shift 2
	N=$((N + 1))
	ST=$(curl -s --max-time 30 -o "$TMP/body.$N" -D "$TMP/hdr" -w '%{http_code}' -X "$m" "$U$p" "$@")
	BODY=$(cat "$TMP/body.$N")
	cp "$TMP/body.$N" "$TMP/last"
	local ct
	ct=$(grep -i '^content-type:' "$TMP/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r')
	printf '%s\t%s\t%s\t%s\t%s\n' "$m" "$p" "$ST" "$ct" "$TMP/body.$N" >>"$TMP/records.tsv"
}
# jq on the last answer
jl() { jq -r "$1" "$TMP/last"; }
hdr() { grep -i "^$1:" "$TMP/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

on_fail() { printf '     status=%s body: %s\n' "$ST" "${BODY:0:600}"; }

# expect NAME STATUS [jq-path value]: the last answer's status, and a field
expect() {
	local name=$1 st=$2
	if [[ $ST != "$st" ]]; then
		not_ok "$name" "status $ST, expected $st"
		return 1
	fi
	if [[ $# -ge 4 ]]; then
		local got
		got=$(jl "$3")
		if [[ $got != "$4" ]]; then
			not_ok "$name" "$3 is [$got], expected [$4]"
			return 1
		fi
	fi
	ok "$name"
}

# stop_servers: each API started stops cleanly on SIGTERM (exit 0) with no
# sanitizer report (ASan/UBSan builds: leaks of the request paths show here)
stop_servers() {
	local s pid err rc
	for s in "${SERVERS[@]}"; do
		pid=${s%%:*} err=${s#*:}
		kill "$pid" 2>/dev/null
		wait "$pid"
		rc=$?
		if [[ $rc == 0 ]] && ! grep -qE 'Sanitizer|runtime error' "$err"; then
			ok "the API (pid $pid) stopped cleanly"
		else
			not_ok "the API (pid $pid) stopped cleanly" "exit $rc: $(head -c 1500 "$err")"
		fi
	done
	SERVERS=()
}
