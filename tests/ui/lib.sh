# Console screen tests: the shared helpers (tests/lib: counting, temp dir,
# clock pin, tmux driving) plus what the console suites share below.
# Usage: source lib.sh; PROG=path/to/provdesk set by the caller.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
pd_tmpdir pdui-test
unset NO_COLOR
# every console and command of a test runs on the same day, whatever day the
# suite runs, and reads the same running clock
pd_pin_clock
source "$(dirname "${BASH_SOURCE[0]}")/../lib/tmux.sh"
# a failed check shows the screen it saw
on_fail() { screen 2>/dev/null | sed 's/^/    | /' >&2; }
cli() { "$PROG" --db "$DB" "$@"; }
seed() { # seed NAME PRODUCT COUNTRY [extra create options]
	local name=$1 pt=$2 cc=$3; shift 3
	cli customer create --name "$name" --product-type "$pt" --country "$cc" \
		--admin-name "Admin" --admin-email "admin@example.com" "$@" >/dev/null
}
json_field() { # json_field ID FIELD
	cli customer show "$1" --json | /usr/bin/python3 -c "import json,sys; v=json.load(sys.stdin)['$2']; print('' if v is None else v)"
}
# wizard_step1 NAME: a valid step 1 of the wizard (Germany, Analytics Pro),
# from its first screen; the cursor is left in the form
wizard_step1() {
	wait_for "1 Customer details"
	type_text "$1"
	keys Tab
	type_text "allem"
	keys Tab
	wait_for "Allemagne / Germany (DE)"
	wait_for "Europe/Berlin"
	wait_for "de_DE (default)"
	keys Tab Tab Enter
	wait_for "Type to filter"
	type_text "Analytics Pro"
	keys Enter
	wait_for "Trial"
}

# countdown_runs REGEX-WITH-ONE-NUMBER: the number shown (a retry or wrap-up
# countdown) changes while no key is pressed: the console redraws by itself.
# Any change counts: on a loaded machine a retry countdown may skip values,
# reach 0 and start again from the next backoff between two looks.
shown_n() { screen | grep -oE -- "$1" | head -1 | grep -oE '[0-9]+' | tail -1; }
countdown_runs() {
	local re=$1 n m d=$((SECONDS + UI_WAIT + 40)) d2
	while ((SECONDS < d)); do
		n=$(shown_n "$re")
		if [[ -n $n ]]; then
			d2=$((SECONDS + 8))
			while ((SECONDS < d2)); do
				m=$(shown_n "$re")
				[[ -n $m && $m != "$n" ]] && return 0
				sleep 0.1
			done
			return 1
		fi
		sleep 0.1
	done
	return 1
}
