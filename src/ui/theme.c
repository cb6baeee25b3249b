/* Themes map roles to styles (htop CRT.c, tmux colour.c). The built-in
 * themes are the same text as themes/default.theme and themes/monochrome.theme
 * (a test compares them) and go through the same parser. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pd_build_config.h"

#include "provdesk/paths.h"
#include "ui_internal.h"

const char ui_builtin_default_theme[] =
#include "theme_default.inc"
    ;
const char ui_builtin_monochrome_theme[] =
#include "theme_monochrome.inc"
    ;

static const char *role_names[UI_R__COUNT] = {
#define UI_X(e, n) [e] = n,
    UI_ROLE_LIST(UI_X)
#undef UI_X
};

static const struct {
	const char *name;
	int index;
} colour_names[] = {
    {"default", -1},       {"black", 0},        {"red", 1},           {"green", 2},
    {"yellow", 3},         {"blue", 4},         {"magenta", 5},       {"cyan", 6},
    {"white", 7},          {"brightblack", 8},  {"grey", 8},          {"gray", 8},
    {"brightred", 9},      {"brightgreen", 10}, {"brightyellow", 11}, {"brightblue", 12},
    {"brightmagenta", 13}, {"brightcyan", 14},  {"brightwhite", 15},
};

static const struct {
	const char *name;
	attr_t attr;
} attr_names[] = {
    {"bold", A_BOLD},
    {"underline", A_UNDERLINE},
    {"reverse", A_REVERSE},
    {"dim", A_DIM},
    {"standout", A_STANDOUT},
    {"blink", A_BLINK},
    {"italic", A_ITALIC},
    {"normal", 0},
    {"none", 0},
};

/* Colour as given: index 0..255 (-1 default) or 24-bit (is_rgb). */
struct colour {
	int v;
	bool rgb;
};

static bool parse_colour(const char *s, struct colour *c)
{
	for (size_t i = 0; i < sizeof colour_names / sizeof colour_names[0]; i++)
		if (strcasecmp(s, colour_names[i].name) == 0) {
			*c = (struct colour){colour_names[i].index, false};
			return true;
		}
	if (s[0] == '#') {
		if (strlen(s) != 7)
			return false;
		for (int i = 1; i < 7; i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
		*c = (struct colour){(int)strtol(s + 1, NULL, 16), true};
		return true;
	}
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (!*s || *end || errno || n < 0 || n > 255)
		return false;
	*c = (struct colour){(int)n, false};
	return true;
}

/* The xterm 256-colour palette as RGB. */
static int palette_rgb(int i)
{
	static const int base[16] = {0x000000, 0x800000, 0x008000, 0x808000, 0x000080, 0x800080,
	                             0x008080, 0xc0c0c0, 0x808080, 0xff0000, 0x00ff00, 0xffff00,
	                             0x0000ff, 0xff00ff, 0x00ffff, 0xffffff};
	if (i < 16)
		return base[i];
	if (i < 232) {
		static const int lv[6] = {0, 95, 135, 175, 215, 255};
		i -= 16;
		return lv[i / 36] << 16 | lv[(i / 6) % 6] << 8 | lv[i % 6];
	}
	int g = 8 + (i - 232) * 10;
	return g << 16 | g << 8 | g;
}

static int dist(int a, int b)
{
	int dr = ((a >> 16) & 255) - ((b >> 16) & 255), dg = ((a >> 8) & 255) - ((b >> 8) & 255),
	    db = (a & 255) - (b & 255);
	return dr * dr * 3 + dg * dg * 4 + db * db * 2;
}

static int nearest(int rgb, int first, int last)
{
	int best = first, bd = -1;
	for (int i = first; i <= last; i++) {
		int d = dist(rgb, palette_rgb(i));
		if (bd < 0 || d < bd) {
			bd = d;
			best = i;
		}
	}
	return best;
}

short ui_colour_degrade(int v, bool is_rgb, int colours)
{
	if (!is_rgb && v < 0)
		return -1;
	if (!is_rgb && v < colours)
		return (short)v;
	int rgb = is_rgb ? v : palette_rgb(v);
	if (colours >= 256)
		return (short)nearest(rgb, 16, 255);
	if (colours >= 16)
		return (short)nearest(rgb, 0, 15);
	/* 8 colours: the dim base set (white is 7) */
	int n = nearest(rgb, 0, 15);
	return (short)(n >= 8 ? (n == 8 ? 0 : n - 8) : n);
}

pd_status ui_theme_parse(struct ui_theme *t, const char *text, const char *source, pd_err *e)
{
	int lineno = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		p += len + (nl ? 1 : 0);
		lineno++;
		char *hash = strchr(line, ';');
		if (hash)
			*hash = 0;
		/* '#' starts a comment unless it is a #rrggbb colour */
		for (char *h = line; (h = strchr(h, '#'));) {
			if ((h == line || isspace((unsigned char)h[-1])) &&
			    !(isxdigit((unsigned char)h[1]) && isxdigit((unsigned char)h[2]))) {
				*h = 0;
				break;
			}
			h++;
		}
		char *eq = strchr(line, '=');
		char *words[16];
		int nw = 0;
		pd_status st = PD_OK;
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s) {
			free(line);
			continue;
		}
		if (!eq) {
			st = pd_fail_line(e, PD_E_CONFIG, lineno, NULL,
			                  _("%s:%d: expected 'role = fg bg [attributes]'"), source,
			                  lineno);
			free(line);
			return st;
		}
		*eq = 0;
		char *role = strtok(line, " \t\r");
		char *extra = role ? strtok(NULL, " \t\r") : NULL;
		for (char *tok = strtok(eq + 1, " \t\r"); tok && nw < 16;
		     tok = strtok(NULL, " \t\r"))
			words[nw++] = tok;
		int r = -1;
		for (int i = 0; role && i < UI_R__COUNT; i++)
			if (strcmp(role, role_names[i]) == 0)
				r = i;
		struct colour fg, bg;
		attr_t attrs = 0;
		if (!role || extra)
			st = pd_fail_line(e, PD_E_CONFIG, lineno, NULL,
			                  _("%s:%d: expected one role name before '='"), source,
			                  lineno);
		else if (r < 0)
			st = pd_fail_line(e, PD_E_CONFIG, lineno, role,
			                  _("%s:%d: unknown role '%s'"), source, lineno, role);
		else if (nw < 2)
			st = pd_fail_line(
			    e, PD_E_CONFIG, lineno, role,
			    _("%s:%d: '%s' needs a foreground and a background colour"), source,
			    lineno, role);
		else if (!parse_colour(words[0], &fg))
			st = pd_fail_line(e, PD_E_CONFIG, lineno, role,
			                  _("%s:%d: bad colour '%s' (a name, 0-255 or #rrggbb)"),
			                  source, lineno, words[0]);
		else if (!parse_colour(words[1], &bg))
			st = pd_fail_line(e, PD_E_CONFIG, lineno, role,
			                  _("%s:%d: bad colour '%s' (a name, 0-255 or #rrggbb)"),
			                  source, lineno, words[1]);
		for (int i = 2; st == PD_OK && i < nw; i++) {
			bool ok = false;
			for (size_t j = 0; j < sizeof attr_names / sizeof attr_names[0]; j++)
				if (strcasecmp(words[i], attr_names[j].name) == 0) {
					attrs |= attr_names[j].attr;
					ok = true;
				}
			if (!ok)
				st = pd_fail_line(e, PD_E_CONFIG, lineno, role,
				                  _("%s:%d: unknown attribute '%s'"), source,
				                  lineno, words[i]);
		}
		if (st == PD_OK) {
			t->roles[r].attrs = attrs;
			t->roles[r].set = true;
			/* kept as given; degraded in ui_theme_apply */
			t->roles[r].fg = fg.v;
			t->roles[r].fg_rgb = fg.rgb;
			t->roles[r].bg = bg.v;
			t->roles[r].bg_rgb = bg.rgb;
		}
		free(line);
		if (st != PD_OK)
			return st;
	}
	for (int i = 0; i < UI_R__COUNT; i++)
		if (!t->roles[i].set)
			return pd_fail(e, PD_E_CONFIG, role_names[i], _("%s: role '%s' is missing"),
			               source, role_names[i]);
	return PD_OK;
}

