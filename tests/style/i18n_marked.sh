#!/usr/bin/env bash
# Every user-visible string literal of the covered folders is marked for
# translation: _("..."), N_("..."), P_("...", "...", n) or NC_("context", "...")
# (include/provdesk/i18n.h; docs/architecture.md, "Translations").
#
#   tests/style/i18n_marked.sh              check the covered folders
#   tests/style/i18n_marked.sh FILE...      check these files
#   tests/style/i18n_marked.sh --self-test  prove the check fails on an
#                                           unmarked label
#
# A literal counts as text a person reads when it has words: a capitalised
# word ("Quit", "Customer view") or two words separated by a space ("no
# users"). It then must be marked, unless it is
#   - an argument of a call that takes keys, not text (strcmp, getenv,
#     json_object_get… : NOT_TEXT_CALLS below), or an #include;
#   - listed in tests/style/i18n_allow.txt ("path<TAB>literal as written in
#     the source", or "*<TAB>literal" for any file): key names of the keys
#     file syntax, theme role names, identifiers, protocol words.
# Lowercase keys and identifiers ("name", "users[%zu].role", "grid.header"),
# format-only strings ("%s: %s", "%-*s") and ALL-CAPS names (TERM, NO_COLOR)
# are not words and pass without a mark, except where a call shows its
# argument to a person (TEXT_ARGS below: a status line, a dialog, an error
# message): there one lowercase word ("reloaded", "retry") is text too.
# A failure prints file:line and the literal; mark it, or add it to the
# allow list when it is not text for a person.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${PROVDESK_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}

# The folders whose strings must be marked (the other layers join as they
# are translated).
COVERED=(src/ui src/cli src/core src/dl src/store src/mail src/objects src/api src/serve src/pbx)
# Folders of COVERED left out for good, not pending: the lab PBX
# (src/pbx/lab) is a development tool that plays a PBX; its words are the
# PBX's, not provdesk's. Pruned here rather than listed file by file in
# i18n_pending.txt (that list is for files still to translate, and must
# only shrink), so a new file of src/pbx outside it is checked at once.
NOT_COVERED=(src/pbx/lab)

