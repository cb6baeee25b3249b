/* Key table: actions come from UI_ACTION_LIST; the built-in bindings are
 * generated from it as keys-file text and go through the same parser as a
 * user's keys.conf (tig's built-in tigrc). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ui_internal.h"

static const struct {
	const char *name, *help;
	enum ui_context ctx;
} actions[UI_A__COUNT] = {[UI_A_NONE] = {"none", "", UI_CTX_GENERIC},
#define UI_X(e, n, c, k, h) [e] = {n, h, UI_CTX_##c},
#define UI_CTX_generic UI_CTX_GENERIC
#define UI_CTX_grid UI_CTX_GRID
#define UI_CTX_view UI_CTX_VIEW
#define UI_CTX_form UI_CTX_FORM
#define UI_CTX_list UI_CTX_LIST
#define UI_CTX_live UI_CTX_LIVE
#define UI_CTX_noc UI_CTX_NOC
#define UI_CTX_wizard UI_CTX_WIZARD
#define UI_CTX_records UI_CTX_RECORDS /* H5 */
                          UI_ACTION_LIST(UI_X)
#undef UI_X
};

/* "bind generic q F10 quit\n" ... */
const char ui_builtin_keys[] = "# built-in key bindings (same syntax as keys.conf)\n"
#define UI_X(e, n, c, k, h) "bind " #c " " k " " n "\n"
    UI_ACTION_LIST(UI_X)
#undef UI_X
    ;

static const struct {
	const char *name, *title;
} contexts[UI_CTX__COUNT] = {
#define UI_X(e, n, d) [e] = {n, d},
    UI_CONTEXT_LIST(UI_X)
#undef UI_X
};

const char *ui_action_name(enum ui_action a)
{
	return a < UI_A__COUNT ? actions[a].name : "?";
}
const char *ui_action_help(enum ui_action a)
{
	return a < UI_A__COUNT && actions[a].help[0] ? _(actions[a].help) : "";
}
enum ui_context ui_action_context(enum ui_action a)
{
	return a < UI_A__COUNT ? actions[a].ctx : UI_CTX_GENERIC;
}
const char *ui_context_name(enum ui_context c)
{
	return c < UI_CTX__COUNT ? contexts[c].name : "?";
}
const char *ui_context_title(enum ui_context c)
{
	return c < UI_CTX__COUNT ? _(contexts[c].title) : "?";
}

struct binding {
	enum ui_context ctx;
	int key;
	bool func;
	enum ui_action action;
};
struct ui_keymap {
	struct binding *b;
	size_t n, cap;
};

static const struct {
	const char *name;
	int key;
	bool func;
} named[] = {
    {"Enter", KEY_ENTER, true},  {"Esc", 27, false},         {"Tab", '\t', false},
    {"BackTab", KEY_BTAB, true}, {"Up", KEY_UP, true},       {"Down", KEY_DOWN, true},
    {"Left", KEY_LEFT, true},    {"Right", KEY_RIGHT, true}, {"PgUp", KEY_PPAGE, true},
    {"PgDn", KEY_NPAGE, true},   {"Home", KEY_HOME, true},   {"End", KEY_END, true},
    {"Ins", KEY_IC, true},       {"Del", KEY_DC, true},      {"Backspace", KEY_BACKSPACE, true},
    {"Space", ' ', false},       {"Hash", '#', false},
};

bool ui_key_parse(const char *name, int *key, bool *func)
{
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		if (strcasecmp(name, named[i].name) == 0) {
			*key = named[i].key;
			*func = named[i].func;
			return true;
		}
	if ((name[0] == 'F' || name[0] == 'f') && isdigit((unsigned char)name[1])) {
		char *end;
		long n = strtol(name + 1, &end, 10);
		if (*end || n < 1 || n > 24)
			return false;
		*key = KEY_F((int)n);
		*func = true;
		return true;
	}
	if (name[0] == '^' && name[1] && !name[2]) {
		int c = toupper((unsigned char)name[1]);
		if (c < '@' || c > '_')
			return false;
		*key = c - '@';
		*func = false;
		return true;
	}
	/* one character (UTF-8 allowed) */
	wchar_t wc;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t len = mbrtowc(&wc, name, strlen(name), &st);
	if (len == (size_t)-1 || len == (size_t)-2 || len == 0 || name[len])
		return false;
	*key = (int)wc;
	*func = false;
	return true;
}

