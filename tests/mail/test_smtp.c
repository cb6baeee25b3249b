/* pd_smtp_send against a real aiosmtpd on 127.0.0.1: what arrives, decoded
 * by Python's email package, and how each failure is reported. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mail_fixture.h"
#include "provdesk/mail.h"

#define PASSWORD "Tr0ub4dor&3-\xc3\xa9t\xc3\xa9"
#define PASSWORD_B64 "VHIwdWI0ZG9yJjMtw6l0w6k=" /* base64 of PASSWORD (AUTH LOGIN) */

static char *dir;
static mt_sink sink;

static void setup(void)
{
	dir = tl_tmpdir("pd-mail");
	cr_assert_not_null(dir);
	memset(&sink, 0, sizeof sink);
}

static void teardown(void)
{
	mt_sink_stop(&sink);
	tl_rmrf(dir);
	free(dir);
}

TestSuite(smtp, .init = setup, .fini = teardown, .timeout = 60);

static pd_smtp_opts opts_for(const char *url)
{
	pd_smtp_opts o;
	pd_smtp_opts_init(&o);
	o.url = url;
	o.from = "Équipe Support Réseau <support@reseller.example>";
	/* Generous: TLS handshakes under valgrind are slow. */
	o.connect_timeout_ms = 20000;
	o.timeout_ms = 30000;
	return o;
}

static const char *jstr(json_t *j, const char *k)
{
	const char *s = json_string_value(json_object_get(j, k));
	cr_assert_not_null(s, "no %s in the decoded mail", k);
	return s;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(smtp, utf8_invitation_arrives_with_decoded_headers_and_body)
{
	cr_assert(mt_sink_start(&sink, dir, 0, NULL, NULL), "aiosmtpd did not start");
	pd_smtp_opts o = opts_for(sink.url);
	const char *subject = "Invitation : bienvenue chez Société Générale, Hélène Dupré";
	const char *body =
	    "Bonjour Hélène Dupré,\n"
	    "\n"
	    "Vous êtes invitée à rejoindre la plateforme (accès « Administrateur »).\n"
	    ".Cette ligne commence par un point et doit arriver telle quelle.\n"
	    ".\n"
	    "Une très longue ligne : "
	    "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
	    "é fin\n"
	    "À bientôt,\n-- \nL'équipe\n";
	pd_err e = {0};
	pd_status st = pd_smtp_send(&o, "helene.dupre@example.com", subject, body, &e);
	cr_assert_eq(st, PD_OK, "%s", e.message);
	cr_assert(mt_wait_mail_count(&sink, 1, 5000));
	json_t *m = mt_mail_get(&sink, 0);
	cr_assert_not_null(m);
	cr_expect_str_eq(jstr(m, "subject"), subject);
	cr_expect_str_eq(jstr(m, "to"), "helene.dupre@example.com");
	cr_expect_str_eq(jstr(m, "from_name"), "Équipe Support Réseau");
	cr_expect_str_eq(jstr(m, "from_addr"), "support@reseller.example");
	cr_expect_str_eq(jstr(m, "x_mailfrom"), "support@reseller.example");
	cr_expect_str_eq(jstr(m, "x_rcptto"), "helene.dupre@example.com");
	cr_expect_str_eq(jstr(m, "content_type"), "text/plain");
	cr_expect_str_eq(jstr(m, "charset"), "utf-8");
	cr_expect_str_eq(jstr(m, "mime_version"), "1.0");
	cr_expect_str_eq(jstr(m, "body"), body);
	cr_expect(strstr(jstr(m, "message_id"), "@reseller.example>"));
	cr_expect_eq(json_integer_value(json_object_get(m, "defects")), 0);
	json_decref(m);
}

Test(smtp, ascii_mail_goes_as_7bit_with_try_starttls_on_a_plain_server)
{
	cr_assert(mt_sink_start(&sink, dir, 0, NULL, NULL));
	pd_smtp_opts o = opts_for(sink.url);
	o.from = "support@reseller.example";
	o.starttls = PD_STARTTLS_TRY;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "Welcome", "Hi Bob\n", &e), PD_OK, "%s",
	             e.message);
	cr_assert(mt_wait_mail_count(&sink, 1, 5000));
	json_t *m = mt_mail_get(&sink, 0);
	cr_expect_str_eq(jstr(m, "cte"), "7bit");
	cr_expect_str_eq(jstr(m, "body"), "Hi Bob\n");
	cr_expect_str_eq(jstr(m, "from"), "support@reseller.example");
	json_decref(m);
}

