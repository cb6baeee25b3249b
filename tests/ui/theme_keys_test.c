/* Themes and key bindings: the parsers every user file goes through, the
 * built-in defaults (which go through the same parsers), colour degrading. */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/paths.h"
#include "src/ui/ui_internal.h"
#include "testlib.h"
#include <unistd.h>

/* the whole file (tests/lib), which must be readable */
static char *slurp(const char *path)
{
	char *b = tl_slurp(path, NULL);
	cr_assert_not_null(b, "cannot open %s", path);
	return b;
}

static char *theme_path(const char *name)
{
	const char *root = getenv("PROVDESK_SOURCE_ROOT");
	cr_assert_not_null(root);
	return xasprintf("%s/themes/%s.theme", root, name);
}

Test(theme, builtin_default_is_the_shipped_file)
{
	char *p = theme_path("default");
	char *text = slurp(p);
	cr_assert_str_eq(ui_builtin_default_theme, text);
	free(text);
	free(p);
	p = theme_path("monochrome");
	text = slurp(p);
	cr_assert_str_eq(ui_builtin_monochrome_theme, text);
	free(text);
	free(p);
}

Test(theme, shipped_themes_parse_and_monochrome_has_no_colour)
{
	const char *names[] = {"default", "monochrome", "noc-dark"};
	for (size_t i = 0; i < 3; i++) {
		char *p = theme_path(names[i]);
		char *text = slurp(p);
		struct ui_theme t;
		memset(&t, 0, sizeof t);
		pd_err e;
		pd_err_clear(&e);
		cr_assert_eq(ui_theme_parse(&t, text, p, &e), PD_OK, "%s: %s", names[i], e.message);
		if (strcmp(names[i], "monochrome") == 0)
			for (int r = 0; r < UI_R__COUNT; r++) {
				cr_assert_eq(t.roles[r].fg, -1, "role %d has a colour", r);
				cr_assert_eq(t.roles[r].bg, -1, "role %d has a colour", r);
			}
		/* the selection must be visible without colour too */
		if (strcmp(names[i], "monochrome") == 0)
			cr_assert(t.roles[UI_R_GRID_SELECTED].attrs & A_REVERSE);
		ui_theme_free(&t);
		free(text);
		free(p);
	}
}

static void expect_error(const char *text, int line, const char *needle)
{
	struct ui_theme t;
	memset(&t, 0, sizeof t);
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(ui_theme_parse(&t, text, "my.theme", &e), PD_E_CONFIG, "accepted: %s", text);
	cr_assert_eq(e.line, line, "line %d for %s (%s)", e.line, text, e.message);
	cr_assert(strstr(e.message, needle), "message '%s' lacks '%s'", e.message, needle);
	char where[32];
	snprintf(where, sizeof where, "my.theme:%d:", line);
	cr_assert(strstr(e.message, where), "message '%s' does not name %s", e.message, where);
	ui_theme_free(&t);
}

Test(theme, bad_lines_name_file_and_line)
{
	expect_error("normal = default default\nnope = red blue\n", 2, "unknown role 'nope'");
	expect_error("# c\n\ngrid.header = purple blue\n", 3, "bad colour 'purple'");
	expect_error("grid.header = red #12345\n", 1, "bad colour '#12345'");
	expect_error("grid.header = red 256\n", 1, "bad colour '256'");
	expect_error("grid.header = red blue blinky\n", 1, "unknown attribute 'blinky'");
	expect_error("grid.header = red\n", 1, "needs a foreground and a background");
	expect_error("grid.header red blue\n", 1, "expected 'role = fg bg");
}

Test(theme, missing_role_is_an_error)
{
	struct ui_theme t;
	memset(&t, 0, sizeof t);
	pd_err e;
	cr_assert_eq(ui_theme_parse(&t, "normal = default default\n", "x.theme", &e), PD_E_CONFIG);
	cr_assert(strstr(e.message, "is missing"), "%s", e.message);
}

Test(theme, load_falls_back_to_builtin_with_message)
{
	char *dir = tl_tmpdir("pdtheme");
	cr_assert_not_null(dir);
	char *tdir = xasprintf("%s/themes", dir);
	pd_mkdir_p(tdir, 0700);
	char *bad = tl_write_file(
	    tdir, "broken.theme",
	    "normal = default default\ngrid.header = green black\ngrid.row = mauve black\n");
	cr_assert_not_null(bad);
	struct ui_theme t;
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(ui_theme_load(&t, dir, "broken", &e), PD_E_CONFIG);
	cr_assert(strstr(e.message, "broken.theme:3: bad colour 'mauve'"), "%s", e.message);
	cr_assert_str_eq(t.name, "default");
	cr_assert(t.roles[UI_R_GRID_SELECTED].set, "fell back to a complete theme");
	ui_theme_free(&t);
	pd_err_clear(&e);
	cr_assert_eq(ui_theme_load(&t, dir, "nosuch", &e), PD_E_CONFIG);
	cr_assert(strstr(e.message, "'nosuch' not found"), "%s", e.message);
	ui_theme_free(&t);
	cr_assert_eq(ui_theme_load(&t, dir, "../etc/passwd", &e), PD_E_CONFIG);
	ui_theme_free(&t);
	/* the user's file wins over the shipped one */
	char *mine = tl_write_file(tdir, "default.theme", ui_builtin_monochrome_theme);
	cr_assert_not_null(mine);
	cr_assert_eq(ui_theme_load(&t, dir, "default", &e), PD_OK, "%s", e.message);
	cr_assert_eq(t.roles[UI_R_TITLE].bg, -1);
	ui_theme_free(&t);
	tl_rmrf(dir);
	free(mine);
	free(bad);
	free(tdir);
	free(dir);
}

