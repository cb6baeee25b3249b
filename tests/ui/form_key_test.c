/* The form key handler (ui_form_key) without a terminal: curses runs on
 * /dev/null (newterm), the form is laid out on stdscr, and keys are fed as
 * the app loop would feed them (struct ui_event). What is asserted is the
 * form's own state: values, the current field, errors. */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ui/ui_internal.h"

static SCREEN *scr;
static FILE *tty_out, *tty_in;
static struct ui_form *f;
static int checks; /* calls of the check callback */

enum { F_NAME, F_TENANT, F_REF, F_SECRET, F_ON, F_KIND, F_NOTES, F__N };
static const struct ui_fspec spec[F__N] = {
    {"name", "Name", UI_F_TEXT, 30, 1, 40, NULL},
    {"tenant_id", "Tenant id", UI_F_READONLY, 36, 1, 0, NULL},
    {"reference", "Reference", UI_F_TEXT, 20, 1, 10, NULL},
    {"secret", "Secret", UI_F_SECRET, 20, 1, 16, NULL},
    {"enabled", "Enabled", UI_F_TOGGLE, 0, 1, 0, NULL},
    {"kind", "Kind", UI_F_CHOICE, 20, 1, 0, NULL},
    {"notes", "Notes", UI_F_MULTILINE, 30, 3, 200, NULL},
};

/* The name may not be empty nor start with a space; nothing else is checked. */
static pd_status check(struct ui_form *form, int idx, void *ctx, pd_err *e)
{
	(void)ctx;
	checks++;
	if (idx != F_NAME)
		return PD_OK;
	const char *v = ui_form_get(form, idx);
	if (!*v)
		return pd_fail(e, PD_E_INVALID, "name", "a name is required");
	return PD_OK;
}

static void setup(void)
{
	cr_assert_not_null(setlocale(LC_ALL, "C.UTF-8"));
	tty_out = fopen("/dev/null", "w");
	tty_in = fopen("/dev/null", "r");
	cr_assert(tty_out && tty_in);
	scr = newterm("xterm-256color", tty_out, tty_in);
	cr_assert_not_null(scr, "no terminfo for xterm-256color");
	resizeterm(24, 80);
	f = ui_form_new(NULL, spec, F__N, check, NULL, NULL);
	static const struct ui_choice kinds[] = {
	    {"alpha", "Alpha"}, {"beta", "Beta"}, {"gamma", "Gamma"}};
	ui_form_set_choices(f, F_KIND, kinds, 3);
	ui_form_set(f, F_TENANT, "0f0e0d0c-0000-4000-8000-000000000001");
	ui_form_set(f, F_ON, "no");
	ui_form_set(f, F_KIND, "alpha");
	ui_form_layout(f, stdscr, 0, 0, 20, 80);
	checks = 0;
}

static void teardown(void)
{
	ui_form_free(f);
	endwin();
	delscreen(scr);
	fclose(tty_out);
	fclose(tty_in);
}

TestSuite(form_key, .init = setup, .fini = teardown);

static int press(int key, bool func, enum ui_action a)
{
	struct ui_event ev = {.key = key, .func = func, .action = a};
	return ui_form_key(f, &ev);
}
static void type(const char *utf8)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	wchar_t wc;
	size_t n;
	while (*utf8 && (n = mbrtowc(&wc, utf8, strlen(utf8), &st)) > 0 && n < (size_t)-2) {
		cr_assert(press((int)wc, false, UI_A_NONE) & UI_HANDLED, "key %lc not handled",
		          (wint_t)wc);
		utf8 += n;
	}
}
static void tab(void)
{
	press('\t', false, UI_A_NEXT_FIELD);
}
static void backtab(void)
{
	press(KEY_BTAB, true, UI_A_PREV_FIELD);
}
static int backspace(void)
{
	return press(KEY_BACKSPACE, true, UI_A_NONE);
}

Test(form_key, typing_fills_the_current_field_in_utf8)
{
	cr_assert_eq(ui_form_current(f), F_NAME);
	type("Société Télécom");
	cr_assert_str_eq(ui_form_get(f, F_NAME), "Société Télécom");
	cr_assert(ui_form_modified(f, F_NAME));
	cr_assert_str_eq(ui_form_get(f, F_REF), "", "nothing leaked into another field");
}

Test(form_key, letters_that_are_actions_elsewhere_are_typed)
{
	/* 'q', 'n', '?' are grid/help keys: in a text field they are text */
	int r = press('q', false, UI_A_QUIT);
	cr_assert(r & UI_HANDLED);
	press('?', false, UI_A_HELP);
	cr_assert_str_eq(ui_form_get(f, F_NAME), "q?");
}

