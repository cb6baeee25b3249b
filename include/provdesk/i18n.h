/* Translations (gettext, domain "provdesk"): how to mark a string and where
 * the catalogues are found (docs/architecture.md, "Translations"). English is
 * the text in the source and the fallback: a string without a translation,
 * or any string under the C/C.UTF-8 locale, shows as written.
 *   _("Quit")                  translated where it is used
 *   N_("Quit")                 only marked (tables, X-macros); translate it
 *                              with _() where it is shown
 *   P_("%d user", "%d users", n)  plural forms
 *   NC_("device state", "Busy")  marked with a context (msgctxt) for a word
 *                              translated differently by where it is shown;
 *                              translate it with pd_trc(context, s) */
#ifndef PROVDESK_I18N_H
#define PROVDESK_I18N_H

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)
#define P_(s, p, n) ngettext(s, p, n)
#define NC_(c, s) (s)

/* The translation of a string known only at run time: one marked with N_()
 * in a table, a word of the catalogue, a message the daemon sent for
 * display. NULL and "" stay as they are (gettext("") is the catalogue's
 * header); a string without a translation shows as written. */
static inline const char *pd_tr(const char *s)
{
	return s && *s ? gettext(s) : s;
}

/* The translation of s marked NC_(ctx, s); as pd_tr otherwise. */
const char *pd_trc(const char *ctx, const char *s);

/* setlocale(LC_ALL, "") and binds the "provdesk" domain (UTF-8) to
 * pd_i18n_locale_dir(). Call once, first thing in main. */
void pd_i18n_init(void);
/* Where the catalogues (LANG/LC_MESSAGES/provdesk.mo) are looked for:
 * $PROVDESK_LOCALEDIR when set; the build tree's po/ when the program runs
 * from the build tree (./build/provdesk, tests); else the installed
 * prefix's share/locale. Caller frees. */
char *pd_i18n_locale_dir(void);

#endif
