/* [smtp] of a real provdesk.conf to sender options. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mail_fixture.h"
#include "provdesk/config.h"
#include "provdesk/mail.h"

static char *dir;

static void setup(void)
{
	dir = tl_tmpdir("pd-mail");
	cr_assert_not_null(dir);
}

static void teardown(void)
{
	tl_rmrf(dir);
	free(dir);
}

TestSuite(mail_config, .init = setup, .fini = teardown);

/* Writes provdesk.conf with the [smtp] body given and loads it. */
static void load(const char *smtp_section, pd_config *c)
{
	char path[600], text[2048];
	snprintf(path, sizeof path, "%s/provdesk.conf", dir);
	snprintf(text, sizeof text, "[smtp]\n%s", smtp_section);
	mt_write_file(path, text);
	pd_err e = {0};
	cr_assert_eq(pd_config_load(path, c, &e), PD_OK, "config: %s", e.message);
}

Test(mail_config, full_smtp_section_with_a_password_file)
{
	char pw[600], body[1500];
	snprintf(pw, sizeof pw, "%s/smtp-password", dir);
	mt_write_file(pw, "s3cr\xc3\xa9t\n");
	chmod(pw, 0600); /* a password file others may read is refused */
	snprintf(body, sizeof body,
	         "url = smtps://mail.example:465\nstarttls = required\n"
	         "from = Équipe <support@reseller.example>\nusername = relay\npassword_file = %s\n",
	         pw);
	pd_config c;
	load(body, &c);
	pd_smtp_opts o;
	char *password = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_opts_from_config(&c, &o, &password, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(o.url, "smtps://mail.example:465");
	cr_assert_eq(o.starttls, PD_STARTTLS_REQUIRED);
	cr_assert_str_eq(o.from, "Équipe <support@reseller.example>");
	cr_assert_str_eq(o.username, "relay");
	cr_assert_str_eq(password, "s3cr\xc3\xa9t");
	cr_assert_eq(o.password, password);
	cr_assert_gt(o.timeout_ms, 0);
	free(password);
	pd_config_free(&c);
}

Test(mail_config, no_url_means_offline_and_no_password_read)
{
	pd_config c;
	load("url =\n", &c);
	pd_smtp_opts o;
	char *password = (char *)"x";
	pd_err e = {0};
	cr_assert_eq(pd_smtp_opts_from_config(&c, &o, &password, &e), PD_OK, "%s", e.message);
	cr_assert(!o.url || !*o.url);
	cr_assert_null(password);
	pd_config_free(&c);
}

Test(mail_config, username_without_password_file_and_the_reverse_are_refused)
{
	pd_config c;
	load("url = smtp://127.0.0.1:2525\nusername = relay\n", &c);
	pd_smtp_opts o;
	char *password = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_opts_from_config(&c, &o, &password, &e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "smtp.password_file");
	pd_config_free(&c);

	char body[800];
	snprintf(body, sizeof body, "url = smtp://127.0.0.1:2525\npassword_file = %s/pw\n", dir);
	load(body, &c);
	cr_assert_eq(pd_smtp_opts_from_config(&c, &o, &password, &e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "smtp.username");
	pd_config_free(&c);
}

Test(mail_config, unreadable_password_file_names_the_key_and_not_the_secret)
{
	char body[800];
	snprintf(body, sizeof body,
	         "url = smtp://127.0.0.1:2525\nusername = relay\npassword_file = %s/missing\n",
	         dir);
	pd_config c;
	load(body, &c);
	pd_smtp_opts o;
	char *password = NULL;
	pd_err e = {0};
	cr_assert_neq(pd_smtp_opts_from_config(&c, &o, &password, &e), PD_OK);
	cr_assert_str_eq(e.field, "smtp.password_file");
	cr_assert(strstr(e.message, "missing"), "%s", e.message);
	cr_assert_null(password);
	pd_config_free(&c);
}

Test(mail_config, a_bad_from_set_in_code_is_refused_naming_smtp_from)
{
	pd_config c;
	load("url = smtp://127.0.0.1:2525\n", &c);
	free(c.smtp_from);
	c.smtp_from = xstrdup("Support without address");
	pd_smtp_opts o;
	char *password = NULL;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_opts_from_config(&c, &o, &password, &e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "smtp.from");
	pd_config_free(&c);
}
