/* config.h: defaults, every key of docs/user-guide.md (Configuration), and bad files reported as
 * file:line with the key. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "provdesk/config.h"
#include "provdesk/paths.h"

static char *dir;

static void setup(void)
{
	dir = tmp_dir();
	/* Never read the developer's own ~/.config. */
	char *x = xasprintf("%s/xdg", dir);
	setenv("XDG_CONFIG_HOME", x, 1);
	setenv("XDG_DATA_HOME", x, 1);
	free(x);
}

static void teardown(void)
{
	rm_tree(dir);
}

TestSuite(config, .init = setup, .fini = teardown);

Test(config, defaults_when_no_file)
{
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(NULL, &c, &e), PD_OK, "%s", e.message);
	cr_assert_null(c.path);
	assert_contains(c.db_path, "/xdg/provdesk/provdesk.db");
	assert_contains(c.config_dir, "/xdg/provdesk");
	cr_assert_null(c.smtp_url);
	cr_assert_eq(c.smtp_starttls, PD_STARTTLS_TRY);
	cr_assert_eq(c.trial_default_days, 30);
	cr_assert_eq(c.internal_systems_limit, 1);
	cr_assert_eq(c.import_max_mb, 64);
	cr_assert_eq(c.pbx_max_users, 20000);
	cr_assert_eq(c.pbx_ping_interval, 20);
	cr_assert_eq(c.pbx_backoff_max, 60);
	cr_assert_str_eq(c.ui_theme, "default");
	cr_assert_eq(c.serve_resync_interval, 3600);
	cr_assert_eq(c.serve_idle_exit, 30);
	pd_config_free(&c);
}

Test(config, serve_keys)
{
	char *p = write_file(dir, "serve.conf", "[serve]\nresync_interval = 0\nidle_exit = 5\n");
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s", e.message);
	cr_assert_eq(c.serve_resync_interval, 0); /* 0: no scheduled resync */
	cr_assert_eq(c.serve_idle_exit, 5);
	pd_config_free(&c);
	free(p);
}

Test(config, default_file_in_xdg_dir_is_read)
{
	char *cd = xasprintf("%s/xdg/provdesk", dir);
	cr_assert_eq(pd_mkdir_p(cd, 0700), 0);
	free(write_file(cd, "provdesk.conf", "[trial]\ndefault_days = 7\n"));
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(NULL, &c, &e), PD_OK, "%s", e.message);
	cr_assert_eq(c.trial_default_days, 7);
	assert_contains(c.path, "/xdg/provdesk/provdesk.conf");
	pd_config_free(&c);
	free(cd);
}

Test(config, every_key)
{
	char *p = write_file(dir, "provdesk.conf",
	                     "; provdesk configuration\n"
	                     "[database]\n"
	                     "path = data/my.db              ; relative to this file\n"
	                     "[smtp]\n"
	                     "url = smtps://mail.example.com:465\n"
	                     "starttls = required\n"
	                     "from = Reseller Support <support@reseller.example>\n"
	                     "username = mailer\n"
	                     "password_file = /etc/provdesk/smtp.pw\n"
	                     "[trial]\n"
	                     "default_days = 14\n"
	                     "[customers]\n"
	                     "internal_systems_limit = 3\n"
	                     "import_max_mb = 2\n"
	                     "[pbx]\n"
	                     "ping_interval = 5\n"
	                     "backoff_max = 3600\n"
	                     "[ui]\n"
	                     "theme = monochrome\n");
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s", e.message);
	char *want_db = xasprintf("%s/data/my.db", dir);
	cr_assert_str_eq(c.db_path, want_db);
	cr_assert_str_eq(c.config_dir, dir);
	cr_assert_str_eq(c.smtp_url, "smtps://mail.example.com:465");
	cr_assert_eq(c.smtp_starttls, PD_STARTTLS_REQUIRED);
	cr_assert_str_eq(c.smtp_from, "Reseller Support <support@reseller.example>");
	cr_assert_str_eq(c.smtp_username, "mailer");
	cr_assert_str_eq(c.smtp_password_file, "/etc/provdesk/smtp.pw");
	cr_assert_eq(c.trial_default_days, 14);
	cr_assert_eq(c.internal_systems_limit, 3);
	cr_assert_eq(c.import_max_mb, 2);
	cr_assert_eq(c.pbx_ping_interval, 5);
	cr_assert_eq(c.pbx_backoff_max, 3600);
	cr_assert_str_eq(c.ui_theme, "monochrome");
	cr_assert_str_eq(c.path, p);
	pd_config_free(&c);
	free(want_db);
	free(p);
}

