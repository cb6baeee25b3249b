/* The FreeSWITCH driver's `test` operation (`provdesk pbx test`): each step
 * tried and named — name resolution, TCP connect, TLS, event socket (the
 * auth/request greeting), authentication, version (`api version`) — over the
 * shared transport, each waited for at most STEP_MS. Nothing is synced or
 * published; the password is sent only in the auth command. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/catalogue.h"
#include "provdesk/esl.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

pd_status esl_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e);

#define STEP_MS 5000

typedef struct {
	const pd_drv_conf *c;
	pd_tport *t;
	esl_parser *p;
	int64_t give_up;
	bool opened, failed;
	pd_tport_fail what;
	char why[400];
	bool greeting, not_esl; /* auth/request seen; something else came first */
	bool got;               /* the reply awaited */
	esl_kind kind;
	bool reply_ok;
	char text[160]; /* Reply-Text, or the first line of an api body (printable only) */
	bool error;     /* a protocol error */
	pd_drv_test_result *out;
} probe;

static void add_step(probe *pr, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_step(probe *pr, const char *name, bool ok, const char *fmt, ...)
{
	pd_drv_test_result *r = pr->out;
	if (r->n_steps >= PD_DRV_TEST_MAX_STEPS)
		return;
	pd_drv_test_step *s = &r->steps[r->n_steps];
	snprintf(s->name, sizeof s->name, "%s", name);
	s->ok = ok;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof s->detail, fmt, ap);
	va_end(ap);
	if (!ok && r->failed < 0)
		r->failed = r->n_steps;
	r->n_steps++;
}

/* The first line of a PBX text, printable ASCII only (it reaches a terminal). */
static void first_line(char *dst, size_t n, const char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; s && i < len && s[i] != '\n' && o + 1 < n; i++)
		dst[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[o] = '\0';
}

static void on_msg(const esl_msg *m, void *ctx)
{
	probe *pr = ctx;
	if (m->kind == ESL_MSG_ERROR) {
		pr->error = true;
		return;
	}
	if (!pr->greeting) {
		if (m->kind == ESL_MSG_AUTH_REQUEST)
			pr->greeting = true;
		else
			pr->not_esl = true;
		return;
	}
	if (pr->got || (m->kind != ESL_MSG_COMMAND_REPLY && m->kind != ESL_MSG_API_RESPONSE))
		return;
	pr->got = true;
	pr->kind = m->kind;
	if (m->kind == ESL_MSG_COMMAND_REPLY) {
		const char *t = esl_get(m, "Reply-Text");
		pr->reply_ok = esl_reply_ok(m);
		first_line(pr->text, sizeof pr->text, t, t ? strlen(t) : 0);
	} else {
		pr->reply_ok = m->body && strncmp(m->body, "-ERR", 4) != 0;
		first_line(pr->text, sizeof pr->text, m->body, m->body_len);
	}
}

static void tp_open(void *ctx)
{
	((probe *)ctx)->opened = true;
}

static bool tp_data(void *ctx, const char *buf, size_t n)
{
	esl_parser_feed(((probe *)ctx)->p, buf, n);
	return true;
}

static void tp_fail(void *ctx, pd_tport_fail what, const char *why)
{
	probe *pr = ctx;
	pr->failed = true;
	pr->what = what;
	snprintf(pr->why, sizeof pr->why, "%s", why);
}

/* Turns until *flag, a failure, STEP_MS or the overall limit. */
static bool wait_for(probe *pr, const bool *flag)
{
	int64_t until = pd_live_now_ms() + STEP_MS;
	if (until > pr->give_up)
		until = pr->give_up;
	for (;;) {
		if (*flag)
			return true;
		int64_t now = pd_live_now_ms();
		if (pr->failed || pr->not_esl || pr->error || now >= until)
			return false;
		pd_tport_step(pr->t, (int)(until - now));
	}
}

static bool send_wait(probe *pr, pd_buf *b)
{
	pr->got = false;
	pd_tport_send(pr->t, b->s, b->len);
	memset(b->s, 0, b->len); /* it may hold the password */
	pd_buf_free(b);
	pd_tport_flush(pr->t);
	return wait_for(pr, &pr->got);
}

/* The transport did not open: which step, and what kind of failure. */
static pd_status open_failed(probe *pr, char *step, size_t stepn)
{
	const pd_drv_conf *c = pr->c;
	char addr[64];
	pd_tport_peer(pr->t, addr, sizeof addr);
	pd_tport_phase ph = pr->failed ? pd_tport_failed_phase(pr->t) : pd_tport_get_phase(pr->t);
	if (!pr->failed)
		snprintf(pr->why, sizeof pr->why, "timed out during %s", pd_tport_phase_name(ph));
	if (ph == PD_TPORT_RESOLVING) {
		snprintf(step, stepn, "name resolution");
		add_step(pr, step, false, "%s", pr->why);
		return PD_E_UNAVAILABLE;
	}
	add_step(pr, "name resolution", true, "%s -> %s", c->host, addr);
	if (ph == PD_TPORT_CONNECTING) {
		snprintf(step, stepn, "TCP connect");
		if (pr->failed && pr->what == PD_TPORT_E_CONNECT)
			add_step(pr, step, false, "%s:%d: %s", c->host, c->port,
			         strerror(pd_tport_errno(pr->t)));
		else
			add_step(pr, step, false, "%s", pr->why);
		return PD_E_UNAVAILABLE;
	}
	add_step(pr, "TCP connect", true, "%s:%d", addr, c->port);
	snprintf(step, stepn, "TLS");
	if (pr->failed && pr->what == PD_TPORT_E_SETUP) {
		add_step(pr, step, false, "%s", pr->why);
		return PD_E_CONFIG;
	}
	if (!pr->failed || pr->what == PD_TPORT_E_TIMEOUT)
		add_step(pr, step, false, "TLS: no handshake within %d s (is this a TLS port?)",
		         STEP_MS / 1000);
	else
		add_step(pr, step, false, "%s", pr->why);
	return PD_E_PROTOCOL;
}

