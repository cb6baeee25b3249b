/* util.h and paths.h: fold key, trimming, UTF-8, UUIDs, calendar days, periods. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "pd_build_config.h"
#include "provdesk/paths.h"
#include "provdesk/util.h"

#include <utf8proc.h>

Test(fold, accents_and_case_collide)
{
	char *a = pd_fold_key("Société Générale");
	char *b = pd_fold_key("SOCIETE GENERALE");
	char *c = pd_fold_key("société générale");
	cr_assert_str_eq(a, b);
	cr_assert_str_eq(a, c);
	cr_assert_str_eq(a, "societe generale");
	free(a);
	free(b);
	free(c);
}

Test(fold, compat_and_special_letters)
{
	char *a = pd_fold_key("ﬁnance Straße Ⅻ");
	cr_assert_str_eq(a, "finance strasse xii");
	free(a);
	char *d1 = pd_fold_key("Dupré"), *d2 = pd_fold_key("Dupre\xCC\x81"); /* NFD input */
	cr_assert_str_eq(d1, d2);
	free(d1);
	free(d2);
}

Test(fold, invisible_and_lookalike_characters)
{
	char *a = pd_fold_key("Acme"), *b = pd_fold_key("Ac\xE2\x80\x8Bme"); /* ZWSP */
	cr_assert_str_eq(a, b);
	free(b);
	b = pd_fold_key("Ac\xC2\xADme"); /* soft hyphen */
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	a = pd_fold_key("O\xE2\x80\x99"
	                "Brien\xC2\xA0\xE2\x80\x93 Conseil");
	cr_assert_str_eq(a, "o'brien - conseil");
	free(a);
}

Test(fold, different_names_differ)
{
	char *a = pd_fold_key("Acme"), *b = pd_fold_key("Acmé Corp");
	cr_assert_str_neq(a, b);
	free(a);
	free(b);
}

Test(fold, invalid_utf8_gives_null)
{
	cr_assert_null(pd_fold_key("abc\xC3("));
	cr_assert_null(pd_fold_key("\xFF"));
	cr_assert_null(pd_fold_key(NULL));
}

Test(utf8, validity)
{
	cr_assert(pd_utf8_valid("Hélène", strlen("Hélène")));
	cr_assert(pd_utf8_valid("", 0));
	cr_assert_not(pd_utf8_valid("\xC3", 1));
	cr_assert_not(pd_utf8_valid("\xC0\xAF", 2), "overlong encoding accepted");
	cr_assert_not(pd_utf8_valid("\xED\xA0\x80", 3), "surrogate accepted");
	cr_assert_not(pd_utf8_valid("\xF4\x90\x80\x80", 4), "beyond U+10FFFF accepted");
	/* ASCII is passed over eight bytes at a time: a bad byte anywhere
	 * after it, at every offset and in the tail, is still found */
	char b[40];
	for (size_t at = 0; at < 24; at++) {
		memset(b, 'a', sizeof b);
		b[at] = '\xC3'; /* cut: no continuation byte follows */
		b[at + 1] = '(';
		cr_assert_not(pd_utf8_valid(b, 26), "offset %zu", at);
		b[at + 1] = '\xA9'; /* é */
		cr_assert(pd_utf8_valid(b, 26), "offset %zu", at);
	}
	cr_assert(pd_utf8_valid("abcdefgh\0ij", 11), "NUL is a code point");
	cr_assert_not(pd_utf8_valid("abcdefghijklmno\xFF", 16));
}

/* Eight bytes at a time: a byte >= 0x80 at any offset, in a word or in
 * the tail, and only within the n bytes counts. */
Test(utf8, ascii)
{
	cr_assert(pd_ascii("", 0));
	cr_assert(pd_ascii("PJSIP/2001-0000001a", 19));
	char b[24];
	for (size_t n = 1; n <= sizeof b; n++)
		for (size_t at = 0; at < n; at++) {
			memset(b, 'a', sizeof b);
			b[at] = '\x80';
			cr_assert_not(pd_ascii(b, n), "0x80 at %zu of %zu", at, n);
			cr_assert(pd_ascii(b, at), "the first %zu bytes are ASCII", at);
		}
}

Test(utf8, chars_and_width)
{
	cr_assert_eq(pd_utf8_chars("Hélène"), 6);
	cr_assert_eq(pd_utf8_chars(""), 0);
	cr_assert_eq(pd_utf8_width("Hélène"), 6);
	cr_assert_eq(pd_utf8_width("東京"), 4);
	cr_assert_eq(pd_utf8_width("e\xCC\x81"), 1, "combining mark takes no cell");
}