static void load_builtin(struct ui_theme *t, const char *name, const char *text)
{
	ui_theme_free(t);
	pd_err e;
	t->name = xstrdup(name);
	if (ui_theme_parse(t, text, name, &e) != PD_OK)
		abort(); /* checked by tests/ui/test_theme */
}

pd_status ui_theme_load(struct ui_theme *t, const char *config_dir, const char *name, pd_err *e)
{
	memset(t, 0, sizeof *t);
	if (!name || !*name)
		name = "default";
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_') {
			load_builtin(t, "default", ui_builtin_default_theme);
			return pd_fail(e, PD_E_CONFIG, "theme",
			               _("theme name '%s': only letters, digits, - and _"), name);
		}
	char *rel = xasprintf("themes/%s.theme", name);
	char *path = pd_path_find_data(config_dir, rel);
	free(rel);
	if (!path) {
		load_builtin(t, "default", ui_builtin_default_theme);
		if (strcmp(name, "default") == 0)
			return PD_OK; /* the built-in one is the default */
		if (strcmp(name, "monochrome") == 0) {
			load_builtin(t, "monochrome", ui_builtin_monochrome_theme);
			return PD_OK;
		}
		return pd_fail(e, PD_E_CONFIG, "theme", _("theme '%s' not found (themes/%s.theme)"),
		               name, name);
	}
	char *text = NULL;
	int err = pd_read_file(path, 0, &text, NULL);
	pd_status st;
	if (err)
		st = pd_fail(e, PD_E_CONFIG, "theme", "%s: %s", path, strerror(err));
	else if (!pd_utf8_valid(text, strlen(text)))
		st = pd_fail(e, PD_E_CONFIG, "theme", _("%s: not valid UTF-8"), path);
	else {
		t->name = xstrdup(name);
		st = ui_theme_parse(t, text, path, e);
	}
	free(text);
	free(path);
	if (st != PD_OK) {
		load_builtin(t, "default", ui_builtin_default_theme);
	}
	return st;
}

void ui_theme_free(struct ui_theme *t)
{
	free(t->name);
	memset(t, 0, sizeof *t);
}

static attr_t role_attr[UI_R__COUNT];

void ui_theme_apply(const struct ui_theme *t, bool mono)
{
	int colours = mono ? 0 : COLORS;
	bool defaults = !mono && use_default_colors() == OK;
	for (int i = 0; i < UI_R__COUNT; i++) {
		attr_t a = t->roles[i].attrs;
		if (colours >= 8 && COLOR_PAIRS > i + 1) {
			short fg = ui_colour_degrade(t->roles[i].fg, t->roles[i].fg_rgb, colours);
			short bg = ui_colour_degrade(t->roles[i].bg, t->roles[i].bg_rgb, colours);
			if (!defaults) {
				if (fg < 0)
					fg = COLOR_WHITE;
				if (bg < 0)
					bg = COLOR_BLACK;
			}
			init_pair((short)(i + 1), fg, bg);
			a |= COLOR_PAIR(i + 1);
		}
		role_attr[i] = a;
	}
}

attr_t ui_role(enum ui_role r)
{
	return r < UI_R__COUNT ? role_attr[r] : 0;
}