check() {
	python3 - "$root" "${PD_I18N_ALLOW:-$here/i18n_allow.txt}" "$@" <<'PY'
import os, re, sys

root, allow_path, files = sys.argv[1], sys.argv[2], sys.argv[3:]

# Calls whose string arguments are keys, names or formats of machine text.
NOT_TEXT_CALLS = {
    'pd_trc', 'strcmp', 'strncmp', 'strcasecmp', 'strncasecmp', 'strstr', 'strchr', 'strspn', 'strcspn',
    'getenv', 'setenv', 'fopen', 'open', 'access', 'stat',
    'json_object_get', 'json_object_set', 'json_object_set_new', 'json_pack', 'json_unpack',
    'sqlite3_prepare_v2', 'pd_path_find_data', 'ui_key_parse', 'ui_keymap_lookup_name',
    'store_lock_file', 'sscanf', 'strtok_r', 'fnmatch', 'regcomp',
    # HTTP header names (src/api)
    'pd_mhd_add_response_header', 'pd_mhd_lookup_connection_value', 'api_header',
    # src/pbx: a match on the PBX's own words (never on translated text)
    'strcasestr',
    # AMI headers and actions as sent or read (src/pbx/ami): ami_put(b, key,
    # value), ami_get/ami_get0(msg, key), send_simple(d, action)
    'ami_put', 'ami_get', 'ami_get0', 'send_simple',
    # ESL header names and api commands (src/pbx/esl): esl_get,
    # esl_event_get, esl_parser.c's set_find, esl_model.c's ev(msg, header),
    # esl_driver.c's cmd_push/cmd_push_front(d, command)
    'esl_get', 'esl_event_get', 'set_find', 'ev', 'cmd_push', 'cmd_push_front',
    # HTTP request headers and XML element names (src/pbx/xsi)
    'pd_curl_slist_append', 'xsi_value_of',
}
MARKS = {'_', 'N_', 'P_', 'NC_'}

# Calls whose argument (by index) always reaches a person: the status line,
# dialogs, form notes, error texts. A literal there with any word of two
# letters or more is text, even one lowercase word.
TEXT_ARGS = {
    'ui_msg': {2}, 'ui_show_err': {1}, 'ui_dialog_confirm': {1, 2},
    'ui_dialog_message': {1, 2}, 'ui_dialog_pick': {1}, 'ui_dialog_prompt': {1, 2},
    'ui_box': {1}, 'ui_form_set_error': {2}, 'ui_form_set_note': {2},
    'ui_formscreen_set_error': {1}, 'pd_fail': {3}, 'pd_fail_line': {4}, 'pd_vfail': {3},
    'pd_cli_failf': {3}, 'pd_cli_usage': {1}, 'pd_cli_usage_field': {2},
    'pd_cli_read_secret': {2}, 'pd_drv_probe_fail': {3}, 'pd_drv_probe_step': {3},
    'pd_drv_set_fail': {2}, 'pd_drv_link_down': {1}, 'pd_drv_link_note': {1}, 'slog': {1},
    'ui_put': {4},
}

allow = {}
if os.path.exists(allow_path):
    with open(allow_path, encoding='utf-8') as f:
        for ln in f:
            ln = ln.rstrip('\n')
            if not ln.strip() or ln.lstrip().startswith('#'):
                continue
            if '\t' not in ln:
                sys.exit(f'{allow_path}: a line is "path<TAB>literal": {ln!r}')
            path, lit = ln.split('\t', 1)
            allow.setdefault(path, set()).add(lit)

WORDY = re.compile(r'[A-Z][a-z]|[A-Za-z]{2,} +[A-Za-z]{2,}|[A-Za-z]{2,}[.!?:]? +[A-Za-z]{2,}')
# a word beside a space ("syncing %d/%d", "%s in %ds") or in parentheses
# ("(none)"): keys and identifiers have neither
WORD_SPACED = re.compile(r'[A-Za-z]{3,}[^ ]* |[A-Za-z]{2,}\)| [^ ]*[A-Za-z]{3,}|\([a-z]{3,}')

def words_of(s):
    # Format directives and escapes are not words.
    t = re.sub(r'%[-+ #0-9.*]*(?:hh|h|ll|l|z|j|t|L)?[a-zA-Z]', '0', s)
    return re.sub(r'\\[nt"\\]', ' ', t).strip()

def is_text(s):
    t = words_of(s)
    return bool(WORDY.search(t) or WORD_SPACED.search(t))

def has_word(s):
    return bool(re.search(r'[A-Za-z]{2,}', words_of(s)))

def tokens(src):
    """(kind, text, line) for identifiers, strings, punctuation; comments,
    char literals and #include lines dropped; adjacent strings joined."""
    i, n, line = 0, len(src), 1
    out = []
    bol = True
    while i < n:
        c = src[i]
        if c == '\n':
            line += 1; i += 1; bol = True; continue
        if c in ' \t\r\\':
            i += 1; continue
        if src.startswith('/*', i):
            j = src.find('*/', i + 2); j = n if j < 0 else j + 2
            line += src.count('\n', i, j); i = j; continue
        if src.startswith('//', i):
            j = src.find('\n', i); i = n if j < 0 else j; continue
        if bol and c == '#':
            m = re.match(r'#\s*include[^\n]*', src[i:])
            if m:
                i += m.end(); continue
        bol = False
        if c == "'":
            j = i + 1
            while j < n and src[j] != "'":
                j += 2 if src[j] == '\\' else 1
            i = j + 1; continue
        if c == '"' or (c in 'LuU' and i + 1 < n and src[i + 1] == '"'):
            start_line = line
            if c != '"':
                i += 1
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            s = src[i + 1:j]
            if out and out[-1][0] == 'str':
                out[-1] = ('str', out[-1][1] + s, out[-1][2])
            else:
                out.append(('str', s, start_line))
            i = j + 1; continue
        m = re.match(r'[A-Za-z_][A-Za-z0-9_]*', src[i:])
        if m:
            out.append(('id', m.group(0), line)); i += m.end(); continue
        m = re.match(r'[0-9][0-9A-Za-z_.]*', src[i:])
        if m:
            out.append(('num', m.group(0), line)); i += m.end(); continue
        out.append(('p', c, line)); i += 1
    return out

def enclosing_call(toks, k):
    """The name of the call whose parentheses hold toks[k], and the index
    of the argument."""
    depth, arg = 0, 0
    for j in range(k - 1, -1, -1):
        kind, t, _ = toks[j]
        if kind != 'p':
            continue
        if t in ')]}':
            depth += 1
        elif t in '([{':
            if depth == 0:
                if t != '(':
                    return None, arg
                return (toks[j - 1][1] if j > 0 and toks[j - 1][0] == 'id' else None), arg
            depth -= 1
        elif t == ',' and depth == 0:
            arg += 1
        elif t == ';' and depth == 0:
            return None, arg
    return None, arg

bad = 0
for path in files:
    rel = os.path.relpath(path, root) if os.path.isabs(path) else path
    with open(path, encoding='utf-8') as f:
        toks = tokens(f.read())
    ok_here = allow.get(rel, set()) | allow.get('*', set())
    for k, (kind, s, line) in enumerate(toks):
        if kind != 'str':
            continue
        call, arg = enclosing_call(toks, k)
        if not is_text(s) and not (arg in TEXT_ARGS.get(call, ()) and has_word(s)):
            continue
        if call in MARKS and (arg == 0 or (call in ('P_', 'NC_') and arg == 1)):
            continue
        if call in NOT_TEXT_CALLS:
            continue
        if s in ok_here:
            continue
        print(f'{rel}:{line}: not marked for translation: "{s}"')
        bad += 1
if bad:
    print(f'{bad} user-visible string(s) not marked: wrap them in _() (or N_() in a '
          'table, translated where shown), or list a non-text literal in '
          'tests/style/i18n_allow.txt', file=sys.stderr)
    sys.exit(1)
PY
}