Test(form_key, backspace_deletes_before_the_cursor)
{
	type("Acmé");
	backspace();
	cr_assert_str_eq(ui_form_get(f, F_NAME), "Acm");
	press(KEY_LEFT, true, UI_A_NONE);
	backspace(); /* the 'c' before the cursor */
	cr_assert_str_eq(ui_form_get(f, F_NAME), "Am");
	press(127, false, UI_A_NONE); /* DEL as most terminals send it */
	cr_assert_str_eq(ui_form_get(f, F_NAME), "m");
}

Test(form_key, backspace_at_the_start_of_a_field_changes_nothing)
{
	tab(); /* the reference (the tenant id is read-only) */
	cr_assert_eq(ui_form_current(f), F_REF);
	type("AB");
	press(KEY_HOME, true, UI_A_NONE);
	int r = backspace();
	cr_assert(r & UI_HANDLED, "backspace is the form's, not the screen's");
	cr_assert_str_eq(ui_form_get(f, F_REF), "AB");
	cr_assert_eq(ui_form_current(f), F_REF, "did not move to the previous field");
	cr_assert_str_eq(ui_form_get(f, F_NAME), "", "the previous field is untouched");
}

Test(form_key, backspace_in_an_empty_field_stays_there)
{
	tab();
	backspace();
	cr_assert_eq(ui_form_current(f), F_REF);
	cr_assert_str_eq(ui_form_get(f, F_REF), "");
	type("x");
	cr_assert_str_eq(ui_form_get(f, F_REF), "x", "the field still takes text");
}

Test(form_key, ctrl_u_clears_the_field)
{
	tab();
	type("AB");
	press(21, false, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_REF), "");
	type("AB");
	press(KEY_HOME, true, UI_A_NONE);
	press(21, false, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_REF), "", "from the start of the field too");
}

Test(form_key, ctrl_u_after_backspace_at_the_start_clears_this_field)
{
	tab();
	type("AB");
	press(KEY_HOME, true, UI_A_NONE);
	backspace();
	press(21, false, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_REF), "");
	cr_assert_eq(ui_form_current(f), F_REF);
}

Test(form_key, backspace_at_the_start_of_the_first_field_does_not_wrap)
{
	/* libform's default would move to the previous field (from the first:
	 * the last) behind the form's back, and the text typed next would land
	 * there */
	backspace();
	type("Acme");
	cr_assert_str_eq(ui_form_get(f, F_NAME), "Acme");
	cr_assert_str_eq(ui_form_get(f, F_NOTES), "");
}

Test(form_key, enter_at_the_end_of_a_full_multiline_field_stays_there)
{
	ui_form_focus(f, F_NOTES);
	for (int k = 0; k < 80; k++) /* more lines than the field may grow to */
		press('\n', false, UI_A_NONE);
	type("z");
	cr_assert_eq(ui_form_current(f), F_NOTES);
	cr_assert_eq(checks, 0, "no field was left");
	cr_assert_str_eq(ui_form_get(f, F_NAME), "", "the text did not go to the next field");
	cr_assert_not_null(strchr(ui_form_get(f, F_NOTES), 'z'));
}

Test(form_key, tab_and_shift_tab_skip_read_only_fields)
{
	type("Acme");
	tab();
	cr_assert_eq(ui_form_current(f), F_REF, "Tab skips the read-only tenant id");
	tab();
	cr_assert_eq(ui_form_current(f), F_SECRET);
	tab();
	cr_assert_eq(ui_form_current(f), F_ON);
	backtab();
	cr_assert_eq(ui_form_current(f), F_SECRET);
	backtab();
	backtab();
	cr_assert_eq(ui_form_current(f), F_NAME, "Shift-Tab skips the read-only tenant id");
	cr_assert_str_eq(ui_form_get(f, F_TENANT), "0f0e0d0c-0000-4000-8000-000000000001");
	cr_assert_not(ui_form_modified(f, F_TENANT));
}

Test(form_key, a_field_is_checked_when_left_not_while_typed)
{
	type("A");
	backspace();
	cr_assert_eq(checks, 0, "no check while typing");
	cr_assert_null(ui_form_error(f, F_NAME));
	tab();
	cr_assert_eq(ui_form_current(f), F_REF, "an error does not hold the cursor");
	cr_assert_str_eq(ui_form_error(f, F_NAME), "a name is required");
	backtab();
	type("Acme");
	cr_assert_not_null(ui_form_error(f, F_NAME), "the error stays until the field is left");
	tab();
	cr_assert_null(ui_form_error(f, F_NAME), "fixed and left: the error is gone");
	/* Enter in a one-line field goes on, checking it too */
	int before = checks;
	press('\n', false, UI_A_NONE);
	cr_assert_eq(ui_form_current(f), F_SECRET);
	cr_assert_eq(checks, before + 1);
}

