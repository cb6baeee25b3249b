/* Byte-level checks of the message text, the option checks, the backoff and
 * the password scrubbing: no server needed. */
#include <criterion/criterion.h>
#include <string.h>

#include "provdesk/mail.h"
#include "src/mail/mail_internal.h"

static char *render_ok(const char *from, const pd_mail_message *m)
{
	char *out = NULL;
	pd_err e = {0};
	pd_status st = pd_mail_render(from, m, &out, &e);
	cr_assert_eq(st, PD_OK, "render failed: %s", e.message);
	return out;
}

/* Every line of the header block and body ends in CRLF; no bare LF or CR. */
static void assert_crlf_only(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\n')
			cr_assert(p > s && p[-1] == '\r', "bare LF at offset %td", p - s);
		if (*p == '\r')
			cr_assert(p[1] == '\n', "bare CR at offset %td", p - s);
	}
}

static void assert_lines_within(const char *s, size_t max)
{
	const char *line = s;
	for (const char *p = s; *p; p++)
		if (*p == '\n') {
			cr_assert_leq((size_t)(p - line), max + 1, "line too long: %.*s",
			              (int)(p - line), line);
			line = p + 1;
		}
}

Test(render, plain_ascii_is_7bit_with_all_headers)
{
	pd_mail_message m = {.to = "bob@example.com",
	                     .subject = "Welcome",
	                     .body = "Hello Bob,\nline two\n",
	                     .message_id = "<m1@reseller.example>",
	                     .date = 1764197336};
	char *t = render_ok("Reseller Support <support@reseller.example>", &m);
	cr_assert_str_eq(t, "Date: Wed, 26 Nov 2025 22:48:56 +0000\r\n"
	                    "From: Reseller Support <support@reseller.example>\r\n"
	                    "To: bob@example.com\r\n"
	                    "Subject: Welcome\r\n"
	                    "Message-ID: <m1@reseller.example>\r\n"
	                    "MIME-Version: 1.0\r\n"
	                    "Content-Type: text/plain; charset=UTF-8\r\n"
	                    "Content-Transfer-Encoding: 7bit\r\n"
	                    "\r\n"
	                    "Hello Bob,\r\n"
	                    "line two\r\n");
	free(t);
}

Test(render, utf8_subject_and_name_are_encoded_words_and_body_quoted_printable)
{
	pd_mail_message m = {.to = "helene@example.com",
	                     .subject = "Bienvenue Hélène",
	                     .body = "Bonjour Hélène,\r\nà bientôt = merci \n",
	                     .date = 1764197336};
	char *t = render_ok("Équipe Support <support@reseller.example>", &m);
	/* The whole message is 7-bit: nothing for a relay to mangle. */
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		cr_assert_lt(*p, 0x80, "8-bit byte at %td", (const char *)p - t);
	assert_crlf_only(t);
	/* base64("Bienvenue Hélène") and base64("Équipe Support") */
	cr_assert(strstr(t, "\r\nSubject: =?UTF-8?B?QmllbnZlbnVlIEjDqWzDqG5l?=\r\n"), "%s", t);
	cr_assert(
	    strstr(t, "\r\nFrom: =?UTF-8?B?w4lxdWlwZSBTdXBwb3J0?= <support@reseller.example>\r\n"),
	    "%s", t);
	cr_assert(strstr(t, "Content-Transfer-Encoding: quoted-printable\r\n"));
	/* é = C3 A9; trailing space before the line end is encoded; = is encoded. */
	cr_assert(
	    strstr(t, "\r\n\r\nBonjour H=C3=A9l=C3=A8ne,\r\n=C3=A0 bient=C3=B4t =3D merci=20\r\n"),
	    "%s", t);
	cr_assert(strstr(t, "Message-ID: <") && strstr(t, "@reseller.example>\r\n"));
	free(t);
}

Test(render, long_subject_folds_and_long_body_lines_soft_break)
{
	char subject[600] = "";
	for (int i = 0; i < 20; i++)
		strcat(subject, "Société Générale ");
	char body[1200] = "";
	for (int i = 0; i < 100; i++)
		strcat(body, "é123456789");
	pd_mail_message m = {.to = "a@b.example", .subject = subject, .body = body};
	char *t = render_ok("support@reseller.example", &m);
	assert_crlf_only(t);
	assert_lines_within(t, 78);
	/* Each encoded word within RFC 2047's 75 characters. */
	for (const char *p = t; (p = strstr(p, "=?UTF-8?B?"));) {
		const char *end = strstr(p, "?=");
		cr_assert(end);
		cr_assert_leq(end + 2 - p, 75);
		p = end + 2;
	}
	cr_assert(strstr(t, "From: support@reseller.example\r\n"));
	free(t);
}

