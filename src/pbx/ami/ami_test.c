/* The AMI driver's `test` operation (`provdesk pbx test`): each step tried
 * and named — name resolution, TCP connect, TLS, banner, authentication,
 * permissions — over the shared transport, one action at a time, each
 * waited for at most STEP_MS. Nothing is synced or published. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provdesk/ami.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/pbx_transport.h"
#include "provdesk/util.h"

pd_status ami_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e);

#define STEP_MS 5000

typedef struct {
	pd_drv_probe pr; /* the transport and the steps (src/pbx/drv_shared.c) */
	ami_parser *p;
	bool banner;
	char banner_text[128];
	char want_id[32];
	bool got;
	char response[32], message[256];
} probe;

static void on_msg(const ami_msg *m, void *ctx)
{
	probe *pr = ctx;
	if (m->kind == AMI_MSG_BANNER) {
		pr->banner = true;
		pd_utf8_copys(pr->banner_text, sizeof pr->banner_text, m->text);
	} else if (m->kind == AMI_MSG_RESPONSE && !pr->got) {
		if (!strcmp(ami_get0(m, "ActionID"), pr->want_id)) {
			pr->got = true;
			pd_utf8_copys(pr->response, sizeof pr->response, ami_get0(m, "Response"));
			pd_utf8_copys(pr->message, sizeof pr->message, ami_get0(m, "Message"));
		}
	}
}

static void on_data(void *ctx, const char *buf, size_t n)
{
	ami_parser_feed(((probe *)ctx)->p, buf, n);
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
	pd_drv_probe_send(&pr->pr, &b);
	return pd_drv_probe_wait(&pr->pr, &pr->got);
}

/* The steps after the transport's: banner, authentication, permissions. */
static pd_status run(probe *pr)
{
	const pd_drv_conf *c = pr->pr.c;
#define FAIL(name, status, ...) return pd_drv_probe_fail(&pr->pr, status, name, __VA_ARGS__)
	if (!pd_drv_probe_wait(&pr->pr, &pr->banner))
		FAIL(N_("banner"), PD_E_PROTOCOL, _("no banner within %d s (is this an AMI port?)"),
		     STEP_MS / 1000);
	if (!strstr(pr->banner_text, "Call Manager/"))
		FAIL(N_("banner"), PD_E_PROTOCOL, _("unexpected banner \"%.60s\""),
		     pr->banner_text);
	pd_drv_probe_step(&pr->pr, N_("banner"), true, "%s", pr->banner_text);
	const char *user = c->username ? c->username : "";
	if (!action(pr, "Login", "test-1", "Username", user, "Secret", c->secret ? c->secret : ""))
		FAIL(N_("authentication"), PD_E_PROTOCOL,
		     _("no answer to Login (connection closed?)"));
	if (strcasecmp(pr->response, "Success") != 0)
		FAIL(N_("authentication"), PD_E_AUTH, _("%s (user %s)"),
		     pr->message[0] ? pr->message : pr->response, user);
	pd_drv_probe_step(&pr->pr, N_("authentication"), true, _("logged in as %s"), user);
	/* an Asterisk 13-16 without chan_pjsip answers "Invalid/unknown command":
	 * users are then discovered with chan_sip's SIPpeers, so that is tried */
	const char *actions[] = {"PJSIPShowEndpoints", "QueueStatus", "CoreShowChannels"};
	char denied[200] = "";
	for (size_t i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof id, "test-%zu", i + 2);
		if (!action(pr, actions[i], id, NULL, NULL, NULL, NULL))
			FAIL(N_("permissions"), PD_E_PROTOCOL, _("no answer to %s"), actions[i]);
		if (i == 0 && strcasestr(pr->message, "Invalid/unknown command")) {
			actions[0] = "SIPpeers (chan_sip)";
			if (!action(pr, "SIPpeers", "test-5", NULL, NULL, NULL, NULL))
				FAIL(N_("permissions"), PD_E_PROTOCOL, _("no answer to SIPpeers"));
			if (strcasestr(pr->message, "Invalid/unknown command"))
				FAIL(N_("permissions"), PD_E_PROTOCOL,
				     _("neither PJSIPShowEndpoints nor SIPpeers is known: no PJSIP "
				       "or "
				       "SIP channel driver to discover users from"));
		}
		if (strcasestr(pr->message, "Permission denied")) {
			size_t l = strlen(denied);
			snprintf(denied + l, sizeof denied - l, "%s%s", l ? ", " : "", actions[i]);
		}
	}
	if (denied[0])
		FAIL(
		    N_("permissions"), PD_E_AUTH,
		    _("the AMI user may not run %s (needs read/write system,call,agent,reporting)"),
		    denied);
	pd_drv_probe_step(&pr->pr, N_("permissions"), true, _("%s, %s, %s allowed"), actions[0],
	                  actions[1], actions[2]);
	action(pr, "Logoff", "test-9", NULL, NULL, NULL, NULL);
	return PD_OK;
#undef FAIL
}

pd_status ami_test(const pd_drv_conf *c, int timeout_ms, pd_drv_test_result *out, pd_err *e)
{
	probe pr = {.pr = {.on_data = on_data}};
	pr.pr.ctx = &pr;
	pr.p = ami_parser_new(&(ami_parser_opts){.expect_banner = true, .max_msg = c->max_message},
	                      on_msg, &pr);
	pd_status st = pd_drv_probe_open(&pr.pr, c, timeout_ms, STEP_MS, out);
	if (st == PD_OK)
		st = run(&pr);
	st = pd_drv_probe_end(&pr.pr, st, e);
	ami_parser_free(pr.p);
	return st;
}
