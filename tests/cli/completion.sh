#!/usr/bin/env bash
# Bash completion (data/provdesk.bash-completion and `provdesk __complete`,
# src/cli/complete.c): the completion function called as bash calls it
# (COMP_WORDS/COMP_CWORD, or COMP_LINE/COMP_POINT) on a real temp database,
# compared with what `provdesk --help` and each command's help say; names
# with blanks, quotes, a colon and accents complete to text the shell reads
# back as the name; bad input offers nothing and runs nothing; and once in a
# real interactive bash in tmux.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=/dev/null
source "$SRC/data/provdesk.bash-completion"
unset COMP_WORDBREAKS
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
# the program as the first word: the completion runs it (no provdesk on PATH)
P=$PROVDESK
export PATH=/usr/bin:/bin

# comp WORD...: completes the last WORD (words as typed, after the program)
comp() {
	COMP_WORDS=("$P" "$@")
	COMP_CWORD=$#
	unset COMP_LINE COMP_POINT
	COMPREPLY=()
	_provdesk
	GOT=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
}
# comp_line LINE: completes at the end of LINE as typed (after the program)
comp_line() {
	COMP_LINE="$P $1"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_provdesk
	unset COMP_LINE COMP_POINT
	GOT=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
}
has() { grep -qxF -- "$1" <<<"$GOT"; }
lines() { printf '%s\n' "$@" | sort; }
on_fail() { printf '     got: %s\n' "$(tr '\n' '|' <<<"${GOT:-}")"; }
D=(--db "$DB" --config "$CONF")

# ---- commands, sub-commands, options: what the help lists ----
mapfile -t cmds < <("$P" --help | sed -n 's/^  \([a-z][a-z-]*\)[ |].*/\1/p' | grep -v '^help$')
comp ''
for c in "${cmds[@]}" help; do has "$c" || not_ok "command $c offered"; done
check "every command of --help is offered" has customer
check "the hidden helper is not offered" bash -c '! grep -q __complete <<<"$1"' _ "$GOT"
check "an alias is not offered" bash -c '! grep -qx catalog <<<"$1"' _ "$GOT"
comp cu
eq "a command by its prefix" "$GOT" customer
for g in customer user template pbx outbox api-token; do
	want=$("$P" --help | sed -n "s/^  $g \([a-z|-]*\).*/\1/p" | tr '|' '\n' | sort)
	comp "$g" ''
	eq "sub-commands of $g = its help's" "$GOT" "$want"
done
comp customer trial ''
eq "a nested group's sub-commands" "$GOT" "$(lines convert end extend)"
comp help customer ''
check "help COMMAND completes its sub-commands" has create
# the options: every one a group's help names is offered by one of its
# sub-commands (some share a help text), and each offered one is in the help
# of its sub-command (none invented)
for g in customer user role template pbx outbox billing api-token; do
	comp "$g" ''
	subs=$GOT all='' helps=''
	mapfile -t subs <<<"$subs"
	[[ $g == customer ]] && subs+=("trial extend")
	for s in "${subs[@]}"; do
		# shellcheck disable=SC2086
		comp "$g" $s --
		all+=$GOT$'\n'
		# shellcheck disable=SC2086
		help=$("$P" "$g" $s --help 2>/dev/null)
		helps+=$help$'\n'
		for o in $GOT; do
			[[ $o == --json || $o == --help || $o == --param ]] && continue
			# accepted, not (yet) in the help of pbx update (src/cli/pbx.c)
			[[ "$g $s $o" == "pbx update --auto-provision-sub-accounts" ]] && continue
			grep -qF -- "$o" <<<"$help" || not_ok "$g $s: $o is in its help"
		done
	done
	missing=$(grep -o -- '--[a-z][a-z-]*' <<<"$helps" | sort -u | while read -r o; do
		# template's help lists the platforms' fields as pbx add takes them
		# (the secret options) and mentions 'pbx add --template'
		[[ $g == template && $o =~ ^--(secret-file|secret-env|template)$ ]] && continue
		grep -qxF -- "$o" <<<"$all" || printf '%s ' "$o"
	done)
	[[ -z $missing ]] || not_ok "options of $g" "not offered: $missing"
