/* gettext set-up (include/provdesk/i18n.h; docs/architecture.md,
 * "Translations"). */
#include "provdesk/i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_build_config.h"
#include "provdesk/util.h"

/* True when `path` is inside the build tree (a program built there and run
 * uninstalled: the .mo files are in the tree's po/ folder, not installed). */
static bool under_build_root(const char *path)
{
	char root[PATH_MAX];
	if (!realpath(PD_BUILD_ROOT, root))
		return false;
	size_t n = strlen(root);
	return strncmp(path, root, n) == 0 && path[n] == '/';
}

char *pd_i18n_locale_dir(void)
{
	const char *env = getenv("PROVDESK_LOCALEDIR");
	if (env && *env)
		return xstrdup(env);
	char exe[PATH_MAX];
	if (realpath("/proc/self/exe", exe) && under_build_root(exe))
		return xstrdup(PD_BUILD_LOCALEDIR);
	return xstrdup(PD_INSTALL_LOCALEDIR);
}

const char *pd_trc(const char *ctx, const char *s)
{
	if (!s || !*s)
		return s;
	/* gettext's key for a message with a context: ctx EOT msgid */
	char key[256];
	int n = snprintf(key, sizeof key, "%s\004%s", ctx, s);
	if (n < 0 || (size_t)n >= sizeof key)
		return s;
	const char *t = gettext(key);
	return t == key ? s : t;
}

void pd_i18n_init(void)
{
	setlocale(LC_ALL, "");
	/* numbers read and written by the program (options, CSV, JSON, the
	 * wire) keep the dot whatever the language; a locale's number format is
	 * applied where asked (pd_format_amount_locale) */
	setlocale(LC_NUMERIC, "C");
	char *dir = pd_i18n_locale_dir();
	bindtextdomain("provdesk", dir);
	free(dir);
	bind_textdomain_codeset("provdesk", "UTF-8");
	textdomain("provdesk");
}