if [[ ${1:-} == --self-test ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	fails=0
	expect() { # expect pass|fail NAME TEXT
		printf '%s\n' "$3" >"$tmp/$2.c"
		if (cd "$tmp" && check "$2.c") >"$tmp/out" 2>&1; then got=pass; else got=fail; fi
		if [[ $got == "$1" ]]; then
			echo "ok - $2: $1"
		else
			echo "not ok - $2: expected $1, got $got"
			cat "$tmp/out"
			fails=$((fails + 1))
		fi
	}
	expect fail unmarked_label 'static void f(WINDOW *w) { ui_put(w, 0, 0, "Quit"); }'
	expect fail unmarked_sentence 'msg = xasprintf("%s: no users on this PBX", name);'
	expect fail unmarked_in_table 'static const char *t[] = {"Details", "Users"};'
	expect fail unmarked_macro_help '#define L(X) X(A, "quit", "Quit provdesk")'
	expect fail unmarked_joined 'ui_msg(app, "Saved " "the customer");'
	expect fail only_marked_once 'ui_msg(app, _("Saved"), "Not saved");'
	expect fail status_word 'ui_msg(app, UI_R_STATUS_OK, "reloaded");'
	expect fail error_word 'ui_show_err(app, "retry", &e);'
	expect pass status_word_marked 'ui_msg(app, UI_R_STATUS_OK, "%s", _("reloaded"));'
	expect pass status_format 'ui_msg(app, UI_R_STATUS_OK, "%s", text);'
	expect pass file_name_word 'ui_export_ask(app, "outbox", t);'
	expect pass marked 'static void f(WINDOW *w) { ui_put(w, 0, 0, _("Quit")); }'
	expect pass marked_table 'static const char *t[] = {N_("Details"), N_("Users")};'
	expect pass marked_macro '#define L(X) X(A, "quit", N_("Quit provdesk"))'
	expect pass plural 'ui_msg(app, P_("%d user removed", "%d users removed", n), n);'
	expect pass context 'static const char *s[] = {NC_("device state", "Not in use")};'
	expect pass context_lookup 'return pd_trc("device state", s);'
	expect pass formats 'snprintf(b, n, "%s: %s (%d)", a, c, d);'
	expect pass keys 'x = "users[%zu].role"; y = "grid.header"; z = "NO_COLOR";'
	expect pass key_call 'if (!strcmp(name, "Customer view")) x = getenv("Some Var");'
	expect pass comment '/* "Quit provdesk" */ // "Help me"
int x;'
	printf 'allowed.c\tEnter\n*\tPgDn\n' >"$tmp/allow.txt"
	PD_I18N_ALLOW=$tmp/allow.txt expect pass allowed 'k = "Enter"; j = "PgDn";'
	PD_I18N_ALLOW=$tmp/allow.txt expect fail allowed_elsewhere_only 'k = "Esc";'
	if ((fails)); then
		echo "self-test: $fails case(s) wrong"
		exit 1
	fi
	exit 0
fi

cd "$root"
if (($#)); then
	check "$@"
else
	# Files not yet translated are listed in tests/style/i18n_pending.txt
	# and skipped; a listed file that has become clean must leave the list,
	# so it only shrinks.
	pending=$here/i18n_pending.txt
	prune=()
	for d in "${NOT_COVERED[@]}"; do
		prune+=(-path "$d" -prune -o)
	done
	mapfile -t files < <(find "${COVERED[@]}" "${prune[@]}" \( -name '*.c' -o -name '*.h' \) -print | sort)
	# one pass over every file (a python start per file takes a minute on a
	# loaded machine), then the report split by pending or not
	report=$(check "${files[@]}" 2>&1) || true
	rc=0
	for f in "${files[@]}"; do
		if [[ -f $pending ]] && grep -qxF "$f" "$pending"; then
			if ! grep -qF "$f:" <<<"$report"; then
				echo "$f: every string is marked: remove it from tests/style/i18n_pending.txt"
				rc=1
			fi
		elif grep -F "$f:" <<<"$report"; then
			rc=1
		fi
	done
	((rc == 0)) || echo "user-visible strings not marked: wrap them in _() (or N_() in a table," \
		"translated where shown), or list a non-text literal in tests/style/i18n_allow.txt"
	exit $rc
fi
