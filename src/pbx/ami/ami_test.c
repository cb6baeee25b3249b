/* The AMI driver's `test` operation (`provdesk pbx test`): each step tried
 * and named — name resolution, TCP connect, TLS, banner, authentication,
 * permissions — over the shared transport, one action at a time, each
 * waited for at most STEP_MS. Nothing is synced or published. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provdesk/ami.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

pd_status ami_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e);

#define STEP_MS 5000

typedef struct {
	const pd_drv_conf *c;
	pd_tport *t;
	ami_parser *p;
	int64_t give_up;
	bool opened, failed;
	pd_tport_fail what;
	char why[400];
	bool banner;
	char banner_text[128];
	char want_id[32];
	bool got;
	char response[32], message[256];
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

static void on_msg(const ami_msg *m, void *ctx)
{
	probe *pr = ctx;
	if (m->kind == AMI_MSG_BANNER) {
		pr->banner = true;
		snprintf(pr->banner_text, sizeof pr->banner_text, "%s", m->text);
	} else if (m->kind == AMI_MSG_RESPONSE && !pr->got) {
		if (!strcmp(ami_get0(m, "ActionID"), pr->want_id)) {
			pr->got = true;
			snprintf(pr->response, sizeof pr->response, "%s", ami_get0(m, "Response"));
			snprintf(pr->message, sizeof pr->message, "%s", ami_get0(m, "Message"));
		}
	}
}

static void tp_open(void *ctx)
{
	((probe *)ctx)->opened = true;
}

static bool tp_data(void *ctx, const char *buf, size_t n)
{
	probe *pr = ctx;
	ami_parser_feed(pr->p, buf, n);
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
		if (pr->failed || now >= until)
			return false;
		pd_tport_step(pr->t, (int)(until - now));
	}
}

static bool action(probe *pr, const char *act, const char *id, const char *k1, const char *v1,
                   const char *k2, const char *v2)
{
	pd_buf b = {0};
	bool ok = ami_put(&b, "Action", act) && ami_put(&b, "ActionID", id);
	if (k1)
		ok = ok && ami_put(&b, k1, v1);
	if (k2)
		ok = ok && ami_put(&b, k2, v2);
	if (!strcmp(act, "Login"))
		ami_put(&b, "Events", "off");
	ami_end(&b);
	if (!ok) { /* a line break in a value: never sent (the core refuses these) */
		pd_buf_free(&b);
		return false;
	}
	snprintf(pr->want_id, sizeof pr->want_id, "%s", id);
	pr->got = false;
	pd_tport_send(pr->t, b.s, b.len);
	pd_buf_free(&b);
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
	if (!pr->failed) /* the overall limit came first */
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
	if (!wait_for(pr, &pr->banner))
		FAIL("banner", PD_E_PROTOCOL, "no banner within %d s (is this an AMI port?)",
		     STEP_MS / 1000);
	snprintf(pr->out->identity, sizeof pr->out->identity, "%s", pr->banner_text);
	if (!strstr(pr->banner_text, "Call Manager/"))
		FAIL("banner", PD_E_PROTOCOL, "unexpected banner \"%.60s\"", pr->banner_text);
	add_step(pr, "banner", true, "%s", pr->banner_text);
	const char *user = c->username ? c->username : "";
	if (!action(pr, "Login", "test-1", "Username", user, "Secret", c->secret ? c->secret : ""))
		FAIL("authentication", PD_E_PROTOCOL, "no answer to Login (connection closed?)");
	if (strcasecmp(pr->response, "Success") != 0)
		FAIL("authentication", PD_E_AUTH, "%s (user %s)",
		     pr->message[0] ? pr->message : pr->response, user);
	add_step(pr, "authentication", true, "logged in as %s", user);
	/* an Asterisk 13-16 without chan_pjsip answers "Invalid/unknown command":
	 * users are then discovered with chan_sip's SIPpeers, so that is tried */
	const char *actions[] = {"PJSIPShowEndpoints", "QueueStatus", "CoreShowChannels"};
	char denied[200] = "";
	for (size_t i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof id, "test-%zu", i + 2);
		if (!action(pr, actions[i], id, NULL, NULL, NULL, NULL))
			FAIL("permissions", PD_E_PROTOCOL, "no answer to %s", actions[i]);
		if (i == 0 && strcasestr(pr->message, "Invalid/unknown command")) {
			actions[0] = "SIPpeers (chan_sip)";
			if (!action(pr, "SIPpeers", "test-5", NULL, NULL, NULL, NULL))
				FAIL("permissions", PD_E_PROTOCOL, "no answer to SIPpeers");
			if (strcasestr(pr->message, "Invalid/unknown command"))
				FAIL(
				    "permissions", PD_E_PROTOCOL,
				    "neither PJSIPShowEndpoints nor SIPpeers is known: no PJSIP or "
				    "SIP channel driver to discover users from");
		}
		if (strcasestr(pr->message, "Permission denied")) {
			size_t l = strlen(denied);
			snprintf(denied + l, sizeof denied - l, "%s%s", l ? ", " : "", actions[i]);
		}
	}
	if (denied[0])
		FAIL("permissions", PD_E_AUTH,
		     "the AMI user may not run %s (needs read/write system,call,agent,reporting)",
		     denied);
	add_step(pr, "permissions", true, "%s, %s, %s allowed", actions[0], actions[1], actions[2]);
	action(pr, "Logoff", "test-9", NULL, NULL, NULL, NULL);
	return PD_OK;
#undef FAIL
}

pd_status ami_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e)
{
	memset(out, 0, sizeof *out);
	out->failed = -1;
	/* read as the driver reads them: typed or as typed ("false") */
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
	pr.p = ami_parser_new(&(ami_parser_opts){.expect_banner = true, .max_msg = c->max_message},
	                      on_msg, &pr);
	char step[32] = "";
	pd_status st = run(&pr, step, sizeof step, verify, ca);
	pd_tport_free(pr.t);
	ami_parser_free(pr.p);
	free(ca);
	if (st == PD_OK)
		return PD_OK;
	return pd_fail(e, st, "pbx", "%s failed: %s", step, out->steps[out->failed].detail);
}