Test(form_key, text_stops_at_the_field_maximum)
{
	/* a field narrower than its maximum scrolls until the maximum (the
	 * name: 30 cells, 40 characters); libform's limit is max + 1 cells
	 * (src/ui form code: set_max_field), so one more character fits */
	type("0123456789012345678901234567890123456789XYZ");
	const char *v = ui_form_get(f, F_NAME);
	cr_assert_eq(strncmp(v, "0123456789012345678901234567890123456789", 40), 0, "[%s]", v);
	cr_assert_leq(strlen(v), 41, "[%s]", v);
}

Test(form_key, secret_takes_utf8_and_backspace_removes_a_whole_character)
{
	ui_form_focus(f, F_SECRET);
	type("pé");
	cr_assert_str_eq(ui_form_get(f, F_SECRET), "pé");
	backspace();
	cr_assert_str_eq(ui_form_get(f, F_SECRET), "p");
	press(21, false, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_SECRET), "");
	backspace(); /* at the start: nothing to remove, nothing breaks */
	cr_assert_str_eq(ui_form_get(f, F_SECRET), "");
}

Test(form_key, toggle_flips_on_space_and_enter_and_ignores_letters)
{
	ui_form_focus(f, F_ON);
	press(' ', false, UI_A_NONE);
	cr_assert(ui_form_get_bool(f, F_ON));
	press('\n', false, UI_A_NONE);
	cr_assert_not(ui_form_get_bool(f, F_ON));
	press('x', false, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_ON), "no");
	cr_assert_eq(ui_form_current(f), F_ON);
}

Test(form_key, choice_cycles_with_arrows_and_jumps_by_first_letter)
{
	ui_form_focus(f, F_KIND);
	press(KEY_RIGHT, true, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_KIND), "beta");
	press(KEY_LEFT, true, UI_A_NONE);
	press(KEY_LEFT, true, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_KIND), "gamma", "Left from the first wraps round");
	press('b', false, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_KIND), "beta");
	press('z', false, UI_A_NONE);
	cr_assert_str_eq(ui_form_get(f, F_KIND), "beta", "no choice starts with z");
}

Test(form_key, enter_in_a_multiline_field_starts_a_new_line)
{
	ui_form_focus(f, F_NOTES);
	type("first");
	press('\n', false, UI_A_NONE);
	type("second");
	cr_assert_eq(ui_form_current(f), F_NOTES, "Enter stays in the notes");
	const char *v = ui_form_get(f, F_NOTES);
	cr_assert(strstr(v, "first") && strstr(v, "second") && strchr(v, '\n'), "[%s]", v);
}

Test(form_key, unknown_function_keys_are_left_to_the_screen)
{
	cr_assert_eq(press(KEY_F(10), true, UI_A_QUIT), 0);
	cr_assert_eq(press(KEY_F(6), true, UI_A_NONE), 0);
}

Test(form_key, a_field_opened_with_a_value_types_after_it)
{
	/* the first field, laid out with a value (an edit form opening) */
	ui_form_set(f, F_NAME, "Acme");
	ui_form_set(f, F_REF, "R-1");
	ui_form_set(f, F_NOTES, "line one\nline two");
	ui_form_layout(f, stdscr, 0, 0, 20, 80);
	type("x");
	cr_assert_str_eq(ui_form_get(f, F_NAME), "Acmex", "typing appends to the value");
	/* entered with Tab */
	tab();
	cr_assert_eq(ui_form_current(f), F_REF);
	type("9");
	cr_assert_str_eq(ui_form_get(f, F_REF), "R-19");
	/* and backspace then removes its last character, not the one before it */
	backspace();
	backspace();
	cr_assert_str_eq(ui_form_get(f, F_REF), "R-");
	/* entered backwards, and by focus */
	backtab();
	type("y");
	cr_assert_str_eq(ui_form_get(f, F_NAME), "Acmexy");
	ui_form_focus(f, F_NOTES);
	type("!");
	cr_assert_str_eq(ui_form_get(f, F_NOTES), "line one\nline two!");
}

Test(form_key, a_value_put_as_typed_is_modified_and_checked)
{
	ui_form_put(f, F_NAME, "");
	cr_assert_not_null(ui_form_error(f, F_NAME), "checked at once");
	ui_form_put(f, F_REF, "DRAFT");
	cr_assert(ui_form_modified(f, F_REF));
	cr_assert_str_eq(ui_form_get(f, F_REF), "DRAFT");
	ui_form_put(f, F_TENANT, "x");
	cr_assert_str_eq(ui_form_get(f, F_TENANT), "0f0e0d0c-0000-4000-8000-000000000001",
	                 "read-only fields are left alone");
}
