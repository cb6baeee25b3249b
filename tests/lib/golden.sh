# Golden screens (as tig does): the whole captured screen compared with a
# stored file. Needs tmux.sh. GOLDEN_DIR is where the files live; an update
# run writes them instead of comparing:
#   PD_GOLDEN_UPDATE=1 meson test -C build ui_golden
# then review the change with git diff before committing it.
# Text only (no colours); what changes from run to run is masked first.

# a tenant id (a UUID) keeps its width, so the layout around it is compared
GOLDEN_MASK='s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/g'
golden_screen() { screen 2>/dev/null | sed -E "$GOLDEN_MASK"; }

# golden_settled: the screen is the same on three captures 0.1 s apart
# (an update run stores a settled screen, not one caught mid-repaint)
golden_settled() {
	local a b c
	a=$(golden_screen); sleep 0.1; b=$(golden_screen); sleep 0.1; c=$(golden_screen)
	[[ $a == "$b" && $b == "$c" ]]
}

# check_golden NAME: the screen equals $GOLDEN_DIR/NAME.txt (polled until the
# deadline, so a repaint in flight is waited for); a failure shows the diff
check_golden() {
	local name=$1 file=$GOLDEN_DIR/$1.txt
	if [[ -n ${PD_GOLDEN_UPDATE:-} ]]; then
		if wait_until "$UI_WAIT" golden_settled; then
			golden_screen > "$file"
			ok "golden $name: updated ($file)"
		else
			not_ok "golden $name: the screen did not settle"
		fi
		return
	fi
	if [[ ! -f $file ]]; then
		not_ok "golden $name: no $file (PD_GOLDEN_UPDATE=1 writes it)"
		return
	fi
	local d=$((SECONDS + UI_WAIT))
	until [[ "$(golden_screen)" == "$(cat "$file")" ]]; do
		if ((SECONDS >= d)); then
			diff -u "$file" <(golden_screen) | sed 's/^/    /' >&2
			not_ok "golden $name: the screen differs from $file (diff above)"
			return
		fi
		sleep 0.05
	done
	ok "golden $name"
}
