/* provdesk pbx status CUSTOMER: the status row the monitor writes (any
 * console, any process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "provdesk/live.h"
#include "provdesk/util.h"

static const char help_status[] =
    "Usage: provdesk pbx status CUSTOMER [--check] [--json]\n"
    "Shows the live PBX state written by the running monitor, with its age. A state\n"
    "no running monitor stands behind reads \"not monitored (last known: STATE, AGE)\".\n"
    "With --check the exit status says it too: 0 monitoring, 69 connecting/retrying/\n"
    "not monitored, 76 protocol error, 77 authentication failed, 78 disabled or refused\n"
    "parameters.\n";

/* One table: a link state as the outcome of a command. The states on the
 * way up (connecting, logging in, discovering) are "not there yet": a
 * command that gave up waiting for them failed as unavailable. */
pd_status pd_cli_link_status(pd_link_state st)
{
	static const pd_status map[PD_LINK_N_STATES] = {
	    [PD_LINK_DISABLED] = PD_E_CONFIG,
	    [PD_LINK_CONNECTING] = PD_E_UNAVAILABLE,
	    [PD_LINK_LOGGING_IN] = PD_E_UNAVAILABLE,
	    [PD_LINK_DISCOVERING] = PD_E_UNAVAILABLE,
	    [PD_LINK_MONITORING] = PD_OK,
	    [PD_LINK_RETRYING] = PD_E_UNAVAILABLE,
	    [PD_LINK_AUTH_FAILED] = PD_E_AUTH,
	    [PD_LINK_PROTOCOL_ERROR] = PD_E_PROTOCOL,
	    [PD_LINK_UNSUPPORTED] = PD_E_UNAVAILABLE,
	    [PD_LINK_CONFIG_ERROR] = PD_E_CONFIG,
	};
	return (unsigned)st < PD_LINK_N_STATES ? map[st] : PD_E_INTERNAL;
}

/* What a stored status row says now: nothing stale passes for live. A row
 * no running monitor stands behind (pd_pbx_status_fresh: its monitor
 * stopped, or wrote nothing for PD_PBX_STALE_S) reads "not monitored (last
 * known: …, 12 min ago)" and counts as not monitored; a disabled connection
 * is disabled whatever a monitor stored. */
typedef struct {
	bool known; /* a row a monitor wrote */
	bool fresh; /* ... and a running monitor stands behind it */
	const char *key;
	char status[320];
	pd_status outcome;
} pbx_now;

static void pbx_status_now(const pd_pbx *p, const pd_pbx_status *st, bool have_row, int64_t now,
                           pbx_now *out)
{
	memset(out, 0, sizeof *out);
	out->known = have_row && st->state;
	out->fresh = out->known && pd_pbx_status_fresh(st->monitored, st->updated_at, now);
	if (!p->enabled) {
		out->key = pd_link_state_name(PD_LINK_DISABLED);
		snprintf(out->status, sizeof out->status, "%s",
		         out->known && st->link == PD_LINK_DISABLED ? st->state : "disabled");
		out->outcome = pd_cli_link_status(PD_LINK_DISABLED);
	} else if (!out->known) {
		snprintf(out->status, sizeof out->status, "not monitored (no console running)");
		out->outcome = PD_E_UNAVAILABLE;
	} else if (!out->fresh) {
		out->key = pd_link_state_name(st->link); /* the last known state */
		pd_pbx_stale_text(pd_link_state_label(st->link), st->updated_at, now, out->status,
		                  sizeof out->status);
		out->outcome = PD_E_UNAVAILABLE;
	} else {
		out->key = pd_link_state_name(st->link);
		snprintf(out->status, sizeof out->status, "%s", st->state);
		out->outcome = pd_cli_link_status(st->link);
	}
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
	pbx_now pn;
	pbx_status_now(&p, &st, s == PD_OK, now, &pn);
	bool known = pn.known;
	const char *state = pn.status, *key = pn.key;
	pd_status outcome = pn.outcome;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "customer", json_string(cu.name));
		json_object_set_new(o, "tenant_id", json_string(cu.tenant_id));
		json_object_set_new(o, "enabled", json_boolean(p.enabled));
		json_object_set_new(o, "state", key ? json_string(key) : json_null());
		json_object_set_new(o, "status", json_string(state));
		json_object_set_new(o, "since",
		                    known ? pd_json_time(st.since ? st.since : st.updated_at)
		                          : json_null());
		json_object_set_new(o, "last_error",
		                    known && st.last_error ? json_string(st.last_error)
		                                           : json_null());
		json_object_set_new(o, "updated_at",
		                    known ? pd_json_time(st.updated_at) : json_null());
		json_object_set_new(
		    o, "age_s",
		    known ? json_integer(now > st.updated_at ? now - st.updated_at : 0)
		          : json_null());
		/* a running monitor stands behind the state (false: the last known) */
		json_object_set_new(o, "monitored", json_boolean(pn.fresh && p.enabled));
		json_object_set_new(o, "live_calls", json_integer(known ? st.live_calls : 0));
		json_object_set_new(o, "agents_available",
		                    json_integer(known ? st.agents_available : 0));
		json_object_set_new(o, "agents_logged_on",
		                    json_integer(known ? st.agents_logged_on : 0));
		/* what the link is dialled with besides host:port: a TLS failure in
		 * last_error reads next to tls_verify / tls_ca_file */
		json_object_set_new(o, "tls", json_boolean(p.tls));
		json_t *pj =
		    p.params_json && *p.params_json ? json_loads(p.params_json, 0, NULL) : NULL;
		json_object_set_new(o, "params", json_is_object(pj) ? pj : json_object());
		if (pj && !json_is_object(pj))
			json_decref(pj);
		pd_cli_print_json(c, o);
	} else {
		printf("Customer:     %s\n", cu.name);
		printf("PBX:          %s:%d (%s)\n", p.host ? p.host : "", p.port,
		       p.enabled ? "enabled" : "disabled");
		printf("State:        %s\n", state);
		if (known && st.last_error && *st.last_error)
			printf("Last error:   %s\n", st.last_error);
		if (known) {
			char since[32], age[48];
			pd_fmt_time(st.since ? st.since : st.updated_at, since);
			pd_age_text(st.since ? st.since : st.updated_at, now, age, sizeof age);
			printf("Since:        %s (%s)\n", since, age);
		}
		if (known && pn.fresh) { /* a stale row's figures are not live ones */
			printf("Live calls:   %lld\n", (long long)st.live_calls);
			printf("Agents:       %lld available / %lld logged on\n",
			       (long long)st.agents_available, (long long)st.agents_logged_on);
		}
		if (known) {
			char age[48];
			pd_age_text(st.updated_at, now, age, sizeof age);
			printf("Updated:      %s%s\n", age,
			       pn.fresh ? "" : " (no monitor running since)");
		}
	}
	pd_pbx_status_free(&st);
	pd_customer_free(&cu);
	pd_pbx_free(&p);
	return check ? pd_status_exit_code(outcome) : 0;
}