Test(config, empty_smtp_url_means_outbox_only)
{
	char *p = write_file(dir, "a.conf", "[smtp]\nurl =\nstarttls = off\n");
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s", e.message);
	cr_assert_null(c.smtp_url);
	cr_assert_eq(c.smtp_starttls, PD_STARTTLS_OFF);
	pd_config_free(&c);
	free(p);
}

Test(config, explicit_missing_file_is_noinput)
{
	char *p = xasprintf("%s/missing.conf", dir);
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_E_NOINPUT);
	assert_contains(e.message, p);
	cr_assert_eq(pd_status_exit_code(e.status), 66);
	cr_assert_eq(pd_config_load(dir, &c, &e), PD_E_NOINPUT, "a directory");
	free(p);
}

/* Writes `content`, loads it, expects PD_E_CONFIG with "file:line: field". */
static void bad(const char *content, int line, const char *field, const char *words)
{
	char *p = write_file(dir, "bad.conf", content);
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_E_CONFIG, "accepted:\n%s", content);
	char *prefix = xasprintf("%s:%d: ", p, line);
	assert_contains(e.message, prefix);
	cr_assert_eq(e.line, line, "%s", e.message);
	if (field) {
		cr_assert_str_eq(e.field, field);
		assert_contains(e.message, field);
	}
	if (words)
		assert_contains(e.message, words);
	cr_assert_eq(pd_status_exit_code(e.status), 78);
	free(prefix);
	free(p);
}

Test(config, unknown_key)
{
	bad("[smtp]\nurl = smtp://h\nhost = x\n", 3, "smtp.host", "unknown key");
	bad("[pbx]\n\n; comment\nping = 3\n", 4, "pbx.ping", "ping_interval");
}

Test(config, unknown_section)
{
	bad("[database]\npath = /tmp/x.db\n[mail]\nurl = x\n", 3, "mail", "unknown section");
	bad("[ui]\ntheme=x\n[empty]\n", 3, "empty", "unknown section");
}

Test(config, key_outside_section)
{
	bad("theme = dark\n", 1, "theme", "outside a section");
}

Test(config, bad_integers)
{
	bad("[trial]\ndefault_days = thirty\n", 2, "trial.default_days", "not a whole number");
	bad("[trial]\ndefault_days = 0\n", 2, "trial.default_days", "1 to 365");
	bad("[trial]\ndefault_days = 366\n", 2, "trial.default_days", "out of range");
	bad("[trial]\ndefault_days = 12abc\n", 2, "trial.default_days", "not a whole number");
	bad("[trial]\ndefault_days = 99999999999999999999\n", 2, "trial.default_days", NULL);
	bad("[customers]\ninternal_systems_limit = -1\n", 2, "customers.internal_systems_limit",
	    "0 to 1000");
	bad("[pbx]\nping_interval = 4\n", 2, "pbx.ping_interval", "5 to 3600");
	bad("[pbx]\nbackoff_max = 0\n", 2, "pbx.backoff_max", "1 to 3600");
	bad("[pbx]\nbackoff_max =\n", 2, "pbx.backoff_max", NULL);
	bad("[pbx]\nmax_calls_per_link = 9\n", 2, "pbx.max_calls_per_link", "10 to 1000000");
	bad("[pbx]\n\nmax_calls_per_link = lots\n", 3, "pbx.max_calls_per_link",
	    "not a whole number");
	bad("[pbx]\nmax_channels_per_link = 2000001\n", 2, "pbx.max_channels_per_link",
	    "10 to 2000000");
	bad("[pbx]\nmax_channels_per_link = -5\n", 2, "pbx.max_channels_per_link", NULL);
	bad("[pbx]\nmax_call_age = 59\n", 2, "pbx.max_call_age", "60 to 604800");
	bad("[pbx]\nmax_call_age = 1h\n", 2, "pbx.max_call_age", "not a whole number");
	bad("[pbx]\nmax_message_kb = 16385\n", 2, "pbx.max_message_kb", "64 to 16384");
	bad("[pbx]\nmax_message_kb = 63\n", 2, "pbx.max_message_kb", "64 to 16384");
	bad("[pbx]\nmax_message_kb =\n", 2, "pbx.max_message_kb", NULL);
	bad("[customers]\nimport_max_mb = 0\n", 2, "customers.import_max_mb", "1 to 4096");
	bad("[pbx]\nmax_users_per_link = 99\n", 2, "pbx.max_users_per_link", "100 to 1000000");
	bad("[customers]\nimport_max_mb = 4097\n", 2, "customers.import_max_mb", "1 to 4096");
	bad("[serve]\nresync_interval = -1\n", 2, "serve.resync_interval", "0 to 604800");
	bad("[serve]\nresync_interval = 604801\n", 2, "serve.resync_interval", "0 to 604800");
	bad("[serve]\nresync_interval = 1h\n", 2, "serve.resync_interval", "not a whole number");
	bad("[serve]\nresync_interval =\n", 2, "serve.resync_interval", NULL);
	bad("[serve]\nidle_exit = 0\n", 2, "serve.idle_exit", "1 to 86400");
	bad("[serve]\nidle_exit = 86401\n", 2, "serve.idle_exit", "1 to 86400");
	bad("[serve]\nidle_exit = soon\n", 2, "serve.idle_exit", "not a whole number");
	bad("[serve]\nidle = 3\n", 2, "serve.idle", "idle_exit");
}

