/* The FreeSWITCH driver's `test` operation (`provdesk pbx test`): each step
 * tried and named — name resolution, TCP connect, TLS, event socket (the
 * auth/request greeting), authentication, version (`api version`) — over the
 * shared transport, each waited for at most STEP_MS. Nothing is synced or
 * published; the password is sent only in the auth command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/catalogue.h"
#include "provdesk/esl.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

pd_status esl_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e);

#define STEP_MS 5000

typedef struct {
	pd_drv_probe pr; /* the transport and the steps (src/pbx/drv_shared.c) */
	esl_parser *p;
	bool greeting, not_esl; /* auth/request seen; something else came first */
	bool got;               /* the reply awaited */
	esl_kind kind;
	bool reply_ok;
	char text[160]; /* Reply-Text, or the first line of an api body (printable only) */
	bool error;     /* a protocol error */
} probe;

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

static void on_data(void *ctx, const char *buf, size_t n)
{
	esl_parser_feed(((probe *)ctx)->p, buf, n);
}

/* A wait ends when the peer is not an event socket. */
static bool stop(void *ctx)
{
	const probe *pr = ctx;
	return pr->not_esl || pr->error;
}

static bool send_wait(probe *pr, pd_buf *b)
{
	pr->got = false;
	pd_drv_probe_send(&pr->pr, b);
	return pd_drv_probe_wait(&pr->pr, &pr->got);
}

/* The steps after the transport's: event socket, authentication, version. */
static pd_status run(probe *pr)
{
	const pd_drv_conf *c = pr->pr.c;
#define FAIL(name, status, ...) return pd_drv_probe_fail(&pr->pr, status, name, __VA_ARGS__)
	if (!pd_drv_probe_wait(&pr->pr, &pr->greeting)) {
		if (pr->not_esl || pr->error)
			FAIL(N_("event socket"), PD_E_PROTOCOL,
			     _("not a FreeSWITCH event socket (the first message was not "
			       "auth/request)"));
		FAIL(N_("event socket"), PD_E_PROTOCOL,
		     _("no auth/request within %d s (is this a FreeSWITCH event-socket port?)"),
		     STEP_MS / 1000);
	}
	pd_drv_probe_step(&pr->pr, N_("event socket"), true, "auth/request");
	pd_buf b = {0};
	pd_err pe = {0};
	if (esl_put_auth(&b, c->secret ? c->secret : "", &pe) != PD_OK)
		FAIL(N_("authentication"), PD_E_CONFIG,
		     _("the event-socket password is empty or contains a line break: not sent"));
	if (!send_wait(pr, &b))
		FAIL(N_("authentication"), PD_E_PROTOCOL,
		     _("no answer to auth (connection closed?)"));
	if (pr->kind != ESL_MSG_COMMAND_REPLY || !pr->reply_ok)
		FAIL(N_("authentication"), PD_E_AUTH, _("password refused (%s)"), pr->text);
	pd_drv_probe_step(&pr->pr, N_("authentication"), true, "%s", pr->text);
	esl_put_api(&b, "version", &pe);
	if (!send_wait(pr, &b))
		FAIL(N_("version"), PD_E_PROTOCOL, _("no answer to api version"));
	if (pr->kind != ESL_MSG_API_RESPONSE || !pr->reply_ok)
		FAIL(N_("version"), PD_E_PROTOCOL, _("api version refused (%s)"), pr->text);
	pd_drv_probe_step(&pr->pr, N_("version"), true, "%s", pr->text);
	esl_put_exit(&b);
	pd_drv_probe_send(&pr->pr, &b);
	return PD_OK;
#undef FAIL
}

pd_status esl_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e)
{
	probe pr = {.pr = {.on_data = on_data, .stop = stop}};
	pr.pr.ctx = &pr;
	pr.p = esl_parser_new(&(esl_parser_opts){.max_msg = c->max_message}, on_msg, &pr);
	pd_status st = pd_drv_probe_open(&pr.pr, c, timeout_ms, STEP_MS, out);
	if (st == PD_OK)
		st = run(&pr);
	st = pd_drv_probe_end(&pr.pr, st, e);
	esl_parser_free(pr.p);
	return st;
}