Test(utf8, cut_keeps_whole_code_points)
{
	const char *s = "Hélène"; /* H, then é on bytes 1-2 */
	cr_assert_eq(pd_utf8_cut(s, strlen(s), 100), strlen(s), "short enough: whole");
	cr_assert_eq(pd_utf8_cut(s, strlen(s), 3), 3, "between two code points: max itself");
	cr_assert_eq(pd_utf8_cut(s, strlen(s), 2), 1, "inside é: before it");
	cr_assert_eq(pd_utf8_cut("東京", 6, 5), 3);
	cr_assert_eq(pd_utf8_cut("東京", 6, 2), 0);
	cr_assert_eq(pd_utf8_cut("abc", 3, 0), 0);
	cr_assert_eq(pd_utf8_cut("a\xf0\x9f\x98\x80"
	                         "b",
	                         6, 4),
	             1, "inside an emoji: before it");
	/* bytes that are not UTF-8: cut where asked, nothing more dropped */
	cr_assert_eq(pd_utf8_cut("\x80\x80\x80\x80\x80\x80", 6, 5), 5);
	cr_assert_eq(pd_utf8_cut("ab\xe9"
	                         "cd",
	                         5, 3),
	             3, "a stray Latin-1 byte is kept: no continuation byte follows");
}

Test(utf8, a_code_point_cut_at_the_end_is_dropped)
{
	char s[16];
	snprintf(s, sizeof s, "%s", "Hél\xc3");
	cr_assert_eq(pd_utf8_end_whole(s), 4);
	cr_assert_str_eq(s, "Hél");
	snprintf(s, sizeof s, "%s", "a\xe6\x9d");
	cr_assert_eq(pd_utf8_end_whole(s), 1, "two of three bytes");
	snprintf(s, sizeof s, "%s", "a\xf0\x9f\x98");
	cr_assert_eq(pd_utf8_end_whole(s), 1, "three of four bytes");
	snprintf(s, sizeof s, "%s", "東京");
	cr_assert_eq(pd_utf8_end_whole(s), 6, "whole: kept");
	snprintf(s, sizeof s, "%s", "a\xf0\x9f\x98\x80");
	cr_assert_eq(pd_utf8_end_whole(s), 5, "a whole emoji: kept");
	snprintf(s, sizeof s, "%s", "ab");
	cr_assert_eq(pd_utf8_end_whole(s), 2);
	s[0] = '\0';
	cr_assert_eq(pd_utf8_end_whole(s), 0);
	snprintf(s, sizeof s, "%s", "\x80\x80");
	cr_assert_eq(pd_utf8_end_whole(s), 2, "no lead byte: not a cut, left alone");
}

/* pd_utf8_copys: snprintf("%s")'s copy without half a character at the
 * end; NULL as "". */
static void *name_me(void *arg)
{
	pd_thread_name(arg);
	char got[64] = "";
	pthread_getname_np(pthread_self(), got, sizeof got);
	return strdup(got);
}

/* The kernel keeps 15 bytes of a thread's name: a longer one is cut there,
 * on a character (here before an "é" that would straddle byte 15). */
Test(thread, name_is_seen_and_cut_to_fifteen_bytes)
{
	const char *names[][2] = {{"pd-monitor", "pd-monitor"},
	                          {"pd-a-name-far-too-long", "pd-a-name-far-t"},
	                          {"pd-fourteen-ché", "pd-fourteen-ch"}};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		pthread_t th;
		void *got;
		cr_assert_eq(pthread_create(&th, NULL, name_me, (void *)names[i][0]), 0);
		pthread_join(th, &got);
		cr_assert_str_eq(got, names[i][1]);
		free(got);
	}
}

Test(utf8, copys_cuts_between_characters)
{
	char d[9];
	cr_assert_not(pd_utf8_copys(d, sizeof d, "Hélène"), "8 bytes fit in 9");
	cr_assert_str_eq(d, "Hélène");
	cr_assert(pd_utf8_copys(d, sizeof d, "Hélènes"), "9 bytes: cut");
	cr_assert_str_eq(d, "Hélène");
	cr_assert(pd_utf8_copys(d, 8, "Ελληνικά"), "Greek, 2 bytes each");
	cr_assert_str_eq(d, "Ελλ", "7 bytes would end inside the fourth letter");
	cr_assert(pd_utf8_copys(d, 5, "東京都"));
	cr_assert_str_eq(d, "東");
	cr_assert_not(pd_utf8_copys(d, sizeof d, NULL));
	cr_assert_str_eq(d, "");
	char one[1] = {'x'};
	cr_assert(pd_utf8_copys(one, 1, "a"));
	cr_assert_eq(one[0], '\0');
	cr_assert(pd_utf8_copys(d, 8, "\x80\x80\x80\x80\x80\x80\x80\x80\x80"),
	          "not UTF-8: cut where the buffer ends");
	cr_assert_eq(strlen(d), 7);
}

/* pd_snprintf: a string's precision and the buffer's end cut on a code
 * point; every other conversion prints as snprintf does. */