Test(smtp, nothing_listening_is_unavailable_and_names_the_server)
{
	int port = tl_free_port();
	char url[64];
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	pd_smtp_opts o = opts_for(url);
	pd_err e = {0};
	pd_smtp_result r;
	pd_mail_message msg = {.to = "a@example.com", .subject = "s", .body = "b"};
	cr_assert_eq(pd_smtp_send_msg(&o, &msg, &r, &e), PD_E_UNAVAILABLE, "%s", e.message);
	cr_assert(strstr(e.message, url), "%s", e.message);
	cr_assert_eq(r.stage, PD_SMTP_STAGE_CONNECT);
}

Test(smtp, http_url_is_a_config_error_naming_smtp_url)
{
	pd_smtp_opts o = opts_for("http://127.0.0.1:8080");
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "a@example.com", "s", "b", &e), PD_E_CONFIG);
	cr_assert_str_eq(e.field, "smtp.url");
	cr_assert(strstr(e.message, "smtp.url"), "%s", e.message);
}

Test(smtp, refused_recipient_is_permanent_and_quotes_the_reply)
{
	cr_assert(mt_sink_start_script(&sink, dir, 0));
	pd_smtp_opts o = opts_for(sink.url);
	pd_err e = {0};
	pd_smtp_result r;
	pd_mail_message msg = {.to = "reject.me@example.com", .subject = "s", .body = "b"};
	cr_assert_eq(pd_smtp_send_msg(&o, &msg, &r, &e), PD_E_INVALID, "%s", e.message);
	cr_assert_str_eq(e.field, "to");
	cr_assert_eq(r.stage, PD_SMTP_STAGE_RCPT);
	cr_assert_eq(r.smtp_code, 550);
	cr_assert(strstr(e.message, sink.url), "%s", e.message);
	cr_assert(strstr(e.message, "550 5.1.1 <reject.me@example.com>: no such user here"), "%s",
	          e.message);
	cr_assert_eq(mt_mail_count(&sink), 0);
}

Test(smtp, greylisted_recipient_is_a_temporary_failure)
{
	cr_assert(mt_sink_start_script(&sink, dir, 0));
	pd_smtp_opts o = opts_for(sink.url);
	pd_err e = {0};
	pd_smtp_result r;
	pd_mail_message msg = {.to = "grey@example.com", .subject = "s", .body = "b"};
	cr_assert_eq(pd_smtp_send_msg(&o, &msg, &r, &e), PD_E_TEMPFAIL, "%s", e.message);
	cr_assert_eq(r.smtp_code, 450);
	cr_assert(strstr(e.message, "450 4.2.0"), "%s", e.message);
}

static void start_auth_sink(void)
{
	char pwfile[600];
	snprintf(pwfile, sizeof pwfile, "%s/server-password", dir);
	mt_write_file(pwfile, PASSWORD "\n");
	cr_assert(mt_sink_start(&sink, dir, 0, "relay-user", pwfile), "auth server did not start");
}

Test(smtp, auth_with_the_right_password_delivers)
{
	start_auth_sink();
	pd_smtp_opts o = opts_for(sink.url);
	o.username = "relay-user";
	o.password = PASSWORD;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "Hello", "Body é\n", &e), PD_OK, "%s",
	             e.message);
	cr_assert(mt_wait_mail_count(&sink, 1, 5000));
	json_t *m = mt_mail_get(&sink, 0);
	cr_expect_str_eq(jstr(m, "body"), "Body é\n");
	json_decref(m);
}

Test(smtp, wrong_password_is_auth_refused_and_never_echoed)
{
	start_auth_sink();
	pd_smtp_opts o = opts_for(sink.url);
	o.username = "relay-user";
	o.password = "wrong-" PASSWORD;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "Hello", "b", &e), PD_E_AUTH, "%s",
	             e.message);
	cr_assert(strstr(e.message, sink.url), "%s", e.message);
	cr_assert_null(strstr(e.message, PASSWORD), "%s", e.message);
	cr_assert_null(strstr(e.message, PASSWORD_B64), "%s", e.message);
	cr_assert_eq(mt_mail_count(&sink), 0);
}

Test(smtp, no_login_on_a_server_requiring_it_is_auth_refused)
{
	start_auth_sink();
	pd_smtp_opts o = opts_for(sink.url);
	pd_err e = {0};
	pd_smtp_result r;
	pd_mail_message msg = {.to = "bob@example.com", .subject = "s", .body = "b"};
	cr_assert_eq(pd_smtp_send_msg(&o, &msg, &r, &e), PD_E_AUTH, "%s", e.message);
	cr_assert_eq(r.smtp_code, 530);
	cr_assert(strstr(e.message, "530"), "%s", e.message);
}