void ui_key_name(int key, bool func, char *out, size_t n)
{
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		if (named[i].key == key && named[i].func == func && strcmp(named[i].name, "Hash")) {
			pd_utf8_copys(out, n, named[i].name);
			return;
		}
	if (func && key >= KEY_F(1) && key <= KEY_F(24)) {
		pd_snprintf(out, n, "F%d", key - KEY_F0);
		return;
	}
	if (!func && key > 0 && key < 32) {
		pd_snprintf(out, n, "^%c", key + '@');
		return;
	}
	if (!func) {
		char mb[8] = {0};
		mbstate_t st;
		memset(&st, 0, sizeof st);
		if (wcrtomb(mb, (wchar_t)key, &st) != (size_t)-1) {
			pd_utf8_copys(out, n, mb);
			return;
		}
	}
	pd_snprintf(out, n, "<%d>", key);
}

static void km_set(struct ui_keymap *km, enum ui_context ctx, int key, bool func, enum ui_action a)
{
	for (size_t i = 0; i < km->n; i++)
		if (km->b[i].ctx == ctx && km->b[i].key == key && km->b[i].func == func) {
			km->b[i].action = a;
			return;
		}
	if (a == UI_A_NONE)
		return;
	if (km->n == km->cap) {
		km->cap = km->cap ? km->cap * 2 : 64;
		km->b = xrealloc(km->b, km->cap * sizeof *km->b);
	}
	km->b[km->n++] = (struct binding){ctx, key, func, a};
}

static bool find_context(const char *s, enum ui_context *out)
{
	for (int i = 0; i < UI_CTX__COUNT; i++)
		if (strcmp(s, contexts[i].name) == 0) {
			*out = (enum ui_context)i;
			return true;
		}
	return false;
}

static bool find_action(const char *s, enum ui_action *out)
{
	for (int i = 0; i < UI_A__COUNT; i++)
		if (strcmp(s, actions[i].name) == 0) {
			*out = (enum ui_action)i;
			return true;
		}
	return false;
}

pd_status ui_keymap_parse(struct ui_keymap *km, const char *text, const char *source, pd_err *e)
{
	int lineno = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		p += len + (nl ? 1 : 0);
		lineno++;
		char *hash = line;
		/* a comment starts with # at the start of a word (the key "#" is "Hash") */
		while ((hash = strchr(hash, '#'))) {
			if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
				*hash = 0;
				break;
			}
			hash++;
		}
		char *words[32];
		int nw = 0;
		for (char *tok = strtok(line, " \t\r"); tok && nw < 32; tok = strtok(NULL, " \t\r"))
			words[nw++] = tok;
		pd_status st = PD_OK;
		if (nw == 0) {
			free(line);
			continue;
		}
		bool bind = strcmp(words[0], "bind") == 0;
		bool unbind = strcmp(words[0], "unbind") == 0;
		enum ui_context ctx = UI_CTX_GENERIC;
		enum ui_action act = UI_A_NONE;
		if (!bind && !unbind)
			st =
			    pd_fail_line(e, PD_E_CONFIG, lineno, NULL,
			                 _("%s:%d: unknown command '%s' (expected bind or unbind)"),
			                 source, lineno, words[0]);
		else if (nw < (bind ? 4 : 3))
			st = pd_fail_line(e, PD_E_CONFIG, lineno, NULL,
			                  _("%s:%d: expected '%s CONTEXT KEY...%s'"), source,
			                  lineno, words[0], bind ? " ACTION" : "");
		else if (!find_context(words[1], &ctx))
			st = pd_fail_line(e, PD_E_CONFIG, lineno, NULL,
			                  _("%s:%d: unknown context '%s'"), source, lineno,
			                  words[1]);
		else if (bind && !find_action(words[nw - 1], &act))
			st = pd_fail_line(e, PD_E_CONFIG, lineno, NULL,
			                  _("%s:%d: unknown action '%s'"), source, lineno,
			                  words[nw - 1]);
		int last = bind ? nw - 1 : nw;
		for (int i = 2; st == PD_OK && i < last; i++) {
			int key;
			bool func;
			if (!ui_key_parse(words[i], &key, &func))
				st = pd_fail_line(e, PD_E_CONFIG, lineno, NULL,
				                  _("%s:%d: unknown key '%s'"), source, lineno,
				                  words[i]);
			else
				km_set(km, ctx, key, func, act);
		}
		free(line);
		if (st != PD_OK)
			return st;
	}
	return PD_OK;
}

