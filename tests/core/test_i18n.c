/* Translations: the catalogue the build made is found from the build tree,
 * $PROVDESK_LOCALEDIR overrides it, French is shown under fr_FR.UTF-8 and
 * English under C.UTF-8 (include/provdesk/i18n.h). */
#include <criterion/criterion.h>
#include <errno.h>
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

/* ---- messages translated where they are read (pd_msg) ---- */

static const char *text(const char *stored)
{
	static char b[512];
	return pd_msg_text(stored, b, sizeof b);
}

/* In English a kept message reads exactly as printf would have written it,
 * whatever the conversions. */
Test(i18n, a_kept_message_reads_as_printf_in_english)
{
	unsetenv("PROVDESK_LOCALEDIR");
	use_locale("C.UTF-8");
	char m[512], want[512];
	pd_msg(m, sizeof m, N_("TCP connect to %s:%d: %s"), "pbx.example", 5038, "refused");
	cr_assert_eq(m[0], PD_MSG_MARK, "kept, not formatted");
	cr_assert_str_eq(text(m), "TCP connect to pbx.example:5038: refused");
	pd_msg(m, sizeof m, "%lld|%zu|%5d|%-4s|%.3s|%*d|%x|%c|%.2f|%u%%", -7LL, (size_t)42, 9, "ab",
	       "abcdef", 4, 3, 255, 'Z', 1.5, 7u);
	snprintf(want, sizeof want, "%lld|%zu|%5d|%-4s|%.3s|%*d|%x|%c|%.2f|%u%%", -7LL, (size_t)42,
	         9, "ab", "abcdef", 4, 3, 255, 'Z', 1.5, 7u);
	cr_assert_str_eq(text(m), want);
	const char *volatile none = NULL; /* as glibc's printf writes it */
	pd_msg(m, sizeof m, "[%s]", none);
	cr_assert_str_eq(text(m), "[(null)]");
	/* plain text (a PBX's words, an older daemon's) reads as it is */
	cr_assert_str_eq(text("Authentication failed"), "Authentication failed");
	cr_assert_str_eq(text(NULL), "");
	cr_assert_str_eq(text(""), "");
}

/* The same stored bytes read in each reader's language: the daemon wrote
 * them once, a French console and an English CLI read them. */
Test(i18n, a_kept_message_reads_in_the_readers_language)
{
	unsetenv("PROVDESK_LOCALEDIR");
	use_locale("C.UTF-8");
	char m[512];
	pd_msg(m, sizeof m, N_("TCP connect to %s:%d: %s"), "pbx", 5038, "x");
	char t[512];
	pd_msg(t, sizeof t, N_("timed out during %s"), pd_msg_word(N_("TCP connect")));
	cr_assert_str_eq(text(t), "timed out during TCP connect");
	use_locale("fr_FR.UTF-8");
	cr_assert_str_eq(text(m), "connexion TCP à pbx:5038 : x");
	cr_assert_str_eq(text(t), "délai dépassé pendant connexion TCP",
	                 "the word is translated too: %s", text(t));
	use_locale("C.UTF-8");
	cr_assert_str_eq(text(m), "TCP connect to pbx:5038: x");
}

/* A system error kept by its number reads as strerror() in the reader's
 * language (what libc says there), not in the writer's. */
Test(i18n, a_system_error_reads_in_the_readers_language)
{
	unsetenv("PROVDESK_LOCALEDIR");
	use_locale("C.UTF-8");
	char m[512], want[512];
	pd_msg(m, sizeof m, N_("receive failed: %s"), pd_msg_errno(ECONNREFUSED));
	cr_assert_str_eq(text(m), "receive failed: Connection refused");
	use_locale("fr_FR.UTF-8");
	snprintf(want, sizeof want, "échec de la réception : %s", strerror(ECONNREFUSED));
	cr_assert_str_eq(text(m), want);
}

/* A kept message inside another (the transport's error in the driver's
 * "%s during login") reads in the reader's language, both parts; one that
 * is not the last argument is put in as text. */
Test(i18n, a_kept_message_inside_another)
{
	unsetenv("PROVDESK_LOCALEDIR");
	use_locale("C.UTF-8");
	char in[256], m[512];
	pd_msg(in, sizeof in, N_("TCP connect to %s:%d: %s"), "pbx", 5038,
	       pd_msg_errno(ECONNREFUSED));
	pd_msg(m, sizeof m, N_("%s during login"), in);
	cr_assert_str_eq(text(m), "TCP connect to pbx:5038: Connection refused during login");
	use_locale("fr_FR.UTF-8");
	char want[512];
	snprintf(want, sizeof want, "connexion TCP à pbx:5038 : %s pendant la connexion",
	         strerror(ECONNREFUSED));
	cr_assert_str_eq(text(m), want);
	use_locale("C.UTF-8");
	pd_msg(m, sizeof m, "%s|%s", in, "end");
	cr_assert_str_eq(text(m), "TCP connect to pbx:5038: Connection refused|end");
}

/* A list of kept messages (a link's warnings): each read in the reader's
 * language, "; " between; plain text and marks in it stay text. */
