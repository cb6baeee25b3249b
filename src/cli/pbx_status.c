/* provdesk pbx status CUSTOMER: the status row the monitor writes (any
 * console, any process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli_internal.h"
#include "provdesk/i18n.h"
#include "provdesk/live.h"
#include "provdesk/util.h"

static const char help_status[] =
    N_("Usage: provdesk pbx status CUSTOMER [--check] [--json]\n"
       "Shows the live PBX state of the host's monitor (provdesk serve) with its age; with\n"
       "no monitor running, says so and shows the last state stored. With --check the exit\n"
       "status says it too: 0 monitoring, 69 connecting/retrying/not monitored, 76 protocol\n"
       "error, 77 authentication failed, 78 disabled or refused parameters.\n");

/* The running monitor's view of one customer: attaches without starting a
 * daemon. false when none runs or it does not know the customer (*running
 * says which). */
static bool daemon_view(pd_cli *c, int64_t cid, pd_live_view *v, bool *running, int64_t *pid)
{
	*running = false;
	*pid = 0;
	pd_live *live = pd_live_new();
	pd_err e;
	pd_err_clear(&e);
	pd_serve_client *cl = pd_cli_attach(c, live, false, 5000, &e);
	bool have = false;
	if (cl) {
		*running = true;
		*pid = pd_serve_client_daemon_pid(cl);
		pd_serve_client_stop(cl);
		have = pd_live_snapshot(live, cid, v) == PD_OK;
	}
	pd_live_free(live);
	return have;
}

/* The monitor's view as the status: text, key, JSON and plain lines. */
static int print_live(pd_cli *c, const pd_customer *cu, const pd_pbx *p, const pd_live_view *v,
                      int64_t pid, bool check)
{
	int64_t now = pd_live_now_ms();
	char text[300];
	pd_live_status_text(v->link, v->sync_done, v->sync_total, v->retry_at_ms, v->last_error,
	                    now, text, sizeof text);
	int64_t in_state =
	    v->link_since_ms && now > v->link_since_ms ? (now - v->link_since_ms) / 1000 : 0;
	int64_t stale_for =
	    v->stale && now > v->stale_since_ms ? (now - v->stale_since_ms) / 1000 : 0;
	int64_t calls = 0, avail = 0, on = 0;
	for (size_t i = 0; i < v->n_calls; i++)
		calls += v->calls[i].state != PD_CALL_ENDED;
	for (size_t i = 0; i < v->n_agents; i++) {
		avail += v->agents[i].state == PD_AGENT_AVAILABLE;
		on += v->agents[i].state != PD_AGENT_LOGGED_OFF &&
		      v->agents[i].state != PD_AGENT_OFFLINE;
	}
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "customer", json_string(cu->name));
		json_object_set_new(o, "tenant_id", json_string(cu->tenant_id));
		json_object_set_new(o, "enabled", json_boolean(p->enabled));
		json_object_set_new(o, "state", json_string(pd_link_state_name(v->link)));
		json_object_set_new(o, "status", json_string(text));
		json_object_set_new(o, "monitored", json_true());
		json_object_set_new(o, "monitor_pid", json_integer(pid));
		json_object_set_new(o, "since", pd_json_time(pd_now() - in_state));
		char err_text[PD_MSG_TEXT_MAX];
		json_object_set_new(
		    o, "last_error",
		    pd_json_str(pd_msg_text(v->last_error, err_text, sizeof err_text)));
		/* the monitor's state is read now: its age is 0, unless the
		 * calls and agents are the last known ones of a link that is down */
		json_object_set_new(o, "updated_at", pd_json_time(pd_now() - stale_for));
		json_object_set_new(o, "age_s", json_integer(stale_for));
		json_object_set_new(o, "stale", json_boolean(v->stale));
		json_object_set_new(o, "live_calls", json_integer(calls));
		json_object_set_new(o, "agents_available", json_integer(avail));
		json_object_set_new(o, "agents_logged_on", json_integer(on));
		json_object_set_new(o, "tls", json_boolean(p->tls));
		json_t *pj =
		    p->params_json && *p->params_json ? json_loads(p->params_json, 0, NULL) : NULL;
		json_object_set_new(o, "params", json_is_object(pj) ? pj : json_object());
		if (pj && !json_is_object(pj))
			json_decref(pj);
		pd_cli_print_json(c, o);
	} else {
		printf(_("Customer:     %s\n"), cu->name);
		printf(_("PBX:          %s:%d (%s)\n"), p->host ? p->host : "", p->port,
		       p->enabled ? _("enabled") : _("disabled"));
		printf(_("State:        %s (for %llds)\n"), text, (long long)in_state);
		char err_text[PD_MSG_TEXT_MAX];
		if (v->last_error[0] && v->link != PD_LINK_MONITORING)
			printf(_("Last error:   %s\n"),
			       pd_msg_text(v->last_error, err_text, sizeof err_text));
		printf(_("Live calls:   %lld\n"), (long long)calls);
		printf(_("Agents:       %lld available / %lld logged on\n"), (long long)avail,
		       (long long)on);
		if (v->stale)
			printf(_("Updated:      %llds ago (last known: the link is down)\n"),
			       (long long)stale_for);
		else
			printf(_("Updated:      live (monitor pid %lld)\n"), (long long)pid);
	}
	return check ? pd_status_exit_code(pd_link_state_outcome(v->link)) : 0;
}