struct ui_keymap *ui_keymap_new(void)
{
	struct ui_keymap *km = xcalloc(1, sizeof *km);
	pd_err e;
	if (ui_keymap_parse(km, ui_builtin_keys, _("built-in keys"), &e) != PD_OK)
		abort(); /* the built-in table is checked by tests/ui/test_keys */
	return km;
}

void ui_keymap_free(struct ui_keymap *km)
{
	if (!km)
		return;
	free(km->b);
	free(km);
}

enum ui_action ui_keymap_lookup(const struct ui_keymap *km, enum ui_context ctx, int key, bool func)
{
	/* Enter arrives as '\n' or '\r' from most terminals, KEY_ENTER from some */
	if (!func && (key == '\n' || key == '\r')) {
		key = KEY_ENTER;
		func = true;
	}
	if (func && key == KEY_BACKSPACE)
		func = true;
	/* the wizard is a form: its own keys first, then the form's, then generic */
	enum ui_context chain[3] = {ctx, UI_CTX_GENERIC, UI_CTX_GENERIC};
	size_t n_chain = ctx == UI_CTX_GENERIC ? 1 : 2;
	if (ctx == UI_CTX_WIZARD) {
		chain[1] = UI_CTX_FORM;
		n_chain = 3;
	}
	for (size_t pass = 0; pass < n_chain; pass++)
		for (size_t i = 0; i < km->n; i++)
			if (km->b[i].ctx == chain[pass] && km->b[i].key == key &&
			    km->b[i].func == func)
				return km->b[i].action;
	return UI_A_NONE;
}

/* The keys of a, those that ctx runs it with only when here. */
static void keys_of(const struct ui_keymap *km, enum ui_action a, bool here, enum ui_context ctx,
                    char *out, size_t n)
{
	size_t used = 0;
	out[0] = 0;
	for (size_t i = 0; i < km->n; i++) {
		if (km->b[i].action != a)
			continue;
		if (here && ui_keymap_lookup(km, ctx, km->b[i].key, km->b[i].func) != a)
			continue;
		char name[32];
		ui_key_name(km->b[i].key, km->b[i].func, name, sizeof name);
		int w = snprintf(out + used, n - used, "%s%s", used ? ", " : "", name);
		if (w < 0 || (size_t)w >= n - used) {
			out[used] = 0; /* whole names only */
			break;
		}
		used += (size_t)w;
	}
}

void ui_keymap_keys_of(const struct ui_keymap *km, enum ui_action a, char *out, size_t n)
{
	keys_of(km, a, false, UI_CTX_GENERIC, out, n);
}

void ui_keymap_keys_in(const struct ui_keymap *km, enum ui_context ctx, enum ui_action a, char *out,
                       size_t n)
{
	keys_of(km, a, true, ctx, out, n);
}

bool ui_keymap_alt_key(const struct ui_keymap *km, enum ui_context ctx, enum ui_action a, char *out,
                       size_t n)
{
	for (size_t i = 0; i < km->n; i++) {
		const struct binding *b = &km->b[i];
		if (b->action != a || b->func || b->key == 27 || b->key == ' ' || b->key == '\t')
			continue;
		if (ui_keymap_lookup(km, ctx, b->key, b->func) != a)
			continue; /* bound in another context, or shadowed here */
		ui_key_name(b->key, b->func, out, n);
		return true;
	}
	return false;
}