Test(utf8, snprintf_cuts_keep_whole_code_points)
{
	char s[160], ref[160];
	cr_assert_eq(pd_snprintf(s, sizeof s, "<%.5s>", "abcdé"), 6);
	cr_assert_str_eq(s, "<abcd>", "é split by the precision: left out");
	pd_snprintf(s, sizeof s, "<%.6s>", "abcdé");
	cr_assert_str_eq(s, "<abcdé>");
	pd_snprintf(s, sizeof s, "<%-8.5s|%*.*s>", "abcdé", 6, 4, "東京");
	cr_assert_str_eq(s, "<abcd    |   東>", "got %s", s);
	pd_snprintf(s, sizeof s, "%.6s", "a\xf0\x9f\x98\x80xyz");
	cr_assert_str_eq(s, "a\xf0\x9f\x98\x80x", "a whole emoji");
	pd_snprintf(s, sizeof s, "%.4s", "a\xf0\x9f\x98\x80xyz");
	cr_assert_str_eq(s, "a", "an emoji split: out");
	/* bytes that are not UTF-8 are cut where asked, never more */
	pd_snprintf(s, sizeof s, "%.3s", "\xe9\xe9\xe9\xe9");
	cr_assert_str_eq(s, "\xe9\xe9\xe9");
	pd_snprintf(s, sizeof s, "%.5s", "\x80\x80\x80\x80\x80\x80\x80");
	cr_assert_str_eq(s, "\x80\x80\x80\x80\x80");
	/* the buffer's end */
	cr_assert_eq(pd_snprintf(s, 6, "%s", "abcdé"), 4);
	cr_assert_str_eq(s, "abcd");
	cr_assert_eq(pd_snprintf(s, 7, "%s!", "abcdé"), 6);
	cr_assert_str_eq(s, "abcdé");
	cr_assert_eq(pd_snprintf(s, 1, "%s", "x"), 0);
	cr_assert_str_eq(s, "");
	/* the other conversions as snprintf prints them */
#define FMT "%d|%5.2f|%llu|%zu|%x|%-4lld|%c|%%|%+05i|%#o|%hhu|%e|%ld|%s"
	pd_snprintf(s, sizeof s, FMT, -12, 3.14159, 18446744073709551615ull, (size_t)42, 255u, -7ll,
	            'Z', 42, 8u, (unsigned char)200, 1e-3, -99L, "end");
	snprintf(ref, sizeof ref, FMT, -12, 3.14159, 18446744073709551615ull, (size_t)42, 255u,
	         -7ll, 'Z', 42, 8u, (unsigned char)200, 1e-3, -99L, "end");
#undef FMT
	cr_assert_str_eq(s, ref);
	pd_snprintf(s, sizeof s, "[%*d|%-*s|%.*s]", -4, 7, 3, "a", -1, "whole");
	cr_assert_str_eq(s, "[7   |a  |whole]", "a negative star: as snprintf");
	errno = ENOENT;
	pd_snprintf(s, sizeof s, "cannot open x: %m");
	snprintf(ref, sizeof ref, "cannot open x: %s", strerror(ENOENT));
	cr_assert_str_eq(s, ref);
	cr_assert_eq(errno, ENOENT, "errno kept");
	const char *volatile none = NULL;
	pd_snprintf(s, sizeof s, "%s|%.2s", none, none);
	cr_assert_str_eq(s, "(null)|(n");
}

static int destroyed[2];
static pd_thread_slot slot_a, slot_b;

static void count_a(void *p)
{
	destroyed[0] += *(int *)p;
	free(p);
}

static void count_b(void *p)
{
	destroyed[1] += *(int *)p;
	free(p);
}

static void *keep_two(void *arg)
{
	int *a = xmalloc(sizeof *a), *b = xmalloc(sizeof *b);
	*a = *b = *(int *)arg;
	pd_thread_keep(&slot_a, a, count_a);
	pd_thread_keep(&slot_b, b, count_b);
	return NULL;
}

/* What a thread keeps is destroyed when it exits, each slot by its own
 * function, once per thread. */
Test(thread_keep, each_thread_s_objects_are_destroyed_at_its_exit)
{
	int one = 1, ten = 10;
	pthread_t t1, t2;
	pthread_create(&t1, NULL, keep_two, &one);
	pthread_join(t1, NULL);
	cr_assert_eq(destroyed[0], 1);
	cr_assert_eq(destroyed[1], 1);
	pthread_create(&t1, NULL, keep_two, &one);
	pthread_create(&t2, NULL, keep_two, &ten);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	cr_assert_eq(destroyed[0], 12);
	cr_assert_eq(destroyed[1], 12);
}

Test(trim, unicode_whitespace)
{
	char *t = pd_trim("  \t Acme\xC2\xA0"
	                  "Corp \xE2\x80\x83\n");
	cr_assert_str_eq(t, "Acme\xC2\xA0"
	                    "Corp");
	free(t);
	t = pd_trim(" \xE3\x80\x80 ");
	cr_assert_str_eq(t, "");
	free(t);
	t = pd_trim(NULL);
	cr_assert_str_eq(t, "");
	free(t);
	t = pd_trim("é");
	cr_assert_str_eq(t, "é");
	free(t);
}

/* pd_buf_printf writes into the room left first, else grows and writes
 * again: the same text either way, exactly at the edge too. */