Test(config, pbx_caps)
{
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load_string("caps.conf", "", &c, &e), PD_OK, "%s", e.message);
	cr_assert_eq(c.pbx_max_calls, 5000);
	cr_assert_eq(c.pbx_max_channels, 10000);
	cr_assert_eq(c.pbx_max_call_age, 86400);
	cr_assert_eq(c.pbx_max_message_kb, 1024);
	pd_config_free(&c);
	cr_assert_eq(pd_config_load_string("caps.conf",
	                                   "[pbx]\nmax_calls_per_link = 200\n"
	                                   "max_channels_per_link = 400\nmax_call_age = 3600\n"
	                                   "max_message_kb = 16384\n",
	                                   &c, &e),
	             PD_OK, "%s", e.message);
	cr_assert_eq(c.pbx_max_calls, 200);
	cr_assert_eq(c.pbx_max_channels, 400);
	cr_assert_eq(c.pbx_max_call_age, 3600);
	cr_assert_eq(c.pbx_max_message_kb, 16384);
	pd_config_free(&c);
}

Test(config, bad_starttls)
{
	bad("[smtp]\nstarttls = yes\n", 2, "smtp.starttls", "off, try, required");
}

Test(config, bad_smtp_url)
{
	bad("[smtp]\nurl = http://mail.example.com\n", 2, "smtp.url", "smtp:// or smtps://");
	bad("[smtp]\nurl = smtp://\n", 2, "smtp.url", "no host");
}

Test(config, bad_from)
{
	bad("[smtp]\nfrom = Support <not an address>\n", 2, "smtp.from", NULL);
	bad("[smtp]\nfrom = Support <a@b.example\n", 2, "smtp.from", NULL);
}

Test(config, password_in_file_refused)
{
	bad("[smtp]\nurl = smtp://127.0.0.1:25\npassword = hunter2\n", 3, "smtp.password",
	    "password_file");
	/* The message must not echo the secret back. */
	char *p = write_file(dir, "pw.conf", "[smtp]\npassword = hunter2\n");
	pd_config c;
	pd_err e = {0};
	pd_config_load(p, &c, &e);
	cr_assert_null(strstr(e.message, "hunter2"));
	free(p);
}

Test(config, key_given_twice_and_syntax)
{
	bad("[ui]\ntheme = a\ntheme = b\n", 3, "ui.theme", "line 2");
	bad("[ui]\nthis line has no equals sign\n", 2, NULL, "syntax error");
	bad("[ui\ntheme = a\n", 1, NULL, "]");
	bad("[ui]\ntheme = ../../etc\n", 2, "ui.theme", "theme name");
}

Test(config, over_long_line)
{
	pd_buf b = {0};
	pd_buf_add(&b, "[database]\npath = /");
	for (int i = 0; i < 300; i++)
		pd_buf_addc(&b, 'x');
	pd_buf_add(&b, "\n");
	bad(b.s, 2, NULL, "too long");
	pd_buf_free(&b);
}

/* A NUL inside a value would cut it short: the line is refused by number. */
Test(config, nul_byte_refused_with_line_and_column)
{
	static const char text[] = "[smtp]\nfrom = a@b.test\0evil\n";
	char *p = xasprintf("%s/nul.conf", dir);
	FILE *f = fopen(p, "wb");
	cr_assert(f);
	fwrite(text, 1, sizeof text - 1, f);
	fclose(f);
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_E_CONFIG);
	cr_assert_eq(e.line, 2, "%s", e.message);
	assert_contains(e.message, "NUL byte at column 16");
	free(p);
}