Test(render, ascii_display_name_with_specials_is_quoted)
{
	pd_mail_message m = {.to = "a@b.example", .subject = "x", .body = "y"};
	char *t = render_ok("Support, Inc. <s@r.example>", &m);
	cr_assert(strstr(t, "From: \"Support, Inc.\" <s@r.example>\r\n"), "%s", t);
	free(t);
}

Test(render, header_injection_and_bad_utf8_are_refused_naming_the_field)
{
	char *out = NULL;
	pd_err e = {0};
	pd_mail_message m = {.to = "a@b.example\r\nBcc: x@y.example", .subject = "s", .body = "b"};
	cr_assert_eq(pd_mail_render("s@r.example", &m, &out, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "to");
	cr_assert_null(out);

	m.to = "a@b.example";
	m.subject = "Hi\r\nBcc: x@y.example";
	cr_assert_eq(pd_mail_render("s@r.example", &m, &out, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "subject");

	m.subject = "ok";
	m.body = "caf\xe9\n"; /* Latin-1, not UTF-8 */
	cr_assert_eq(pd_mail_render("s@r.example", &m, &out, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "body");

	m.body = "b";
	m.to = "not-an-address";
	cr_assert_eq(pd_mail_render("s@r.example", &m, &out, &e), PD_E_INVALID);
	cr_assert_str_eq(e.field, "to");
	cr_assert(strstr(e.message, "not-an-address"));
}

Test(render, bad_from_is_a_config_error_naming_smtp_from)
{
	char *out = NULL;
	pd_err e = {0};
	pd_mail_message m = {.to = "a@b.example", .subject = "s", .body = "b"};
	const char *bad[] = {"",
	                     "Support",
	                     "Support <support>",
	                     "Support <a@b.example",
	                     "<a@b.example> junk",
	                     "a@b@c.example"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(pd_mail_render(bad[i], &m, &out, &e), PD_E_CONFIG,
		             "accepted from \"%s\"", bad[i]);
		cr_assert_str_eq(e.field, "smtp.from");
	}
	cr_assert_eq(pd_mail_render(NULL, &m, &out, &e), PD_E_CONFIG);
}

Test(render, opts_check_refuses_other_schemes_and_passwords_in_the_url)
{
	pd_smtp_opts o;
	pd_smtp_opts_init(&o);
	o.from = "s@r.example";
	pd_err e = {0};
	o.url = "http://127.0.0.1:25";
	cr_assert_eq(pd_smtp_opts_check(&o, &e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "smtp.url");
	cr_assert(strstr(e.message, "http"), "%s", e.message);

	o.url = "smtp://user:hunter2@127.0.0.1:25";
	cr_assert_eq(pd_smtp_opts_check(&o, &e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "smtp.url");
	cr_assert_null(strstr(e.message, "hunter2"), "%s", e.message);

	o.url = "::not a url::";
	cr_assert_eq(pd_smtp_opts_check(&o, &e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "smtp.url");

	o.url = "smtps://mail.example:465";
	cr_assert_eq(pd_smtp_opts_check(&o, &e), PD_OK, "%s", e.message);
	o.url = "SMTP://mail.example";
	cr_assert_eq(pd_smtp_opts_check(&o, &e), PD_OK, "%s", e.message);
}

Test(render, backoff_doubles_from_30s_caps_at_an_hour_with_bounded_jitter)
{
	cr_assert_eq(pd_outbox_backoff(1, 0), 30);
	cr_assert_eq(pd_outbox_backoff(2, 0), 60);
	cr_assert_eq(pd_outbox_backoff(3, 0), 120);
	cr_assert_eq(pd_outbox_backoff(7, 0), 1920);
	cr_assert_eq(pd_outbox_backoff(8, 0), 3600);
	cr_assert_eq(pd_outbox_backoff(50, 0), 3600);
	bool varied = false;
	for (uint32_t r = 1; r < 1000; r += 7) {
		for (int a = 1; a <= 12; a++) {
			int64_t full = pd_outbox_backoff(a, 0), d = pd_outbox_backoff(a, r);
			cr_assert_leq(d, full);
			cr_assert_geq(d, full - full / 10);
			varied |= d != full;
		}
	}
	cr_assert(varied, "no jitter at all");
}

Test(render, scrub_removes_the_password_and_its_base64_forms)
{
	char msg[200] = "535 bad: s3cr\xc3\xa9t and czNjcsOpdA== and AGJvYgBzM2Nyw6l0 end";
	pd_mail_scrub(msg, sizeof msg, "bob", "s3cr\xc3\xa9t");
	cr_assert_str_eq(msg, "535 bad: ******** and ******** and ******** end");
}