static pd_status run(probe *pr, char *step, size_t stepn, bool verify, const char *ca)
{
	const pd_drv_conf *c = pr->c;
	pd_tport_open(pr->t, pd_live_now_ms());
	if (!wait_for(pr, &pr->opened))
		return open_failed(pr, step, stepn);
	char addr[64];
	pd_tport_peer(pr->t, addr, sizeof addr);
	add_step(pr, "name resolution", true, "%s -> %s", c->host, addr);
	add_step(pr, "TCP connect", true, "%s:%d", addr, c->port);
	if (c->tls)
		add_step(pr, "TLS", true, "handshake done, certificate %s%s%.200s",
		         verify ? "verified" : "not verified (tls_verify is false)",
		         verify && ca ? " against " : "", verify && ca ? ca : "");
#define FAIL(name, status, ...)                                                                    \
	do {                                                                                       \
		snprintf(step, stepn, "%s", name);                                                 \
		add_step(pr, name, false, __VA_ARGS__);                                            \
		return status;                                                                     \
	} while (0)
	if (!wait_for(pr, &pr->greeting)) {
		if (pr->not_esl || pr->error)
			FAIL("event socket", PD_E_PROTOCOL,
			     "not a FreeSWITCH event socket (the first message was not "
			     "auth/request)");
		FAIL("event socket", PD_E_PROTOCOL,
		     "no auth/request within %d s (is this a FreeSWITCH event-socket port?)",
		     STEP_MS / 1000);
	}
	add_step(pr, "event socket", true, "auth/request");
	pd_buf b = {0};
	pd_err pe = {0};
	if (esl_put_auth(&b, c->secret ? c->secret : "", &pe) != PD_OK)
		FAIL("authentication", PD_E_CONFIG,
		     "the event-socket password is empty or contains a line break: not sent");
	if (!send_wait(pr, &b))
		FAIL("authentication", PD_E_PROTOCOL, "no answer to auth (connection closed?)");
	if (pr->kind != ESL_MSG_COMMAND_REPLY || !pr->reply_ok)
		FAIL("authentication", PD_E_AUTH, "password refused (%s)", pr->text);
	add_step(pr, "authentication", true, "%s", pr->text);
	esl_put_api(&b, "version", &pe);
	if (!send_wait(pr, &b))
		FAIL("version", PD_E_PROTOCOL, "no answer to api version");
	if (pr->kind != ESL_MSG_API_RESPONSE || !pr->reply_ok)
		FAIL("version", PD_E_PROTOCOL, "api version refused (%s)", pr->text);
	snprintf(pr->out->identity, sizeof pr->out->identity, "%s", pr->text);
	add_step(pr, "version", true, "%s", pr->text);
	esl_put_exit(&b);
	pd_tport_send(pr->t, b.s, b.len);
	pd_buf_free(&b);
	pd_tport_flush(pr->t);
	return PD_OK;
#undef FAIL
}

pd_status esl_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e)
{
	memset(out, 0, sizeof *out);
	out->failed = -1;
	bool verify = true;
	char *ca = NULL;
	pd_err pe = {0};
	if (pd_param_bool(c->params_json, "tls_verify", true, &verify, &pe) != PD_OK ||
	    pd_param_str(c->params_json, "tls_ca_file", &ca, &pe) != PD_OK) {
		probe pr = {.out = out};
		add_step(&pr, "parameters", false, "%.390s", pe.message);
		return pd_fail(e, PD_E_CONFIG, "pbx", "parameters failed: %s", pe.message);
	}
	probe pr = {.c = c, .out = out};
	pr.give_up = pd_live_now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
	pr.t = pd_tport_new(
	    &(pd_tport_conf){.host = c->host,
	                     .port = c->port,
	                     .tls = c->tls,
	                     .tls_verify = verify,
	                     .tls_ca_file = ca,
	                     .step_timeout_ms = STEP_MS},
	    &(pd_tport_cb){.ctx = &pr, .on_open = tp_open, .on_data = tp_data, .on_fail = tp_fail});
	pr.p = esl_parser_new(&(esl_parser_opts){.max_msg = c->max_message}, on_msg, &pr);
	char step[32] = "";
	pd_status st = run(&pr, step, sizeof step, verify, ca);
	pd_tport_free(pr.t);
	esl_parser_free(pr.p);
	free(ca);
	if (st == PD_OK)
		return PD_OK;
	return pd_fail(e, st, "pbx", "%s failed: %s", step, out->steps[out->failed].detail);
}