Test(smtp, required_starttls_on_a_plain_server_fails_naming_smtp_starttls)
{
	cr_assert(mt_sink_start(&sink, dir, 0, NULL, NULL));
	pd_smtp_opts o = opts_for(sink.url);
	o.starttls = PD_STARTTLS_REQUIRED;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "s", "b", &e), PD_E_UNAVAILABLE, "%s",
	             e.message);
	cr_assert_str_eq(e.field, "smtp.starttls");
	cr_assert_eq(mt_mail_count(&sink), 0);
}

Test(smtp, a_server_that_never_greets_times_out_as_tempfail)
{
	int port;
	int fd = mt_silent_listener(&port);
	cr_assert_geq(fd, 0);
	char url[64];
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	pd_smtp_opts o = opts_for(url);
	o.timeout_ms = 800;
	pd_err e = {0};
	double t0 = mono();
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "s", "b", &e), PD_E_TEMPFAIL, "%s",
	             e.message);
	double took = mono() - t0;
	close(fd);
	cr_assert_lt(took, 3.0 * tl_slow(), "took %.2f s", took);
	cr_assert(strstr(e.message, "timed out"), "%s", e.message);
}

struct canceller {
	atomic_bool *flag;
	double set_at;
};
static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	c->set_at = mono();
	atomic_store(c->flag, true);
	return NULL;
}

Test(smtp, cancel_flag_aborts_an_exchange_promptly)
{
	int port;
	int fd = mt_silent_listener(&port);
	char url[64];
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	pd_smtp_opts o = opts_for(url);
	o.timeout_ms = 30000;
	atomic_bool flag;
	atomic_init(&flag, false);
	o.cancel = &flag;
	struct canceller c = {&flag, 0};
	pthread_t th;
	pthread_create(&th, NULL, cancel_later, &c);
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "s", "b", &e), PD_E_TEMPFAIL, "%s",
	             e.message);
	double done = mono();
	pthread_join(th, NULL);
	close(fd);
	cr_assert_gt(c.set_at, 0);
	cr_assert_lt(done - c.set_at, 0.5 * tl_slow(), "cancel took %.2f s", done - c.set_at);
	cr_assert(strstr(e.message, "interrupted"), "%s", e.message);
}

/* ---- TLS: the certificate is verified; trusting it via ca_file works ---- */

static void tls_paths(char *cert, char *key, size_t n)
{
	cr_assert(mt_make_cert(dir), "openssl could not make a certificate");
	snprintf(cert, n, "%s/cert.pem", dir);
	snprintf(key, n, "%s/key.pem", dir);
}

Test(smtp, required_starttls_with_a_trusted_certificate_delivers)
{
	char cert[600], key[600];
	tls_paths(cert, key, sizeof cert);
	cr_assert(mt_sink_start_tls(&sink, dir, cert, key, false),
	          "aiosmtpd (STARTTLS) did not start");
	pd_smtp_opts o = opts_for(sink.url);
	o.starttls = PD_STARTTLS_REQUIRED;
	o.ca_file = cert;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "Chiffré", "Corps chiffré\n", &e), PD_OK,
	             "%s", e.message);
	cr_assert(mt_wait_mail_count(&sink, 1, 5000));
	json_t *m = mt_mail_get(&sink, 0);
	cr_expect_str_eq(jstr(m, "subject"), "Chiffré");
	json_decref(m);
}

Test(smtp, an_untrusted_certificate_is_refused_not_ignored)
{
	char cert[600], key[600];
	tls_paths(cert, key, sizeof cert);
	cr_assert(mt_sink_start_tls(&sink, dir, cert, key, false));
	pd_smtp_opts o = opts_for(sink.url);
	o.starttls = PD_STARTTLS_TRY; /* even "try" must not fall back once TLS fails */
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "s", "b", &e), PD_E_UNAVAILABLE, "%s",
	             e.message);
	cr_assert(strstr(e.message, "TLS"), "%s", e.message);
	cr_assert_eq(mt_mail_count(&sink), 0);
}

Test(smtp, smtps_implicit_tls_delivers)
{
	char cert[600], key[600];
	tls_paths(cert, key, sizeof cert);
	cr_assert(mt_sink_start_tls(&sink, dir, cert, key, true), "aiosmtpd (SMTPS) did not start");
	pd_smtp_opts o = opts_for(sink.url);
	o.starttls = PD_STARTTLS_OFF; /* irrelevant for smtps:// */
	o.ca_file = cert;
	pd_err e = {0};
	cr_assert_eq(pd_smtp_send(&o, "bob@example.com", "s", "Bonjour\n", &e), PD_OK, "%s",
	             e.message);
	cr_assert(mt_wait_mail_count(&sink, 1, 5000));
}