Test(i18n, a_list_of_kept_messages)
{
	unsetenv("PROVDESK_LOCALEDIR");
	use_locale("C.UTF-8");
	pd_buf b = {0};
	char m[256];
	pd_msg_list_add(&b, NULL);
	pd_msg_list_add(&b, "");
	cr_assert_eq(b.len, 0, "nothing added");
	pd_msg_list_add(&b, "the PBX's own words");
	pd_msg(m, sizeof m,
	       N_("%s: %llu calls, %llu channels dropped (max_calls_per_link %d, "
	          "max_channels_per_link %d)"),
	       pd_msg_word(N_("input capped")), 3ull, 4ull, 40, 80);
	pd_msg_list_add(&b, m);
	pd_msg(m, sizeof m, N_("%llu calls aged out"), 2ull);
	pd_msg_list_add(&b, m);
	char hostile[] = {'x', PD_MSG_NEXT, 'y', '\0'};
	pd_msg_list_add(&b, hostile);
	cr_assert_str_eq(
	    text(b.s), "the PBX's own words; input capped: 3 calls, 4 channels dropped "
	               "(max_calls_per_link 40, max_channels_per_link 80); 2 calls aged out; x?y");
	use_locale("fr_FR.UTF-8");
	cr_assert_str_eq(
	    text(b.s), "the PBX's own words; entrée plafonnée : 3 appels, 4 canaux ignorés "
	               "(max_calls_per_link 40, max_channels_per_link 80); 2 appels expirés; x?y");
	/* a list as the last argument of another: "monitoring (%s)" */
	char mon[512];
	pd_msg(mon, sizeof mon, N_("monitoring (%s)"), b.s);
	use_locale("C.UTF-8");
	cr_assert_str_eq(text(mon),
	                 "monitoring (the PBX's own words; input capped: 3 calls, 4 channels "
	                 "dropped (max_calls_per_link 40, max_channels_per_link 80); 2 calls aged "
	                 "out; x?y)");
	/* a part with a message inside it is kept as its text: the parts
	 * after it stay the list's, not that message's */
	pd_buf b2 = {0};
	char in[128], outer[256];
	pd_msg(in, sizeof in, N_("TCP connect to %s:%d: %s"), "pbx", 1, "refused");
	pd_msg(outer, sizeof outer, N_("%s during login"), in);
	pd_msg_list_add(&b2, outer);
	pd_msg(m, sizeof m, N_("%llu calls aged out"), 2ull);
	pd_msg_list_add(&b2, m);
	use_locale("fr_FR.UTF-8");
	cr_assert_str_eq(text(b2.s),
	                 "TCP connect to pbx:1: refused during login; 2 appels expirés");
	pd_buf_free(&b2);
	use_locale("C.UTF-8");
	/* cut inside its last message: the rest reads without it */
	char cut[40];
	pd_utf8_copy(cut, sizeof cut, b.s, b.len);
	use_locale("C.UTF-8");
	const char *r = text(cut);
	cr_assert(!strncmp(r, "the PBX's own words; ", 21) && !strpbrk(r, PD_MSG_MARKS), "%s", r);
	pd_buf_free(&b);
}

/* A translation may put the arguments in another order (%2$s). */
Test(i18n, arguments_by_position)
{
	use_locale("C.UTF-8");
	char m[64];
	snprintf(m, sizeof m, "%c%%2$s before %%1$s%ca%cb", PD_MSG_MARK, PD_MSG_ARG, PD_MSG_ARG);
	cr_assert_str_eq(text(m), "b before a");
}

/* What comes from outside stays text: marks in an argument become '?', a
 * '%' in it is not a conversion, a fake error number is not read as one,
 * and a cut or damaged message reads without its missing parts. */
Test(i18n, a_kept_message_with_bad_bytes)
{
	use_locale("C.UTF-8");
	char m[512];
	char hostile[] = {'a',          PD_MSG_ARG, 'b',         PD_MSG_MARK, 'c',
	                  PD_MSG_ERRNO, 'd',        PD_MSG_WORD, '\0'};
	pd_msg(m, sizeof m, N_("login refused: %.150s"), hostile);
	cr_assert_str_eq(text(m), "login refused: a?b?c?d?");
	/* stored bytes damaged by hand: marks inside an argument read as '?' */
	char damaged[] = {PD_MSG_MARK,  '%', 's',         '%',        's',         PD_MSG_ARG,
	                  PD_MSG_ERRNO, 'x', PD_MSG_WORD, PD_MSG_ARG, PD_MSG_WORD, '\0'};
	cr_assert_str_eq(text(damaged), "?x??");
	pd_msg(m, sizeof m, N_("login refused: %.150s"), "50%s off %d");
	cr_assert_str_eq(text(m), "login refused: 50%s off %d");
	char fake[] = {PD_MSG_ERRNO, '1', 'x', '\0'};
	pd_msg(m, sizeof m, N_("login refused: %.150s"), fake);
	cr_assert_str_eq(text(m), "login refused: ?1x");
	/* cut inside the argument, and on a character */
	char small[30];
	pd_msg(small, sizeof small, N_("login refused: %.150s"), "éééééééééé");
	cr_assert_str_eq(text(small), "login refused: ééé");
	/* cut inside the msgid: its conversion has no argument, reads empty */
	char tiny[12];
	pd_msg(tiny, sizeof tiny, N_("TCP connect to %s:%d: %s"), "pbx", 1, "x");
	cr_assert_str_eq(text(tiny), "TCP connec"); /* 11 bytes: the mark and ten */
	char none[8];
	snprintf(none, sizeof none, "%cabc%%d", PD_MSG_MARK);
	cr_assert_str_eq(text(none), "abc");
	/* the reader's buffer is cut on a character too */
	char out[8];
	pd_msg(m, sizeof m, "%s", "aaaaaaé");
	cr_assert_str_eq(pd_msg_text(m, out, sizeof out), "aaaaaa");
}