int pd_cli_pbx_status_cmd(pd_cli *c, int argc, char **argv)
{
	const char *pos[1];
	int np = 0;
	bool check = false;
	const pd_opt opts[] = {{"check", PD_OPT_FLAG, NULL, &check}, {NULL, 0, NULL, NULL}};
	int rc = pd_cli_parse(c, "pbx status", argc, argv, opts, pos, 1, 1, &np, help_status);
	if (rc != PD_CLI_CONTINUE)
		return rc;
	pd_customer cu;
	pd_pbx p;
	if ((rc = pd_cli_pbx_load(c, pos[0], false, &cu, &p)) != PD_CLI_CONTINUE)
		return rc;
	/* a monitor runs: what it says now */
	pd_live_view lv;
	bool running = false;
	int64_t pid = 0;
	if (daemon_view(c, cu.id, &lv, &running, &pid)) {
		rc = print_live(c, &cu, &p, &lv, pid, check);
		pd_live_free_view(&lv);
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return rc;
	}
	pd_err e;
	pd_err_clear(&e);
	pd_pbx_status st = {0};
	pd_status s = store_pbx_status_get(c->store, cu.id, &st, &e);
	if (s != PD_OK && s != PD_E_NOTFOUND) {
		pd_customer_free(&cu);
		pd_pbx_free(&p);
		return pd_cli_fail(c, &e);
	}
	int64_t now = pd_now();
	pd_pbx_now pn;
	pd_pbx_status_now(&p, &st, s == PD_OK, !running, now, &pn);
	bool known = pn.known;
	const char *state = pn.text;
	pd_status outcome = pn.outcome;
	if (c->json) {
		json_t *o = pd_json_pbx_status(&cu, &p, s == PD_OK ? &st : NULL, !running);
		pd_cli_print_json(c, o);
	} else {
		printf(_("Customer:     %s\n"), cu.name);
		printf(_("PBX:          %s:%d (%s)\n"), p.host ? p.host : "", p.port,
		       p.enabled ? _("enabled") : _("disabled"));
		printf(_("State:        %s\n"), state);
		char err_text[PD_MSG_TEXT_MAX];
		if (known && !pn.fresh && p.enabled) /* the stored text, with its countdown */
			printf(_("Last known:   %s\n"),
			       pd_msg_text(st.state, err_text, sizeof err_text));
		if (known && st.last_error && *st.last_error)
			printf(_("Last error:   %s\n"),
			       pd_msg_text(st.last_error, err_text, sizeof err_text));
		if (known) {
			char since[32], age[48];
			pd_fmt_time(st.since ? st.since : st.updated_at, since);
			pd_age_text(st.since ? st.since : st.updated_at, now, age, sizeof age);
			printf(_("Since:        %s (%s)\n"), since, age);
		}
		if (known && pn.fresh) { /* a stale row's figures are not live ones */
			printf(_("Live calls:   %lld\n"), (long long)st.live_calls);
			printf(_("Agents:       %lld available / %lld logged on\n"),
			       (long long)st.agents_available, (long long)st.agents_logged_on);
		}
		if (known) {
			char age[48];
			pd_age_text(st.updated_at, now, age, sizeof age);
			printf(_("Updated:      %s%s\n"), age,
			       pn.fresh ? "" : _(" (no monitor running since)"));
		}
	}
	pd_pbx_status_free(&st);
	pd_customer_free(&cu);
	pd_pbx_free(&p);
	return check ? pd_status_exit_code(outcome) : 0;
}