Test(theme, colours_degrade)
{
	/* 24-bit to the 256 cube and to 8 colours */
	cr_assert_eq(ui_colour_degrade(0xff0000, true, 256), 196);
	cr_assert_eq(ui_colour_degrade(0xff0000, true, 8), 1);
	cr_assert_eq(ui_colour_degrade(0x000000, true, 8), 0);
	cr_assert_eq(ui_colour_degrade(0xffffff, true, 8), 7);
	cr_assert_eq(ui_colour_degrade(0x121212, true, 256), 233);
	/* indexes pass through when the terminal has them */
	cr_assert_eq(ui_colour_degrade(208, false, 256), 208);
	cr_assert_eq(ui_colour_degrade(208, false, 8), 3); /* orange -> yellow */
	cr_assert_eq(ui_colour_degrade(-1, false, 8), -1);
	cr_assert_eq(ui_colour_degrade(4, false, 8), 4);
}

Test(keys, builtin_bindings_parse_and_resolve)
{
	setlocale(LC_ALL, "C.UTF-8");
	struct ui_keymap *km = ui_keymap_new();
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, 'q', false), UI_A_QUIT);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, KEY_F(10), true), UI_A_QUIT);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, '/', false), UI_A_FILTER);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, 'n', false), UI_A_NEW);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, KEY_F(7), true), UI_A_NEW);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, '\r', false), UI_A_OPEN);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, 'j', false), UI_A_DOWN);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_VIEW, '\t', false), UI_A_NEXT_TAB);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_FORM, '\t', false), UI_A_NEXT_FIELD);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_FORM, 19, false), UI_A_SAVE); /* ^S */
	/* grid keys do not leak into other contexts; a context's own binding
	 * of the same key wins there ('/' filters the view's tab, H5) */
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_VIEW, 'n', false), UI_A_NONE);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_VIEW, '/', false), UI_A_TAB_FILTER);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, ' ', false), UI_A_MARK);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_VIEW, ' ', false), UI_A_PAGE_DOWN);
	char keys[64];
	ui_keymap_keys_of(km, UI_A_QUIT, keys, sizeof keys);
	cr_assert_str_eq(keys, "q, F10");
	ui_keymap_free(km);
	/* every action has a name, help text and appears in the built-in text */
	for (int a = 1; a < UI_A__COUNT; a++) {
		cr_assert(strlen(ui_action_help((enum ui_action)a)) > 5);
		char *line = xasprintf(" %s\n", ui_action_name((enum ui_action)a));
		cr_assert(strstr(ui_builtin_keys, line), "%s not in built-in keys", line);
		free(line);
	}
}

Test(keys, user_file_rebinds_and_errors_name_the_line)
{
	setlocale(LC_ALL, "C.UTF-8");
	struct ui_keymap *km = ui_keymap_new();
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(ui_keymap_parse(km, "# mine\nbind grid x F12 filter\nunbind generic q\n",
	                             "keys.conf", &e),
	             PD_OK, "%s", e.message);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, 'x', false), UI_A_FILTER);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, KEY_F(12), true), UI_A_FILTER);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, 'q', false), UI_A_NONE);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, KEY_F(10), true), UI_A_QUIT);
	const struct {
		const char *text, *needle;
	} bad[] = {
	    {"\n\nbind grid x nosuch\n", "keys.conf:3: unknown action 'nosuch'"},
	    {"bind nowhere x quit\n", "keys.conf:1: unknown context 'nowhere'"},
	    {"bind grid F99 quit\n", "keys.conf:1: unknown key 'F99'"},
	    {"bind grid quit\n", "keys.conf:1: expected 'bind CONTEXT KEY... ACTION'"},
	    {"press grid x quit\n", "keys.conf:1: unknown command 'press'"},
	    {"bind grid xy quit\n", "keys.conf:1: unknown key 'xy'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pd_err_clear(&e);
		cr_assert_eq(ui_keymap_parse(km, bad[i].text, "keys.conf", &e), PD_E_CONFIG);
		cr_assert(strstr(e.message, bad[i].needle), "'%s' lacks '%s'", e.message,
		          bad[i].needle);
	}
	ui_keymap_free(km);
}

