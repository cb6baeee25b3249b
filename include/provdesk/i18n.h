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
#include <stdarg.h>
#include <stddef.h>

#include "provdesk/util.h" /* pd_buf */

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

/* A message kept to be translated where it is read, not where it was
 * written: a link's last error, which a console attached to a daemon in
 * another language, the CLI and the API each show in their own. One string:
 * PD_MSG_MARK, the English msgid, then each argument already formatted
 * after a PD_MSG_ARG. An argument may be PD_MSG_ERRNO and a number (reads
 * as strerror() of it), PD_MSG_WORD and a msgid (reads as its
 * translation), or, as the last one, another such message (the transport's
 * error inside the driver's "%s during login"). Several such messages with
 * PD_MSG_NEXT between them are a list, read one after the other ("a; b":
 * a link's warnings). Any other string is plain text (a PBX's own words,
 * what an older daemon stored) and reads as it is. */
#define PD_MSG_NEXT '\x1a'
#define PD_MSG_WORD '\x1c'
#define PD_MSG_MARK '\x1d'
#define PD_MSG_ARG '\x1e'
#define PD_MSG_ERRNO '\x1f'
/* Every mark byte, for strcspn/strchr (a kept message's own bytes, which
 * the live state keeps where it escapes every other control byte). */
#define PD_MSG_MARKS "\x1a\x1c\x1d\x1e\x1f"

/* buf (n bytes, cut on a character) = msgid (marked N_() where written)
 * with its printf arguments, kept for pd_msg_text. Bytes of the marks
 * in an argument become '?' (a kept message as an argument that is not the
 * last is put in as its text). */
void pd_msg(char *buf, size_t n, const char *msgid, ...) __attribute__((format(printf, 3, 4)));
void pd_vmsg(char *buf, size_t n, const char *msgid, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Adds msg (a pd_msg, or plain text kept as it is) to the list in b. */
void pd_msg_list_add(pd_buf *b, const char *msg);
/* An argument for pd_msg's "%s" that reads as strerror(err) in the
 * reader's language (a thread-local buffer, good until the next call). */
const char *pd_msg_errno(int err);
/* An argument for pd_msg's "%s" that reads as the translation of msgid
 * (marked N_()), a word the message names. Thread-local, four at a time. */
const char *pd_msg_word(const char *msgid);
/* The text of s in the current language: a pd_msg's msgid translated with
 * its arguments put in (by position when the translation says %2$s); plain
 * text as it is; NULL as "". Cut on a character to n bytes; returns buf. */
const char *pd_msg_text(const char *s, char *buf, size_t n);
/* Room for a link's last error or warnings as read (pd_live_view's 400
 * bytes of kept messages read longer, in French most). */
#define PD_MSG_TEXT_MAX 640
/* Whether s is a pd_msg (starts with PD_MSG_MARK). */
static inline int pd_msg_is(const char *s)
{
	return s && s[0] == PD_MSG_MARK;
}

/* setlocale(LC_ALL, "") and binds the "provdesk" domain (UTF-8) to
 * pd_i18n_locale_dir(). Call once, first thing in main. */
void pd_i18n_init(void);
/* Where the catalogues (LANG/LC_MESSAGES/provdesk.mo) are looked for:
 * $PROVDESK_LOCALEDIR when set; the build tree's po/ when the program runs
 * from the build tree (./build/provdesk, tests); else the installed
 * prefix's share/locale. Caller frees. */
char *pd_i18n_locale_dir(void);

#endif