Test(buf, printf_fits_the_room_or_grows)
{
	pd_buf b = {0}, ref = {0};
	static char want[16384];
	want[0] = 0;
	size_t wl = 0;
	for (int i = 0; i < 300; i++) {
		/* lengths that land on and around the capacity (64, 128, …) */
		int w = i % 17;
		pd_buf_printf(&b, "%*d|%s", w, i, i % 3 ? "é" : "");
		wl +=
		    (size_t)snprintf(want + wl, sizeof want - wl, "%*d|%s", w, i, i % 3 ? "é" : "");
		cr_assert_eq(b.len, wl);
		cr_assert_eq(strlen(b.s), b.len);
		cr_assert_str_eq(b.s, want);
		cr_assert_lt(b.len, b.cap);
	}
	pd_buf_printf(&ref, "%s", "");
	cr_assert_str_eq(ref.s, "");
	pd_buf_free(&b);
	pd_buf_free(&ref);
}

Test(buf, grows_and_steals)
{
	pd_buf b = {0};
	for (int i = 0; i < 1000; i++)
		pd_buf_printf(&b, "%d,", i);
	pd_buf_addc(&b, '!');
	pd_buf_add(&b, "end");
	pd_buf_addn(&b, "xyz", 2);
	cr_assert_eq(strlen(b.s), b.len);
	cr_assert(!strncmp(b.s, "0,1,2,", 6));
	char *s = pd_buf_steal(&b);
	cr_assert(strstr(s, "999,!endxy") != NULL);
	cr_assert_null(b.s);
	free(s);
	pd_buf empty = {0};
	s = pd_buf_steal(&empty);
	cr_assert_str_eq(s, "");
	free(s);
}

Test(strings, xasprintf_and_set_str)
{
	char *s = xasprintf("%s-%d", "a", 42);
	cr_assert_str_eq(s, "a-42");
	pd_set_str(&s, s + 2); /* aliasing must be safe */
	cr_assert_str_eq(s, "42");
	pd_set_str(&s, NULL);
	cr_assert_null(s);
	char *n = xstrndup("abcdef", 3);
	cr_assert_str_eq(n, "abc");
	free(n);
	cr_assert_null(xstrdup(NULL));
}

Test(uuid, version4_format_and_unique)
{
	char a[37], b[37];
	pd_uuid_v4(a);
	pd_uuid_v4(b);
	cr_assert_eq(strlen(a), 36);
	cr_assert_str_neq(a, b);
	cr_assert_eq(a[8], '-');
	cr_assert_eq(a[13], '-');
	cr_assert_eq(a[14], '4');
	cr_assert(strchr("89ab", a[19]) != NULL);
	for (int i = 0; i < 36; i++)
		cr_assert(strchr("0123456789abcdef-", a[i]) != NULL);
}

Test(days, parse_format_roundtrip)
{
	pd_day d;
	cr_assert(pd_day_parse("1970-01-01", &d));
	cr_assert_eq(d, 0);
	cr_assert(pd_day_parse("2026-03-01", &d));
	char out[11];
	pd_day_format(d, out);
	cr_assert_str_eq(out, "2026-03-01");
	pd_day_format(d - 1, out);
	cr_assert_str_eq(out, "2026-02-28");
	cr_assert(pd_day_parse("2024-02-29", &d), "leap day");
	pd_day_format(d + 1, out);
	cr_assert_str_eq(out, "2024-03-01");
	cr_assert(pd_day_parse("2000-02-29", &d));
}

