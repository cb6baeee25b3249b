/* provdesk pbx test CUSTOMER: the platform driver's `test` operation tries
 * each step and says exactly which failed (for AMI: name resolution, TCP
 * connect, TLS, banner, authentication, permissions); the exit code is the
 * status's (69 unreachable, 76 protocol, 77 authentication, 78 config). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/pbx_driver.h"
#include "provdesk/util.h"

static const char help_test[] =
    N_("Usage: provdesk pbx test CUSTOMER [--json]\n"
       "Tries name resolution, TCP connect, banner, authentication and permissions. When\n"
       "the host's monitor (provdesk serve) has this PBX's link up, that link is the answer\n"
       "(no second login to the PBX); while its link is down the test runs as usual.\n");

typedef struct {
	pd_cli *c;
	json_t *steps;
} report;

static void step(report *r, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* name: a step's name, marked N_() by the drivers: --json keeps it as
 * written (a key a script may compare), the text shows it translated. */
static void step(report *r, const char *name, bool ok, const char *fmt, ...)
{
	char detail[400];
	va_list ap;
	va_start(ap, fmt);
	pd_vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (r->c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "step", json_string(name));
		json_object_set_new(o, "ok", json_boolean(ok));
		json_object_set_new(o, "detail", json_string(detail));
		json_array_append_new(r->steps, o);
	} else {
		/* padded by display width: "résolution" is 10 columns, 11 bytes */
		const char *nm = _(name);
		int pad = 16 - pd_utf8_width(nm);
		printf("%s %s%*s %s\n", ok ? "ok  " : "FAIL", nm, pad > 0 ? pad : 0, "", detail);
	}
}

/* The platform's driver runs its own `test` (every step named); the exit
 * code comes from the status it returns, never from the text. */
static int run_test(pd_cli *c, const pd_pbx *p, report *r, const char **failed, pd_status *fst,
                    char *why, size_t whyn)
{
	(void)c;
	*failed = NULL;
	const pd_driver_ops *ops = pd_driver_find(p->platform);
	if (!ops || !ops->test) {
		snprintf(why, whyn, _("platform %s is not supported yet"), p->platform);
		step(r, N_("platform"), false, "%s", why);
		*failed = N_("platform");
		*fst = PD_E_UNAVAILABLE;
		return 1;
	}
	pd_drv_conf dc = {.host = p->host,
	                  .port = p->port,
	                  .tls = p->tls,
	                  .username = p->username,
	                  .secret = p->secret,
	                  .params_json = p->params_json};
	static pd_drv_test_result res; /* 5 KB: not on the stack */
	pd_err e;
	pd_err_clear(&e);
	pd_status st = ops->test(&dc, 60000, &res, &e);
	for (int i = 0; i < res.n_steps; i++)
		step(r, res.steps[i].name, res.steps[i].ok, "%s", res.steps[i].detail);
	if (st == PD_OK)
		return 0;
	static char failed_name[32];
	snprintf(failed_name, sizeof failed_name, "%s",
	         res.failed >= 0 ? res.steps[res.failed].name : "test");
	pd_snprintf(why, whyn, "%.399s",
	            res.failed >= 0 ? res.steps[res.failed].detail : e.message);
	*failed = failed_name;
	*fst = st;
	return 1;
}

/* The running monitor's link to this PBX (no daemon is started): true with
 * *v filled when one runs and knows the customer. */
static bool monitor_link(pd_cli *c, int64_t cid, pd_live_view *v, int64_t *pid)
{
	pd_live *live = pd_live_new();
	pd_err e;
	pd_err_clear(&e);
	pd_serve_client *cl = pd_cli_attach(c, live, false, 5000, &e);
	bool have = false;
	if (cl) {
		*pid = pd_serve_client_daemon_pid(cl);
		pd_serve_client_stop(cl);
		have = pd_live_snapshot(live, cid, v) == PD_OK;
	}
	pd_live_free(live);
	return have;
}

