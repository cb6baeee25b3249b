/* Translations: the catalogue the build made is found from the build tree,
 * $PROVDESK_LOCALEDIR overrides it, French is shown under fr_FR.UTF-8 and
 * English under C.UTF-8 (include/provdesk/i18n.h). */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_build_config.h"
#include "provdesk/i18n.h"

static void use_locale(const char *name)
{
	setenv("LC_ALL", name, 1);
	unsetenv("LANGUAGE");
	pd_i18n_init();
	if (!setlocale(LC_MESSAGES, NULL) || strcmp(setlocale(LC_MESSAGES, NULL), name) != 0)
		cr_skip_test("locale %s is not generated (.ci/deps --test makes fr_FR.UTF-8)",
		             name);
}

Test(i18n, build_tree_dir)
{
	unsetenv("PROVDESK_LOCALEDIR");
	char *d = pd_i18n_locale_dir();
	cr_assert_str_eq(d, PD_BUILD_LOCALEDIR);
	free(d);
}

Test(i18n, env_overrides)
{
	setenv("PROVDESK_LOCALEDIR", "/nonexistent/locale", 1);
	char *d = pd_i18n_locale_dir();
	cr_assert_str_eq(d, "/nonexistent/locale");
	free(d);
	/* Nothing there: English, the text in the source. */
	use_locale("fr_FR.UTF-8");
	cr_assert_str_eq(_("Quit provdesk"), "Quit provdesk");
}

Test(i18n, french)
{
	unsetenv("PROVDESK_LOCALEDIR");
	use_locale("fr_FR.UTF-8");
	cr_assert_str_eq(_("Quit provdesk"), "Quitter provdesk");
	/* Untranslated text falls back to English. */
	cr_assert_str_eq(_("no such message, surely"), "no such message, surely");
	cr_assert_str_eq(P_("%d user", "%d users", 1), "%d user");
}

Test(i18n, english)
{
	unsetenv("PROVDESK_LOCALEDIR");
	use_locale("C.UTF-8");
	cr_assert_str_eq(_("Quit provdesk"), "Quit provdesk");
}

/* French text, but numbers keep the dot: options (lab-pbx --call-rate 0.5),
 * CSV and JSON are read and written the same in every language. */
Test(i18n, numbers_keep_the_dot_in_french)
{
	unsetenv("PROVDESK_LOCALEDIR");
	use_locale("fr_FR.UTF-8");
	cr_assert_str_eq(_("Quit provdesk"), "Quitter provdesk");
	cr_assert(strtod("0.5", NULL) == 0.5);
	char buf[16];
	snprintf(buf, sizeof buf, "%.2f", 12.5);
	cr_assert_str_eq(buf, "12.50");
}