Test(days, strict_parse_rejects)
{
	pd_day d;
	const char *bad[] = {"2026-02-29", "2100-02-29",  "2026-13-01", "2026-00-10", "2026-1-01",
	                     "2026-01-1",  "26-01-01",    "2026/01/01", "2026-01-32", "",
	                     "abcd-ef-gh", "2026-01-01x", " 2026-01-01"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_not(pd_day_parse(bad[i], &d), "accepted '%s'", bad[i]);
	cr_assert_not(pd_day_parse(NULL, &d));
}

Test(period, parse)
{
	pd_day first;
	int n;
	cr_assert(pd_period_parse("2026-02", &first, &n));
	cr_assert_eq(n, 28);
	char out[11];
	pd_day_format(first, out);
	cr_assert_str_eq(out, "2026-02-01");
	cr_assert(pd_period_parse("2024-02", &first, &n));
	cr_assert_eq(n, 29);
	cr_assert(pd_period_parse("2026-12", &first, &n));
	cr_assert_eq(n, 31);
	cr_assert(pd_period_parse("2026-04", &first, &n));
	cr_assert_eq(n, 30);
}

Test(period, invalid)
{
	pd_day first;
	int n;
	const char *bad[] = {"2026-13", "2026-1", "abcd-ef", "2026-00",  "2026-02-01",
	                     "202602",  "",       "2026_02", "-2026-02", "2026-0x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_not(pd_period_parse(bad[i], &first, &n), "accepted '%s'", bad[i]);
	cr_assert_not(pd_period_parse(NULL, &first, &n));
}

Test(clock, today_sets_the_day_and_now_agrees)
{
	unsetenv("PROVDESK_NOW");
	setenv("PROVDESK_TODAY", "2026-05-17", 1);
	pd_day want;
	pd_day_parse("2026-05-17", &want);
	cr_assert_eq(pd_today(), want);
	/* timestamps the store writes fall on that day too, at noon and running */
	int64_t t = pd_now();
	cr_assert_geq(t, (int64_t)want * 86400 + 12 * 3600);
	cr_assert_lt(t, (int64_t)want * 86400 + 13 * 3600);
	cr_assert(pd_clock_check(NULL) == PD_OK);
	unsetenv("PROVDESK_TODAY");
}

Test(clock, now_sets_the_instant)
{
	setenv("PROVDESK_NOW", "2027-01-31T23:59:50", 1);
	setenv("PROVDESK_TODAY", "2020-01-01", 1); /* PROVDESK_NOW wins */
	pd_day jan31;
	pd_day_parse("2027-01-31", &jan31);
	int64_t t = pd_now();
	cr_assert_geq(t, (int64_t)jan31 * 86400 + 86390);
	cr_assert_lt(t, (int64_t)jan31 * 86400 + 86390 + 60);
	setenv("PROVDESK_NOW", "2028-02-29 00:00", 1);
	pd_day leap;
	cr_assert(pd_day_parse("2028-02-29", &leap));
	cr_assert_eq(pd_today(), leap);
	setenv("PROVDESK_NOW", "@86400", 1);
	cr_assert_eq(pd_today(), 1);
	unsetenv("PROVDESK_NOW");
	unsetenv("PROVDESK_TODAY");
}

Test(clock, a_shared_start_makes_every_process_agree)
{
	/* two commands of one script, started seconds apart, read the same clock */
	setenv("PROVDESK_TODAY", "2026-11-10", 1);
	char start[32];
	snprintf(start, sizeof start, "@%lld", (long long)time(NULL) - 5);
	setenv("PROVDESK_CLOCK_START", start, 1);
	pd_day d;
	pd_day_parse("2026-11-10", &d);
	int64_t t = pd_now();
	cr_assert_geq(t, (int64_t)d * 86400 + 12 * 3600 + 5);
	cr_assert_lt(t, (int64_t)d * 86400 + 12 * 3600 + 60);
	cr_assert(pd_clock_check(NULL) == PD_OK);
	setenv("PROVDESK_CLOCK_START", "soon", 1);
	pd_err e;
	cr_assert_eq(pd_clock_check(&e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "PROVDESK_CLOCK_START");
	unsetenv("PROVDESK_CLOCK_START");
	unsetenv("PROVDESK_TODAY");
}

Test(clock, bad_values_are_refused_naming_the_variable)
{
	const char *bad_now[] = {
	    "2026-02-30", "2026-01-01T24:00",   "2026-01-01T10", "@",
	    "@12x",       "2026-01-01 10:00:0", "tomorrow",      "2026-01-01T10:00:00Z"};
	unsetenv("PROVDESK_TODAY");
	for (size_t i = 0; i < sizeof bad_now / sizeof *bad_now; i++) {
		setenv("PROVDESK_NOW", bad_now[i], 1);
		pd_err e;
		cr_assert_eq(pd_clock_check(&e), PD_E_CONFIG, "%s", bad_now[i]);
		cr_assert_str_eq(e.field, "PROVDESK_NOW");
		cr_assert(strstr(e.message, bad_now[i]), "%s", e.message);
	}
	unsetenv("PROVDESK_NOW");
	setenv("PROVDESK_TODAY", "garbage", 1);
	pd_err e;
	cr_assert_eq(pd_clock_check(&e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "PROVDESK_TODAY");
	/* an unchecked bad value never shifts the clock */
	pd_day real = pd_today();
	unsetenv("PROVDESK_TODAY");
	cr_assert_eq(real, pd_today());
	cr_assert_eq(pd_today(), (pd_day)(pd_now() / 86400));
}

Test(actor, ssh_client_address)
{
	pd_actor a;
	unsetenv("SSH_CONNECTION");
	unsetenv("SSH_CLIENT");
	pd_actor_current(&a);
	cr_assert_str_eq(a.client, "");
	cr_assert_neq(a.user[0], 0);
	setenv("SSH_CONNECTION", "203.0.113.7 51234 10.0.0.1 22", 1);
	pd_actor_current(&a);
	cr_assert_str_eq(a.client, "203.0.113.7");
	unsetenv("SSH_CONNECTION");
	setenv("SSH_CLIENT", "2001:db8::5 40000 22", 1);
	pd_actor_current(&a);
	cr_assert_str_eq(a.client, "2001:db8::5");
}

/* ---- paths.h ---- */

Test(paths, xdg_dirs)
{
	setenv("XDG_CONFIG_HOME", "/srv/cfg", 1);
	setenv("XDG_DATA_HOME", "/srv/data", 1);
	char *c = pd_path_config_dir(), *d = pd_path_data_dir(), *db = pd_path_default_db();
	cr_assert_str_eq(c, "/srv/cfg/provdesk");
	cr_assert_str_eq(d, "/srv/data/provdesk");
	cr_assert_str_eq(db, "/srv/data/provdesk/provdesk.db");
	free(c);
	free(d);
	free(db);
	/* XDG: a relative value is ignored. */
	setenv("XDG_CONFIG_HOME", "relative/cfg", 1);
	setenv("HOME", "/home/support", 1);
	unsetenv("XDG_DATA_HOME");
	c = pd_path_config_dir();
	d = pd_path_data_dir();
	cr_assert_str_eq(c, "/home/support/.config/provdesk");
	cr_assert_str_eq(d, "/home/support/.local/share/provdesk");
	free(c);
	free(d);
}

Test(paths, find_data_order)
{
	char *root = tmp_dir();
	char *cfg = xasprintf("%s/cfg", root), *dat = xasprintf("%s/dat", root);
	cr_assert_eq(pd_mkdir_p(cfg, 0700), 0);
	cr_assert_eq(pd_mkdir_p(dat, 0700), 0);
	setenv("PROVDESK_DATADIR", dat, 1);
	free(write_file(dat, "x.txt", "data"));
	char *p = pd_path_find_data(cfg, "x.txt");
	char *want = xasprintf("%s/x.txt", dat);
	cr_assert_str_eq(p, want);
	free(p);
	free(want);
	free(write_file(cfg, "x.txt", "override"));
	p = pd_path_find_data(cfg, "x.txt");
	want = xasprintf("%s/x.txt", cfg);
	cr_assert_str_eq(p, want, "the config directory wins");
	free(p);
	free(want);
	cr_assert_null(pd_path_find_data(cfg, "no-such-file.json"));
	/* Run from the build folder: the source tree's data/, and themes/ at its
	 * root, before the installed data dir (which an older install may hold). */
	unsetenv("PROVDESK_DATADIR");
	unsetenv("PROVDESK_SOURCE_ROOT");
	cr_assert(pd_path_in_build_tree(), "this test runs from the build folder");
	p = pd_path_find_data(NULL, "catalogue.json");
	cr_assert_str_eq(p, PD_SOURCE_DATADIR "/catalogue.json");
	free(p);
	p = pd_path_find_data(NULL, "themes/noc-dark.theme");
	cr_assert_str_eq(p, PD_SOURCE_ROOT "/themes/noc-dark.theme");
	free(p);
	p = pd_path_find_data(NULL, "openapi.json");
	cr_assert_str_eq(p, PD_SOURCE_DATADIR "/openapi.json");
	free(p);
	free(cfg);
	free(dat);
	rm_tree(root);
}

Test(paths, mkdir_p)
{
	char *root = tmp_dir();
	char *deep = xasprintf("%s/a/b/c/", root);
	cr_assert_eq(pd_mkdir_p(deep, 0700), 0);
	cr_assert_eq(pd_mkdir_p(deep, 0700), 0, "existing is fine");
	struct stat st;
	cr_assert_eq(stat(deep, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	char *file = write_file(root, "f", "x");
	char *under = xasprintf("%s/sub", file);
	cr_assert_eq(pd_mkdir_p(under, 0700), -1);
	cr_assert_eq(errno, ENOTDIR);
	cr_assert_eq(pd_mkdir_p(file, 0700), -1, "a file is not a directory");
	cr_assert_eq(pd_mkdir_p("", 0700), -1);
	free(deep);
	free(file);
	free(under);
	rm_tree(root);
}

/* ---- whole files ---- */

static char *write_tmp(const char *dir, const char *name, const char *bytes, size_t n)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(bytes, 1, n, f), n);
	fclose(f);
	return p;
}

Test(read_file, whole_file_with_nuls_and_terminated)
{
	char *dir = tmp_dir();
	/* more than one read chunk, with a NUL inside */
	size_t n = 20000;
	char *bytes = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		bytes[i] = (char)('a' + i % 26);
	bytes[5] = '\0';
	char *p = write_tmp(dir, "f", bytes, n);
	char *d = NULL;
	size_t len = 0;
	cr_assert_eq(pd_read_file(p, 0, &d, &len), 0);
	cr_assert_eq(len, n);
	cr_assert_eq(memcmp(d, bytes, n), 0);
	cr_assert_eq(d[n], '\0', "terminated");
	free(d);
	/* at most max bytes */
	cr_assert_eq(pd_read_file(p, 100, &d, &len), 0);
	cr_assert_eq(len, 100);
	cr_assert_eq(d[100], '\0');
	free(d);
	free(p);
	/* an empty file is an empty string */
	p = write_tmp(dir, "empty", "", 0);
	cr_assert_eq(pd_read_file(p, 0, &d, NULL), 0);
	cr_assert_str_eq(d, "");
	free(d);
	free(p);
	free(bytes);
	rm_tree(dir);
}

Test(read_file, missing_file_and_directory_give_errno)
{
	char *dir = tmp_dir();
	char *p = xasprintf("%s/none", dir);
	char *d = (char *)1;
	cr_assert_eq(pd_read_file(p, 0, &d, NULL), ENOENT);
	cr_assert_null(d);
	/* a directory opens but cannot be read */
	d = (char *)1;
	cr_assert_eq(pd_read_file(dir, 0, &d, NULL), EISDIR);
	cr_assert_null(d);
	free(p);
	rm_tree(dir);
}

/* The terminal sanitiser: every unsafe code point and invalid byte becomes a
 * visible escape; text and (with keep_lines) line breaks pass as they are. */
static char *esc(const char *s, size_t n, bool lines, size_t *count)
{
	pd_buf b = {0};
	*count = pd_term_escape(&b, s, n, lines);
	return b.s ? b.s : xstrdup("");
}

Test(util, term_escape_shows_controls_bidi_and_bad_bytes)
{
	size_t k;
	char *r = esc("Hélène O'Brien", strlen("Hélène O'Brien"), false, &k);
	cr_assert_str_eq(r, "Hélène O'Brien");
	cr_assert_eq(k, 0);
	free(r);
	static const char evil[] = "Ev\x1b[2Jil\a\x7f \xc2\x85 \xe2\x80\xae"
	                           "gpj.exe \xe2\x80\xa8 \xff!";
	r = esc(evil, sizeof evil - 1, false, &k);
	cr_assert_str_eq(r, "Ev\\x1b[2Jil\\x07\\x7f \\x85 \\u202egpj.exe \\u2028 \\xff!");
	cr_assert_eq(k, 7);
	free(r);
	static const char nul[] = "a\0b\nc\td\r";
	r = esc(nul, sizeof nul - 1, true, &k);
	cr_assert_str_eq(r, "a\\x00b\nc\td\\x0d");
	cr_assert_eq(k, 2);
	free(r);
	r = esc("a\nb", 3, false, &k);
	cr_assert_str_eq(r, "a\\x0ab");
	free(r);
}

/* A kept secret is masked: its text is in neither allocation, and it comes
 * back whole (docs/architecture.md, Secrets in memory). */
Test(util, masked_secret_round_trip)
{
	const char *text = "S3cr3t-marker-value";
	pd_masked m = {0};
	cr_expect_not(pd_masked_isset(&m));
	pd_masked_set(&m, text);
	cr_assert(pd_masked_isset(&m));
	cr_expect_eq(m.len, strlen(text));
	cr_expect_null(memmem(m.masked, m.len, "S3cr3t", 6), "the masked bytes hold no text");
	cr_expect_null(memmem(m.pad, m.len, "S3cr3t", 6));
	char *s = pd_masked_reveal(&m);
	cr_expect_str_eq(s, text);
	pd_secret_free(s);
	pd_masked_set(&m, "other");
	s = pd_masked_reveal(&m);
	cr_expect_str_eq(s, "other", "set again replaces");
	pd_secret_free(s);
	pd_masked_clear(&m);
	cr_expect_not(pd_masked_isset(&m));
	s = pd_masked_reveal(&m);
	cr_expect_str_eq(s, "", "none reveals as empty");
	pd_secret_free(s);
	pd_masked_set(&m, NULL);
	cr_expect_not(pd_masked_isset(&m));
}

/* The fold as utf8proc gives it, without the ASCII fast path nor the memo
 * of pd_fold_key (issue 19): both must give exactly this. */
static char *fold_reference(const char *s)
{
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
	                                  UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
	                                      UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
	                                      UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP);
	if (r < 0) {
		free(out);
		return NULL;
	}
	return (char *)out;
}

static void same_fold(const char *s)
{
	char *a = pd_fold_key(s), *b = fold_reference(s);
	if (!b)
		cr_assert_null(a, "'%s' is refused by utf8proc, not by pd_fold_key", s);
	else
		cr_assert_str_eq(a, b, "fold of '%s'", s);
	free(a);
	free(b);
}

Test(fold, ascii_fast_path_is_utf8proc_exactly)
{
	char s[4];
	for (int c = 1; c < 128; c++) {
		s[0] = (char)c;
		s[1] = 0;
		same_fold(s);
		s[0] = 'x';
		s[1] = (char)c;
		s[2] = 'Y';
		s[3] = 0;
		same_fold(s);
	}
	same_fold("");
	same_fold("Client 000042, REF-000042 admin42@client42.example");
	same_fold("8f2c1a6e-0b7d-4c1e-9a53-2f6d0c9b7e11");
}

Test(fold, memo_gives_each_string_its_own_key)
{
	/* more strings than the memo holds, each folded several times, in turns */
	const char *v[] = {"Société Générale", "SOCIÉTÉ", "Ελληνική", "Straße",          "ﬁnance",
	                   "Müller GmbH",      "Café",    "Ünïcödé",  "Ac\xE2\x80\x8Bme"};
	size_t n = sizeof v / sizeof v[0];
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < n; i++) {
			same_fold(v[i]);
			same_fold(v[(i * 7) % n]);
		}
	/* long and invalid input is not kept, and still folds the same */
	char big[600];
	for (size_t i = 0; i + 2 < sizeof big; i += 2)
		memcpy(big + i, "\xC3\xA9", 2);
	big[sizeof big - 2] = 0;
	same_fold(big);
	same_fold(big);
	cr_assert_null(pd_fold_key("bad \xff byte"));
	cr_assert_null(pd_fold_key("bad \xff byte"));
}

Test(trim, ascii_and_unicode_spaces)
{
	char *t = pd_trim(" \t\r\n x y \x0B\x0C");
	cr_assert_str_eq(t, "x y");
	free(t);
	t = pd_trim("\xC2\xA0\xE3\x80\x80 Zoé \xE2\x80\xA8"); /* NBSP, ideographic space, LS */
	cr_assert_str_eq(t, "Zoé");
	free(t);
	t = pd_trim("\x1F"
	            "a\x1C"); /* ASCII separators are not spaces */
	cr_assert_str_eq(t, "\x1F"
	                    "a\x1C");
	free(t);
	t = pd_trim(" \xff ");
	cr_assert_str_eq(t, "\xff");
	free(t);
}

/* The tables' string hash: only the bytes before the NUL count, each one
 * does (every length either side of the 8-byte words), and the channel ids
 * a PBX sends (one digit apart) spread over a small table. */
Test(str_hash, bytes_before_the_nul_and_each_one_counts)
{
	char a[64], b[64];
	for (size_t n = 0; n < 40; n++) {
		memset(a, 'x', sizeof a);
		memset(b, 'y', sizeof b);
		for (size_t i = 0; i < n; i++)
			a[i] = b[i] = (char)('a' + i % 26);
		a[n] = b[n] = '\0';
		cr_assert_eq(pd_str_hash(a), pd_str_hash(b), "length %zu", n);
		for (size_t i = 0; i < n; i++) {
			b[i] ^= 1;
			cr_assert_neq(pd_str_hash(a), pd_str_hash(b), "length %zu, byte %zu", n, i);
			b[i] ^= 1;
		}
	}
	bool used[64] = {0};
	size_t slots = 0;
	for (int i = 0; i < 32; i++) {
		char id[32];
		snprintf(id, sizeof id, "1733390000.%d", 100 + i);
		size_t s = pd_str_hash(id) & 63;
		slots += !used[s];
		used[s] = true;
	}
	cr_assert_geq(slots, 16, "32 ids in %zu of 64 slots", slots);
}

/* A ring that wrapped keeps its order when it grows; an empty one starts
 * at min. */
Test(ring, grows_in_order_from_a_wrapped_head)
{
	size_t head = 0, cap = 0, n = 0;
	int *r = pd_ring_grow(NULL, sizeof *r, &head, 0, &cap, 4);
	cr_assert_eq(cap, 4);
	cr_assert_eq(head, 0);
	/* 1 2 3 4 in, 1 2 out, 5 6 in: the ring holds 3 4 5 6 from head 2 */
	for (int v = 1; v <= 4; v++)
		r[(head + n++) % cap] = v;
	head = (head + 2) % cap, n -= 2;
	for (int v = 5; v <= 6; v++)
		r[(head + n++) % cap] = v;
	cr_assert_eq(head, 2);
	r = pd_ring_grow(r, sizeof *r, &head, n, &cap, 4);
	cr_assert_eq(cap, 8);
	cr_assert_eq(head, 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(r[i], (int)i + 3, "element %zu is %d", i, r[i]);
	free(r);
}

/* A login shell's 1,024 open files would stop a monitor of 1,000 links:
 * the soft limit goes up to the hard one (each test runs in a process of
 * its own, so the limits set here end with it). */
Test(fd_limit, raised_to_the_hard_limit_and_used)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rlim_t hard = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 4096 ? 4096 : rl.rlim_max;
	cr_assert_geq(hard, 256, "the hard limit here is %lu", (unsigned long)hard);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &(struct rlimit){64, hard}), 0);
	cr_assert_eq(pd_fd_limit_raise(), (long)hard);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(rl.rlim_cur, hard);
	int fds[200], n = 0;
	while (n < 200 && (fds[n] = dup(2)) >= 0)
		n++;
	cr_assert_eq(n, 200, "only %d files opened: %s", n, strerror(errno));
	while (n)
		close(fds[--n]);
	/* with no room above, it stays where it is */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &(struct rlimit){64, 64}), 0);
	cr_assert_eq(pd_fd_limit_raise(), 64);
}

/* Each of the 22 hexadecimal digits and nothing else (the ESL parser's
 * percent-escapes, the lab XSP's path segments). */
Test(hex_digit, digits_either_case_and_nothing_else)
{
	const char *digits = "0123456789abcdef", *upper = "ABCDEF";
	for (int i = 0; i < 16; i++)
		cr_assert_eq(pd_hex_digit(digits[i]), i);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(pd_hex_digit(upper[i]), 10 + i);
	int n = 0;
	for (int c = -128; c < 128; c++)
		n += pd_hex_digit((char)c) >= 0;
	cr_assert_eq(n, 22);
	cr_assert_eq(pd_hex_digit('g'), -1);
	cr_assert_eq(pd_hex_digit('\0'), -1);
}
