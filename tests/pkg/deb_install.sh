#!/usr/bin/env bash
# The Debian package (debian/, docs/architecture.md "Packaging"): built with
# dpkg-buildpackage from a copy of the tree, lintian-clean, installed with
# dpkg -i, run from the installed files only (the copy it was built from is
# gone by then, and no PROVDESK_* variable points anywhere): --version, a
# command that needs the catalogue, and `provdesk --demo` driven in tmux up to
# the grid and quit with q; the manual page, the completion, the data, the
# themes, the units and the translations where expected; then dpkg -r leaves
# nothing of it in /usr. Needs root (dpkg -i) and the packaging tools of
# `.ci/deps --test`; run by .ci/test (the [deb] stage), not by meson test.
# Skipped (exit 77) without root or dpkg-buildpackage, or when a provdesk is
# already installed (it would be replaced, then removed).
source "$(dirname "$0")/../lib/common.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

((EUID == 0)) || skip "not root (dpkg -i needs it)"
command -v dpkg-buildpackage >/dev/null || skip "dpkg-buildpackage missing (.ci/deps --test: dpkg-dev)"
command -v dh >/dev/null || skip "debhelper missing (.ci/deps --test installs it)"
if dpkg-query -W -f='${Status}' provdesk 2>/dev/null | grep -q 'ok installed' || [[ -e /usr/bin/provdesk ]]; then
	skip "a provdesk is already installed on this machine"
fi
command -v tmux >/dev/null || skip "tmux missing (.ci/deps --test installs it)"

pd_tmpdir pd-deb
unset PROVDESK_DATADIR PROVDESK_SOURCE_ROOT PROVDESK_FIXTURES
pd_pin_clock
INSTALLED=0
pd_on_exit '((INSTALLED)) && dpkg -P provdesk >/dev/null 2>&1'
on_fail() { [[ -s $TMP/last.log ]] && sed 's/^/     | /' "$TMP/last.log" | tail -25; }

# ---- build ----
# a copy of the tree as git sees it (no build folders): the package build
# writes debian/provdesk, obj-*/ and ../*.deb
mkdir -p "$TMP/src"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$SRC" ls-files -co --exclude-standard -z | tar -C "$SRC" -c --null -T - |
		tar -x -C "$TMP/src"
else
	tar -C "$SRC" --exclude='./build*' -c . | tar -x -C "$TMP/src"
fi
meson_version=$(sed -n "s/^  version: '\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -1)
deb_version=$(cd "$TMP/src" && dpkg-parsechangelog -S Version)
eq "debian/changelog's version is meson's" "$deb_version" "$meson_version"
t0=$SECONDS
(cd "$TMP/src" && DEB_BUILD_OPTIONS="parallel=2 nocheck" dpkg-buildpackage -us -uc -b) \
	>"$TMP/last.log" 2>&1
check "dpkg-buildpackage -us -uc -b builds ($((SECONDS - t0)) s)" test -f "$TMP/provdesk_${deb_version}_$(dpkg --print-architecture).deb"
DEB=$TMP/provdesk_${deb_version}_$(dpkg --print-architecture).deb
[[ -f $DEB ]] || { finish; exit; }
if command -v lintian >/dev/null; then
	lintian --pedantic "$TMP"/*.changes 2>&1 | grep -v 'running with root privileges' >"$TMP/last.log"
	check "lintian --pedantic: no tag" test ! -s "$TMP/last.log"
else
	not_ok "lintian installed (.ci/deps --test)"
fi
# what follows runs from the installed files only
has_po=0
[[ -d $TMP/src/po ]] && has_po=1
rm -rf "$TMP/src"

# ---- install and run ----
dpkg -i "$DEB" >"$TMP/last.log" 2>&1
eq "dpkg -i installs it" "$(dpkg-query -W -f='${Status}' provdesk 2>&1)" "install ok installed"
INSTALLED=1
eq "installed in /usr/bin" "$(command -v provdesk)" /usr/bin/provdesk
cd /
eq "provdesk --version" "$(provdesk --version)" "provdesk $meson_version"
provdesk --db "$TMP/pkg.db" customer create --name "Installé SA" --product-type analytics-pro \
	--country FR --admin-name A --admin-email a@installe.example >"$TMP/last.log" 2>&1
check "a command reads the installed catalogue" grep -q "Created customer Installé SA" "$TMP/last.log"
check "data: catalogue.json" test -s /usr/share/provdesk/catalogue.json
check "data: openapi.json" test -s /usr/share/provdesk/openapi.json
check "themes" test -s /usr/share/provdesk/themes/noc-dark.theme
eq "the manual page: man -w provdesk" "$(man -w provdesk 2>&1)" /usr/share/man/man1/provdesk.1.gz
check "the bash completion" test -s /usr/share/bash-completion/completions/provdesk
eq "the completion answers from the installed program" \
	"$(bash -c 'source /usr/share/bash-completion/completions/provdesk
		COMP_WORDS=(provdesk --db "$1" customer show Ins) COMP_CWORD=5; _provdesk
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TMP/pkg.db")" 'Installé\ SA'
check "systemd: the system template unit" grep -q '^ExecStart=/usr/bin/provdesk' /usr/lib/systemd/system/provdesk@.service
check "systemd: the user unit" grep -q '^ExecStart=/usr/bin/provdesk' /usr/lib/systemd/user/provdesk.service
if ((has_po)); then
	check "translations: French" test -s /usr/share/locale/fr/LC_MESSAGES/provdesk.mo
fi
check "the copyright file" test -s /usr/share/doc/provdesk/copyright

# the demo console from the installed files, in tmux
sock=pd-deb-$$
pd_on_exit "tmux -L $sock kill-server 2>/dev/null"
tmux -L "$sock" new-session -d -x 120 -y 30 \
	"env -i HOME=$HOME XDG_CONFIG_HOME=$XDG_CONFIG_HOME XDG_DATA_HOME=$XDG_DATA_HOME PATH=/usr/bin:/bin LANG=C.UTF-8 TERM=tmux-256color PROVDESK_TODAY=$PROVDESK_TODAY provdesk --demo 2>$TMP/demo.err; echo \$? >$TMP/demo.exit; sleep 600"
on_screen() { tmux -L "$sock" capture-pane -p | grep -qE -- "$1"; }
eventually "provdesk --demo: the grid with the demo customers" on_screen '^Démo Lab PBX '
eventually "provdesk --demo: a lab PBX link monitoring" on_screen '^Démo Lab PBX .* monitoring'
tmux -L "$sock" send-keys q
eventually "q quits the demo" test -s "$TMP/demo.exit"
eq "... with exit code 0" "$(cat "$TMP/demo.exit" 2>/dev/null)" 0
eq "... and nothing on standard error" "$(cat "$TMP/demo.err" 2>/dev/null)" ""
tmux -L "$sock" kill-server 2>/dev/null

# ---- remove ----
dpkg -r provdesk >"$TMP/last.log" 2>&1
check "dpkg -r removes it" bash -c "! dpkg-query -W -f='\${Status}' provdesk 2>/dev/null | grep -q 'ok installed'"
INSTALLED=0
dpkg -P provdesk >/dev/null 2>&1
left=$(find /usr /lib /etc -path /proc -prune -o \( -name '*provdesk*' -o -name 'provdesk.1*' \) -print 2>/dev/null)
eq "nothing of it left in /usr, /lib or /etc" "$left" ""
finish