done
ok "the options offered are those of the commands' help"
comp customer create --pro
eq "an option by its prefix" "$GOT" --product-type
comp --
want=$("$P" --help | sed -n '/^Global options/,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sort -u)
eq "global options = the help's" "$GOT" "$want"
comp customer create --product-type ''
check "an option's value from the catalogue" has analytics-pro
comp_line "customer create --product-type=analytics-p"
eq "a value after = (readline replaces after the =)" "$GOT" analytics-pro
comp catalogue ''
eq "catalogue sections" "$GOT" "$(lines countries platforms product-types roles)"
comp --theme ''
check "themes: the built-in and the data dir's" has noc-dark

# ---- customer names and references from the database ----
pd customer create --name "O'Brien & Sons: Paris" --product-type analytics-pro --country FR \
	--admin-name A --admin-email a@obrien.example --reference OB-1 >/dev/null
pd customer create --name "Société Générale" --product-type analytics-pro --country FR \
	--admin-name B --admin-email b@sg.example >/dev/null
pd customer create --name 'Acme "Quoted" $HOME Ltd' --product-type analytics-pro --country FR \
	--admin-name C --admin-email c@acme.example >/dev/null
pd customer create --name "Gone Ltd" --product-type analytics-pro --country FR \
	--admin-name D --admin-email d@gone.example >/dev/null
pd customer delete "Gone Ltd" --confirm "Gone Ltd" >/dev/null
comp "${D[@]}" customer show ''
check "names and references offered" has OB-1
check "a deleted customer is not offered to show" bash -c '! grep -q Gone <<<"$1"' _ "$GOT"
comp "${D[@]}" customer show "O\\'"
eq "a name with a quote, blanks, & and a colon, quoted for the shell" "$GOT" \
	"O\\'Brien\\ \\&\\ Sons:\\ Paris"
eval "set -- $GOT"
eq "... which the shell reads back as the name" "$1" "O'Brien & Sons: Paris"
comp "${D[@]}" customer show Soc
eval "set -- $GOT"
eq "an accented name" "$1" "Société Générale"
comp "${D[@]}" customer show A
eval "set -- $GOT"
eq "a name with double quotes and a \$" "$1" 'Acme "Quoted" $HOME Ltd'
comp "${D[@]}" customer show '"Acme'
eq "inside an open double quote: escaped for it, the quote left to the shell" "$GOT" \
	'Acme \"Quoted\" \$HOME Ltd'
comp "${D[@]}" customer show "'O'\\''B"
eq "inside an open single quote (after an escaped one)" "$GOT" "Brien & Sons: Paris"
comp_line "--db $DB --config $CONF customer show O\\'Brien\\ \\&\\ Sons:"
eq "after a colon: the rest only (readline replaces after it)" "$GOT" '\ Paris'
comp_line "--db $DB --config $CONF user add 'Soc"
eq "COMP_LINE with an open quote" "$GOT" "Société Générale"
comp "${D[@]}" customer restore ''
eq "restore offers the deleted customers" "$GOT" "$(lines 'Gone\ Ltd')"
comp "${D[@]}" pbx show OB
eq "a reference by its prefix" "$GOT" OB-1
comp "${D[@]}" user update OB-1 ''
eq "a second positional: no customer names" "$GOT" ""
comp "${D[@]}" customer list ''
eq "a command without CUSTOMER: no names" "$GOT" ""

# every command whose usage takes a customer first completes names; no other
# first_arg GROUP SUB: the first argument in the usage line that names SUB
first_arg() {
	local g=$1 s=$2 l
	# shellcheck disable=SC2086
	while IFS= read -r l; do
		if [[ -n $s ]]; then
			[[ $l =~ provdesk\ $g\ ([a-z|-]+)\ ([^ ]+) ]] || continue
			[[ "|${BASH_REMATCH[1]}|" == *"|$s|"* ]] || continue
			echo "${BASH_REMATCH[2]}"
			return
		elif [[ $l =~ provdesk\ $g\ ([^ ]+) ]]; then
			echo "${BASH_REMATCH[1]}"
			return
		fi
	done < <("$P" $g $s --help 2>/dev/null)
}
n_cmds=0
for g in customer user role pbx outbox billing template api-token audit import catalogue serve; do
	subs=.
	if [[ $g =~ ^(customer|user|role|pbx|outbox|billing|template|api-token)$ ]]; then
		comp "$g" ''
		subs=$GOT
	fi
	for s in $subs; do
		[[ $s == . ]] && s=''
		path="$g $s"
		arg=$(first_arg "$g" "$s")
		if [[ $s == trial ]]; then
			path="customer trial extend"
			arg=$(first_arg "customer trial" extend)
		fi
		n_cmds=$((n_cmds + 1))
		# shellcheck disable=SC2086
		comp "${D[@]}" $path ''
		if [[ $path == "customer restore" ]]; then
			has 'Gone\ Ltd' || not_ok "$path completes deleted customers ($arg)"
		elif [[ $arg =~ ^(ID\|NAME|CUSTOMER|\[CUSTOMER\])$ ]]; then
			has OB-1 || not_ok "$path completes customers (its usage: $arg)"
		else
			has OB-1 && not_ok "$path offers no customers (its usage: ${arg:-nothing})"
		fi
	done
done
check "customer completion follows the usage line of each of $n_cmds commands" test "$n_cmds" -gt 30

# bounded: at most 200 names
{
	echo 'name,product_type,country,admin_name,admin_email'
	for i in $(seq 1 260); do echo "Bulk $i,analytics-pro,FR,A,a$i@bulk.example"; done
} >"$TMP/bulk.csv"
pd import "$TMP/bulk.csv" --yes >/dev/null
t0=$(date +%s%N)
comp "${D[@]}" customer show Bulk
ms=$((($(date +%s%N) - t0) / 1000000))
eq "at most 200 names per completion" "$(wc -l <<<"$GOT")" 200
check "quick (${ms} ms)" test "$ms" -lt $((3000 * ${PD_TEST_SLOW:-1}))
comp "${D[@]}" customer show 'Bulk\ 25'
eq "a prefix narrows them" "$(wc -l <<<"$GOT")" 11

# ---- bad input: nothing offered, nothing run, nothing created ----
comp frobnicate ''
eq "unknown command: nothing" "$GOT" ""
comp customer frobnicate ''
eq "unknown sub-command: nothing" "$GOT" ""
comp --db "$TMP/none/x.db" customer show ''
eq "a missing database: nothing" "$GOT" ""
check "... and none created" test ! -e "$TMP/none"
comp "${D[@]}" customer show '$(touch' "$TMP/ran)"
check "a command substitution typed is not run" test ! -e "$TMP/ran"
comp "${D[@]}" customer show "\$(touch $TMP/ran2)"
eq "... and offers nothing" "$GOT" ""
check "... not run either" test ! -e "$TMP/ran2"
comp "${D[@]}" customer show $'\x01\x7f'
eq "control bytes: nothing" "$GOT" ""
run __complete
expect "the helper with no word" 0 words
run __complete --db ''
expect "the helper: an option value is files" 0 files
COMP_WORDS=(/nonexistent/provdesk cu) COMP_CWORD=1
_provdesk 2>"$TMP/err.txt"
eq "a program that cannot run: nothing" "${#COMPREPLY[@]}" 0
eq "... and no error on the terminal" "$(cat "$TMP/err.txt")" ""

# ---- an interactive bash in tmux: what readline really inserts ----
if command -v tmux >/dev/null && ! instrumented "$PROVDESK"; then
	sock=pdcomp-$$
	pd_on_exit "tmux -L $sock kill-server 2>/dev/null"
	cat >"$TMP/rc" <<EOF
PS1='$ '
source '$SRC/data/provdesk.bash-completion'
EOF
	tmux -L "$sock" new-session -d -x 200 -y 10 "env -i HOME=$HOME LANG=C.UTF-8 TERM=xterm PATH=/usr/bin:/bin bash --noprofile --rcfile $TMP/rc -i"
	on_screen() { tmux -L "$sock" capture-pane -p | grep -qF -- "$1"; }
	wait_until 10 on_screen '$ '
	tmux -L "$sock" send-keys "$P --db $DB --config $CONF customer show O\\'" Tab
	eventually "interactive bash: Tab completes the quoted name" \
		on_screen "customer show O\\'Brien\\ \\&\\ Sons:\\ Paris"
	tmux -L "$sock" send-keys C-u "$P --db $DB --config $CONF customer show \"Ac" Tab
	eventually "interactive bash: inside quotes, closed by the shell" \
		on_screen 'customer show "Acme \"Quoted\" \$HOME Ltd"'
else
	ok "interactive bash skipped (no tmux, or an instrumented binary) # SKIP"
fi
finish