Test(config, smtp_password_file)
{
	char *pw = write_file(dir, "smtp.pw", "s3cr\xC3\xA9t\n");
	chmod(pw, 0600);
	char *conf = xasprintf("[smtp]\npassword_file = smtp.pw\n");
	char *p = write_file(dir, "c.conf", conf);
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(c.smtp_password_file, pw, "relative to the config file");
	char *got = pd_config_smtp_password(&c, &e);
	cr_assert_str_eq(got, "s3cr\xC3\xA9t");
	free(got);
	unlink(pw);
	cr_assert_null(pd_config_smtp_password(&c, &e));
	cr_assert_eq(e.status, PD_E_NOINPUT);
	assert_contains(e.message, "smtp.pw");
	pd_config_free(&c);

	pd_config d;
	pd_config_defaults(&d);
	cr_assert_null(pd_config_smtp_password(&d, &e));
	cr_assert_eq(e.status, PD_OK, "none configured is not an error");
	pd_config_free(&d);
	free(p);
	free(pw);
	free(conf);
}

Test(config, from_string)
{
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load_string("built-in", "[ui]\ntheme = monochrome\n", &c, &e), PD_OK,
	             "%s", e.message);
	cr_assert_str_eq(c.ui_theme, "monochrome");
	cr_assert_null(c.path);
	pd_config_free(&c);
	cr_assert_eq(pd_config_load_string("built-in", "[ui]\n\ntheme = \xFF/..\n", &c, &e),
	             PD_E_CONFIG);
	assert_contains(e.message, "built-in:3: ui.theme");
}

Test(config, invitations_section)
{
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(NULL, &c, &e), PD_OK, "%s", e.message);
	cr_assert_null(c.invite_activation_url, "no link unless configured");
	cr_assert_eq(c.invite_token_days, 7);
	pd_config_free(&c);
	char *p =
	    write_file(dir, "inv.conf",
	               "[invitations]\nactivation_url = https://app.example.com/activate?lang=fr\n"
	               "token_days = 14\n");
	cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(c.invite_activation_url, "https://app.example.com/activate?lang=fr");
	cr_assert_eq(c.invite_token_days, 14);
	pd_config_free(&c);
	free(p);
	/* Empty: no link (the mail says so). */
	cr_assert_eq(pd_config_load_string("x", "[invitations]\nactivation_url =\n", &c, &e), PD_OK,
	             "%s", e.message);
	cr_assert_null(c.invite_activation_url);
	pd_config_free(&c);
}

Test(config, bad_invitations)
{
	bad("[smtp]\nurl = smtp://h\n[invitations]\nactivation_url = ftp://app.example.com/a\n", 4,
	    "invitations.activation_url", "https://");
	bad("[invitations]\nactivation_url = app.example.com/activate\n", 2,
	    "invitations.activation_url", "https://");
	bad("[invitations]\nactivation_url = https://\n", 2, "invitations.activation_url",
	    "no host");
	bad("[invitations]\nactivation_url = https://app.example.com/a b\n", 2,
	    "invitations.activation_url", "space");
	bad("[invitations]\nactivation_url = https://app.example.com/#/activate\n", 2,
	    "invitations.activation_url", "fragment");
	bad("[invitations]\ntoken_days = 0\n", 2, "invitations.token_days", "1 to 90");
	bad("[invitations]\ntoken_days = 91\n", 2, "invitations.token_days", "out of range");
	bad("[invitations]\ntoken_days = week\n", 2, "invitations.token_days",
	    "not a whole number");
	bad("[invitations]\ntoken_days = 7\ntoken_days = 8\n", 3, "invitations.token_days",
	    "given twice");
	bad("[invitations]\nurl = https://x.example\n", 2, "invitations.url", "activation_url");
}

Test(config, unknown_theme_refused_with_its_line)
{
	bad("[smtp]\nurl =\n[ui]\n\ntheme = no-such-theme\n", 5, "ui.theme",
	    "no theme 'no-such-theme'");
	/* the themes shipped in themes/ and the built-in ones are fine */
	const char *ok[] = {"[ui]\ntheme = noc-dark\n", "[ui]\ntheme = monochrome\n",
	                    "[ui]\ntheme = default\n"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *p = write_file(dir, "t.conf", ok[i]);
		pd_config c;
		pd_err e = {0};
		cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s: %s", ok[i], e.message);
		pd_config_free(&c);
		free(p);
	}
	/* a theme of the user's own, in the config directory's themes/ */
	char *td = xasprintf("%s/themes", dir);
	mkdir(td, 0700);
	char *tf = write_file(td, "mine.theme", "normal = default default\n");
	char *p = write_file(dir, "t.conf", "[ui]\ntheme = mine\n");
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s", e.message);
	pd_config_free(&c);
	free(p);
	free(tf);
	free(td);
}