int pd_cli_pbx_test_cmd(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int np = 0;
	int rc = pd_cli_parse(c, "pbx test", argc, argv, NULL, pos, 1, 1, &np, help_test);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_customer cu;
	pd_pbx p;
	if ((rc = pd_cli_pbx_load(c, pos[0], true, &cu, &p)) != PD_CLI_CONTINUE)
		return rc;
	report r = {c, json_array()};
	const char *failed = NULL;
	pd_status fst = PD_OK;
	char why[400] = "";
	/* the monitor's link is up: it is the test (a second login would be a
	 * second link to that PBX); down, this test dials to say why */
	pd_live_view mv;
	int64_t pid = 0;
	json_t *monj = NULL;
	bool mon = p.enabled && monitor_link(c, cu.id, &mv, &pid);
	if (mon) {
		int64_t now = pd_live_now_ms();
		char text[300];
		pd_live_status_text(mv.link, mv.sync_done, mv.sync_total, mv.retry_at_ms,
		                    mv.last_error, now, text, sizeof text);
		long secs = mv.link_since_ms && now > mv.link_since_ms
		                ? (long)((now - mv.link_since_ms) / 1000)
		                : 0;
		/* up, and dialled with what is stored now (opened after the
		 * connection's last change, which the monitor reloads within a
		 * second or so) */
		int64_t up_at = pd_now() - secs;
		bool up = mv.link == PD_LINK_MONITORING &&
		          store_pbx_changed_at(c->store, cu.id) < up_at - 1;
		monj = json_pack("{s:I, s:s, s:s, s:I}", "pid", (json_int_t)pid, "state",
		                 pd_link_state_name(mv.link), "status", text, "for_s",
		                 (json_int_t)secs);
		if (up)
			step(&r, N_("monitor"), true,
			     _("the running monitor's link (pid %lld) is %s for %lds; not dialled "
			       "again"),
			     (long long)pid, text, secs);
		else if (!c->json)
			printf(
			    _("note %-16s the running monitor's link (pid %lld) is %s for %lds%s; "
			      "testing anew\n"),
			    _("monitor"), (long long)pid, text, secs,
			    mv.link == PD_LINK_MONITORING ? _(", opened before the last change")
			                                  : "");
		pd_live_free_view(&mv);
		if (!up)
			run_test(c, &p, &r, &failed, &fst, why, sizeof why);
	} else {
		run_test(c, &p, &r, &failed, &fst, why, sizeof why);
	}
	if (failed) {
		pd_err e;
		pd_err_clear(&e);
		pd_fail(&e, fst, "pbx", _("%s failed: %s"), _(failed), why);
		if (c->json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_false());
			json_object_set_new(o, "failed_step", json_string(failed));
			if (monj)
				json_object_set_new(o, "monitor", json_incref(monj));
			json_object_set_new(o, "steps", r.steps);
			json_t *er = json_object();
			json_object_set_new(er, "code", json_string(pd_status_code(fst)));
			json_object_set_new(er, "field", json_string("pbx"));
			json_object_set_new(er, "message", json_string(e.message));
			json_object_set_new(o, "error", er);
			pd_cli_print_json(c, o);
			pd_cli_json_error(fst, "pbx", 0, e.message, false);
			rc = pd_status_exit_code(fst);
		} else {
			json_decref(r.steps);
			rc = pd_cli_fail(c, &e);
		}
	} else {
		if (c->json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_true());
			if (monj)
				json_object_set_new(o, "monitor", json_incref(monj));
			json_object_set_new(o, "steps", r.steps);
			pd_cli_print_json(c, o);
		} else {
			json_decref(r.steps);
			fputs(_("All checks passed.\n"), stdout);
		}
		rc = 0;
	}
	json_decref(monj);
	pd_customer_free(&cu);
	if (p.secret)
		memset(p.secret, 0, strlen(p.secret));
	pd_pbx_free(&p);
	return rc;
}