Test(keys, key_names_round_trip)
{
	setlocale(LC_ALL, "C.UTF-8");
	const char *names[] = {"q",   "F1",      "F10",  "^S", "Enter", "Esc",
	                       "Tab", "BackTab", "PgDn", "é",  "Space"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		int k;
		bool func;
		cr_assert(ui_key_parse(names[i], &k, &func), "%s", names[i]);
		char out[32];
		ui_key_name(k, func, out, sizeof out);
		cr_assert_str_eq(out, names[i]);
	}
}

/* The wizard's keys come from the table: its own context, then the form's,
 * then generic; a keys.conf line moves them. */
Test(keys, wizard_context_falls_back_to_form_then_generic)
{
	setlocale(LC_ALL, "C.UTF-8");
	struct ui_keymap *km = ui_keymap_new();
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_F(5), true), UI_A_WIZ_BACK);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_F(6), true), UI_A_WIZ_NEXT);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_F(7), true), UI_A_WIZ_ADD_USER);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_F(8), true), UI_A_WIZ_DEL_USER);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_F(9), true), UI_A_WIZ_DISCOVER);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, '\t', false), UI_A_NEXT_FIELD);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, 19, false), UI_A_SAVE);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, 27, false), UI_A_BACK);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_NPAGE, true), UI_A_PAGE_DOWN);
	/* wizard keys stay in the wizard: F7 in a form screen is nothing */
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_FORM, KEY_F(7), true), UI_A_NONE);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_GRID, KEY_F(7), true), UI_A_NEW);
	cr_assert_eq(ui_context_name(UI_CTX_WIZARD)[0], 'w');
	pd_err e;
	pd_err_clear(&e);
	cr_assert_eq(ui_keymap_parse(km,
	                             "unbind wizard F6\nbind wizard F11 ^N wizard-next\n"
	                             "bind wizard F4 wizard-discover\n",
	                             "keys.conf", &e),
	             PD_OK, "%s", e.message);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_F(6), true), UI_A_NONE);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_F(11), true), UI_A_WIZ_NEXT);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, 14, false), UI_A_WIZ_NEXT);
	/* the wizard's binding wins over the form's pick, which other forms keep */
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_WIZARD, KEY_F(4), true), UI_A_WIZ_DISCOVER);
	cr_assert_eq(ui_keymap_lookup(km, UI_CTX_FORM, KEY_F(4), true), UI_A_PICK);
	char keys[64];
	ui_keymap_keys_of(km, UI_A_WIZ_NEXT, keys, sizeof keys);
	cr_assert_str_eq(keys, "F11, ^N");
	ui_keymap_free(km);
}

/* One column-width routine for the live panels and the NOC. */
Test(columns, fit)
{
	const int base[] = {14, 11, 5, 12}, grow[] = {3, 1, 0, 4};
	int cw[4];
	/* 14+11+5+12 + 3 spaces = 45: 35 more shared 3:1:0:4 */
	ui_columns_fit(80, base, grow, 4, cw);
	cr_assert_eq(cw[0], 14 + 35 * 3 / 8);
	cr_assert_eq(cw[1], 11 + 35 * 1 / 8);
	cr_assert_eq(cw[2], 5, "a column that does not grow keeps its width");
	cr_assert_eq(cw[3], 12 + 35 * 4 / 8);
	cr_assert_leq(cw[0] + cw[1] + cw[2] + cw[3] + 3, 80);
	/* narrower than the bases: the bases, nothing negative */
	ui_columns_fit(30, base, grow, 4, cw);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(cw[i], base[i]);
	/* no growing column */
	const int none[] = {0, 0, 0, 0};
	ui_columns_fit(200, base, none, 4, cw);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(cw[i], base[i]);
}

/* Translated titles longer than the bases (the NOC in French): each column
 * gets at least its title, the growing columns give the cells back, widest
 * first, never below their own title. */
Test(columns, fit_titles)
{
	setlocale(LC_ALL, "C.UTF-8");
	const int base[] = {12, 16, 5, 10}, grow[] = {3, 1, 0, 4};
	const char *en[] = {"Customer", "PBX status", "Calls", "Last error"};
	const char *fr[] = {"Client", "État PBX", "Appels", "Erreur"};
	int a[4], b[4];
	/* English titles fit the bases: the same as ui_columns_fit */
	ui_columns_fit(46, base, grow, 4, a);
	ui_columns_fit_titles(46, en, base, grow, 4, b);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(a[i], b[i]);
	/* "Appels" is 6 cells: the non-growing column widens, the widest
	 * growing one (16) gives the cell back; the row still fits */
	ui_columns_fit_titles(46, fr, base, grow, 4, b);
	cr_assert_eq(b[2], 6);
	cr_assert_eq(b[1], 15);
	cr_assert_leq(b[0] + b[1] + b[2] + b[3] + 3, 46);
	/* a title is never cut to make room: too narrow, the row overflows */
	const char *lng[] = {"Client", "État PBX", "Appels", "Dernière erreur"};
	ui_columns_fit_titles(20, lng, base, grow, 4, b);
	cr_assert_geq(b[3], 15);
	cr_assert_geq(b[1], 8, "État PBX is 8 cells (É is one)");
}