Test(config, bad_smtp_port)
{
	bad("[smtp]\nurl = smtp://mail.example:0\n", 2, "smtp.url", "bad port '0'");
	bad("[smtp]\nurl = smtp://mail.example:65536\n", 2, "smtp.url", "65535");
	bad("[smtp]\nurl = smtps://mail.example:smtp\n", 2, "smtp.url", "bad port 'smtp'");
	bad("[smtp]\nurl = smtp://mail.example:\n", 2, "smtp.url", "bad port");
	bad("[smtp]\nurl = smtp://:25\n", 2, "smtp.url", "no host");
	bad("[smtp]\nurl = smtp://[::1]:99999\n", 2, "smtp.url", "bad port");
	const char *ok[] = {"[smtp]\nurl = smtp://mail.example:587\n",
	                    "[smtp]\nurl = smtps://u@mail.example:465/\n",
	                    "[smtp]\nurl = smtp://[::1]:25\n",
	                    "[smtp]\nurl = smtp://mail.example\n"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *p = write_file(dir, "u.conf", ok[i]);
		pd_config c;
		pd_err e = {0};
		cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s: %s", ok[i], e.message);
		pd_config_free(&c);
		free(p);
	}
}

Test(config, bad_starttls_mode_names_the_choices)
{
	bad("[smtp]\nstarttls = maybe\n", 2, "smtp.starttls",
	    "'maybe' is not one of off, try, required");
	bad("[smtp]\nstarttls =\n", 2, "smtp.starttls", "off, try, required");
}

Test(config, password_file_readable_by_others_refused)
{
	char *pw = write_file(dir, "smtp.pw", "secret\n");
	char *p = write_file(dir, "m.conf", "[smtp]\nurl = smtp://h\n\npassword_file = smtp.pw\n");
	const struct {
		mode_t mode;
		const char *words;
	} cases[] = {{0644, "mode 0644, must not be readable by others"},
	             {0640, "mode 0640, must not be readable by its group"},
	             {0604, "mode 0604, must not be readable by others"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		chmod(pw, cases[i].mode);
		pd_config c;
		pd_err e = {0};
		cr_assert_eq(pd_config_load(p, &c, &e), PD_E_CONFIG);
		cr_assert_str_eq(e.field, "smtp.password_file");
		cr_assert_eq(e.line, 4);
		assert_contains(e.message, "smtp.pw");
		assert_contains(e.message, cases[i].words);
		assert_contains(e.message, ":4:");
		cr_assert_null(strstr(e.message, "secret"), "never the secret: %s", e.message);
	}
	chmod(pw, 0600);
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s", e.message);
	/* made readable after the start: refused before it is read */
	chmod(pw, 0644);
	char *got = pd_config_smtp_password(&c, &e);
	cr_assert_null(got);
	cr_assert_eq(e.status, PD_E_CONFIG);
	assert_contains(e.message, "mode 0644");
	pd_config_free(&c);
	free(p);
	free(pw);
}

Test(config, api_section)
{
	pd_config c;
	pd_err e = {0};
	cr_assert_eq(pd_config_load(NULL, &c, &e), PD_OK, "%s", e.message);
	cr_assert_null(c.api_listen, "no API unless configured");
	cr_assert_not(c.api_allow_plain);
	pd_config_free(&c);
	char *key = write_file(dir, "api-key.pem", "-----BEGIN PRIVATE KEY-----\n");
	chmod(key, 0600);
	char *p = write_file(dir, "api.conf",
	                     "[api]\nlisten = [::1]:8443\ncert = api-cert.pem\nkey = api-key.pem\n"
	                     "allow_plain = yes\n");
	cr_assert_eq(pd_config_load(p, &c, &e), PD_OK, "%s", e.message);
	cr_assert_str_eq(c.api_listen, "[::1]:8443");
	char *want = xasprintf("%s/api-cert.pem", dir);
	cr_assert_str_eq(c.api_cert, want, "relative to the file");
	cr_assert_str_eq(c.api_key, key);
	cr_assert(c.api_allow_plain);
	pd_config_free(&c);
	chmod(key, 0644);
	cr_assert_neq(pd_config_load(p, &c, &e), PD_OK, "a key others may read is refused");
	cr_assert_str_eq(e.field, "api.key");
	free(want);
	free(key);
	free(p);
	bad("[api]\nlisten = 8443\n", 2, "api.listen", "ADDR:PORT");
	bad("[api]\nallow_plain = sure\n", 2, "api.allow_plain", "yes or no");
	bad("[api]\nport = 8443\n", 2, "api.port", "listen");
}
